//! Storage behind domain traits. [`sled::SledStore`] is the only code that knows sled trees and
//! key bytes; [`memory::MemoryStore`] serves tests; both pass one contract suite
//! (`tests/store_contract.rs`).
//!
//! Every inbound message is applied as one [`Commit`]: the dedupe mark, the conversation, the
//! guest, the new case with its number, ratings, appointments and kept files — all or nothing.
//! A commit whose dedupe mark already exists changes nothing and reports a duplicate.

pub mod backup;
pub mod group;
pub mod memory;
pub mod records;
pub mod sled;

pub use records::{
    DeliveryStatus, FailedRecord, OutboxRow, Reminder, SentRecord, Timer, TimerSet, WebLogEntry,
    WebSession,
};

use crate::cases::Answer;
use crate::cases::{Case, CaseEvent, CaseNumber, FormField, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::AttachmentRef;
use crate::message::{ChannelKind, Identity, OutboundMessage};
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

/// The prefix of the dedupe marks of fired timers ([`Timer::dedupe_id`]): kept for good, unlike
/// the marks of inbound messages (see [`Store::prune_dedupe`]).
pub const TIMER_MARK: &str = "timer:";

/// What [`Store::flushed`] returns.
pub type FlushFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

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
    /// Timers of non-case owners to replace (appointments, idle conversations). Case timers
    /// come from [`Followups::case_timers`] for every case the commit writes.
    pub timers: Vec<TimerSet>,
    /// The timer whose firing this commit is: removed from the due index in the same
    /// transaction.
    pub fired: Option<Timer>,
    /// Marks an address as failing (`true`: a bounce said mail to it cannot be delivered) or
    /// working again (`false`: mail came from it). Kept durably; see [`Store::address_failing`].
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
    /// The e-mail address in the guest book of the guest registered from this identity.
    fn email_of(&self, who: &Identity) -> Result<Option<String>> {
        Ok(self
            .guest_of(who)?
            .and_then(|g| g.email().map(str::to_string)))
    }
    /// Every guest in the guest book, by id (reports and the guest-book export).
    fn guests(&self) -> Result<Vec<Guest>>;
    /// At most `limit` guests whose id sorts after `after`, by id: for walking a large guest
    /// book without holding it all in memory (the retention purge).
    fn guests_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Guest>>;
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
    /// The audit log, oldest first.
    fn audit_log(&self) -> Result<Vec<AuditEntry>>;
    /// Whether mail to this address bounced (and it has not written since): nothing more is
    /// sent there.
    fn address_failing(&self, who: &Identity) -> Result<bool>;
    /// Applies a commit atomically (see the module docs), queueing its follow-up messages and
    /// replacing the timers of every case it writes.
    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed>;
    /// Applies independent commits, each atomically and with its own follow-ups, exactly as
    /// [`Store::commit_with`] one after another would, and returns each one's outcome. A store
    /// may apply them in one transaction (sled does: one transaction for a burst of due
    /// reminders costs far less than one each).
    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        items
            .into_iter()
            .map(|(c, f)| self.commit_with(c, f))
            .collect()
    }
    /// Applies a commit with no follow-ups.
    fn commit(&self, c: Commit) -> Result<Committed> {
        self.commit_with(c, &NoFollowups)
    }
    /// Up to `limit` rows waiting for delivery with an id above `after`, in id order.
    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>>;
    /// [`Store::outbox_pending`] without the rows whose id `skip` accepts (rows the caller
    /// already holds): those are not decoded and do not count towards `limit`.
    fn outbox_pending_except(
        &self,
        after: Option<u64>,
        limit: usize,
        skip: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<OutboxRow>> {
        let mut out = Vec::new();
        let mut after = after;
        loop {
            let rows = self.outbox_pending(after, limit)?;
            let n = rows.len();
            for row in rows {
                after = Some(row.id);
                if !skip(row.id) && out.len() < limit {
                    out.push(row);
                }
            }
            if n < limit || out.len() >= limit {
                return Ok(out);
            }
        }
    }
    /// Writes back a row after a failed attempt (attempts, next try, error).
    fn outbox_retry(&self, row: &OutboxRow) -> Result<()>;
    /// Marks a row delivered: it leaves the queue and is remembered as sent.
    fn outbox_sent(&self, rec: SentRecord) -> Result<()>;
    /// Gives up on a row; `notice` (for the officers) is queued in the same transaction.
    fn outbox_failed(&self, rec: FailedRecord, notice: Option<OutboundMessage>) -> Result<()>;
    /// A delivered message by outbox id.
    fn sent(&self, id: u64) -> Result<Option<SentRecord>>;
    /// A delivered message by one of its provider ids on `channel` (a WhatsApp `wamid` in a
    /// status callback or a quoted reply).
    fn sent_by_ref(&self, channel: ChannelKind, provider_ref: &str) -> Result<Option<SentRecord>>;
    /// Records what the provider reported of a delivered message, unless it reported a later
    /// state before ([`DeliveryStatus::advances`]). Returns whether the record changed.
    fn outbox_status(&self, id: u64, status: DeliveryStatus, at: DateTime<Utc>) -> Result<bool>;
    /// Messages given up on, oldest first.
    fn failed(&self) -> Result<Vec<FailedRecord>>;
    /// Up to `limit` timers due at or before `until`, earliest first.
    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>>;
    /// When the earliest timer is due.
    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>>;
    /// The timers of one owner, earliest first.
    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>>;
    /// Removes a timer that fired before (its firing is already recorded).
    fn drop_timer(&self, t: &Timer) -> Result<()>;
    /// Makes every applied commit durable. Called before a message counts as handled.
    /// Blocks the calling thread; concurrent callers may share one flush.
    fn flush(&self) -> Result<()>;
    /// Why the store cannot take writes now (disk full or read-only), while that lasts:
    /// the service refuses new work meanwhile. A store that cannot fail this way says `None`.
    fn trouble(&self) -> Option<String> {
        None
    }
    /// [`Store::flush`] without holding a thread: resolves once everything applied before
    /// the call is durable. Concurrent callers share one flush (group commit). The request
    /// is made when this is called, not when the future is first polled.
    fn flushed(&self) -> FlushFuture<'_> {
        let r = self.flush();
        Box::pin(std::future::ready(r))
    }
    /// Housekeeping: removes the dedupe marks of inbound messages handled before `before`
    /// (a provider re-delivers within minutes or hours, never after days). The marks of fired
    /// timers (`timer:…`) are kept: they are what keeps a reminder from firing twice. Looks at
    /// up to `limit` marks with a key after `after`; see [`PrunePage`].
    fn prune_dedupe(
        &self,
        after: Option<&str>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<String>>;
    /// Housekeeping: drops the text of delivery records of messages delivered before `before`
    /// (their id, recipient, provider ids and status stay: status callbacks and quoted replies
    /// still find them). Looks at up to `limit` records with an id above `after`, in id order,
    /// and stops at the first one delivered at or after `before` (ids follow delivery order
    /// but for a row retried long: its later neighbours wait for the next pass); `next` is
    /// then `None`.
    fn prune_sent(
        &self,
        after: Option<u64>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<u64>>;
    /// Lets the storage engine write down where it stands, so that the next start reads that
    /// instead of replaying everything written since the last one. Writes wait meanwhile.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
    /// A random 32-byte secret of this store, made on first use and the same ever after (in
    /// every process on the store, and in a backup): the key of e-mail reply tokens. Durable
    /// before it is returned, so nothing sent with it outlives it.
    fn secret(&self, name: &str) -> Result<[u8; 32]>;
    /// A web chat session by its id (the hash of its token).
    fn web_session(&self, id: &str) -> Result<Option<WebSession>>;
    /// Records a web chat session issued to a browser.
    fn put_web_session(&self, s: &WebSession) -> Result<()>;
    /// Appends `entry` to the log of web session `session`, unless an entry with the same
    /// `key` (the visitor's message id, an outbox row) is there already. Returns the entry's
    /// sequence number (increasing within the log) and whether it was added now.
    fn web_log_append(&self, session: &str, key: &str, entry: &WebLogEntry) -> Result<(u64, bool)>;
    /// Up to `limit` entries of a web session's log with a sequence number above `after`, in
    /// order.
    fn web_log(&self, session: &str, after: u64, limit: usize) -> Result<Vec<(u64, WebLogEntry)>>;
    /// The last `limit` entries of a web session's log, in order.
    fn web_log_tail(&self, session: &str, limit: usize) -> Result<Vec<(u64, WebLogEntry)>>;
}

/// One page of a housekeeping pass: where to go on from (`None`: the pass reached the end) and
/// how many records it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunePage<K> {
    pub next: Option<K>,
    pub pruned: usize,
}

/// 32 bytes from the operating system's generator, for a new [`Store::secret`].
pub(crate) fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Engine(format!("no random bytes for a secret: {e}")))?;
    Ok(bytes)
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
            if g.consent_version != u.consent_version || g.consent_text.is_empty() {
                g.consent_version = u.consent_version.clone();
                g.consent_text = u.consent_text.clone();
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
            consent_text: u.consent_text.clone(),
            consent_at: c.at,
            lang: u.lang.clone(),
            created_at: c.at,
            updated_at: c.at,
        },
    }
}
