//! Outside any dialog, what a person with an open case sends goes to that case: text is
//! forwarded to the officers, files are attached, and `selesai` tells a case that waits on the
//! applicant that they are done. Which case, and whether a message goes at all, is decided
//! before (`outside.rs`).

use super::{Ctx, Input, Out};
use crate::cases::CaseSummary;
use crate::dialogs::spec::DEFAULT_FILE_TYPES;
use crate::dialogs::steps::file_refusal;
use crate::dialogs::{Effect, input, render};
use crate::text::fill;

/// File types accepted outside a dialog (documents for an open case).
const CASE_FILE_TYPES: [&str; 8] = DEFAULT_FILE_TYPES;

/// Hands what a person sent to an open case: `target` when the person's case is known, else the
/// one waiting on them, else the newest open one. Returns false when there is no open case (or
/// the input is a bare number, which means the menu, or a contact).
pub(super) fn hand_off(
    out: &mut Out,
    ctx: &Ctx,
    input: &Input,
    text: Option<&str>,
    target: Option<&CaseSummary>,
) -> bool {
    let waiting = ctx.cases.iter().find(|c| c.open && c.waiting_on_applicant);
    let Some(target) = target
        .or(waiting)
        .or_else(|| ctx.cases.iter().find(|c| c.open))
    else {
        return false;
    };
    match input {
        Input::File(f) => {
            let bot = out.bot;
            let lang = out.lang();
            if let Some(miss) = file_refusal(f, &CASE_FILE_TYPES, bot.max_attachment_bytes) {
                let m = fill(&bot.sys(miss.key, &lang), &miss.vars);
                out.say(m, Vec::new());
                return true;
            }
            out.effects.push(Effect::KeepFile(f.blob.clone()));
            out.effects.push(Effect::AttachToCase {
                case: target.number.clone(),
                file: f.clone(),
            });
            let said = fill(
                &bot.sys("file_attached", &lang),
                &[
                    ("file", f.filename.clone()),
                    ("case", target.number.to_string()),
                ],
            );
            say_with_waiting_hint(out, target, said);
            true
        }
        Input::Text(t) | Input::Choice(t) => {
            let t = text.unwrap_or(t);
            if t.trim().parse::<u64>().is_ok() {
                return false;
            }
            if target.waiting_on_applicant && input::is_done_word(t) {
                out.effects.push(Effect::ApplicantDone {
                    case: target.number.clone(),
                });
                return true;
            }
            forward_text(out, ctx, Some(target), t)
        }
        Input::Contact { .. } => false,
    }
}

/// Forwards a text to the officers of `target` and tells the person so.
pub(super) fn forward_text(
    out: &mut Out,
    ctx: &Ctx,
    target: Option<&CaseSummary>,
    text: &str,
) -> bool {
    let Some(target) = target else {
        return false;
    };
    let bot = out.bot;
    let lang = out.lang();
    out.effects.push(Effect::Forward {
        case: target.number.clone(),
        text: text.to_string(),
    });
    let vars = render::common_vars(bot, ctx, &lang, None);
    let hours_note = vars
        .iter()
        .find(|(k, _)| *k == "hours_note")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let said = fill(
        &bot.sys("forwarded", &lang),
        &[
            ("case", target.number.to_string()),
            ("hours_note", hours_note),
        ],
    );
    say_with_waiting_hint(out, target, said);
    true
}

/// Says `said`, with the hint on how to say "done" when the case waits on the person.
fn say_with_waiting_hint(out: &mut Out, target: &CaseSummary, mut said: String) {
    if target.waiting_on_applicant {
        said.push('\n');
        said.push_str(&out.bot.sys("waiting_done_hint", &out.lang()));
    }
    out.say(said, Vec::new());
}
