//! The `email` kind: an e-mail address; with `prefill`, a person who writes by e-mail may
//! answer yes to use the address they write from.

use super::yes_no::said_yes;
use super::{Kind, Reading, Said, Turn};
use crate::cases::Answer;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, input};
use crate::dialogs::{Reply, SubState};
use crate::text::fill;
use crate::understand::{self, EmailReading};

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
            && said_yes(turn.lex(), said.words) == Some(true)
            && let Some(e) = turn.ctx.identity.email()
        {
            return Reading::answer(Answer::Email(e.to_string()));
        }
        match understand::email(turn.lex(), said.words) {
            EmailReading::Ok(e) => Reading::answer(Answer::Email(e)),
            // A domain typo is proposed, never corrected silently.
            EmailReading::Suggest { suggested, typed } => {
                Reading::Follow(SubState::ConfirmEmail { suggested, typed })
            }
            EmailReading::Invalid => match input::parse_email(said.words) {
                Some(e) => Reading::answer(Answer::Email(e)),
                // "gak ada", "belum punya email": not a mistyped address, so "not valid" would
                // loop. A required step says why the address is needed (an optional one took
                // these words as a skip before reading the address).
                None if understand::skip(turn.lex(), said.words) => Reading::miss("email_required"),
                None => Reading::miss("expect_email"),
            },
        }
    }
}

/// "Did you mean …?" after a mistyped provider domain, with yes/no buttons.
pub(super) fn confirm_question(turn: &Turn, suggested: &str) -> Reply {
    let text = fill(
        &turn.sys("email_suggest"),
        &[("suggested", suggested.to_string())],
    );
    Reply::new(text, super::yes_no::yes_no_buttons(turn))
}

/// The answer to "did you mean …?": yes stores the suggestion, no stores what was typed (when
/// it is an address) or asks again; a new address is read as an answer to the step.
pub(super) fn read_confirm(
    turn: &Turn,
    suggested: &str,
    typed: Option<&str>,
    words: &str,
) -> Reading {
    match said_yes(turn.lex(), words) {
        Some(true) => Reading::answer(Answer::Email(suggested.to_string())),
        Some(false) => match typed {
            Some(t) => Reading::answer(Answer::Email(t.to_string())),
            None => Reading::Follow(SubState::None),
        },
        None => match understand::email(turn.lex(), words) {
            EmailReading::Ok(e) => Reading::answer(Answer::Email(e)),
            EmailReading::Suggest { suggested, typed } => {
                Reading::Follow(SubState::ConfirmEmail { suggested, typed })
            }
            EmailReading::Invalid => Reading::Miss(super::Miss {
                ask_again: true,
                ..super::Miss::new("expect_email", Vec::new())
            }),
        },
    }
}
