//! A free sentence at a hub (a choice whose options start dialogs: the main menu). A number or a
//! whole option name was already tried; here the sentence is read for the service it names
//! ("sy mau ngadu soal data", "mau beli data susenas"), then as a question the FAQ answers
//! ("berapa biaya data inflasi?"). A tie asks with just the tied services.

use super::choice::ChoiceStep;
use super::{Reading, Turn, faq_answer};
use crate::cases::Answer;
use crate::dialogs::Reply;
use crate::dialogs::spec::Next;
use crate::understand::{self, IntentReading};

/// Reads a sentence at a hub step: the service it names, a question answered, or a re-prompt.
pub(super) fn read_free(turn: &Turn, step: &ChoiceStep, words: &str) -> Reading {
    let starts = |id: &str| {
        step.options
            .iter()
            .position(|o| matches!(&o.next, Some(Next::Start(d)) if d == id))
    };
    match understand::intent(turn.lex(), &turn.bot.understanding.intents, words) {
        IntentReading::Dialog(id) => {
            let value = starts(&id)
                .map(|i| step.options[i].value.clone())
                .unwrap_or_else(|| id.clone());
            return Reading::answer_to(Answer::Choice(value), Some(Next::Start(id)));
        }
        IntentReading::Tie(ids) => {
            let tied: Vec<usize> = ids.iter().filter_map(|id| starts(id)).collect();
            if tied.len() >= 2 {
                return step.ask_between(turn, &tied);
            }
        }
        IntentReading::None => {}
    }
    if understand::small_talk(turn.lex(), words) == Some(understand::SmallTalk::Greeting) {
        // "halo" at the menu: the menu again, without a complaint.
        return Reading::Aside(Vec::new());
    }
    if let Some(answer) = faq_answer(turn, words) {
        // At the menu the answer is enough: the whole menu is not listed again.
        let text = format!("{answer}\n\n{}", turn.sys("menu_hint"));
        return Reading::Stay(vec![Reply::new(text, Vec::new())]);
    }
    Reading::miss("expect_choice")
}
