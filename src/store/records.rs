//! The records of delivery and time that commits write next to the domain state: outbox rows
//! (every message waiting to leave) and timers (every reminder waiting to fire).

use crate::cases::CaseNumber;
use crate::message::{Identity, OutboundMessage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One outbound message waiting for delivery, written in the same transaction as the change
/// that caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// Monotonic: rows of one chat are delivered in id order.
    pub id: u64,
    /// Idempotency key: the dedupe key of the message or timer that caused it, `#` and its
    /// position. Sent to providers that accept one, and used as the e-mail `Message-ID`.
    pub key: String,
    pub created_at: DateTime<Utc>,
    pub msg: OutboundMessage,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not to be tried again before this time (backoff, a provider's `retry_after`).
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The recipient erased their data (the confirmation of `hapusdata`): once sent or given
    /// up on, only a masked address is kept.
    #[serde(default)]
    pub forget_recipient: bool,
}

impl OutboxRow {
    /// A row not yet tried.
    pub fn new(id: u64, key: String, created_at: DateTime<Utc>, msg: OutboundMessage) -> Self {
        OutboxRow {
            id,
            key,
            created_at,
            msg,
            attempts: 0,
            not_before: None,
            last_error: None,
            forget_recipient: false,
        }
    }

    /// The recipient as a delivery record keeps it: masked when they erased their data.
    pub fn kept_recipient(&self) -> Identity {
        if self.forget_recipient {
            Identity::new(
                self.msg.to.channel,
                crate::message::mask(&self.msg.to.address),
            )
        } else {
            self.msg.to.clone()
        }
    }

    /// The row as a failure record keeps it (see [`OutboxRow::kept_recipient`]).
    pub fn kept(mut self) -> Self {
        self.msg.to = self.kept_recipient();
        self
    }

    /// The idempotency key of the `n`-th message a commit queues.
    pub fn key_for(dedupe: &str, n: usize) -> String {
        format!("{dedupe}#{n}")
    }

    /// The idempotency key of the officers' notice about a row given up on.
    pub fn failure_key(failed_id: u64) -> String {
        format!("failed:{failed_id}")
    }
}

/// What is kept of a delivered message: enough to match a provider's status callback or a
/// reply to it, and to send it again when the provider reports a later failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRecord {
    pub id: u64,
    pub key: String,
    pub to: Identity,
    pub at: DateTime<Utc>,
    /// The provider's id of the message (Telegram message id, WhatsApp `wamid`, …). A row
    /// delivered as several provider messages (parts, files, several officers' numbers) keeps
    /// all their ids, separated by spaces; each one finds the row ([`SentRecord::refs`]).
    pub provider_ref: Option<String>,
    /// The message itself (a quoted reply shows its text; a failed status resends it).
    #[serde(default)]
    pub msg: Option<OutboundMessage>,
    /// What the provider reported since (WhatsApp's `statuses`), and when.
    #[serde(default)]
    pub status: Option<DeliveryStatus>,
    #[serde(default)]
    pub status_at: Option<DateTime<Utc>>,
    /// E-mail: the ids the mail named in `References` (its thread before it), oldest first.
    /// Kept when housekeeping drops the text, gone with the record when its recipient's data
    /// is erased; the next mail of the thread names these and this mail's own id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
}

impl SentRecord {
    /// A record of a delivered row, with nothing reported yet.
    pub fn delivered(row: &OutboxRow, at: DateTime<Utc>, provider_ref: Option<String>) -> Self {
        SentRecord {
            id: row.id,
            key: row.key.clone(),
            to: row.kept_recipient(),
            at,
            provider_ref,
            // Not kept for a person who erased their data (the confirmation of `hapusdata`).
            msg: (!row.forget_recipient).then(|| row.msg.clone()),
            status: None,
            status_at: None,
            thread: Vec::new(),
        }
    }

    /// The provider ids this record answers to.
    pub fn refs(&self) -> impl Iterator<Item = &str> {
        self.provider_ref
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
    }
}

/// A delivery state a provider reports after it took a message (WhatsApp `statuses`), or
/// [`DeliveryStatus::Withheld`]: the channel finished the row on purpose without sending it
/// (outside WhatsApp's 24-hour window with no template; e-mail carries the notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
    Withheld,
}

impl DeliveryStatus {
    /// Whether a report of `self` may replace `old`: statuses arrive out of order, so a later
    /// stage is never overwritten by an earlier one (a `read` stays `read`); a failure always counts.
    pub fn advances(self, old: Option<DeliveryStatus>) -> bool {
        match (old, self) {
            (None, _) => true,
            (_, DeliveryStatus::Failed) => true,
            (Some(DeliveryStatus::Failed | DeliveryStatus::Withheld), _) => false,
            (Some(o), n) => n > o,
        }
    }
}

/// A message given up on after its last attempt, kept for the officers to look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRecord {
    pub row: OutboxRow,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A reminder waiting for its time. Stored under big-endian due time + id, so the scheduler
/// reads only what is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    /// Unique and deterministic (owner, what, and the stage entry it belongs to), so the same
    /// reminder computed twice is the same timer, and firing it is deduplicated by this id.
    pub id: String,
    /// What the timer belongs to (`case:REK-2026-000001`, `appt:…`, `idle:…`); a commit
    /// replaces all timers of an owner at once.
    pub owner: String,
    pub due: DateTime<Utc>,
    pub what: Reminder,
}

/// What a timer does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reminder {
    /// Officers: a new case nobody has taken yet.
    Unacknowledged { case: CaseNumber },
    /// Officers: a stage reached `percent`% of its SLA (100 = due now).
    StageProgress {
        case: CaseNumber,
        stage: String,
        percent: u32,
    },
    /// Officers and pimpinan: the stage is overdue, the `day`-th reminder.
    Overdue {
        case: CaseNumber,
        stage: String,
        day: u32,
    },
    /// Applicant: the case waits on them (revision, documents, payment), the `nth` reminder.
    ApplicantPending {
        case: CaseNumber,
        stage: String,
        nth: u32,
    },
    /// Applicant: the rating asked when the case finished, once more.
    RatingAgain { case: CaseNumber, stage: String },
    /// Applicant: an appointment is near (`hours_before` it).
    Appointment {
        who: Identity,
        at: DateTime<Utc>,
        topic: String,
        hours_before: u32,
    },
    /// A conversation left unanswered is closed politely.
    IdleClose {
        who: Identity,
        last_seen: DateTime<Utc>,
    },
}

impl Timer {
    /// The dedupe key its firing is recorded under.
    pub fn dedupe_id(&self) -> String {
        format!("{}{}", super::TIMER_MARK, self.id)
    }
}

/// All timers an owner should have after a commit (replacing the ones it had).
#[derive(Debug, Clone, PartialEq)]
pub struct TimerSet {
    pub owner: String,
    pub timers: Vec<Timer>,
}

/// The owner key of a case's timers.
pub fn case_owner(n: &CaseNumber) -> String {
    format!("case:{n}")
}

/// A web chat session: issued to a browser as a random token in a cookie; only the token's
/// SHA-256 (hex) is stored, as `id`, which is also the session's identity address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebSession {
    pub id: String,
    pub created_at: DateTime<Utc>,
}

/// One line of a web chat session's conversation log: what the visitor sent, or a message
/// delivered to them (a reply, a notification, an officer's answer). The page shows the log
/// when a visitor comes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebLogEntry {
    pub at: DateTime<Utc>,
    /// True for what the visitor sent, false for messages to them.
    pub visitor: bool,
    pub text: String,
    #[serde(default)]
    pub choices: Vec<crate::message::OutboundChoice>,
    #[serde(default)]
    pub files: Vec<crate::message::AttachmentRef>,
    /// An officer's own words (a reply or a file from an officer), which the page shows as the
    /// officer's, not the bot's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub officer: bool,
}
