//! The `email` kind: an e-mail address; with `prefill`, a person who writes by e-mail may
//! answer yes to use the address they write from.

use super::yes_no::said_yes;
use super::{Kind, Reading, Said, Turn};
use crate::cases::Answer;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, input};
use crate::text::fill;

/// An e-mail address; offers the channel's own address when `prefill`.
#[derive(Debug, Clone)]
pub struct EmailStep {
    pub prefill: bool,
}

impl EmailStep {
    pub const NAME: &'static str = "email";
    pub const KEYS: &'static [&'static str] = &["prefill"];

    /// Builds the step: no prefill unless told.
    pub(super) fn parse(raw: &RawStep, _problems: &mut StepProblems) -> EmailStep {
        EmailStep {
            prefill: raw.prefill.unwrap_or(false),
        }
    }
}

impl Kind for EmailStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        match turn.ctx.identity.email() {
            Some(e) if self.prefill => vec![fill(
                &turn.sys("prefill_email"),
                &[("value", e.to_string())],
            )],
            Some(_) | None => Vec::new(),
        }
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_email", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        if self.prefill
            && said_yes(said.words) == Some(true)
            && let Some(e) = turn.ctx.identity.email()
        {
            return Reading::answer(Answer::Email(e.to_string()));
        }
        match input::parse_email(said.words) {
            Some(e) => Reading::answer(Answer::Email(e)),
            None => Reading::miss("expect_email"),
        }
    }
}
