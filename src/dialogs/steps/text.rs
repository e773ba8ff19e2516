//! The `text` kind: free text between a minimum and a maximum length, optionally matching a
//! pattern (a name, an institution, a description).

use super::{Kind, Reading, Said, Takes, Turn};
use crate::cases::Answer;
use crate::dialogs::engine::Input;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, input};
use crate::text::I18n;
use regex::Regex;

/// Free text between `min_len` and `max_len` characters; optionally matching `pattern`.
#[derive(Debug, Clone)]
pub struct TextStep {
    pub min_len: usize,
    pub max_len: usize,
    pub pattern: Option<Regex>,
    /// Says what the pattern wants, in the re-prompt of an answer that does not match it.
    pub pattern_hint: Option<I18n>,
}

impl TextStep {
    pub const NAME: &'static str = "text";
    pub const KEYS: &'static [&'static str] = &["min_len", "max_len", "pattern", "pattern_hint"];

    /// Builds the step from its keys: 1 to 500 characters unless told; the pattern must compile.
    pub(super) fn parse(raw: &RawStep, problems: &mut StepProblems) -> TextStep {
        let min_len = raw.min_len.unwrap_or(1);
        let max_len = raw.max_len.unwrap_or(500);
        if min_len > max_len {
            problems.push(format!(
                "min_len {min_len} is larger than max_len {max_len}"
            ));
        }
        let pattern = match &raw.pattern {
            Some(p) => match Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!(
                        "pattern does not compile: {}",
                        one_line(&e.to_string())
                    ));
                    None
                }
            },
            None => None,
        };
        TextStep {
            min_len,
            max_len,
            pattern,
            pattern_hint: raw.pattern_hint.clone(),
        }
    }
}

/// A regex error (several lines with a caret) as one line for the loader's report.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Kind for TextStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn takes(&self) -> Takes {
        Takes {
            asides: true,
            ..Takes::WORDS
        }
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_text", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let Input::Text(t) = said.input else {
            return Reading::miss("expect_text");
        };
        let n = t.chars().count();
        if !input::has_alphanumeric(t) {
            return Reading::miss("text_needs_letters");
        }
        if n < self.min_len {
            return Reading::miss_with("text_too_short", vec![("min", self.min_len.to_string())]);
        }
        if n > self.max_len {
            return Reading::miss_with(
                "text_too_long",
                vec![("max", self.max_len.to_string()), ("len", n.to_string())],
            );
        }
        if let Some(p) = &self.pattern
            && !p.is_match(t)
        {
            let hint = self
                .pattern_hint
                .as_ref()
                .map(|h| turn.pick(h))
                .unwrap_or_default();
            return Reading::miss_with("text_pattern", vec![("hint", hint)]);
        }
        Reading::answer(Answer::Text(t.clone()))
    }
}
