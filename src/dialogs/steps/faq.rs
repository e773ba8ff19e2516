//! The `faq` kind: answers questions from the FAQ data file — by its button, its number or the
//! best keyword match — until the person leaves.

use super::{Kind, Reading, Said, Turn, button};
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, Reply, render};
use crate::message::OutboundChoice;
use crate::text::fill;

/// Answers free-text questions from the FAQ data file until the person leaves.
#[derive(Debug, Clone)]
pub struct FaqStep;

impl FaqStep {
    pub const NAME: &'static str = "faq";
    pub const KEYS: &'static [&'static str] = &[];

    /// Builds the step; it has no keys of its own (the questions are the FAQ file's).
    pub(super) fn parse(_raw: &RawStep, _problems: &mut StepProblems) -> FaqStep {
        FaqStep
    }
}

impl Kind for FaqStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        false
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        turn.bot
            .faq
            .entries
            .iter()
            .map(|e| button(&e.id, turn.pick(&e.question)))
            .collect()
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("menu_hint", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let words = said.words;
        let faq = &turn.bot.faq;
        let by_choice = faq.entries.iter().find(|e| e.id == words);
        let by_number = words
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| faq.entries.get(i));
        match by_choice.or(by_number).or_else(|| faq.best_match(words)) {
            Some(e) => {
                let vars = render::common_vars(turn.bot, turn.ctx, turn.lang, None);
                let answer = fill(&turn.pick(&e.answer), &vars);
                Reading::Stay(vec![
                    Reply::new(answer, Vec::new()),
                    Reply::new(turn.sys("faq_more"), Vec::new()),
                ])
            }
            None => Reading::miss("faq_no_match"),
        }
    }
}
