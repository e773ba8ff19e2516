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
//!
//! Build the prepared forms once at start-up, not per message: one [`Lexicon`], one
//! [`Choices`] per choice step (and one for the catalog), one [`Intents`] for all dialogs.
//!
//! # How the engine calls it, per step kind
//!
//! Every message first: [`command`] (a command wins at every step). Then, by step:
//!
//! - **menu** (and outside a form): [`choose`] with [`ChoiceMode::Exact`] (a number or a whole
//!   option name); else [`intent`] (a `Tie` asks with just those services); else, when
//!   [`is_question`] and the FAQ has a match, answer it (the *info* service). Nothing: re-prompt.
//! - **choice**: [`choose`] with `Single` or `Multiple`; `Tie` asks with just the tied options.
//! - **yes_no**: [`yes_no`]. **summary**: [`summary`]. **cart**: [`cart_item`].
//! - **optional step** (any kind): [`skip`] before the kind's own reading.
//! - **date**: [`date`] with `Past` when the step's `max` is today, `Future` when its `min` is
//!   today or it has `not_before_field`, else `Any`; then the engine checks the bounds and says
//!   the rule ("tidak boleh setelah hari ini"). `NoSuchDate` says the date does not exist.
//! - **number**: [`number`], then the step's min/max/integer.
//! - **phone**: [`phone`] with the step's `mobile_only`; each [`PhoneProblem`] has its re-prompt.
//! - **email**: [`email`]; `Suggest` asks to confirm the suggested address.
//! - **text** (free answer): if [`is_question`] and the FAQ has a match, answer it and ask the
//!   step again; otherwise store the original text.
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

pub use answers::{SummaryReading, done_word, skip, summary, yes_no};
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
