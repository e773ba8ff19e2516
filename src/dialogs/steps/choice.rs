//! The `choice` kind: one option of a list (or several when `multiple`), by its number, its
//! value, its label in any language or its button. Options may branch.
//!
//! The options of a dialog file are read here ([`RawOption`], [`ChoiceStep::parse`]) into
//! [`ChoiceOption`]s, and matched against what people type in [`match_option`].

use super::{Kind, Miss, Reading, Said, Takes, Turn, button, hub};
use crate::cases::Answer;
use crate::dialogs::Bot;
use crate::dialogs::load::{RawStep, StepProblems, parse_next};
use crate::dialogs::spec::{ChoiceOption, Next};
use crate::message::OutboundChoice;
use crate::text::{I18n, pick_for};
use crate::understand::{self, ChoiceMode, ChoiceReading};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// One option as a dialog file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOption {
    value: String,
    label: I18n,
    /// Other words people use for it, read by the understanding layer.
    #[serde(default)]
    also: Vec<String>,
    /// The step this option goes to (or `@finish`, `@menu`).
    next: Option<String>,
    /// The dialog this option starts.
    start: Option<String>,
}

/// One option (or several when `multiple`), by number, label, value or button.
#[derive(Debug, Clone)]
pub struct ChoiceStep {
    pub options: Vec<ChoiceOption>,
    pub multiple: bool,
}

impl ChoiceStep {
    pub const NAME: &'static str = "choice";
    pub const KEYS: &'static [&'static str] = &["options", "multiple"];

    /// Builds the step from its options: at least one, values unique, labels in every language;
    /// an option goes to a step or starts a dialog, not both, and a multiple choice does not
    /// branch.
    pub(super) fn parse(raw: &RawStep, problems: &mut StepProblems) -> ChoiceStep {
        let raw_options = raw.options.as_deref().unwrap_or_default();
        if raw_options.is_empty() {
            problems.push("a choice needs at least one option");
        }
        let mut values = BTreeSet::new();
        let mut also_owner: BTreeMap<String, String> = BTreeMap::new();
        let mut options = Vec::new();
        for o in raw_options {
            if !values.insert(o.value.to_lowercase()) {
                problems.push(format!("option value `{}` is used twice", o.value));
            }
            problems.check_text(&format!("option `{}` label", o.value), &o.label);
            let next = match (&o.next, &o.start) {
                (Some(_), Some(_)) => {
                    problems.push(format!("option `{}` has both next and start", o.value));
                    None
                }
                (Some(n), None) => Some(parse_next(n)),
                (None, Some(d)) => Some(Next::Start(d.clone())),
                (None, None) => None,
            };
            for a in &o.also {
                let key = a.trim().to_lowercase();
                if key.is_empty() {
                    problems.push(format!("option `{}` has an empty `also` word", o.value));
                } else if let Some(other) = also_owner.insert(key, o.value.clone())
                    && other != o.value
                {
                    problems.push(format!(
                        "also `{a}` is on options `{other}` and `{}`: a word may name one option only",
                        o.value
                    ));
                }
            }
            options.push(ChoiceOption {
                value: o.value.clone(),
                label: o.label.clone(),
                also: o.also.clone(),
                next,
            });
        }
        let multiple = raw.multiple.unwrap_or(false);
        if multiple && options.iter().any(|o| o.next.is_some()) {
            problems.push("a multiple choice cannot branch per option");
        }
        ChoiceStep { options, multiple }
    }

    /// The label of the option with this value, or the value itself.
    fn label_of(&self, value: &str, bot: &Bot, lang: &str, variant: Option<&str>) -> String {
        self.options
            .iter()
            .find(|o| o.value == value)
            .map(|o| pick_for(&o.label, lang, bot.default_lang(), variant))
            .unwrap_or_else(|| value.to_string())
    }

    /// A hub is a choice whose every option starts a dialog (the main menu): a free sentence
    /// there is read for the service it names, not for a partial option name.
    pub fn is_hub(&self) -> bool {
        self.options
            .iter()
            .all(|o| matches!(o.next, Some(Next::Start(_))))
    }

    fn expectation_key(&self) -> &'static str {
        if self.multiple {
            "expect_choices"
        } else {
            "expect_choice"
        }
    }

    /// The option at this index, chosen: its value, and its branch.
    fn chosen(&self, i: usize) -> Reading {
        let o = &self.options[i];
        Reading::answer_to(Answer::Choice(o.value.clone()), o.next.clone())
    }

    /// Options a message named equally: ask again with just those.
    pub(super) fn ask_between(&self, turn: &Turn, list: &[usize]) -> Reading {
        let only = list
            .iter()
            .filter_map(|i| self.options.get(*i))
            .map(|o| button(&o.value, turn.pick(&o.label)))
            .collect();
        Reading::Miss(Miss {
            only,
            ..Miss::new("choice_tie", Vec::new())
        })
    }

    /// Several options, separated by commas, semicolons, slashes, lines or (numbers) spaces.
    fn read_several(&self, words: &str) -> Reading {
        let mut chosen: Vec<String> = Vec::new();
        for part in words.split([',', ';', '/', '\n']).flat_map(|p| {
            // "1 3 4" is three numbers; "wawancara telepon" is one label.
            if p.split_whitespace().all(|w| w.parse::<usize>().is_ok()) {
                p.split_whitespace().map(str::to_string).collect::<Vec<_>>()
            } else {
                vec![p.to_string()]
            }
        }) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match match_option(&self.options, part) {
                Some(i) => {
                    if !chosen.contains(&self.options[i].value) {
                        chosen.push(self.options[i].value.clone());
                    }
                }
                None => return Reading::miss("expect_choices"),
            }
        }
        if chosen.is_empty() {
            return Reading::miss("expect_choices");
        }
        Reading::answer(Answer::Choices(chosen))
    }
}

impl Kind for ChoiceStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        self.options
            .iter()
            .map(|o| button(&o.value, turn.pick(&o.label)))
            .collect()
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        if self.multiple {
            vec![turn.sys("expect_choices")]
        } else {
            Vec::new()
        }
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys(self.expectation_key(), lang)
    }

    fn takes(&self) -> Takes {
        Takes {
            asides: !self.is_hub(),
            ..Takes::WORDS
        }
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        // A button, a number, a value or a whole label, exactly as before.
        if self.multiple {
            if let ok @ Reading::Answer { .. } = self.read_several(said.words) {
                return ok;
            }
        } else if let Some(i) = match_option(&self.options, said.words) {
            return self.chosen(i);
        }
        let Some(choices) = turn
            .bot
            .understanding
            .choices(&turn.dialog.id, &turn.step.id)
        else {
            return Reading::miss(self.expectation_key());
        };
        let mode = if self.is_hub() {
            ChoiceMode::Exact
        } else if self.multiple {
            ChoiceMode::Multiple
        } else {
            ChoiceMode::Single
        };
        match understand::choose(turn.lex(), choices, said.words, mode) {
            ChoiceReading::One(i) if self.multiple => {
                Reading::answer(Answer::Choices(vec![self.options[i].value.clone()]))
            }
            ChoiceReading::One(i) => self.chosen(i),
            ChoiceReading::Several(list) => Reading::answer(Answer::Choices(
                list.iter()
                    .map(|i| self.options[*i].value.clone())
                    .collect(),
            )),
            ChoiceReading::Tie(list) => self.ask_between(turn, &list),
            ChoiceReading::None if self.is_hub() => hub::read_free(turn, self, said.words),
            ChoiceReading::None => Reading::miss(self.expectation_key()),
        }
    }

    fn branches(&self) -> Vec<&Next> {
        self.options
            .iter()
            .filter_map(|o| o.next.as_ref())
            .collect()
    }

    fn display(
        &self,
        bot: &Bot,
        answer: &Answer,
        lang: &str,
        variant: Option<&str>,
    ) -> Option<String> {
        if let Answer::Choice(v) = answer {
            return Some(self.label_of(v, bot, lang, variant));
        }
        if let Answer::Choices(vs) = answer {
            let labels: Vec<String> = vs
                .iter()
                .map(|v| self.label_of(v, bot, lang, variant))
                .collect();
            return Some(labels.join(", "));
        }
        None
    }
}

/// The index of the option a text names: its number, its value, or its label in any language.
pub(crate) fn match_option(options: &[ChoiceOption], text: &str) -> Option<usize> {
    let t = text.trim().trim_end_matches('.').to_lowercase();
    if t.is_empty() {
        return None;
    }
    if let Ok(n) = t.parse::<usize>() {
        return n.checked_sub(1).filter(|i| *i < options.len());
    }
    options
        .iter()
        .position(|o| o.value.to_lowercase() == t)
        .or_else(|| {
            options
                .iter()
                .position(|o| o.label.values().any(|l| l.trim().to_lowercase() == t))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_match_by_number_value_or_label() {
        let opt = |v: &str, id: &str, en: &str| ChoiceOption {
            value: v.into(),
            label: [
                ("id".to_string(), id.to_string()),
                ("en".to_string(), en.to_string()),
            ]
            .into(),
            also: Vec::new(),
            next: None,
        };
        let options = vec![
            opt("L", "Laki-laki", "Male"),
            opt("P", "Perempuan", "Female"),
        ];
        assert_eq!(match_option(&options, "2"), Some(1));
        assert_eq!(match_option(&options, "p"), Some(1));
        assert_eq!(match_option(&options, "laki-laki"), Some(0));
        assert_eq!(match_option(&options, "FEMALE"), Some(1));
        assert_eq!(match_option(&options, "3"), None);
        assert_eq!(match_option(&options, "0"), None);
        assert_eq!(match_option(&options, "wanita"), None);
    }
}
