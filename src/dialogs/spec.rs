//! The typed form of a dialog, as the engine uses it after [`super::load`] has parsed and
//! validated the TOML files. Every reference in here is known to resolve.

use crate::cases::Service;
use regex::Regex;

use crate::text::I18n;

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

/// What a step asks for and how its answer is validated.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Free text between `min_len` and `max_len` characters; optionally matching `pattern`.
    Text {
        min_len: usize,
        max_len: usize,
        pattern: Option<Regex>,
        pattern_hint: Option<I18n>,
    },
    /// One option (or several when `multiple`), by number, label, value or button.
    Choice {
        options: Vec<ChoiceOption>,
        multiple: bool,
    },
    /// Yes or no, in any configured language; may branch.
    YesNo {
        next_yes: Option<Next>,
        next_no: Option<Next>,
    },
    /// An e-mail address; offers the channel's own address when `prefill`.
    Email { prefill: bool },
    /// An Indonesian phone number, stored in E.164; offers the channel's number when `prefill`.
    Phone { mobile_only: bool, prefill: bool },
    /// A calendar date, within bounds and not before the date in `not_before_field`.
    Date {
        min: Option<DateBound>,
        max: Option<DateBound>,
        not_before_field: Option<String>,
    },
    /// A date and time for a visit: inside service hours and at least `min_lead_minutes` ahead.
    Appointment {
        min_lead_minutes: i64,
        max_days_ahead: i64,
    },
    /// A number within bounds; whole numbers only when `integer`.
    Number { min: f64, max: f64, integer: bool },
    /// A file of an accepted type, not larger than `max_bytes` (the config's limit when absent).
    Attachment {
        accept: Vec<String>,
        max_bytes: Option<u64>,
    },
    /// Shows every answer so far and asks to send, or to change one of them.
    Summary,
    /// Picks products from the PNBP catalog with quantities and shows the total.
    Cart,
    /// Searches statistical activities that already received a recommendation.
    ActivitySearch,
    /// Answers free-text questions from the FAQ data file until the person leaves.
    Faq,
    /// Lists the person's own cases and shows one by its number.
    CaseStatus,
    /// Picks one of the person's own cases (for a rating, say).
    CasePick { filter: CaseFilter },
}

impl StepKind {
    /// The name used in the TOML `kind` key.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Text { .. } => "text",
            StepKind::Choice { .. } => "choice",
            StepKind::YesNo { .. } => "yes_no",
            StepKind::Email { .. } => "email",
            StepKind::Phone { .. } => "phone",
            StepKind::Date { .. } => "date",
            StepKind::Appointment { .. } => "appointment",
            StepKind::Number { .. } => "number",
            StepKind::Attachment { .. } => "attachment",
            StepKind::Summary => "summary",
            StepKind::Cart => "cart",
            StepKind::ActivitySearch => "activity_search",
            StepKind::Faq => "faq",
            StepKind::CaseStatus => "case_status",
            StepKind::CasePick { .. } => "case_pick",
        }
    }

    /// Whether this step stores an answer in the dialog's form (and so shows in summaries).
    pub fn collects(&self) -> bool {
        !matches!(
            self,
            StepKind::Summary | StepKind::ActivitySearch | StepKind::Faq | StepKind::CaseStatus
        )
    }
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
}

impl Dialog {
    /// The step with this id. The loader guarantees every referenced id exists.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}
