//! The `date` kind: a calendar date within bounds (`today` or a fixed date), and not before the
//! date another step of the dialog stored.

use super::{Kind, Reading, Said, Turn};
use crate::cases::Answer;
use crate::cases::calendar::format_date;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::spec::{DateBound, Dialog, StepKind};
use crate::dialogs::{Bot, input};
use crate::understand::{self, DateReading, Direction};

/// A calendar date, within bounds and not before the date in `not_before_field`.
#[derive(Debug, Clone)]
pub struct DateStep {
    pub min: Option<DateBound>,
    pub max: Option<DateBound>,
    /// The field of another date step this date may not precede (an end after its start).
    pub not_before_field: Option<String>,
}

impl DateStep {
    pub const NAME: &'static str = "date";
    pub const KEYS: &'static [&'static str] = &["min", "max", "not_before_field"];

    /// Builds the step: each bound is `"today"` or a date `YYYY-MM-DD` (quoted or a TOML date).
    pub(super) fn parse(raw: &RawStep, problems: &mut StepProblems) -> DateStep {
        DateStep {
            min: bound(&raw.min, "min", problems),
            max: bound(&raw.max, "max", problems),
            not_before_field: raw.not_before_field.clone(),
        }
    }
}

/// One bound of a date step as the dialog file writes it.
impl DateStep {
    /// Which way a date without a year or a bare weekday is read: an incident (no later than
    /// today) looks back, a planned period (from today, or after another date) looks ahead.
    fn direction(&self) -> Direction {
        if self.max == Some(DateBound::Today) {
            Direction::Past
        } else if self.min == Some(DateBound::Today) || self.not_before_field.is_some() {
            Direction::Future
        } else {
            Direction::Any
        }
    }
}

fn bound(v: &Option<toml::Value>, key: &str, problems: &mut StepProblems) -> Option<DateBound> {
    match v {
        None => None,
        Some(toml::Value::String(s)) if s == "today" => Some(DateBound::Today),
        Some(toml::Value::String(s)) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(DateBound::Fixed(d)),
            Err(_) => {
                problems.push(format!("{key} must be \"today\" or a date YYYY-MM-DD"));
                None
            }
        },
        Some(toml::Value::Datetime(d)) => match d.date {
            Some(date) => chrono::NaiveDate::from_ymd_opt(
                date.year as i32,
                date.month as u32,
                date.day as u32,
            )
            .map(DateBound::Fixed),
            None => None,
        },
        Some(_) => {
            problems.push(format!("{key} must be \"today\" or a date YYYY-MM-DD"));
            None
        }
    }
}

impl Kind for DateStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_date", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let today = turn.bot.calendar.local(turn.ctx.now).date();
        let date = match input::parse_date(said.words) {
            Some(d) => d,
            None => match understand::date(turn.lex(), said.words, today, self.direction()) {
                DateReading::Date(d) => d,
                DateReading::NoSuchDate => return Reading::miss("date_no_such"),
                DateReading::None => return Reading::miss("expect_date"),
            },
        };
        let bound = |b: &DateBound| match b {
            DateBound::Today => today,
            DateBound::Fixed(d) => *d,
        };
        let shown = |d| vec![("date", format_date(d, turn.lang, false))];
        if let Some(m) = self.min.as_ref().map(bound)
            && date < m
        {
            let key = match self.min {
                Some(DateBound::Today) => "date_not_past",
                _ => "date_too_early",
            };
            return Reading::miss_with(key, shown(m));
        }
        if let Some(m) = self.max.as_ref().map(bound)
            && date > m
        {
            let key = match self.max {
                Some(DateBound::Today) => "date_not_future",
                _ => "date_too_late",
            };
            return Reading::miss_with(key, shown(m));
        }
        if let Some(f) = &self.not_before_field
            && let Some(Answer::Date(other)) = turn.answers.get(f)
            && date < *other
        {
            return Reading::miss_with("date_before_field", shown(*other));
        }
        Reading::answer(Answer::Date(date))
    }

    fn check(&self, dialog: &Dialog) -> Vec<String> {
        match &self.not_before_field {
            Some(f)
                if !dialog
                    .steps
                    .iter()
                    .any(|o| &o.field == f && matches!(o.kind, StepKind::Date(_))) =>
            {
                vec![format!(
                    "not_before_field `{f}` is not the field of a date step"
                )]
            }
            Some(_) | None => Vec::new(),
        }
    }
}
