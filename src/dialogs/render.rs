//! Turns steps and answers into text: prompts with their choices, summaries, and the
//! placeholders of templates. Pure.

use super::engine::Ctx;
use super::spec::{Dialog, Step, StepKind};
use super::{Bot, Reply};
use crate::cases::calendar::format_date;
use crate::cases::{Answer, CartLine};
use crate::message::OutboundChoice;
use crate::text::{fill, pick};

/// Rupiah the Indonesian way: `Rp 1.500.000`.
pub fn rupiah(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("Rp {out}")
}

/// The placeholders every prompt may use.
pub fn common_vars(
    bot: &Bot,
    ctx: &Ctx,
    lang: &str,
    name: Option<&str>,
) -> Vec<(&'static str, String)> {
    let hours = bot.calendar.hours_text(lang);
    let hours_note = if bot.calendar.is_open_at(ctx.now) {
        bot.sys("inside_hours", lang)
    } else {
        let next = bot
            .calendar
            .format_local(bot.calendar.next_opening(ctx.now), lang);
        fill(&bot.sys("outside_hours", lang), &[("next_opening", next)])
    };
    let name = name
        .map(str::to_string)
        .or_else(|| {
            ctx.guest
                .and_then(|g| g.profile.get("name"))
                .and_then(|a| a.as_text().map(str::to_string))
        })
        .unwrap_or_else(|| {
            if lang == "id" {
                "Bapak/Ibu".into()
            } else {
                "Sir/Madam".into()
            }
        });
    vec![
        ("office", bot.office_name.clone()),
        ("address", bot.office_address.clone()),
        ("hours", hours),
        ("hours_note", hours_note),
        ("name", name),
    ]
}

/// A case's due date as a person reads it, or `-`.
pub fn due_text(bot: &Bot, case: &crate::cases::CaseSummary, lang: &str) -> String {
    match case.due {
        Some(d) if case.open => bot.calendar.format_local(d, lang),
        _ => "-".into(),
    }
}

/// The cart's lines and total as text.
pub fn cart_text(bot: &Bot, lines: &[CartLine], lang: &str) -> (String, u64) {
    let dl = bot.default_lang();
    let mut total = 0u64;
    let mut text = Vec::new();
    for l in lines {
        let sub = l.unit_tariff.saturating_mul(u64::from(l.quantity));
        total = total.saturating_add(sub);
        let name = bot
            .catalog
            .product(&l.code)
            .map(|p| pick(&p.name, lang, dl))
            .unwrap_or_else(|| l.code.clone());
        text.push(format!("• {name} × {} = {}", l.quantity, rupiah(sub)));
    }
    (text.join("\n"), total)
}

/// The documents the products of a cart require, once each.
pub fn cart_documents(bot: &Bot, lines: &[CartLine], lang: &str) -> Vec<String> {
    let mut keys: Vec<&String> = Vec::new();
    for l in lines {
        if let Some(p) = bot.catalog.product(&l.code) {
            for d in &p.documents {
                if !keys.contains(&d) {
                    keys.push(d);
                }
            }
        }
    }
    keys.iter()
        .filter_map(|k| bot.catalog.documents.get(*k))
        .map(|t| pick(t, lang, bot.default_lang()))
        .collect()
}

/// An answer as a person reads it.
pub fn display_answer(bot: &Bot, step: Option<&Step>, answer: &Answer, lang: &str) -> String {
    let dl = bot.default_lang();
    let label_of = |v: &str| -> String {
        if let Some(StepKind::Choice { options, .. }) = step.map(|s| &s.kind)
            && let Some(o) = options.iter().find(|o| o.value == v)
        {
            return pick(&o.label, lang, dl);
        }
        v.to_string()
    };
    match answer {
        Answer::Text(s) | Answer::Email(s) => s.clone(),
        Answer::Phone(p) => p.clone(),
        Answer::Choice(v) => label_of(v),
        Answer::Choices(vs) => vs
            .iter()
            .map(|v| label_of(v))
            .collect::<Vec<_>>()
            .join(", "),
        Answer::Bool(b) => bot.sys(if *b { "yes" } else { "no" }, lang),
        Answer::Date(d) => format_date(*d, lang, false),
        Answer::DateTime(t) => bot.calendar.format_local(*t, lang),
        Answer::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                format!("{n}")
            }
        }
        Answer::File(f) => format!("{} ({} KB)", f.filename, f.size.div_ceil(1024)),
        Answer::Cart(lines) => {
            let (text, total) = cart_text(bot, lines, lang);
            format!(
                "\n{text}\n{}",
                fill(&bot.sys("cart_total", lang), &[("total", rupiah(total))])
            )
        }
        Answer::Case(n) => n.to_string(),
        Answer::Skipped => bot.sys("skipped", lang),
    }
}

/// The answered fields of a dialog in step order, once per field: (step, answer).
pub fn answered<'a>(
    dialog: &'a Dialog,
    answers: &'a std::collections::BTreeMap<String, Answer>,
) -> Vec<(&'a Step, &'a Answer)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for s in &dialog.steps {
        if !s.kind.collects() || seen.contains(&&s.field) {
            continue;
        }
        if let Some(a) = answers.get(&s.field) {
            seen.push(&s.field);
            out.push((s, a));
        }
    }
    out
}

/// The numbered summary of answers.
pub fn summary_text(
    bot: &Bot,
    dialog: &Dialog,
    answers: &std::collections::BTreeMap<String, Answer>,
    lang: &str,
) -> String {
    answered(dialog, answers)
        .iter()
        .enumerate()
        .map(|(i, (s, a))| {
            let label = s
                .label
                .as_ref()
                .map(|l| pick(l, lang, bot.default_lang()))
                .unwrap_or_default();
            format!(
                "{}. {label}: {}",
                i + 1,
                display_answer(bot, Some(s), a, lang)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn choice(value: &str, label: String) -> OutboundChoice {
    OutboundChoice {
        value: value.to_string(),
        label,
    }
}

/// The yes/no buttons.
pub fn yes_no_choices(bot: &Bot, lang: &str) -> Vec<OutboundChoice> {
    vec![
        choice("yes", bot.sys("yes", lang)),
        choice("no", bot.sys("no", lang)),
    ]
}

/// The buttons of a step (for re-prompts too).
pub fn step_choices(
    bot: &Bot,
    ctx: &Ctx,
    step: &Step,
    answers: &std::collections::BTreeMap<String, Answer>,
    lang: &str,
) -> Vec<OutboundChoice> {
    let dl = bot.default_lang();
    match &step.kind {
        StepKind::Choice { options, .. } => options
            .iter()
            .map(|o| choice(&o.value, pick(&o.label, lang, dl)))
            .collect(),
        StepKind::YesNo { .. } => yes_no_choices(bot, lang),
        StepKind::Summary => vec![
            choice("send", bot.sys("send", lang)),
            choice("change", bot.sys("change", lang)),
        ],
        StepKind::Cart => {
            let mut c: Vec<OutboundChoice> = bot
                .catalog
                .products
                .iter()
                .map(|p| {
                    choice(
                        &p.code,
                        format!(
                            "{} — {}/{}",
                            pick(&p.name, lang, dl),
                            rupiah(p.tariff),
                            pick(&p.unit, lang, dl)
                        ),
                    )
                })
                .collect();
            if matches!(answers.get(&step.field), Some(Answer::Cart(l)) if !l.is_empty()) {
                c.push(choice("done", bot.sys("cart_done", lang)));
            }
            c
        }
        StepKind::Faq => bot
            .faq
            .entries
            .iter()
            .map(|e| choice(&e.id, pick(&e.question, lang, dl)))
            .collect(),
        StepKind::CasePick { filter } => ctx
            .cases
            .iter()
            .filter(|c| *filter == super::spec::CaseFilter::All || c.open)
            .map(|c| choice(&c.number.to_string(), format!("{} – {}", c.number, c.title)))
            .collect(),
        StepKind::ActivitySearch => vec![choice("next", bot.sys("search_more", lang))],
        _ => Vec::new(),
    }
}

/// The full prompt of a step.
pub fn prompt(
    bot: &Bot,
    ctx: &Ctx,
    step: &Step,
    answers: &std::collections::BTreeMap<String, Answer>,
    dialog: &Dialog,
    lang: &str,
) -> Reply {
    let dl = bot.default_lang();
    let name = answers.get("name").and_then(Answer::as_text);
    let vars = common_vars(bot, ctx, lang, name);
    let mut text = fill(&pick(&step.prompt, lang, dl), &vars);
    let mut extra = |s: String| {
        if !s.is_empty() {
            text.push('\n');
            text.push_str(&s);
        }
    };
    match &step.kind {
        StepKind::Choice { multiple: true, .. } => extra(bot.sys("expect_choices", lang)),
        StepKind::Email { prefill: true } => {
            if let Some(e) = ctx.identity.email() {
                extra(fill(
                    &bot.sys("prefill_email", lang),
                    &[("value", e.to_string())],
                ));
            }
        }
        StepKind::Phone { prefill: true, .. } => {
            if let Some(p) = ctx.identity.phone() {
                extra(fill(
                    &bot.sys("prefill_phone", lang),
                    &[("value", p.to_string())],
                ));
            }
        }
        StepKind::Attachment { accept, max_bytes } => {
            let max = max_bytes
                .unwrap_or(bot.max_attachment_bytes)
                .min(bot.max_attachment_bytes);
            extra(fill(
                &bot.sys("expect_attachment", lang),
                &[
                    ("types", accept.join(", ").to_uppercase()),
                    ("max_mb", format!("{}", max.div_ceil(1024 * 1024))),
                ],
            ));
        }
        StepKind::Summary => {
            extra(summary_text(bot, dialog, answers, lang));
            extra(bot.sys("summary_question", lang));
        }
        StepKind::Cart => {
            let lines = match answers.get(&step.field) {
                Some(Answer::Cart(l)) => l.clone(),
                _ => Vec::new(),
            };
            extra(fill(
                &bot.sys("cart_intro", lang),
                &[("source", pick(&bot.catalog.source, lang, dl))],
            ));
            if !lines.is_empty() {
                let (t, total) = cart_text(bot, &lines, lang);
                extra(t);
                extra(fill(
                    &bot.sys("cart_total", lang),
                    &[("total", rupiah(total))],
                ));
            }
        }
        StepKind::CaseStatus => {
            if ctx.cases.is_empty() {
                extra(bot.sys("status_none", lang));
            } else {
                extra(bot.sys("status_list", lang));
                for c in ctx.cases {
                    extra(fill(
                        &bot.sys("status_line", lang),
                        &[
                            ("case", c.number.to_string()),
                            ("title", c.title.clone()),
                            ("stage", bot.stage_label(c.number.service, &c.stage, lang)),
                            ("due", due_text(bot, c, lang)),
                        ],
                    ));
                }
            }
        }
        _ => {}
    }
    if step.optional {
        extra(bot.sys("skip_hint", lang));
    }
    Reply {
        choices: step_choices(bot, ctx, step, answers, lang),
        text,
        ask_contact: matches!(step.kind, StepKind::Phone { .. }),
    }
}
