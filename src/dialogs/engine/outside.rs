//! Outside a form, what a message is decides where it goes (issues 19 and 25), in this order:
//!
//! 1. the answer to a question asked here before (which case? to the officer or the menu?);
//! 2. a sentence that names a service starts it ("sy mau ngadu", "cek status"), with one line
//!    about the person's open case; with an open case, only a short one (a long message that
//!    mentions a service is meant for the officer);
//! 3. small talk: a greeting opens the menu (with the open-case line); thanks and bare
//!    acknowledgements ("ya", "ok", "👍") get a short answer and are not forwarded;
//! 4. a person with an open case talks to its officers (`handoff`): with several open cases the
//!    person picks one, and the pick is remembered; a very short message is asked about first;
//! 5. a question the FAQ answers is answered; anything else opens the menu.

use super::{Ctx, Input, Out, handoff, start_dialog};
use crate::cases::{CaseNumber, CaseSummary};
use crate::dialogs::steps::button;
use crate::dialogs::{Reply, render};
use crate::text::{fill, pick};
use crate::understand::{self, IntentReading, SmallTalk};

/// Button values of the questions asked here.
const FORWARD: &str = "teruskan";
const OPEN_MENU: &str = "menu";
const CASE_PREFIX: &str = "kasus:";

/// Words above which (with an open case) a message is for the officer even when it names a
/// service: a request for a new service is short ("mau beli data susenas"), a message to an
/// officer often mentions data or tables.
const LONG_MESSAGE_WORDS: usize = 8;
/// Words of content at or below which a message to an open case is asked about first.
const SHORT_MESSAGE_WORDS: usize = 1;

/// Handles a message outside any dialog.
pub(super) fn outside_dialog(
    out: &mut Out,
    ctx: &Ctx,
    input: &Input,
    text: Option<&str>,
    first: bool,
) {
    if answer_pending(out, ctx, input, text) {
        return;
    }
    let open: Vec<&CaseSummary> = ctx.cases.iter().filter(|c| c.open).collect();
    if let Some(t) = text {
        let lex = &out.bot.understanding.lexicon;
        let waiting_done =
            open.iter().any(|c| c.waiting_on_applicant) && crate::dialogs::input::is_done_word(t);
        if !waiting_done {
            // With an open case, a long message is a message to its officer even when it
            // mentions a service ("the table you sent cannot be opened").
            let short = open.is_empty() || words(t) <= LONG_MESSAGE_WORDS;
            if short
                && let IntentReading::Dialog(id) =
                    understand::intent(lex, &out.bot.understanding.intents, t)
            {
                // (the status view lists the open case itself)
                if id != "status" {
                    note_open_case(out, &open);
                }
                return start_dialog(out, ctx, &id, None);
            }
            match understand::small_talk(lex, t) {
                Some(SmallTalk::Greeting) => {
                    note_open_case(out, &open);
                    return start_dialog(out, ctx, "menu", None);
                }
                Some(SmallTalk::Thanks) if !first => return out.sys("small_talk_thanks"),
                // ("ya" with nothing open and no question asked: the menu, as before)
                Some(SmallTalk::Acknowledgement) if !first && !open.is_empty() => {
                    return out.sys("small_talk_ack");
                }
                Some(_) | None => {}
            }
        }
        if !first && !open.is_empty() && !waiting_done {
            if let Some(target) = remembered(out, &open) {
                if understand::content_words(&out.bot.understanding.lexicon, t)
                    <= SHORT_MESSAGE_WORDS
                    && t.parse::<u64>().is_err()
                {
                    return ask_forward_or_menu(out, &[target], t);
                }
            } else {
                return ask_which_case(out, &open, t);
            }
        }
    }
    if !first && handoff::hand_off(out, ctx, input, text, remembered(out, &open)) {
        return;
    }
    if !first
        && let Some(t) = text
        && let Some(answer) = faq_answer(out, ctx, t)
    {
        out.say(answer, Vec::new());
        out.sys("menu_hint");
        return;
    }
    start_dialog(out, ctx, "menu", None);
}

/// Dialogs that show something to pick from rather than ask a question: the main menu, and the
/// status list ("type a request number for its details").
const VIEWS: [&str; 2] = ["menu", "status"];

/// Whether a text typed while a view (the menu, the status list) waits is read as outside a
/// form instead: a view is not a question. Small talk ("makasih", "ok", "halo") is; and for a
/// person with an open case (whom the menu tells "just type your message"), a long message, or
/// one without a digit that picks nothing (not a mistyped number), goes to the officer as it
/// would with nothing on screen.
pub(super) fn view_passes_on(out: &Out, ctx: &Ctx, input: &Input, text: &str) -> bool {
    let Some(turn) = out.turn(ctx) else {
        return false;
    };
    if !VIEWS.contains(&turn.dialog.id.as_str()) || !turn.answers.is_empty() {
        return false;
    }
    let lex = &out.bot.understanding.lexicon;
    if understand::small_talk(lex, text).is_some() {
        return true;
    }
    if !ctx.cases.iter().any(|c| c.open) {
        return false;
    }
    words(text) > LONG_MESSAGE_WORDS
        || (!text.chars().any(|c| c.is_ascii_digit())
            && matches!(
                crate::dialogs::steps::read(&turn, input),
                crate::dialogs::steps::Reading::Miss(_)
            ))
}

/// The case a message goes to: the only open case, the one the person picked before, or (for
/// several) none yet.
fn remembered<'a>(out: &Out, open: &[&'a CaseSummary]) -> Option<&'a CaseSummary> {
    match open {
        [only] => Some(only),
        _ => out
            .conv
            .talking_to
            .as_ref()
            .and_then(|n| open.iter().find(|c| &c.number == n).copied()),
    }
}

/// One line saying the open case and how to write to its officer (the newest, when several).
fn note_open_case(out: &mut Out, open: &[&CaseSummary]) {
    let Some(case) = open.first() else {
        return;
    };
    let lang = out.lang();
    let stage = out.bot.stage_label(case.number.service, &case.stage, &lang);
    let line = fill(
        &out.text("open_case_note"),
        &[("case", case.number.to_string()), ("stage", stage)],
    );
    out.say(line, Vec::new());
}

/// "Is this for the officer of CASE?" with two buttons; the message waits for the answer.
fn ask_forward_or_menu(out: &mut Out, open: &[&CaseSummary], text: &str) {
    let Some(case) = open.first() else {
        return;
    };
    let number = case.number.to_string();
    out.conv.pending_forward = Some(text.to_string());
    let choices = vec![
        button(
            FORWARD,
            fill(&out.text("button_forward"), &[("case", number.clone())]),
        ),
        button(OPEN_MENU, out.text("button_open_menu")),
    ];
    let question = fill(&out.text("ask_forward_or_menu"), &[("case", number)]);
    out.say(question, choices);
}

/// "Which request is this about?" with one button per open case; the message waits.
fn ask_which_case(out: &mut Out, open: &[&CaseSummary], text: &str) {
    let lang = out.lang();
    out.conv.pending_forward = Some(text.to_string());
    let choices = open
        .iter()
        .map(|c| {
            let stage = out.bot.stage_label(c.number.service, &c.stage, &lang);
            button(
                &format!("{CASE_PREFIX}{}", c.number),
                format!("{} ({stage})", c.number),
            )
        })
        .collect();
    out.effects.push(crate::dialogs::Effect::Reply(Reply::new(
        out.text("ask_which_case"),
        choices,
    )));
}

/// The answer to a question asked above: forward the waiting message (to the case picked), or
/// open the menu. Anything else drops the question and is read as a new message.
fn answer_pending(out: &mut Out, ctx: &Ctx, input: &Input, text: Option<&str>) -> bool {
    let Some(pending) = out.conv.pending_forward.take() else {
        return false;
    };
    let said = match input {
        Input::Choice(v) => v.clone(),
        Input::Text(_) => text.unwrap_or_default().trim().to_lowercase(),
        Input::File(_) | Input::Contact { .. } => return false,
    };
    let open: Vec<&CaseSummary> = ctx.cases.iter().filter(|c| c.open).collect();
    let picked = said
        .strip_prefix(CASE_PREFIX)
        .or(Some(said.as_str()))
        .and_then(|s| CaseNumber::parse(&s.to_uppercase()))
        .or_else(|| {
            // A number typed for the n-th button (SMS, e-mail).
            let n = said.parse::<usize>().ok()?.checked_sub(1)?;
            (open.len() > 1 && out.conv.talking_to.is_none())
                .then(|| open.get(n).map(|c| c.number.clone()))
                .flatten()
        });
    if let Some(number) = picked.filter(|n| open.iter().any(|c| &c.number == n)) {
        out.conv.talking_to = Some(number);
        let target = remembered(out, &open);
        return handoff::forward_text(out, ctx, target, &pending);
    }
    let lex = &out.bot.understanding.lexicon;
    let forward = said == FORWARD || said == "1" || understand::yes_no(lex, &said) == Some(true);
    if forward {
        let target = remembered(out, &open);
        return handoff::forward_text(out, ctx, target, &pending);
    }
    if said == OPEN_MENU || said == "2" {
        start_dialog(out, ctx, "menu", None);
        return true;
    }
    false
}

/// The FAQ's answer to a question typed outside a form: a question the FAQ matches, or any
/// message that matches an entry well (two keywords, or the entry's pattern).
fn faq_answer(out: &Out, ctx: &Ctx, text: &str) -> Option<String> {
    let bot = out.bot;
    let lex = &bot.understanding.lexicon;
    let (score, entry) = bot.faq.scored_match_normalized(lex, text)?;
    if score < 2 && !understand::is_question(lex, text) {
        return None;
    }
    let lang = out.lang();
    let vars = render::common_vars(bot, ctx, &lang, None);
    Some(fill(&pick(&entry.answer, &lang, bot.default_lang()), &vars))
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}
