//! The `attachment` kind: a file of an accepted type, not larger than the step's limit (the
//! config's when absent). Over SMS, which carries no files, an optional file is not asked.
//!
//! [`file_refusal`] is the one check of a file's type and size; files sent to an open case
//! outside any dialog go through it too.

use super::{Kind, Miss, Reading, Said, Takes, Turn};
use crate::cases::Answer;
use crate::dialogs::engine::Input;
use crate::dialogs::load::{RawStep, StepProblems};
use crate::dialogs::spec::DEFAULT_FILE_TYPES;
use crate::dialogs::{Bot, Effect, Reply};
use crate::message::{AttachmentRef, ChannelKind};
use crate::text::fill;

/// A file of an accepted type, not larger than `max_bytes` (the config's limit when absent).
#[derive(Debug, Clone)]
pub struct AttachmentStep {
    /// Accepted file extensions, lower case, without the dot.
    pub accept: Vec<String>,
    pub max_bytes: Option<u64>,
}

impl AttachmentStep {
    pub const NAME: &'static str = "attachment";
    pub const KEYS: &'static [&'static str] = &["accept", "max_bytes"];

    /// Builds the step: documents, sheets and photos unless told; `.PDF` is read as `pdf`.
    pub(super) fn parse(raw: &RawStep, _problems: &mut StepProblems) -> AttachmentStep {
        AttachmentStep {
            accept: raw
                .accept
                .clone()
                .unwrap_or_else(|| DEFAULT_FILE_TYPES.map(String::from).to_vec())
                .into_iter()
                .map(|e| e.trim_start_matches('.').to_lowercase())
                .collect(),
            max_bytes: raw.max_bytes,
        }
    }

    /// The largest file this step takes: its own limit, never above the config's.
    fn limit(&self, bot: &Bot) -> u64 {
        self.max_bytes
            .unwrap_or(bot.max_attachment_bytes)
            .min(bot.max_attachment_bytes)
    }

    /// The placeholders of the texts that say what to send: the types and the size in MB.
    fn what_to_send(&self, max_bytes: u64) -> Vec<(&'static str, String)> {
        vec![
            ("types", self.accept.join(", ").to_uppercase()),
            ("max_mb", max_bytes.div_ceil(1024 * 1024).to_string()),
        ]
    }
}

/// Why a file is refused, as the re-prompt that says so: a type not in `types` (extensions in
/// lower case) or more than `limit` bytes. `None` when the file is taken.
pub(crate) fn file_refusal<T: AsRef<str>>(
    file: &AttachmentRef,
    types: &[T],
    limit: u64,
) -> Option<Miss> {
    let ext = file
        .filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    if !types.iter().any(|t| t.as_ref() == ext) {
        let listed: Vec<&str> = types.iter().map(AsRef::as_ref).collect();
        return Some(Miss::new(
            "attachment_type",
            vec![("types", listed.join(", ").to_uppercase())],
        ));
    }
    if file.size > limit {
        return Some(Miss::new(
            "attachment_size",
            vec![("max_mb", limit.div_ceil(1024 * 1024).to_string())],
        ));
    }
    None
}

impl Kind for AttachmentStep {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn collects(&self) -> bool {
        true
    }

    fn takes(&self) -> Takes {
        Takes {
            files: true,
            ..Takes::WORDS
        }
    }

    fn prompt_notes(&self, turn: &Turn) -> Vec<String> {
        let vars = self.what_to_send(self.limit(turn.bot));
        vec![fill(&turn.sys("expect_attachment"), &vars)]
    }

    fn expectation(&self, bot: &Bot, lang: &str) -> String {
        let vars = self.what_to_send(bot.max_attachment_bytes);
        fill(&bot.sys("expect_attachment", lang), &vars)
    }

    fn read(&self, turn: &Turn, said: &Said) -> Reading {
        let Input::File(f) = said.input else {
            let key = if turn.step.optional {
                "skip_hint"
            } else {
                "expect_attachment"
            };
            return Reading::miss_with(key, self.what_to_send(turn.bot.max_attachment_bytes));
        };
        if let Some(miss) = file_refusal(f, &self.accept, self.limit(turn.bot)) {
            return Reading::Miss(miss);
        }
        let receipt = fill(
            &turn.sys("attachment_received"),
            &[("file", f.filename.clone())],
        );
        Reading::Answer {
            value: Answer::File(f.clone()),
            branch: None,
            first: vec![
                Effect::KeepFile(f.blob.clone()),
                Effect::Reply(Reply::new(receipt, Vec::new())),
            ],
        }
    }

    fn enter(&self, turn: &Turn) -> super::Entry {
        // SMS cannot carry files: an optional attachment is not asked for there (one exchange
        // fewer for the person); a required one is still asked, and its prompt says what to send.
        if turn.step.optional && turn.ctx.identity.channel == ChannelKind::Sms {
            super::Entry::Skip
        } else {
            super::Entry::Ask
        }
    }
}
