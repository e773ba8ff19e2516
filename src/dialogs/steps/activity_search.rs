//! The `activity_search` kind: searches the statistical activities that already received a
//! recommendation (issued cases first, then the data file) until the person is done.

use super::{Kind, Reading, Said, Takes, Turn, button};
use crate::dialogs::data::{Activity, search_activities};
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, Reply, input};
use crate::message::OutboundChoice;
use crate::text::fill;

/// How many activities one search shows.
const SHOWN: usize = 5;

/// Searches statistical activities that already received a recommendation.
#[derive(Debug, Clone)]
pub struct ActivitySearchStep;

impl ActivitySearchStep {
    pub const NAME: &'static str = "activity_search";
    pub const KEYS: &'static [&'static str] = &[];

    /// Builds the step; it has no keys of its own.
    pub(super) fn parse(_raw: &RawStep, _problems: &mut StepProblems) -> ActivitySearchStep {
        ActivitySearchStep
    }
}

/// One activity found, as a line of the results.
fn result_line(h: &Activity) -> String {
    format!(
        "• {} — {} ({}){}",
        h.title,
        h.organiser,
        h.year,
        h.letter
            .as_ref()
            .map(|l| format!(", {l}"))
            .unwrap_or_default()
    )
}

impl Kind for ActivitySearchStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        false
    }

    fn takes(&self) -> Takes {
        Takes {
            numbered_buttons: true,
            ..Takes::WORDS
        }
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        vec![button("next", turn.sys("search_more"))]
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("menu_hint", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let words = said.words;
        if input::is_done_word(words) {
            return Reading::Done;
        }
        let mut hits: Vec<&Activity> = search_activities(turn.ctx.issued, words, SHOWN);
        for h in search_activities(&turn.bot.activities.activities, words, SHOWN) {
            if hits.len() < SHOWN {
                hits.push(h);
            }
        }
        let text = if hits.is_empty() {
            fill(&turn.sys("search_none"), &[("query", words.to_string())])
        } else {
            let list: Vec<String> = hits.iter().map(|h| result_line(h)).collect();
            fill(&turn.sys("search_results"), &[("results", list.join("\n"))])
        };
        Reading::Stay(vec![Reply::new(text, self.buttons(turn))])
    }
}
