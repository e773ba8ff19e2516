//! The universal commands, which work at any step and outside dialogs: `menu`, `batal`,
//! `kembali`, `bantuan`, `bahasa`, `datasaya` and `hapusdata` (with its confirmation), in both
//! languages, with or without a leading `/`.

use super::{Ctx, Input, Out, current, current_choices, prompt_current, start_dialog};
use crate::dialogs::{SubState, render};
use crate::message::OutboundChoice;
use crate::text::{fill, pick};

/// The universal commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Command {
    Menu,
    Cancel,
    Back,
    Help,
    Language(Option<String>),
    MyData,
    Erase,
}

/// The command a text is, if it is one: a command word as typed of old (`menu`, `/cancel`,
/// `bahasa en`) or in everyday words ("balik", "gak jadi", "english please"), read by the
/// understanding layer; a language that is not configured is not a command.
pub(super) fn parse_command(
    lex: &crate::understand::Lexicon,
    text: &str,
    languages: &[String],
) -> Option<Command> {
    use crate::understand::GlobalCommand;
    Some(match crate::understand::command(lex, text)? {
        GlobalCommand::Menu => Command::Menu,
        GlobalCommand::Cancel => Command::Cancel,
        GlobalCommand::Back => Command::Back,
        GlobalCommand::Help => Command::Help,
        GlobalCommand::Language(Some(code)) if !languages.contains(&code) => return None,
        GlobalCommand::Language(code) => Command::Language(code),
        GlobalCommand::MyData => Command::MyData,
        GlobalCommand::EraseMyData => Command::Erase,
    })
}

/// The choice values of the `hapusdata` confirmation.
const ERASE_YES: &str = "hapusdata:ya";
const ERASE_NO: &str = "hapusdata:batal";

/// Whether the answer to the `hapusdata` question confirms it: the button; its number (`1`,
/// as SMS and e-mail list the buttons) or its label in any language; or a plain yes ("ya",
/// "iya", "hapus").
fn is_erase_confirmation(bot: &crate::dialogs::Bot, input: &Input) -> bool {
    match input {
        Input::Choice(c) => c == ERASE_YES || c == "1",
        Input::Text(t) => {
            let t = t.trim().trim_end_matches('.').to_lowercase();
            let label = bot
                .languages
                .iter()
                .any(|l| bot.sys("erase_yes", l).to_lowercase() == t);
            label
                || matches!(
                    t.as_str(),
                    "1" | "ya, hapus" | "hapus" | "hapus data" | "yes, erase" | "erase"
                )
                || crate::understand::yes_no(&bot.understanding.lexicon, &t) == Some(true)
        }
        Input::File(_) | Input::Contact { .. } => false,
    }
}

/// Whether the answer to the `hapusdata` question is the keep button, its number or its label,
/// or a plain no.
fn is_erase_refusal(bot: &crate::dialogs::Bot, input: &Input) -> bool {
    match input {
        Input::Choice(c) => c == ERASE_NO || c == "2",
        Input::Text(t) => {
            let t = t.trim().to_lowercase();
            t == "2"
                || crate::understand::yes_no(&bot.understanding.lexicon, &t) == Some(false)
                || bot
                    .languages
                    .iter()
                    .any(|l| bot.sys("erase_no", l).to_lowercase() == t)
        }
        Input::File(_) | Input::Contact { .. } => false,
    }
}

/// The answer to the `hapusdata` question: a confirmation erases the person's data; anything
/// else keeps it. Returns true when the input was wholly used (confirmed, or the keep button);
/// other words are still read as usual after the data is kept.
pub(super) fn answer_erase_question(out: &mut Out, ctx: &Ctx, input: &Input) -> bool {
    if is_erase_confirmation(out.bot, input) {
        out.effects.push(crate::dialogs::Effect::ErasePersonalData);
        out.conv.active = None;
        return true;
    }
    out.sys("erase_kept");
    if is_erase_refusal(out.bot, input) {
        if out.conv.active.is_some() {
            prompt_current(out, ctx);
        }
        return true;
    }
    false
}

/// Runs a universal command.
pub(super) fn run(out: &mut Out, ctx: &Ctx, cmd: Command) {
    match cmd {
        Command::Menu | Command::Cancel => {
            if out.conv.active.as_ref().is_some_and(|a| a.dialog != "menu") {
                out.sys(if cmd == Command::Menu {
                    "left_dialog"
                } else {
                    "cancelled"
                });
            }
            out.conv.active = None;
            start_dialog(out, ctx, "menu", None);
        }
        Command::Back => back(out, ctx),
        Command::Help => help(out, ctx),
        Command::Language(code) => {
            let bot = out.bot;
            let next = code.unwrap_or_else(|| {
                let i = bot
                    .languages
                    .iter()
                    .position(|l| *l == out.conv.lang)
                    .unwrap_or(0);
                bot.languages[(i + 1) % bot.languages.len()].clone()
            });
            out.conv.lang = next;
            out.sys("language_set");
            if out.conv.active.is_some() {
                prompt_current(out, ctx);
            } else {
                start_dialog(out, ctx, "menu", None);
            }
        }
        Command::Erase => ask_erase(out, ctx),
        Command::MyData => {
            my_data(out, ctx);
            if out.conv.active.is_some() {
                prompt_current(out, ctx);
            }
        }
    }
}

/// `kembali`: leaves a follow-up question, or goes back one answered step.
fn back(out: &mut Out, ctx: &Ctx) {
    let Some(a) = out.conv.active.as_mut() else {
        out.sys("nothing_to_go_back");
        return;
    };
    if a.sub != SubState::None {
        a.sub = SubState::None;
    } else if let Some(prev) = a.trail.pop() {
        a.step = prev;
        a.editing = false;
    } else {
        out.sys("nothing_to_go_back");
        return;
    }
    prompt_current(out, ctx);
}

/// `bantuan`: the step's help (or what it expects), then the commands with the step's buttons.
fn help(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let lang = out.lang();
    if let Some((_, s)) = current(bot, &out.conv) {
        let help = s
            .help
            .as_ref()
            .map(|h| pick(h, &lang, bot.default_lang()))
            .unwrap_or_else(|| s.kind.rules().expectation(bot, &lang));
        out.say(help, Vec::new());
    }
    let commands = bot.sys("help_commands", &lang);
    let choices = current_choices(out, ctx);
    out.say(commands, choices);
}

/// `hapusdata`: asks to confirm, naming the open cases that will be anonymised.
fn ask_erase(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let lang = out.lang();
    if ctx.guest.is_none() && ctx.cases.is_empty() {
        out.sys("mydata_none");
        return;
    }
    let open: Vec<String> = ctx
        .cases
        .iter()
        .filter(|c| c.open)
        .map(|c| c.number.to_string())
        .collect();
    let open_note = if open.is_empty() {
        String::new()
    } else {
        fill(
            &bot.sys("erase_open_cases", &lang),
            &[("cases", open.join(", "))],
        )
    };
    let text = fill(&bot.sys("erase_confirm", &lang), &[("open", open_note)]);
    let choices = vec![
        OutboundChoice {
            value: ERASE_YES.into(),
            label: bot.sys("erase_yes", &lang),
        },
        OutboundChoice {
            value: ERASE_NO.into(),
            label: bot.sys("erase_no", &lang),
        },
    ];
    out.say(text.trim_end().to_string(), choices);
    out.conv.erase_asked = true;
}

/// `datasaya`: the guest book profile, the consent given and the person's cases, then (when the
/// runtime loaded them) their cases' answers and files, ratings, visits, appointments, web chat
/// and the officers who looked at their data.
fn my_data(out: &mut Out, ctx: &Ctx) {
    let bot = out.bot;
    let lang = out.lang();
    let Some(g) = ctx.guest else {
        out.sys("mydata_none");
        return;
    };
    let mut lines = Vec::new();
    if let Some(gb) = bot.dialogs.get("guestbook") {
        lines.push(render::summary_text(bot, gb, &g.profile, &lang));
    }
    let cases = ctx
        .cases
        .iter()
        .map(|c| c.number.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let consent = format!(
        "{} ({})",
        g.consent_version,
        bot.calendar.format_local(g.consent_at, &lang)
    );
    let text = fill(
        &bot.sys("mydata", &lang),
        &[
            ("profile", lines.join("\n")),
            ("consent", consent),
            ("cases", if cases.is_empty() { "-".into() } else { cases }),
        ],
    );
    let more = ctx
        .records
        .map(|r| crate::dialogs::records::render(bot, r, &lang))
        .filter(|m| !m.is_empty());
    let text = match more {
        Some(m) => format!("{text}\n{m}"),
        None => text,
    };
    out.say(text, Vec::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_both_languages() {
        let langs = vec!["id".to_string(), "en".to_string()];
        let parse_command =
            |t: &str, l: &[String]| super::parse_command(crate::understand::test_lexicon(), t, l);
        assert_eq!(parse_command(" Batal ", &langs), Some(Command::Cancel));
        assert_eq!(parse_command("/menu", &langs), Some(Command::Menu));
        assert_eq!(parse_command("back", &langs), Some(Command::Back));
        assert_eq!(
            parse_command("bahasa en", &langs),
            Some(Command::Language(Some("en".into())))
        );
        assert_eq!(
            parse_command("language", &langs),
            Some(Command::Language(None))
        );
        assert_eq!(parse_command("bahasa jawa", &langs), None);
        assert_eq!(parse_command("menu makanan", &langs), None);
    }
}
