//! Conversations as data: the dialog files ([`load`]), their typed form ([`spec`]), the pure
//! engine that moves a conversation ([`engine`]), the step kinds, one file each ([`steps`]),
//! what people type ([`input`]), how prompts and answers read ([`render`]) and the data files
//! dialogs read ([`data`]).

pub mod data;
pub mod engine;
pub mod input;
pub mod load;
pub mod records;
pub mod render;
pub mod spec;
pub mod steps;
pub mod understanding;

use crate::cases::calendar::OfficeCalendar;
use crate::cases::{Answer, CaseNumber, FormField, Service};
use crate::message::{AttachmentRef, OutboundChoice};
use crate::text::pick;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spec::Dialog;
use std::collections::BTreeMap;

pub use engine::{Ctx, Input, step};
pub use records::{Access, PersonRecords};

/// Where a person is in a dialog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum SubState {
    #[default]
    None,
    /// The summary asked which answer to change.
    PickField,
    /// The cart asked for the quantity of this product.
    CartQuantity(String),
    /// The e-mail step asked whether the person meant `suggested` (a provider's domain
    /// mistyped); `typed` is what they typed, when that is a valid address too.
    ConfirmEmail {
        suggested: String,
        typed: Option<String>,
    },
}

/// An open dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Active {
    pub dialog: String,
    pub step: String,
    pub answers: BTreeMap<String, Answer>,
    /// Steps answered so far, for `kembali`/`back`.
    pub trail: Vec<String>,
    /// The dialog to start when this one (the guest book) finishes.
    pub then: Option<String>,
    /// A changed answer returns to the summary instead of going on.
    pub editing: bool,
    pub sub: SubState,
    /// Answers in a row the current question did not understand: each re-prompt says more.
    #[serde(default)]
    pub misses: u8,
}

/// The whole state of one person's conversation; stored per identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Language code; empty until the first message sets the default.
    pub lang: String,
    pub active: Option<Active>,
    pub last_seen: Option<DateTime<Utc>>,
    /// For an officer: the case whose applicant gets the next file this officer sends.
    #[serde(default)]
    pub pending_send: Option<CaseNumber>,
    /// `hapusdata` was asked and waits for the person's confirmation.
    #[serde(default)]
    pub erase_asked: bool,
    /// A message outside a form that waits for the person to say where it goes (which case,
    /// or the officer or the menu).
    #[serde(default)]
    pub pending_forward: Option<String>,
    /// The open case the person picked to write to (when they have several).
    #[serde(default)]
    pub talking_to: Option<CaseNumber>,
    /// Files sent before any question asked for one (a first e-mail's attachment): the first
    /// step that asks for a file takes them, in order.
    #[serde(default)]
    pub early_files: Vec<AttachmentRef>,
}

/// A reply to the person who wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub choices: Vec<OutboundChoice>,
    /// The reply asks for a phone number: channels that can share a contact offer it.
    pub ask_contact: bool,
}

impl Reply {
    /// A reply with these buttons that does not ask for a phone number.
    pub fn new(text: String, choices: Vec<OutboundChoice>) -> Reply {
        Reply {
            text,
            choices,
            ask_contact: false,
        }
    }
}

/// Marks where the runtime writes the number of the case created by the same message.
pub const CASE_MARKER: &str = "\u{1}case\u{1}";

/// What a step asks the runtime to do; applied in one store transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Reply(Reply),
    /// Save (create or update) the guest book profile of the person, and record a visit.
    SaveGuest {
        profile: BTreeMap<String, Answer>,
        consent_version: String,
        /// The consent text the person agreed to, in their language.
        consent_text: String,
        /// The service dialog the visit is for, if any.
        visit_for: Option<String>,
    },
    /// Create a case; its number replaces [`CASE_MARKER`] in the replies.
    CreateCase {
        service: Service,
        title: String,
        form: Vec<FormField>,
        attachments: Vec<AttachmentRef>,
        confidential: bool,
    },
    /// Keep the bytes of an accepted attachment.
    KeepFile(String),
    SaveRating {
        case: Option<CaseNumber>,
        score: u8,
        comment: Option<String>,
        skm: Option<[u8; 9]>,
    },
    BookAppointment {
        at: DateTime<Utc>,
        topic: String,
    },
    /// Post what the applicant wrote (outside a dialog) to the officers, on this case.
    Forward {
        case: CaseNumber,
        text: String,
    },
    /// Attach an accepted file (see [`Effect::KeepFile`]) to this case and tell the officers.
    AttachToCase {
        case: CaseNumber,
        file: AttachmentRef,
    },
    /// The applicant says they have done what the case waits for (revision, documents, payment).
    ApplicantDone {
        case: CaseNumber,
    },
    /// The person confirmed `hapusdata`: erase their personal data (UU PDP) and anonymise
    /// their cases.
    ErasePersonalData,
}

/// Everything the engine needs that does not change while the service runs: dialogs, texts,
/// data files, the office calendar and limits.
#[derive(Debug, Clone)]
pub struct Bot {
    pub dialogs: BTreeMap<String, Dialog>,
    /// The system texts (`dialogs/system.toml`), shared with the channels.
    pub texts: std::sync::Arc<crate::text::Texts>,
    pub catalog: data::Catalog,
    pub faq: data::Faq,
    pub activities: data::Activities,
    /// The workflow of each service for the configured office profile.
    pub workflows: BTreeMap<Service, crate::cases::workflow::Workflow>,
    pub calendar: OfficeCalendar,
    pub office_name: String,
    pub office_address: String,
    pub languages: Vec<String>,
    pub idle_timeout: chrono::Duration,
    pub max_message_chars: usize,
    pub max_attachment_bytes: u64,
    pub consent_version: String,
    /// How long the personal data of an inactive person is kept (`privacy.retention`): the
    /// consent text says it.
    pub retention: std::time::Duration,
    /// When reminders fire (see [`crate::reminders`]).
    pub reminders: crate::config::RemindersConfig,
    /// How messages are read as people type them (issue 19), prepared once.
    pub understanding: std::sync::Arc<understanding::Understanding>,
}

impl Bot {
    pub fn new(
        loaded: load::Loaded,
        config: &crate::config::Config,
        calendar: OfficeCalendar,
    ) -> Bot {
        let workflows = loaded
            .workflows
            .by_profile
            .get(config.office.profile.key())
            .cloned()
            .unwrap_or_default();
        let understanding = std::sync::Arc::new(understanding::Understanding::new(
            loaded.lexicon,
            &loaded.dialogs,
            &loaded.catalog,
        ));
        Bot {
            understanding,
            dialogs: loaded.dialogs,
            texts: std::sync::Arc::new(crate::text::Texts {
                languages: config.languages.clone(),
                system: loaded.system,
                officers: loaded.officers,
            }),
            catalog: loaded.catalog,
            faq: loaded.faq,
            activities: loaded.activities,
            workflows,
            calendar,
            office_name: config.office.name.clone(),
            office_address: config.office.address.clone(),
            languages: config.languages.clone(),
            idle_timeout: chrono::Duration::from_std(config.conversation.idle_timeout)
                .unwrap_or(chrono::Duration::MAX),
            max_message_chars: config.conversation.max_message_chars,
            max_attachment_bytes: config.conversation.max_attachment_bytes,
            consent_version: config.privacy.consent_version.clone(),
            retention: config.privacy.retention,
            reminders: config.reminders.clone(),
        }
    }

    /// The default language (the first configured).
    pub fn default_lang(&self) -> &str {
        &self.languages[0]
    }

    /// The dialog whose end creates cases of this service (its steps label the case's form).
    pub fn case_dialog(&self, service: Service) -> Option<&Dialog> {
        self.dialogs
            .values()
            .find(|d| d.finish.action == spec::FinishAction::CreateCase(service))
    }

    /// A case stage as a person reads it: the label of the service's workflow state, or the
    /// state id when the workflow has no such state.
    pub fn stage_label(&self, service: Service, stage: &str, lang: &str) -> String {
        self.workflows
            .get(&service)
            .and_then(|w| w.state(stage))
            .map(|s| pick(&s.label, lang, self.default_lang()))
            .unwrap_or_else(|| stage.to_string())
    }

    /// A system text in a language (falls back to the default language).
    pub fn sys(&self, key: &str, lang: &str) -> String {
        self.texts.get(key, lang)
    }
}
