//! Turns steps and answers into text: prompts with their buttons, answers and summaries, and
//! the placeholders of templates. Pure. What a prompt adds for its kind comes from the kind
//! ([`super::steps::Kind`]).

use super::engine::Ctx;
use super::spec::{Dialog, Step};
use super::steps::Turn;
use super::{Bot, Reply};
use crate::cases::calendar::format_date;
use crate::cases::{Answer, CartLine};
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
        .unwrap_or_else(|| bot.sys("name_unknown", lang));
    vec![
        ("office", bot.office_name.clone()),
        ("address", bot.office_address.clone()),
        ("hours", hours),
        ("hours_note", hours_note),
        ("name", name),
        ("retention", retention_text(bot, lang)),
    ]
}

/// The retention period of personal data (`privacy.retention`) as a person reads it: whole
/// years ("2 tahun"), else whole months of 30 days, else days.
pub fn retention_text(bot: &Bot, lang: &str) -> String {
    let days = bot.retention.as_secs() / 86_400;
    let (n, key) = if days >= 365 && days.is_multiple_of(365) {
        (days / 365, "retention_years")
    } else if days >= 30 && days.is_multiple_of(30) {
        (days / 30, "retention_months")
    } else {
        (days, "retention_days")
    };
    fill(&bot.sys(key, lang), &[("n", n.to_string())])
}

/// A case's due date as a person reads it, or `-`.
pub fn due_text(bot: &Bot, case: &crate::cases::CaseSummary, lang: &str) -> String {
    let mut text = match case.due {
        Some(d) if case.open => bot.calendar.format_local(d, lang),
        _ => "-".into(),
    };
    // The SOP's own deadline too, when it is another date (issue 20, item 2).
    if case.open
        && let Some(sop) = case.overall_due
        && case.due != Some(sop)
    {
        text.push_str("; ");
        text.push_str(&crate::text::fill(
            &bot.sys("sop_due_short", lang),
            &[("due", bot.calendar.format_local(sop, lang))],
        ));
    }
    text
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

/// An answer as a person reads it; the step's kind shows its own answers its way (a choice
/// shows its label).
pub fn display_answer(bot: &Bot, step: Option<&Step>, answer: &Answer, lang: &str) -> String {
    display_answer_for(bot, step, answer, lang, None)
}

/// [`display_answer`] in a channel's variant of the texts (an option's SMS label).
pub fn display_answer_for(
    bot: &Bot,
    step: Option<&Step>,
    answer: &Answer,
    lang: &str,
    variant: Option<&str>,
) -> String {
    if let Some(shown) = step.and_then(|s| s.kind.rules().display(bot, answer, lang, variant)) {
        return shown;
    }
    match answer {
        Answer::Text(s) | Answer::Email(s) => s.clone(),
        Answer::Phone(p) => p.clone(),
        Answer::Choice(v) => v.clone(),
        Answer::Choices(vs) => vs.join(", "),
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
    summary_text_for(bot, dialog, answers, lang, None)
}

/// The longest free-text answer an SMS summary repeats in full; a longer one (a complaint's
/// story) is cut with "…": the person wrote it a moment ago, and every SMS part costs them
/// money. Other answers (a cart with its total) are shown whole.
const SMS_SUMMARY_VALUE_CHARS: usize = 40;

/// [`summary_text`] in a channel's variant of the texts (SMS: short labels, long answers cut).
pub fn summary_text_for(
    bot: &Bot,
    dialog: &Dialog,
    answers: &std::collections::BTreeMap<String, Answer>,
    lang: &str,
    variant: Option<&str>,
) -> String {
    answered(dialog, answers)
        .iter()
        .map(|(s, a)| {
            let label = s
                .label
                .as_ref()
                .map(|l| crate::text::pick_for(l, lang, bot.default_lang(), variant))
                .unwrap_or_default();
            (s, a, label)
        })
        // An answer whose label is empty in the channel's variant is left out there (the
        // consent on SMS: the person gave it a moment ago).
        .filter(|(_, _, label)| !label.is_empty())
        .enumerate()
        .map(|(i, (s, a, label))| {
            let mut value = display_answer_for(bot, Some(s), a, lang, variant);
            let long_text =
                matches!(a, Answer::Text(t) if t.chars().count() > SMS_SUMMARY_VALUE_CHARS);
            if variant == Some("sms") && long_text {
                value = value.chars().take(SMS_SUMMARY_VALUE_CHARS - 1).collect();
                value.push('…');
            }
            format!("{}. {label}: {value}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The full prompt of the current step: its text with the placeholders filled, the notes its
/// kind adds, the skip hint of an optional step, and the kind's buttons.
pub fn prompt(turn: &Turn) -> Reply {
    let (bot, step) = (turn.bot, turn.step);
    let name = turn.answers.get("name").and_then(Answer::as_text);
    let vars = common_vars(bot, turn.ctx, turn.lang, name);
    let rules = step.kind.rules();
    let mut text = if rules.says_prompt(turn) {
        fill(&turn.pick(&step.prompt), &vars)
    } else {
        String::new()
    };
    let mut notes = rules.prompt_notes(turn);
    if step.optional {
        notes.push(turn.sys("skip_hint"));
    }
    for note in notes.iter().filter(|n| !n.is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(note);
    }
    Reply {
        choices: rules.buttons(turn),
        text,
        ask_contact: rules.takes().contacts,
    }
}
