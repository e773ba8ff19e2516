//! Storage behind domain traits. [`sled::SledStore`] is the only code that knows sled trees and
//! key bytes; [`memory::MemoryStore`] serves tests; both pass one contract suite
//! (`tests/store_contract.rs`).
//!
//! Every inbound message is applied as one [`Commit`]: the dedupe mark, the conversation, the
//! guest, the new case with its number, ratings, appointments and kept files — all or nothing.
//! A commit whose dedupe mark already exists changes nothing and reports a duplicate.

pub mod memory;
pub mod sled;

use crate::cases::{AttachmentRef, Case, CaseEvent, CaseNumber, FormField, Service};
use crate::dialogs::{Answer, Conversation};
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The version of the stored format; a store of another version is refused at open.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage engine: {0}")]
    Engine(String),
    #[error("stored record `{key}` cannot be read: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the store has schema version {found}; this pstbot reads version {expected}")]
    Schema { found: u32, expected: u32 },
    #[error("case {0} does not exist")]
    NoSuchCase(String),
    /// The case changed since it was read; the caller reads it again and retries.
    #[error("case {0} was changed by someone else meanwhile")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Identifies one inbound message across re-deliveries: channel + provider message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey(pub String);

impl DedupeKey {
    pub fn new(from: &Identity, message_id: &str) -> Self {
        DedupeKey(format!("{}:{}", from.channel.as_str(), message_id))
    }
}

/// A guest book save: the profile of the person writing as `who`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestUpdate {
    pub profile: BTreeMap<String, Answer>,
    pub consent_version: String,
    pub lang: String,
}

/// A case to create; the store gives it its number and links it to the guest of `who`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub service: Service,
    /// The workflow and its start state, with the due dates computed for the submission time.
    pub workflow: String,
    pub stage: String,
    pub stage_due: Option<DateTime<Utc>>,
    pub overall_start: Option<DateTime<Utc>>,
    pub overall_due: Option<DateTime<Utc>>,
    /// The year of the number (the office-local year of submission).
    pub year: i32,
    pub title: String,
    pub lang: String,
    pub form: Vec<FormField>,
    pub attachments: Vec<AttachmentRef>,
    pub confidential: bool,
}

/// Everything one inbound message changes, applied atomically.
#[derive(Debug, Clone)]
pub struct Commit {
    pub dedupe: DedupeKey,
    pub at: DateTime<Utc>,
    pub who: Identity,
    pub session: Conversation,
    pub guest: Option<GuestUpdate>,
    pub visit: Option<Visit>,
    pub new_case: Option<NewCase>,
    pub case_events: Vec<(CaseNumber, CaseEvent)>,
    /// Whole-case writes; each must carry the stored version + 1, or the commit fails with
    /// [`StoreError::Conflict`] and changes nothing.
    pub case_updates: Vec<Case>,
    /// Issue a walk-in queue number for this letter and office-local day.
    pub ticket: Option<QueueKey>,
    /// Call the next waiting number of this letter and day.
    pub call_next: Option<QueueKey>,
    pub rating: Option<Rating>,
    pub appointment: Option<Appointment>,
    /// Accepted files: content hash and bytes.
    pub blobs: Vec<(String, Vec<u8>)>,
}

impl Commit {
    /// A commit that only records the message and the conversation.
    pub fn new(dedupe: DedupeKey, at: DateTime<Utc>, who: Identity, session: Conversation) -> Self {
        Commit {
            dedupe,
            at,
            who,
            session,
            guest: None,
            visit: None,
            new_case: None,
            case_events: Vec::new(),
            case_updates: Vec::new(),
            ticket: None,
            call_next: None,
            rating: None,
            appointment: None,
            blobs: Vec::new(),
        }
    }
}

/// A walk-in queue: one service letter (`R`, `P`, `A`, …) on one office-local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKey {
    pub letter: char,
    pub day: chrono::NaiveDate,
}

impl QueueKey {
    fn counter(&self, what: &str) -> String {
        format!("Q/{}/{}/{what}", self.letter, self.day)
    }
    /// Counter key of the numbers issued.
    pub fn issued_key(&self) -> String {
        self.counter("issued")
    }
    /// Counter key of the numbers called.
    pub fn called_key(&self) -> String {
        self.counter("called")
    }
}

/// A queue number handed out, with how many are waiting before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub number: u64,
    pub ahead: u64,
}

/// What an applied commit produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub case: Option<CaseNumber>,
    pub ticket: Option<Ticket>,
    /// The number called by `call_next`, or `None` when nobody was waiting.
    pub called: Option<u64>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Applied(Applied),
    /// The message was handled before; nothing changed.
    Duplicate,
}

impl Committed {
    /// The case number a commit created, if any.
    pub fn case(&self) -> Option<&CaseNumber> {
        match self {
            Committed::Applied(a) => a.case.as_ref(),
            Committed::Duplicate => None,
        }
    }
}

/// The domain operations pstbot needs from a store.
pub trait Store: Send + Sync + 'static {
    /// Whether this message was already handled.
    fn is_handled(&self, key: &DedupeKey) -> Result<bool>;
    fn session(&self, who: &Identity) -> Result<Option<Conversation>>;
    /// The guest registered from this identity.
    fn guest_of(&self, who: &Identity) -> Result<Option<Guest>>;
    fn case(&self, number: &CaseNumber) -> Result<Option<Case>>;
    /// A guest's cases, newest first.
    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>>;
    /// All open cases, oldest first.
    fn open_cases(&self) -> Result<Vec<Case>>;
    /// Cases created in `[from, to)`, oldest first.
    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>>;
    /// Numbers issued and called in a walk-in queue.
    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)>;
    /// Recommendation (REK) cases in one of these stages: the issued ones, for the activity search.
    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>>;
    fn visits(&self) -> Result<Vec<Visit>>;
    fn ratings(&self) -> Result<Vec<Rating>>;
    fn appointments(&self) -> Result<Vec<Appointment>>;
    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>>;
    /// Applies a commit atomically (see the module docs).
    fn commit(&self, c: Commit) -> Result<Committed>;
    /// Makes every applied commit durable. Called before a message counts as handled.
    fn flush(&self) -> Result<()>;
}

/// Builds the case a commit creates (shared by both stores so they cannot drift apart).
pub(crate) fn build_case(c: &Commit, new: &NewCase, number: CaseNumber, guest_id: String) -> Case {
    Case {
        number,
        guest_id,
        origin: c.who.clone(),
        lang: new.lang.clone(),
        title: new.title.clone(),
        created_at: c.at,
        workflow: new.workflow.clone(),
        stage: new.stage.clone(),
        stage_since: c.at,
        stage_due: new.stage_due,
        overall_start: new.overall_start,
        overall_due: new.overall_due,
        stops: Vec::new(),
        assignee: None,
        open: true,
        confidential: new.confidential,
        form: new.form.clone(),
        attachments: new.attachments.clone(),
        history: vec![CaseEvent {
            at: c.at,
            actor: crate::cases::Actor::Applicant,
            kind: "submitted".into(),
            note: None,
        }],
        version: 1,
    }
}

/// Creates or updates the guest of a commit (shared by both stores).
pub(crate) fn merged_guest(existing: Option<Guest>, c: &Commit, u: &GuestUpdate) -> Guest {
    match existing {
        Some(mut g) => {
            g.profile = u.profile.clone();
            if g.consent_version != u.consent_version {
                g.consent_version = u.consent_version.clone();
                g.consent_at = c.at;
            }
            g.lang = u.lang.clone();
            g.updated_at = c.at;
            if !g.identities.contains(&c.who) {
                g.identities.push(c.who.clone());
            }
            g
        }
        None => Guest {
            id: Guest::id_for(&c.who),
            identities: vec![c.who.clone()],
            profile: u.profile.clone(),
            consent_version: u.consent_version.clone(),
            consent_at: c.at,
            lang: u.lang.clone(),
            created_at: c.at,
            updated_at: c.at,
        },
    }
}
