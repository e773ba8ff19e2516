//! The `case_pick` kind: picks one of the person's own cases (all, or the open ones) by its
//! number in the list or its case number. With no case to pick, an optional step is skipped
//! and a required one ends the dialog.

use super::{Entry, Kind, Reading, Said, Turn, button};
use crate::cases::{Answer, CaseNumber, CaseSummary};
use crate::dialogs::Bot;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::spec::CaseFilter;
use crate::message::OutboundChoice;

/// Picks one of the person's own cases (for a rating, say).
#[derive(Debug, Clone)]
pub struct CasePickStep {
    pub filter: CaseFilter,
}

impl CasePickStep {
    pub const NAME: &'static str = "case_pick";
    pub const KEYS: &'static [&'static str] = &["filter"];

    /// Builds the step: every case unless `filter = "open"`.
    pub(super) fn parse(raw: &RawStep, problems: &mut StepProblems) -> CasePickStep {
        let filter = match raw.filter.as_deref() {
            None | Some("all") => CaseFilter::All,
            Some("open") => CaseFilter::Open,
            Some(other) => {
                problems.push(format!(
                    "filter `{other}` is unknown (expected all or open)"
                ));
                CaseFilter::All
            }
        };
        CasePickStep { filter }
    }

    /// The person's cases this step lists, newest first.
    fn eligible<'a>(&self, turn: &Turn<'a>) -> Vec<&'a CaseSummary> {
        turn.ctx
            .cases
            .iter()
            .filter(|c| self.filter == CaseFilter::All || c.open)
            .collect()
    }
}

impl Kind for CasePickStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        self.eligible(turn)
            .iter()
            .map(|c| button(&c.number.to_string(), format!("{} – {}", c.number, c.title)))
            .collect()
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_choice", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let eligible = self.eligible(turn);
        let by_number = said
            .words
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| eligible.get(i).copied());
        let by_case = CaseNumber::parse(said.words)
            .and_then(|n| eligible.iter().copied().find(|c| c.number == n));
        match by_case.or(by_number) {
            Some(c) => Reading::answer(Answer::Case(c.number.clone())),
            None => Reading::miss("expect_choice"),
        }
    }

    fn enter(&self, turn: &Turn) -> Entry {
        if self.eligible(turn).is_empty() {
            Entry::NothingToChoose {
                note: "case_pick_none",
            }
        } else {
            Entry::Ask
        }
    }
}
