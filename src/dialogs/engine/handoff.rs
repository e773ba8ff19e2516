//! Outside any dialog, what a person with an open case sends goes to that case: text is
//! forwarded to the officers, files are attached, and `selesai` tells a case that waits on the
//! applicant that they are done.

use super::{Ctx, Input, Out};
use crate::dialogs::spec::DEFAULT_FILE_TYPES;
use crate::dialogs::steps::file_refusal;
use crate::dialogs::{Effect, input, render};
use crate::text::fill;

/// File types accepted outside a dialog (documents for an open case).
const CASE_FILE_TYPES: [&str; 8] = DEFAULT_FILE_TYPES;

/// Hands what a person sent to their open case (the one waiting on them first). Returns false
/// when there is no open case (or the input is a bare number, which means the menu, or a
/// contact).
pub(super) fn hand_off(out: &mut Out, ctx: &Ctx, input: &Input, text: Option<&str>) -> bool {
    let bot = out.bot;
    let lang = out.lang();
    let waiting = ctx.cases.iter().find(|c| c.open && c.waiting_on_applicant);
    let Some(target) = waiting.or_else(|| ctx.cases.iter().find(|c| c.open)) else {
        return false;
    };
    let case = target.number.to_string();
    let mut said = match input {
        Input::File(f) => {
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
            fill(
                &bot.sys("file_attached", &lang),
                &[("file", f.filename.clone()), ("case", case)],
            )
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
            out.effects.push(Effect::Forward {
                case: target.number.clone(),
                text: t.to_string(),
            });
            let vars = render::common_vars(bot, ctx, &lang, None);
            let hours_note = vars
                .iter()
                .find(|(k, _)| *k == "hours_note")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            fill(
                &bot.sys("forwarded", &lang),
                &[("case", case), ("hours_note", hours_note)],
            )
        }
        Input::Contact { .. } => return false,
    };
    if target.waiting_on_applicant {
        said.push('\n');
        said.push_str(&bot.sys("waiting_done_hint", &lang));
    }
    out.say(said, Vec::new());
    true
}
