//! The `appointment` kind: a date and time for a visit to the office, inside service hours,
//! at least some minutes ahead and not too many days away.

use super::{Kind, Reading, Said, Turn};
use crate::cases::Answer;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, input};
use chrono::Duration;

/// A date and time for a visit: inside service hours and at least `min_lead_minutes` ahead.
#[derive(Debug, Clone)]
pub struct AppointmentStep {
    pub min_lead_minutes: i64,
    pub max_days_ahead: i64,
}

impl AppointmentStep {
    pub const NAME: &'static str = "appointment";
    pub const KEYS: &'static [&'static str] = &["min_lead_minutes", "max_days_ahead"];

    /// Builds the step: an hour ahead at least and 60 days at most unless told.
    pub(super) fn parse(raw: &RawStep, _problems: &mut StepProblems) -> AppointmentStep {
        AppointmentStep {
            min_lead_minutes: raw.min_lead_minutes.unwrap_or(60),
            max_days_ahead: raw.max_days_ahead.unwrap_or(60),
        }
    }
}

impl Kind for AppointmentStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_appointment", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let cal = &turn.bot.calendar;
        let now = turn.ctx.now;
        let today = cal.local(now).date();
        let Some(local) = input::parse_local_datetime(said.words, today) else {
            return Reading::miss("expect_appointment");
        };
        let at = cal.to_utc(local);
        if at < now + Duration::minutes(self.min_lead_minutes) {
            return Reading::miss_with(
                "appointment_too_soon",
                vec![("minutes", self.min_lead_minutes.to_string())],
            );
        }
        if at > now + Duration::days(self.max_days_ahead) {
            return Reading::miss_with(
                "appointment_too_far",
                vec![("days", self.max_days_ahead.to_string())],
            );
        }
        if !cal.is_open_at(at) {
            return Reading::miss_with(
                "appointment_closed",
                vec![("hours", cal.hours_text(turn.lang))],
            );
        }
        Reading::answer(Answer::DateTime(at))
    }
}
