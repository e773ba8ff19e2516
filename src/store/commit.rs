//! What one inbound message (or fired timer) changes, as the runtime hands it to the store: a
//! [`Commit`], the [`Followups`] it leads to once numbered, and what it [`Committed`]. How a
//! commit is applied is written once, in [`super::apply`].

use super::records::{OutboxRow, Timer, TimerSet};
use crate::cases::{Answer, Case, CaseEvent, CaseNumber, FormField, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Rating, Visit};
use crate::message::{AttachmentRef, Identity, OutboundMessage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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
    /// The consent text agreed to (kept when only the profile changes).
    pub consent_text: String,
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
    /// The sender's conversation as this message leaves it (`None`: untouched, e.g. a timer).
    pub session: Option<Conversation>,
    pub guest: Option<GuestUpdate>,
    pub visit: Option<Visit>,
    pub new_case: Option<NewCase>,
    pub case_events: Vec<(CaseNumber, CaseEvent)>,
    /// Whole-case writes; each must carry the stored version + 1, or the commit fails with
    /// [`super::StoreError::Conflict`] and changes nothing.
    pub case_updates: Vec<Case>,
    /// Issue a walk-in queue number for this letter and office-local day.
    pub ticket: Option<QueueKey>,
    /// Call the next waiting number of this letter and day.
    pub call_next: Option<QueueKey>,
    pub rating: Option<Rating>,
    pub appointment: Option<Appointment>,
    /// Accepted files: content hash and bytes.
    pub blobs: Vec<(String, Vec<u8>)>,
    /// Timers of non-case owners to replace (appointments, idle conversations). Case timers
    /// come from [`Followups::case_timers`] for every case the commit writes.
    pub timers: Vec<TimerSet>,
    /// The timer whose firing this commit is: removed from the due index in the same
    /// transaction.
    pub fired: Option<Timer>,
    /// Marks an address as failing (`true`: a bounce said mail to it cannot be delivered) or
    /// working again (`false`: mail came from it). Kept durably; see [`super::OutboxStore::address_failing`].
    pub address_failing: Option<(Identity, bool)>,
    /// A person's personal data to erase (UU PDP), applied last in the same transaction.
    pub erase: Option<Erasure>,
    /// Officers' accesses to personal data that this commit records.
    pub audit: Vec<AuditEntry>,
}

/// Erases a person's personal data (`hapusdata`, or the retention purge). The runtime writes
/// their anonymised cases as ordinary [`Commit::case_updates`]; the store removes or
/// anonymises everything else that names them: the guest record and its identity links, the
/// sessions, visits and ratings (kept, anonymised, so reports still count them), appointments,
/// queued, sent and failed messages to them, their idle and appointment timers and the marks of
/// fired ones, and the files of their cases that no other case holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Erasure {
    pub guest_id: String,
    /// Every identity the person wrote from.
    pub identities: Vec<Identity>,
    /// Content hashes of the files of their cases.
    pub blobs: Vec<String>,
    /// The random id their anonymised visits and ratings carry from now on.
    pub anon_id: String,
    /// Their case numbers: records of messages to others (the officers' posts) that quote
    /// these cases keep no text.
    pub cases: Vec<String>,
}

impl Erasure {
    /// Whether a stored key or text names the person (an identity or the guest id).
    pub fn names(&self, text: &str) -> bool {
        text.contains(&self.guest_id)
            || self
                .identities
                .iter()
                .any(|i| text.contains(&i.to_string()))
    }

    /// Whether a message text is about one of the person's cases.
    pub fn quotes_case(&self, text: &str) -> bool {
        self.cases.iter().any(|n| text.contains(n.as_str()))
    }

    /// The owners of the person's own timers: idle conversations and appointments.
    pub fn owns_timer(&self, owner: &str) -> bool {
        owner.starts_with("idle:") && self.names(owner)
            || owner.starts_with(&format!("appt:{}:", self.guest_id))
    }

    /// A visit as it is kept after the erasure.
    pub fn visit(&self, v: &Visit) -> Visit {
        Visit {
            guest_id: self.anon_id.clone(),
            name: None,
            ..v.clone()
        }
    }

    /// A rating as it is kept after the erasure: the scores, not the words.
    pub fn rating(&self, r: &Rating) -> Rating {
        Rating {
            guest_id: Some(self.anon_id.clone()),
            comment: None,
            ..r.clone()
        }
    }
}

/// One officer's access to personal data, kept in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The officer's id, or `cli:<user>` for a command run on the server.
    pub officer: String,
    /// What was done: `lihat` (a case's details), `export_guestbook`, `report`, …
    pub action: String,
    /// Whose data: a case number, a guest id or a period.
    pub subject: String,
}

impl Commit {
    /// A commit that only records the message and the conversation.
    pub fn new(dedupe: DedupeKey, at: DateTime<Utc>, who: Identity, session: Conversation) -> Self {
        Commit {
            dedupe,
            at,
            who,
            session: Some(session),
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
            timers: Vec::new(),
            fired: None,
            erase: None,
            audit: Vec::new(),
            address_failing: None,
        }
    }

    /// A commit for a fired timer: records its firing and removes it; the caller adds the
    /// changes and messages it causes.
    pub fn for_timer(timer: &Timer, at: DateTime<Utc>) -> Self {
        let mut c = Commit::new(
            DedupeKey(timer.dedupe_id()),
            at,
            Identity::new(crate::message::ChannelKind::Desk, "scheduler"),
            Conversation::default(),
        );
        c.session = None;
        c.fired = Some(timer.clone());
        c
    }
}

/// What a commit leads to once the store has assigned its numbers: the messages to queue in
/// the outbox, and the reminders each written case should now have. Called inside the store
/// transaction, possibly more than once (a transaction may be retried), so it must be pure.
pub trait Followups: Sync {
    /// The messages to queue, worded with the numbers the commit assigned.
    fn messages(&self, applied: &Applied) -> Vec<OutboundMessage>;
    /// The timers `case` should have as this commit leaves it; they replace its earlier ones.
    fn case_timers(&self, case: &Case) -> Vec<Timer>;
}

/// No messages and no reminders (store tests, imports).
pub struct NoFollowups;

impl Followups for NoFollowups {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        Vec::new()
    }
    fn case_timers(&self, _: &Case) -> Vec<Timer> {
        Vec::new()
    }
}

/// A walk-in queue: one service letter (`R`, `P`, `A`, …) on one office-local day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    pub letter: char,
    pub day: chrono::NaiveDate,
}

/// A queue number handed out, with how many are waiting before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub number: u64,
    pub ahead: u64,
}

/// What an applied commit produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub case: Option<CaseNumber>,
    pub ticket: Option<Ticket>,
    /// The number called by `call_next`, or `None` when nobody was waiting.
    pub called: Option<u64>,
    /// Whether the commit wrote timers (the scheduler may need to wake earlier).
    pub timers_changed: bool,
    /// The outbox ids of the queued messages, in order.
    pub queued: Vec<u64>,
    /// The queued rows as written, in order: once the commit is flushed the runtime hands
    /// them to the delivery worker, which then needs no store read for them.
    pub rows: Vec<OutboxRow>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    Applied(Applied),
    /// The message was handled before; nothing changed.
    Duplicate,
}

/// What a store did with a write handed to it to apply together with other writers' (a
/// commit, [`CommitStore::commit_durable`](super::CommitStore::commit_durable); delivery
/// marks, [`OutboxStore::outbox_sent_durable`](super::OutboxStore::outbox_sent_durable)).
#[derive(Debug)]
pub enum Durable<T = Commit, R = Committed> {
    /// Applied (or refused) together with other writers' writes; when applied, the flush
    /// that covers it has finished.
    Done(super::Result<R>),
    /// Not taken: the caller writes it itself, then waits for a flush.
    NotQueued(T),
}

/// What [`CommitStore::commit_durable`](super::CommitStore::commit_durable) and
/// [`OutboxStore::outbox_sent_durable`](super::OutboxStore::outbox_sent_durable) return.
pub type DurableFuture<'a, T = Commit, R = Committed> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Durable<T, R>> + Send + 'a>>;

impl Committed {
    /// The case number a commit created, if any.
    pub fn case(&self) -> Option<&CaseNumber> {
        match self {
            Committed::Applied(a) => a.case.as_ref(),
            Committed::Duplicate => None,
        }
    }
}
