//! The `number` kind: a number within bounds, written the Indonesian way or another
//! (`1.500`, `1,5`, `1500`); whole numbers only unless told.

use super::{Kind, Reading, Said, Turn};
use crate::cases::Answer;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, input};

/// A number within bounds; whole numbers only when `integer`.
#[derive(Debug, Clone)]
pub struct NumberStep {
    pub min: f64,
    pub max: f64,
    pub integer: bool,
}

impl NumberStep {
    pub const NAME: &'static str = "number";
    pub const KEYS: &'static [&'static str] = &["min", "max", "integer"];

    /// Builds the step: 0 to 10¹² and whole numbers unless told; `min` may not pass `max`.
    pub(super) fn parse(raw: &RawStep, problems: &mut StepProblems) -> NumberStep {
        let min = number(&raw.min, "min", 0.0, problems);
        let max = number(&raw.max, "max", 1e12, problems);
        if min > max {
            problems.push(format!("min {min} is larger than max {max}"));
        }
        NumberStep {
            min,
            max,
            integer: raw.integer.unwrap_or(true),
        }
    }
}

/// One bound of a number step as the dialog file writes it (an integer or a float).
fn number(v: &Option<toml::Value>, key: &str, default: f64, problems: &mut StepProblems) -> f64 {
    match v {
        None => default,
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(toml::Value::Float(f)) => *f,
        Some(_) => {
            problems.push(format!("{key} must be a number"));
            default
        }
    }
}

/// A bound as a person reads it: `10`, not `10.0`.
fn shown(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

impl Kind for NumberStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_number", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let number = input::parse_number(said.words)
            .or_else(|| crate::understand::number(turn.lex(), said.words));
        let Some(n) = number else {
            return Reading::miss("expect_number");
        };
        if self.integer && n.fract() != 0.0 {
            return Reading::miss("number_whole");
        }
        if n < self.min || n > self.max {
            return Reading::miss_with(
                "number_range",
                vec![("min", shown(self.min)), ("max", shown(self.max))],
            );
        }
        Reading::answer(Answer::Number(n))
    }
}
