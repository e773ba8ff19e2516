//! The typed form of a dialog, as the engine uses it after [`super::load`] has parsed and
//! validated the TOML files. Every reference in here is known to resolve.

use crate::cases::Service;
use crate::text::I18n;

/// What a step asks for: one variant per kind, each kind in its own file under
/// [`super::steps`], where the kinds are registered.
pub use super::steps::StepKind;

pub use crate::message::DEFAULT_FILE_TYPES;

/// Where a step goes after it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Another step of the same dialog.
    Step(String),
    /// The end of the dialog: its [`Finish`] action runs.
    Finish,
    /// Leave this dialog and start another (only the menu and similar hubs use this).
    Start(String),
}

/// One selectable option of a choice step.
#[derive(Debug, Clone)]
pub struct ChoiceOption {
    /// The stored value (stable, language-neutral).
    pub value: String,
    pub label: I18n,
    /// Other words people use for it (`also = ["pria", "cowok"]`), read by `crate::understand`.
    pub also: Vec<String>,
    /// Overrides the step's `next` when this option is chosen (branching).
    pub next: Option<Next>,
}

/// The lower or upper bound of a date step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateBound {
    Today,
    Fixed(chrono::NaiveDate),
}

/// Which of the person's own cases a case step lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseFilter {
    All,
    Open,
}

/// One step of a dialog.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    /// The form field the answer is stored under (defaults to the step id).
    pub field: String,
    pub prompt: I18n,
    /// Short name of the field in summaries and case views.
    pub label: Option<I18n>,
    /// Extra explanation shown on `bantuan`/`help`.
    pub help: Option<I18n>,
    /// Whether the person may skip it (with `-`, `lewati` or `skip`).
    pub optional: bool,
    /// The guest book field an answer like "saya sendiri" / "nomor saya" takes.
    pub me: Option<String>,
    pub next: Next,
    pub kind: StepKind,
}

/// What happens when a dialog reaches its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishAction {
    /// Nothing is stored (menu, info, status).
    None,
    /// The guest book entry is saved (and the dialog that needed it starts).
    SaveGuest,
    /// A case of the given service is created from the answers.
    CreateCase(Service),
    /// A rating of a case (or of the service in general) is saved.
    SaveRating,
    /// A visit is booked.
    BookAppointment,
}

/// The end of a dialog.
#[derive(Debug, Clone)]
pub struct Finish {
    pub action: FinishAction,
    /// Told to the person at the end; `{case}`, `{standard}`, `{name}` and the like are filled in.
    pub message: Option<I18n>,
    /// The field whose answer names the case in lists (the activity title, the complaint topic).
    pub title_field: Option<String>,
}

/// The words that name a dialog in a free sentence (the `[intent]` table of its file), scored by
/// `crate::understand::intent`.
#[derive(Debug, Clone, Default)]
pub struct IntentWords {
    /// Single words ("ngadu", "komplain").
    pub keywords: Vec<String>,
    /// Several words in order ("beli data").
    pub phrases: Vec<String>,
    /// Regular expressions on the message as typed (a case number).
    pub patterns: Vec<regex::Regex>,
}

/// One conversation, loaded from `dialogs/<id>.toml`.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub id: String,
    pub file: String,
    pub title: I18n,
    pub start: String,
    /// Where a person already in the guest book starts (the guest book asks them only to confirm).
    pub returning_start: Option<String>,
    /// Whether the guest book must be filled before this dialog.
    pub requires_guest: bool,
    pub steps: Vec<Step>,
    pub finish: Finish,
    /// What names this dialog in a free sentence (empty when the file has no `[intent]`).
    pub intent: IntentWords,
}

impl Dialog {
    /// The step with this id. The loader guarantees every referenced id exists.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}
