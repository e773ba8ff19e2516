//! The `summary` kind: shows every answer so far and asks to send them, or to change one; a
//! change asks which answer (a follow-up question), goes to its step, and comes back here.

use super::{Kind, Miss, Reading, Said, Takes, Turn, button};
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::{Bot, Reply, SubState, input, render};
use crate::message::OutboundChoice;
use crate::understand::{self, Lexicon, SummaryReading};

/// Shows every answer so far and asks to send, or to change one of them.
#[derive(Debug, Clone)]
pub struct SummaryStep;

impl SummaryStep {
    pub const NAME: &'static str = "summary";
    pub const KEYS: &'static [&'static str] = &[];

    /// Builds the step; it has no keys of its own.
    pub(super) fn parse(_raw: &RawStep, _problems: &mut StepProblems) -> SummaryStep {
        SummaryStep
    }
}

/// Send (`Some(true)`), change (`Some(false)`), in words, by button, or as yes and no.
/// Send (true) or change (false): the buttons' values and exact words, then everyday words
/// ("siap", "ok kirim", "sdh benar", "ada yg salah") through the understanding layer.
fn send_or_change(lex: &Lexicon, words: &str) -> Option<bool> {
    match words.trim().to_lowercase().as_str() {
        "send" | "kirim" | "submit" | "simpan" | "save" => Some(true),
        "change" | "ubah" | "edit" | "ganti" | "perbaiki" => Some(false),
        t => match understand::summary(lex, t) {
            Some(SummaryReading::Confirm) => Some(true),
            Some(SummaryReading::Change) => Some(false),
            None => input::parse_yes_no(t),
        },
    }
}

impl Kind for SummaryStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        false
    }

    fn takes(&self) -> Takes {
        Takes {
            numbered_buttons: true,
            skip_words: false,
            ..Takes::WORDS
        }
    }

    fn buttons(&self, turn: &Turn) -> Vec<OutboundChoice> {
        vec![
            button("send", turn.sys("send")),
            button("change", turn.sys("change")),
        ]
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        vec![
            render::summary_text_for(
                turn.bot,
                turn.dialog,
                turn.answers,
                turn.lang,
                turn.ctx.identity.channel.text_variant(),
            ),
            turn.sys("summary_question"),
        ]
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        bot.sys("expect_send_change", lang)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        match send_or_change(turn.lex(), said.words) {
            Some(true) => Reading::Done,
            Some(false) => Reading::Follow(SubState::PickField),
            None => Reading::miss("expect_send_change"),
        }
    }
}

/// The follow-up question: which answer to change, one button per answered field.
pub(super) fn field_question(turn: &Turn) -> Reply {
    let choices = render::answered(turn.dialog, turn.answers)
        .iter()
        .map(|(s, _)| {
            let label = s.label.as_ref().map(|l| turn.pick(l)).unwrap_or_default();
            button(&s.id, label)
        })
        .collect();
    Reply::new(turn.sys("summary_pick_field"), choices)
}

/// Reads the answer to change: by its number in the summary, its step id or its label.
pub(super) fn read_field_pick(turn: &Turn, words: &str) -> Reading {
    let text = words.trim().to_lowercase();
    let fields = render::answered(turn.dialog, turn.answers);
    let by_number = text
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| fields.get(i));
    let by_name = fields.iter().find(|(s, _)| {
        s.id == text
            || s.label
                .as_ref()
                .is_some_and(|l| l.values().any(|v| v.to_lowercase() == text))
    });
    match by_number.or(by_name) {
        Some((s, _)) => Reading::Edit(s.id.clone()),
        None => Reading::Miss(Miss {
            ask_again: true,
            ..Miss::new("expect_choice", Vec::new())
        }),
    }
}
