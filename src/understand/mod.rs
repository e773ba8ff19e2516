//! Understanding people as they type: the pure language layer between what a channel received
//! and the answer a dialog step takes (issue 19). Indonesian first (slang, abbreviations, typos,
//! number words, relative dates), English too.
//!
//! A leaf of the crate: it uses nothing else of pstbot, takes plain data (`&str`, slices, its
//! own small structs) and does no I/O except reading its lexicon file. Its words are data in
//! `dialogs/`: the lexicon (`dialogs/lexicon.toml`, loaded with [`Lexicon::load`]), the `also`
//! words of each choice option and the `[intent]` table of each dialog file (the dialog loader
//! reads those and hands them here as [`OptionText`] and [`IntentText`]).
//!
//! # The API
//!
//! | function | reads |
//! |---|---|
//! | [`normalize`] | a message into standard words ([`Normalized`]); the original is kept |
//! | [`choose`] | the option(s) of a choice step: [`ChoiceReading`] `One` / `Several` / `Tie` / `None` |
//! | [`yes_no`] | yes / no (`Option<bool>`) |
//! | [`skip`] | "nothing to give" at an optional step |
//! | [`summary`] | send or change at a summary ([`SummaryReading`]) |
//! | [`done_word`] / [`cart_item`] | the cart: "that's all", or a product with a quantity |
//! | [`date`] | a date, given today and the step's [`Direction`] ([`DateReading`]) |
//! | [`number`] | a number (`Option<f64>`) |
//! | [`phone`] | an Indonesian phone number in E.164 ([`Phone`] or a [`PhoneProblem`]) |
//! | [`email`] | an e-mail address, or a provider typo to confirm ([`EmailReading`]) |
//! | [`intent`] | the service a sentence names ([`IntentReading`]), scored from [`Intents`] |
//! | [`is_question`] | whether a message is a question rather than an answer |
//! | [`command`] | an anywhere-command in old or everyday words ([`GlobalCommand`]) |
//! | [`small_talk`] | a greeting, thanks or a bare acknowledgement outside a form ([`SmallTalk`]) |
//!
//! Build the prepared forms once at start-up, not per message: one [`Lexicon`], one
//! [`Choices`] per choice step (and one for the catalog), one [`Intents`] for all dialogs.
//!
//! # How the engine calls it, per step kind
//!
//! Every message first: [`command`] (a command wins at every step; it is strict, so answers
//! that merely contain "balik" or "bantuan" are not commands). Then, by step:
//!
//! - **menu** (and any text outside a form): [`choose`] with [`ChoiceMode::Exact`] (a number or
//!   a whole option name or `also` word; the option's `start` is the dialog); else [`intent`]
//!   (`Dialog(id)` starts it, `Tie(ids)` asks with just those services); else, when
//!   [`is_question`] and `Faq::scored_match_normalized` finds an entry, answer it (the *info*
//!   service); else re-prompt. This is exactly the order `tests/understanding_corpus.rs` plays.
//! - **text** (a free answer): when [`is_question`] and the FAQ has a match (any score; the
//!   question rules already exclude answers that merely contain a question word), answer it and
//!   ask the same step again, storing nothing; otherwise store [`Normalized::original`] (the
//!   text as typed), never the tokens.
//! - **choice**: the same question check first (a choice answer rarely has "?" or a question
//!   word: "jam buka kapan?" at the complaint topic is a question), then [`choose`] with
//!   `Single` or `Multiple` (the step's `multiple`). `One`/`Several`: store the value(s);
//!   `Tie`: ask again listing only the tied options; `None`: re-prompt.
//! - **yes_no**: [`yes_no`]. **summary**: [`summary`] (`Change` goes to picking the field).
//! - **cart**: [`cart_item`] (`Product` with a `quantity` skips the quantity question; a lone
//!   number is the product's position); the quantity question itself uses [`number`].
//! - **optional step** (any kind): [`skip`] before the kind's own reading.
//! - **date**: [`date`] with `Past` when the step's `max` is today, `Future` when its `min` is
//!   today or it has `not_before_field`, else `Any`; then the engine checks the bounds and says
//!   the rule plainly ("tidak boleh setelah hari ini", "tidak boleh sebelum tanggal mulai");
//!   `NoSuchDate` says the date does not exist; `None` re-prompts with an example.
//! - **number**: [`number`], then the step's min/max/integer (a range "200-300" is `None`).
//! - **phone**: [`phone`] with the step's `mobile_only`; each [`PhoneProblem`] has its own
//!   re-prompt (`NotMobile`: "nomor HP/WhatsApp, bukan telepon kantor").
//! - **email**: [`email`]; `Suggest` asks "Maksud Bapak/Ibu …?" and stores `suggested` on yes,
//!   `typed` (when valid) on no; `Invalid` re-prompts.
//! - **appointment**: not covered here yet (dates with times stay with `dialogs::input`).
//!
//! Every reading is fast (a few microseconds on typical messages): hash-map lookups per word,
//! regexes compiled once.

mod answers;
mod cart;
mod choice;
mod command;
mod dates;
mod email;
mod fuzzy;
mod intent;
mod lexicon;
mod lexicon_file;
mod normalize;
mod numbers;
mod phone;
mod question;
mod ranges;
mod scoring;
mod small_talk;

pub use answers::{SummaryReading, done_word, me, skip, summary, yes_no};
pub use cart::{CartReading, cart_item};
pub use choice::{ChoiceMode, ChoiceReading, Choices, OptionText, choose};
pub use command::{GlobalCommand, command};
pub use dates::{DateReading, Direction, date};
pub use email::{EmailReading, email};
pub use intent::{IntentReading, IntentText, Intents, MIN_SCORE, intent};
pub use lexicon::{Lexicon, LexiconError};
pub use normalize::{Normalized, normalize};
pub use numbers::number;
pub use phone::{Phone, PhoneProblem, phone};
pub use question::is_question;
pub use small_talk::{SmallTalk, content_words, small_talk};

/// The shipped lexicon, for the unit tests of every file.
#[cfg(test)]
pub(crate) fn test_lexicon() -> &'static Lexicon {
    use std::sync::LazyLock;
    static LEX: LazyLock<Lexicon> = LazyLock::new(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs/lexicon.toml");
        match Lexicon::load(&path) {
            Ok(l) => l,
            Err(e) => panic!("the shipped lexicon loads: {e:#?}"),
        }
    });
    &LEX
}
