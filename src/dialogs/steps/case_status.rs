//! The `case_status` kind: lists the person's own cases with their stage and due date, and
//! shows one by its number. Unknown numbers and other people's cases get the same answer.

use super::{Kind, Reading, Said, Turn};
use crate::cases::CaseNumber;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, Reply, render};
use crate::text::fill;

/// Lists the person's own cases and shows one by its number.
#[derive(Debug, Clone)]
pub struct CaseStatusStep;

impl CaseStatusStep {
    pub const NAME: &'static str = "case_status";
    pub const KEYS: &'static [&'static str] = &[];

    /// Builds the step; it has no keys of its own.
    pub(super) fn parse(_raw: &RawStep, _problems: &mut StepProblems) -> CaseStatusStep {
        CaseStatusStep
    }
}

impl Kind for CaseStatusStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        false
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        let (bot, lang) = (turn.bot, turn.lang);
        if turn.ctx.cases.is_empty() {
            return vec![turn.sys("status_none")];
        }
        let mut notes = vec![turn.sys("status_list")];
        for c in turn.ctx.cases {
            notes.push(fill(
                &turn.sys("status_line"),
                &[
                    ("case", c.number.to_string()),
                    ("title", c.title.clone()),
                    ("stage", bot.stage_label(c.number.service, &c.stage, lang)),
                    ("due", render::due_text(bot, c, lang)),
                ],
            ));
        }
        notes
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("menu_hint", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let (bot, lang) = (turn.bot, turn.lang);
        let own = CaseNumber::parse(said.words)
            .and_then(|n| turn.ctx.cases.iter().find(|c| c.number == n));
        // The same answer for unknown and other people's cases: nothing leaks.
        let Some(c) = own else {
            return Reading::miss("status_not_found");
        };
        let detail = fill(
            &turn.sys("status_detail"),
            &[
                ("case", c.number.to_string()),
                ("title", c.title.clone()),
                ("stage", bot.stage_label(c.number.service, &c.stage, lang)),
                ("due", render::due_text(bot, c, lang)),
                ("created", bot.calendar.format_local(c.created_at, lang)),
            ],
        );
        Reading::Stay(vec![
            Reply::new(detail, Vec::new()),
            Reply::new(turn.sys("menu_hint"), Vec::new()),
        ])
    }
}
