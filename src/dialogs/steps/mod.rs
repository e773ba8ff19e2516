//! The step kinds, one file each, and the one place that registers them.
//!
//! A kind's file holds everything particular to it: its keys in the dialog files and how they
//! are checked, its buttons and the notes under its prompt, the sentence that says what it
//! expects, and how it reads an answer. Each kind implements [`Kind`]; the engine asks the kind
//! rather than which kind a step is (its one exception: a changed answer returns to the
//! dialog's summary step).
//!
//! How an answer travels: the engine builds a [`Turn`] (the step and what it may read) and calls
//! [`read`], which refuses what the step cannot take at all (an empty text, a file where no file
//! is asked), routes a follow-up question (which answer to change, how many of a product), turns a
//! bare number into the button it numbers, takes the skip words of an optional step, and hands
//! the rest as [`Said`] to [`Kind::read`]. The kind answers with a [`Reading`]; the engine acts on
//! it, and every re-prompt ([`Reading::Miss`]) is given by the engine in one place.
//!
//! To add a kind: write its file (a struct with `NAME`, `KEYS`, `parse` and an `impl Kind`),
//! then register it here: its variant in [`StepKind`], its arm in [`StepKind::rules`] and its
//! line in `KINDS`; new TOML keys go into `RawStep` (`load/step.rs`). `docs/architecture.md`
//! ("Dialogs and step kinds") walks through it.

mod activity_search;
mod appointment;
mod attachment;
mod cart;
mod case_pick;
mod case_status;
mod choice;
mod date;
mod email;
mod faq;
mod hub;
mod number;
mod phone;
mod summary;
mod text;
mod yes_no;

pub use activity_search::ActivitySearchStep;
pub use appointment::AppointmentStep;
pub use attachment::AttachmentStep;
pub(crate) use attachment::file_refusal;
pub use cart::CartStep;
pub use case_pick::CasePickStep;
pub use case_status::CaseStatusStep;
pub use choice::ChoiceStep;
pub(crate) use choice::RawOption;
pub use date::DateStep;
pub use email::EmailStep;
pub use faq::FaqStep;
pub use number::NumberStep;
pub use phone::PhoneStep;
pub use summary::SummaryStep;
pub use text::TextStep;
pub use yes_no::YesNoStep;

use super::engine::{Ctx, Input};
use super::load::{RawStep, StepProblems};
use super::spec::{Dialog, Next, Step};
use super::{Bot, Reply, SubState, input, render};
use crate::cases::Answer;
use crate::message::OutboundChoice;
use crate::text::{I18n, pick_for};
use crate::understand::{self, Lexicon};
use std::collections::BTreeMap;

/// What a step asks for and how its answer is validated: one variant per kind, each holding its
/// kind's settings from the dialog file.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Free text between `min_len` and `max_len` characters; optionally matching `pattern`.
    Text(TextStep),
    /// One option (or several when `multiple`), by number, label, value or button.
    Choice(ChoiceStep),
    /// Yes or no, in any configured language; may branch.
    YesNo(YesNoStep),
    /// An e-mail address; offers the channel's own address when `prefill`.
    Email(EmailStep),
    /// An Indonesian phone number, stored in E.164; offers the channel's number when `prefill`.
    Phone(PhoneStep),
    /// A calendar date, within bounds and not before the date in `not_before_field`.
    Date(DateStep),
    /// A date and time for a visit: inside service hours and at least `min_lead_minutes` ahead.
    Appointment(AppointmentStep),
    /// A number within bounds; whole numbers only when `integer`.
    Number(NumberStep),
    /// A file of an accepted type, not larger than `max_bytes` (the config's limit when absent).
    Attachment(AttachmentStep),
    /// Shows every answer so far and asks to send, or to change one of them.
    Summary(SummaryStep),
    /// Picks products from the PNBP catalog with quantities and shows the total.
    Cart(CartStep),
    /// Searches statistical activities that already received a recommendation.
    ActivitySearch(ActivitySearchStep),
    /// Answers free-text questions from the FAQ data file until the person leaves.
    Faq(FaqStep),
    /// Lists the person's own cases and shows one by its number.
    CaseStatus(CaseStatusStep),
    /// Picks one of the person's own cases (for a rating, say).
    CasePick(CasePickStep),
}

impl StepKind {
    /// The kind's behaviour. This match is the one place a kind is tied to its file; the compiler
    /// checks it names every kind.
    pub fn rules(&self) -> &dyn Kind {
        match self {
            StepKind::Text(k) => k,
            StepKind::Choice(k) => k,
            StepKind::YesNo(k) => k,
            StepKind::Email(k) => k,
            StepKind::Phone(k) => k,
            StepKind::Date(k) => k,
            StepKind::Appointment(k) => k,
            StepKind::Number(k) => k,
            StepKind::Attachment(k) => k,
            StepKind::Summary(k) => k,
            StepKind::Cart(k) => k,
            StepKind::ActivitySearch(k) => k,
            StepKind::Faq(k) => k,
            StepKind::CaseStatus(k) => k,
            StepKind::CasePick(k) => k,
        }
    }

    /// The name used in the TOML `kind` key.
    pub fn name(&self) -> &'static str {
        self.rules().name()
    }

    /// Whether this step stores an answer in the dialog's form (and so shows in summaries).
    pub fn collects(&self) -> bool {
        self.rules().collects()
    }
}

/// How the loader knows a kind: its TOML name, the kind-specific keys it reads (any other
/// kind-specific key is refused), and how its settings are built and checked.
pub(crate) struct Registration {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub parse: fn(&RawStep, &mut StepProblems) -> StepKind,
}

/// Every kind, in the order the loader names them when a `kind` is unknown.
const KINDS: [Registration; 15] = [
    Registration {
        name: TextStep::NAME,
        keys: TextStep::KEYS,
        parse: |raw, p| StepKind::Text(TextStep::parse(raw, p)),
    },
    Registration {
        name: ChoiceStep::NAME,
        keys: ChoiceStep::KEYS,
        parse: |raw, p| StepKind::Choice(ChoiceStep::parse(raw, p)),
    },
    Registration {
        name: YesNoStep::NAME,
        keys: YesNoStep::KEYS,
        parse: |raw, p| StepKind::YesNo(YesNoStep::parse(raw, p)),
    },
    Registration {
        name: EmailStep::NAME,
        keys: EmailStep::KEYS,
        parse: |raw, p| StepKind::Email(EmailStep::parse(raw, p)),
    },
    Registration {
        name: PhoneStep::NAME,
        keys: PhoneStep::KEYS,
        parse: |raw, p| StepKind::Phone(PhoneStep::parse(raw, p)),
    },
    Registration {
        name: DateStep::NAME,
        keys: DateStep::KEYS,
        parse: |raw, p| StepKind::Date(DateStep::parse(raw, p)),
    },
    Registration {
        name: AppointmentStep::NAME,
        keys: AppointmentStep::KEYS,
        parse: |raw, p| StepKind::Appointment(AppointmentStep::parse(raw, p)),
    },
    Registration {
        name: NumberStep::NAME,
        keys: NumberStep::KEYS,
        parse: |raw, p| StepKind::Number(NumberStep::parse(raw, p)),
    },
    Registration {
        name: AttachmentStep::NAME,
        keys: AttachmentStep::KEYS,
        parse: |raw, p| StepKind::Attachment(AttachmentStep::parse(raw, p)),
    },
    Registration {
        name: SummaryStep::NAME,
        keys: SummaryStep::KEYS,
        parse: |raw, p| StepKind::Summary(SummaryStep::parse(raw, p)),
    },
    Registration {
        name: CartStep::NAME,
        keys: CartStep::KEYS,
        parse: |raw, p| StepKind::Cart(CartStep::parse(raw, p)),
    },
    Registration {
        name: ActivitySearchStep::NAME,
        keys: ActivitySearchStep::KEYS,
        parse: |raw, p| StepKind::ActivitySearch(ActivitySearchStep::parse(raw, p)),
    },
    Registration {
        name: FaqStep::NAME,
        keys: FaqStep::KEYS,
        parse: |raw, p| StepKind::Faq(FaqStep::parse(raw, p)),
    },
    Registration {
        name: CaseStatusStep::NAME,
        keys: CaseStatusStep::KEYS,
        parse: |raw, p| StepKind::CaseStatus(CaseStatusStep::parse(raw, p)),
    },
    Registration {
        name: CasePickStep::NAME,
        keys: CasePickStep::KEYS,
        parse: |raw, p| StepKind::CasePick(CasePickStep::parse(raw, p)),
    },
];

/// The registration of the kind a dialog file names, if there is one.
pub(crate) fn registered(name: &str) -> Option<&'static Registration> {
    KINDS.iter().find(|k| k.name == name)
}

/// The names of every kind as a list a person reads: `text, choice, … or case_pick`.
pub(crate) fn kind_names() -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// What every step kind does. The engine holds no knowledge of any kind: it asks these. Every
/// kind says its name, whether it collects an answer, what it expects and how it reads an
/// answer; the other methods have the defaults most kinds want.
pub trait Kind {
    /// The name used in the TOML `kind` key.
    fn name(&self) -> &'static str;

    /// Whether the step stores an answer in the dialog's form (and so shows in summaries, and
    /// needs a `label`).
    fn collects(&self) -> bool;

    /// What the step expects, in one sentence: `bantuan` shows it when the step has no help.
    fn expectation(&self, bot: &Bot, lang: &str) -> String;

    /// Reads an answer: a value to store, a re-prompt, or what else the step does with it.
    fn read(&self, turn: &Turn, said: &Said) -> Reading;

    /// What the step takes besides words, and how a number or a skip word is read at it. Most
    /// kinds take words only.
    fn takes(&self) -> Takes {
        Takes::WORDS
    }

    /// The buttons offered with the prompt and with every re-prompt. Most kinds have none.
    fn buttons(&self, _turn: &Turn) -> Vec<OutboundChoice> {
        Vec::new()
    }

    /// The lines the kind adds under the step's own prompt (what to send, the summary, the
    /// cart); empty lines are left out. Most kinds add none.
    fn prompt_notes(&self, _turn: &Turn) -> Vec<String> {
        Vec::new()
    }

    /// Whether the step's own prompt is said (most kinds: always). The cart says its
    /// introduction only while it is empty: asked again after each product, the person sees
    /// what they chose and the list, not the introduction each time.
    fn says_prompt(&self, _turn: &Turn) -> bool {
        true
    }

    /// What happens as the step is entered. Most kinds ask their question.
    fn enter(&self, _turn: &Turn) -> Entry {
        Entry::Ask
    }

    /// The steps and dialogs the kind itself may go to, besides the step's `next` (branches).
    fn branches(&self) -> Vec<&Next> {
        Vec::new()
    }

    /// Problems only the whole dialog shows (a field named by this step that no step fills).
    fn check(&self, _dialog: &Dialog) -> Vec<String> {
        Vec::new()
    }

    /// The kind's own way to show a stored answer (a choice shows its label, in the channel's
    /// `variant` of the texts when it has one); `None` shows the answer plainly.
    fn display(
        &self,
        _bot: &Bot,
        _answer: &Answer,
        _lang: &str,
        _variant: Option<&str>,
    ) -> Option<String> {
        None
    }
}

/// What a step takes besides words, and how the engine reads a number or a skip word at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Takes {
    /// A file answers it; anywhere else a file is refused with `not_expected_file`.
    pub files: bool,
    /// A shared contact answers it, and its prompts offer the channel's contact button.
    pub contacts: bool,
    /// A bare number presses the button it numbers (for kinds whose buttons are not already
    /// numbered options).
    pub numbered_buttons: bool,
    /// An optional step is skipped with `-`, `lewati`, `skip` and the like.
    pub skip_words: bool,
    /// A question typed here ("jam buka kapan?") that the FAQ answers is answered, and the step
    /// asked again: it is never stored as the answer. Steps of free words take it.
    pub asides: bool,
}

impl Takes {
    /// Words only, skip words at an optional step.
    pub const WORDS: Takes = Takes {
        files: false,
        contacts: false,
        numbered_buttons: false,
        skip_words: true,
        asides: false,
    };
}

/// What a kind may read while it handles one turn of the conversation.
pub struct Turn<'a> {
    pub bot: &'a Bot,
    pub ctx: &'a Ctx<'a>,
    pub dialog: &'a Dialog,
    pub step: &'a Step,
    /// The answers given so far in this dialog.
    pub answers: &'a BTreeMap<String, Answer>,
    /// The follow-up question in progress at this step, if any.
    pub sub: &'a SubState,
    pub lang: &'a str,
}

impl Turn<'_> {
    /// A system text in the person's language (in the channel's variant, when it has one).
    pub fn sys(&self, key: &str) -> String {
        let variant = self.ctx.identity.channel.text_variant();
        self.bot.texts.get_for(key, self.lang, variant)
    }

    /// A text of the dialog files in the person's language (in the channel's variant, when it
    /// has one).
    pub fn pick(&self, text: &I18n) -> String {
        let variant = self.ctx.identity.channel.text_variant();
        pick_for(text, self.lang, self.bot.default_lang(), variant)
    }

    /// The words the understanding layer reads messages with.
    pub fn lex(&self) -> &Lexicon {
        &self.bot.understanding.lexicon
    }
}

/// What the person said to a step, as a kind reads it.
pub struct Said<'a> {
    /// The input as it arrived: a file or a shared contact is only here.
    pub input: &'a Input,
    /// The words: the text typed or the value of the button pressed, a bare number already
    /// turned into the value of the button it numbers; empty for a file or a contact.
    pub words: &'a str,
}

/// What a step made of an input; the engine acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Store `value` under the step's field and go on: to `branch` when the answer chose one,
    /// else to the step's `next`. The effects in `first` come before (a file kept, a receipt).
    Answer {
        value: Answer,
        branch: Option<Next>,
        first: Vec<super::Effect>,
    },
    /// The input does not answer the step: re-prompt.
    Miss(Miss),
    /// The step is done without storing anything (the summary sent, the cart or the search
    /// finished): go to the step's `next`.
    Done,
    /// Stay at the step after these replies (a FAQ answer, search results, a case's status).
    Stay(Vec<Reply>),
    /// A question asked in the middle of the form, answered by these replies; then the step is
    /// asked again and nothing is stored.
    Aside(Vec<Reply>),
    /// Store `value` but stay at the step: say `said`, then ask the step again (a cart line).
    Keep { value: Answer, said: String },
    /// Ask a follow-up question of the step (which answer to change, how many of a product), or
    /// drop it with [`SubState::None`].
    Follow(SubState),
    /// Go to this step to change its answer; the next answer returns to the summary.
    Edit(String),
}

impl Reading {
    /// An answer that goes on to the step's `next`.
    pub fn answer(value: Answer) -> Reading {
        Reading::answer_to(value, None)
    }

    /// An answer that may choose where to go next.
    pub fn answer_to(value: Answer, branch: Option<Next>) -> Reading {
        Reading::Answer {
            value,
            branch,
            first: Vec::new(),
        }
    }

    /// A re-prompt with a system text that has no placeholders.
    pub fn miss(key: &'static str) -> Reading {
        Reading::Miss(Miss::new(key, Vec::new()))
    }

    /// A re-prompt with a system text and its placeholders.
    pub fn miss_with(key: &'static str, vars: Vec<(&'static str, String)>) -> Reading {
        Reading::Miss(Miss::new(key, vars))
    }
}

/// A re-prompt: which system text says what went wrong, with its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub key: &'static str,
    pub vars: Vec<(&'static str, String)>,
    /// Say the text alone and then ask the question again (a follow-up question brings buttons of
    /// its own), instead of saying it with the step's buttons.
    pub ask_again: bool,
    /// Offer only these buttons (the options a message named equally), instead of the step's.
    pub only: Vec<OutboundChoice>,
}

impl Miss {
    /// A re-prompt said with the step's buttons.
    pub fn new(key: &'static str, vars: Vec<(&'static str, String)>) -> Miss {
        Miss {
            key,
            vars,
            ask_again: false,
            only: Vec::new(),
        }
    }
}

/// What happens as a step is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Ask the step's question.
    Ask,
    /// Store it as skipped without asking (an optional file over SMS, which carries no files).
    Skip,
    /// There is nothing to choose from: say `note`; an optional step is skipped, a required one
    /// ends the dialog.
    NothingToChoose { note: &'static str },
}

/// A button.
pub fn button(value: &str, label: String) -> OutboundChoice {
    OutboundChoice {
        value: value.to_string(),
        label,
    }
}

/// The question of the current step: its prompt, or the follow-up question in progress.
pub fn question(turn: &Turn) -> Option<Reply> {
    match turn.sub {
        SubState::None => Some(render::prompt(turn)),
        SubState::PickField => Some(summary::field_question(turn)),
        SubState::CartQuantity(code) => cart::quantity_question(turn, code),
        SubState::ConfirmEmail { suggested, .. } => Some(email::confirm_question(turn, suggested)),
    }
}

/// Reads an input at the current step. Re-prompts for what the step cannot take at all, routes
/// a follow-up question to its kind, and hands everything else to the step's kind.
pub fn read(turn: &Turn, input: &Input) -> Reading {
    let rules = turn.step.kind.rules();
    let takes = rules.takes();
    match input {
        Input::Text(t) if t.is_empty() => return Reading::miss("empty_answer"),
        Input::File(_) if !takes.files => return Reading::miss("not_expected_file"),
        Input::Contact { .. } if !takes.contacts => return Reading::miss("unsupported_input"),
        Input::Text(_) | Input::Choice(_) | Input::File(_) | Input::Contact { .. } => {}
    }
    let words = match input {
        Input::Text(t) | Input::Choice(t) => t.as_str(),
        Input::File(_) | Input::Contact { .. } => "",
    };
    match turn.sub {
        SubState::PickField => return summary::read_field_pick(turn, words),
        SubState::CartQuantity(code) => return cart::read_quantity(turn, code, words),
        SubState::ConfirmEmail { suggested, typed } => {
            return email::read_confirm(turn, suggested, typed.as_deref(), words);
        }
        SubState::None => {}
    }
    if takes.asides
        && let Input::Text(t) = input
        && let Some(replies) = aside(turn, t)
    {
        return Reading::Aside(replies);
    }
    let buttons;
    let mut words = words;
    if takes.numbered_buttons
        && let Ok(n) = words.trim().parse::<usize>()
    {
        buttons = rules.buttons(turn);
        if let Some(b) = n.checked_sub(1).and_then(|i| buttons.get(i)) {
            words = b.value.as_str();
        }
    }
    if turn.step.optional
        && takes.skip_words
        && (input::is_skip(words) || understand::skip(turn.lex(), words))
    {
        return Reading::answer(Answer::Skipped);
    }
    // "saya sendiri", "nomor sy td": the person's own answer from the guest book.
    if let Some(field) = &turn.step.me
        && takes.skip_words
        && understand::me(turn.lex(), words)
        && let Some(own) = turn.ctx.guest.and_then(|g| g.profile.get(field))
    {
        return Reading::answer(own.clone());
    }
    rules.read(turn, &Said { input, words })
}

/// The FAQ's answer to a message, when it is a question (a question word or "?"; an answer
/// that merely contains a question word is not) and the FAQ has an entry for it.
pub fn faq_answer(turn: &Turn, text: &str) -> Option<String> {
    let lex = turn.lex();
    if !understand::is_question(lex, text) {
        return None;
    }
    let (_, entry) = turn.bot.faq.scored_match_normalized(lex, text)?;
    let vars = render::common_vars(turn.bot, turn.ctx, turn.lang, None);
    Some(crate::text::fill(&turn.pick(&entry.answer), &vars))
}

/// A question asked in the middle of a form, answered; the engine then asks the step again.
fn aside(turn: &Turn, text: &str) -> Option<Vec<Reply>> {
    let answer = faq_answer(turn, text)?;
    let text = format!("{answer}\n\n{}", turn.sys("aside_back"));
    Some(vec![Reply::new(text, Vec::new())])
}
