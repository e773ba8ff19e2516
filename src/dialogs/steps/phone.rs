//! The `phone` kind: an Indonesian phone number, stored in E.164; a shared contact answers it
//! when it is the person's own, and with `prefill` a yes takes the number they write from.

use super::yes_no::said_yes;
use super::{Kind, Reading, Said, Takes, Turn};
use crate::cases::Answer;
use crate::dialogs::Bot;
use crate::dialogs::engine::Input;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::text::fill;
use crate::understand::{self, PhoneProblem};

/// An Indonesian phone number, stored in E.164; offers the channel's number when `prefill`.
#[derive(Debug, Clone)]
pub struct PhoneStep {
    /// Only mobile numbers (a land line is refused with `expect_mobile`).
    pub mobile_only: bool,
    pub prefill: bool,
}

impl PhoneStep {
    pub const NAME: &'static str = "phone";
    pub const KEYS: &'static [&'static str] = &["prefill", "mobile_only"];

    /// Builds the step: any number and no prefill unless told.
    pub(super) fn parse(raw: &RawStep, _problems: &mut StepProblems) -> PhoneStep {
        PhoneStep {
            mobile_only: raw.mobile_only.unwrap_or(false),
            prefill: raw.prefill.unwrap_or(false),
        }
    }

    /// The re-prompt for a number that is not one this step takes.
    fn expected_key(&self) -> &'static str {
        if self.mobile_only {
            "expect_mobile"
        } else {
            "expect_phone"
        }
    }
}

impl Kind for PhoneStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn takes(&self) -> Takes {
        Takes {
            contacts: true,
            ..Takes::WORDS
        }
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        match turn.ctx.identity.phone() {
            Some(p) if self.prefill => vec![fill(
                &turn.sys("prefill_phone"),
                &[("value", p.to_string())],
            )],
            Some(_) | None => Vec::new(),
        }
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys(self.expected_key(), lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let own = turn.ctx.identity.phone();
        let candidate = match said.input {
            Input::Contact { own: false, .. } => return Reading::miss("contact_not_own"),
            Input::Contact { phone, own: true } => phone.clone(),
            Input::Text(_) | Input::Choice(_) | Input::File(_)
                if self.prefill
                    && said_yes(turn.lex(), said.words) == Some(true)
                    && own.is_some() =>
            {
                own.unwrap_or_default().to_string()
            }
            Input::Text(_) | Input::Choice(_) | Input::File(_) => said.words.to_string(),
        };
        match understand::phone(&candidate, self.mobile_only) {
            Ok(p) => Reading::answer(Answer::Phone(p.e164)),
            Err(PhoneProblem::NotMobile) => Reading::miss("expect_mobile"),
            Err(PhoneProblem::NotIndonesian) => Reading::miss("phone_not_indonesian"),
            // "gak punya wa", "tidak ada": no number and no typo of one; say why a number is
            // needed instead of repeating the format.
            Err(PhoneProblem::NotFound) if understand::skip(turn.lex(), said.words) => {
                Reading::miss("phone_required")
            }
            Err(
                PhoneProblem::NotFound
                | PhoneProblem::TooShort
                | PhoneProblem::TooLong
                | PhoneProblem::Invalid,
            ) => Reading::miss(self.expected_key()),
        }
    }
}
