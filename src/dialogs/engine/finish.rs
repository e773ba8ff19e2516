//! The end of a dialog: its action (save the guest book, create a case, save a rating, book a
//! visit) as effects, its closing message, and what comes next (the dialog the guest book was
//! for, or the menu hint).

use super::{Ctx, Out, start_dialog};
use crate::cases::{Answer, CartLine, FormField, Service};
use crate::dialogs::render::{self, rupiah};
use crate::dialogs::spec::{Dialog, FinishAction};
use crate::dialogs::{Active, Bot, CASE_MARKER, Effect};
use crate::message::AttachmentRef;
use crate::text::{fill, pick};

/// Runs the dialog's finish action and says its message.
pub(super) fn finish(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let lang = out.lang();
    let Some(a) = out.conv.active.take() else {
        return;
    };
    let Some(d) = bot.dialogs.get(&a.dialog) else {
        return;
    };
    let name = a
        .answers
        .get("name")
        .and_then(Answer::as_text)
        .map(str::to_string);
    let mut vars = render::common_vars(bot, ctx, &lang, name.as_deref());
    match &d.finish.action {
        FinishAction::None => {}
        FinishAction::SaveGuest => out.effects.push(save_guest(bot, d, &a, &lang)),
        FinishAction::CreateCase(service) => {
            let (effect, case_vars) = create_case(bot, d, &a, *service, &lang, out.variant);
            out.effects.push(effect);
            // With a new case, the case picked to write to is asked again when needed.
            out.conv.talking_to = None;
            vars.extend(case_vars);
        }
        FinishAction::SaveRating => out.effects.extend(save_rating(&a)),
        FinishAction::BookAppointment => {
            if let Some(Answer::DateTime(at)) = a.answers.get("when") {
                out.effects.push(Effect::BookAppointment {
                    at: *at,
                    topic: a
                        .answers
                        .get("topic")
                        .and_then(Answer::as_text)
                        .unwrap_or_default()
                        .to_string(),
                });
                vars.push(("appointment", bot.calendar.format_local(*at, &lang)));
            }
        }
    }
    if let Some(m) = &d.finish.message {
        let text = fill(
            &crate::text::pick_for(m, &lang, bot.default_lang(), out.variant),
            &vars,
        );
        out.say(text, Vec::new());
    }
    match a.then {
        Some(next) if d.finish.action == FinishAction::SaveGuest => {
            start_dialog(out, ctx, &next, Some("guestbook".into()));
            // The next dialog no longer needs the guest book: mark it started from it.
            if let Some(act) = out.conv.active.as_mut() {
                act.then = None;
            }
        }
        Some(_) | None => {
            if d.id != "menu" {
                out.sys("menu_hint");
            }
        }
    }
}

/// The guest book entry: the profile without the consent answer, with the consent text the
/// person agreed to, in their language.
fn save_guest(bot: &Bot, d: &Dialog, a: &Active, lang: &str) -> Effect {
    let mut profile = a.answers.clone();
    profile.remove("consent");
    let consent_text = d
        .steps
        .iter()
        .find(|s| s.id == "consent")
        .map(|s| pick(&s.prompt, lang, bot.default_lang()).trim().to_string())
        .unwrap_or_default();
    Effect::SaveGuest {
        profile,
        consent_version: bot.consent_version.clone(),
        consent_text,
        visit_for: a.then.clone(),
    }
}

/// The new case (its form, files and title) and the placeholders of the closing message: the
/// case number's marker, the service standard, the cart's total and the documents it needs.
fn create_case(
    bot: &Bot,
    d: &Dialog,
    a: &Active,
    service: Service,
    lang: &str,
    variant: Option<&str>,
) -> (Effect, Vec<(&'static str, String)>) {
    let dl = bot.default_lang();
    let answered = render::answered(d, &a.answers);
    let form: Vec<FormField> = answered
        .iter()
        .map(|(s, v)| FormField {
            field: s.field.clone(),
            label: s
                .label
                .as_ref()
                .map(|l| pick(l, lang, dl))
                .unwrap_or_default(),
            value: (*v).clone(),
        })
        .collect();
    let attachments: Vec<AttachmentRef> = answered
        .iter()
        .filter_map(|(_, v)| match v {
            Answer::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    let cart: Vec<CartLine> = a
        .answers
        .values()
        .find_map(|v| match v {
            Answer::Cart(l) => Some(l.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let title: String = case_title(bot, d, a, &cart, lang)
        .chars()
        .take(120)
        .collect();
    let effect = Effect::CreateCase {
        service,
        title,
        form,
        attachments,
        confidential: a.answers.get("confidential") == Some(&Answer::Bool(true)),
    };
    let (_, total) = render::cart_text(bot, &cart, lang);
    let docs = render::cart_documents(bot, &cart, lang);
    let standard = bot
        .workflows
        .get(&service)
        .map(|w| crate::text::pick_for(&w.standard, lang, dl, variant))
        .unwrap_or_default();
    let documents = if docs.is_empty() {
        "-".into()
    } else {
        docs.iter()
            .map(|d| format!("• {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let vars = vec![
        ("case", CASE_MARKER.to_string()),
        ("standard", standard),
        ("total", rupiah(total)),
        ("documents", documents),
    ];
    (effect, vars)
}

/// What names a case in lists: the answer of the dialog's title field, else the products in
/// the cart, else the dialog's title.
fn case_title(bot: &Bot, d: &Dialog, a: &Active, cart: &[CartLine], lang: &str) -> String {
    let dl = bot.default_lang();
    match &d.finish.title_field {
        Some(f) => a
            .answers
            .get(f)
            .map(|v| render::display_answer(bot, d.steps.iter().find(|s| &s.field == f), v, lang))
            .unwrap_or_default(),
        None if !cart.is_empty() => cart
            .iter()
            .map(|l| {
                bot.catalog
                    .product(&l.code)
                    .map(|p| pick(&p.name, lang, dl))
                    .unwrap_or_else(|| l.code.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => pick(&d.title, lang, dl),
    }
}

/// The rating, when the score (1–5) was given: the case rated (if any), the comment, and the
/// nine answers of the satisfaction survey (SKM, 1–4 each) when all were given.
fn save_rating(a: &Active) -> Option<Effect> {
    let choice_in = |field: &str, range: std::ops::RangeInclusive<u8>| match a.answers.get(field) {
        Some(Answer::Choice(v)) => v.parse::<u8>().ok().filter(|n| range.contains(n)),
        _ => None,
    };
    let score = choice_in("score", 1..=5)?;
    let skm: Option<[u8; 9]> = (1..=9)
        .map(|i| choice_in(&format!("skm_{i}"), 1..=4))
        .collect::<Option<Vec<u8>>>()
        .and_then(|v| v.try_into().ok());
    Some(Effect::SaveRating {
        case: match a.answers.get("case") {
            Some(Answer::Case(n)) => Some(n.clone()),
            _ => None,
        },
        score,
        comment: a
            .answers
            .get("comment")
            .and_then(Answer::as_text)
            .map(str::to_string),
        skm,
    })
}
