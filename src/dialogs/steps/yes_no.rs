//! The `yes_no` kind: yes or no in any configured language (or its button, or its number);
//! either answer may branch.

use super::{Kind, Reading, Said, Takes, Turn, button};
use crate::cases::Answer;
use crate::dialogs::load::{RawStep, StepProblems, parse_next};
use crate::dialogs::spec::Next;
use crate::dialogs::{Bot, input};
use crate::message::OutboundChoice;
use crate::understand::{self, Lexicon};

/// Yes or no, in any configured language; may branch.
#[derive(Debug, Clone)]
pub struct YesNoStep {
    pub next_yes: Option<Next>,
    pub next_no: Option<Next>,
}

impl YesNoStep {
    pub const NAME: &'static str = "yes_no";
    pub const KEYS: &'static [&'static str] = &["next_yes", "next_no"];

    /// Builds the step from its branches.
    pub(super) fn parse(raw: &RawStep, _problems: &mut StepProblems) -> YesNoStep {
        YesNoStep {
            next_yes: raw.next_yes.as_deref().map(parse_next),
            next_no: raw.next_no.as_deref().map(parse_next),
        }
    }
}

/// The yes and no buttons (their values are `yes` and `no`).
pub(super) fn yes_no_buttons(turn: &Turn) -> Vec<OutboundChoice> {
    vec![button("yes", turn.sys("yes")), button("no", turn.sys("no"))]
}

/// Yes or no: a button's value, or the words in any language; `None` for anything else.
/// Yes or no: the buttons' values, the old exact words, then everyday words ("iya dong",
/// "siap", "gak", "belum") through the understanding layer.
pub(super) fn said_yes(lex: &Lexicon, words: &str) -> Option<bool> {
    match words {
        "yes" => Some(true),
        "no" => Some(false),
        t => input::parse_yes_no(t).or_else(|| understand::yes_no(lex, t)),
    }
}

impl Kind for YesNoStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn takes(&self) -> Takes {
        Takes {
            numbered_buttons: true,
            ..Takes::WORDS
        }
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        yes_no_buttons(turn)
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_yes_no", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        match said_yes(turn.lex(), said.words) {
            Some(true) => Reading::answer_to(Answer::Bool(true), self.next_yes.clone()),
            Some(false) => Reading::answer_to(Answer::Bool(false), self.next_no.clone()),
            None => Reading::miss("expect_yes_no"),
        }
    }

    fn branches(&self) -> Vec<&Next> {
        self.next_yes.iter().chain(self.next_no.iter()).collect()
    }
}
