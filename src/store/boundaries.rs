//! The store's boundaries: one trait per concern the rest of pstbot reads or writes, and
//! [`Store`], the supertrait of them all, which every engine gets for free once it implements
//! each boundary. A part that needs one concern can take that trait alone; every
//! `&dyn Store` keeps working.
//!
//! Each boundary has its own contract suite (`tests/store_contract/`), run against every
//! engine.

use super::commit::{
    AuditEntry, Commit, Committed, DedupeKey, Durable, DurableFuture, Followups, NoFollowups,
    QueueKey,
};
use super::records::{
    DeliveryStatus, FailedRecord, OutboxRow, SentRecord, Timer, WebLogEntry, WebSession,
};
use super::{FlushFuture, PrunePage, Result};
use crate::cases::{Case, CaseNumber};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Everything a message changes, applied at once: the write side of every other boundary.
pub trait CommitStore {
    /// Applies a commit atomically (see [`super::apply`] for what it writes, in which order),
    /// queueing its follow-up messages and replacing the timers of every case it writes.
    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed>;
    /// Applies independent commits, each atomically and with its own follow-ups, exactly as
    /// [`CommitStore::commit_with`] one after another would, and returns each one's outcome. A
    /// store may apply them in one transaction (sled does: one transaction for a burst of due
    /// reminders costs far less than one each).
    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        items
            .into_iter()
            .map(|(c, f)| self.commit_with(c, f))
            .collect()
    }
    /// Applies a commit together with the commits other writers hand over meanwhile, and
    /// answers once the flush covering it has finished (sled: many messages share one
    /// transaction, which costs two log writes whatever its size). A store that does not
    /// gather commits (the default), or not this one now (an erasure, writes held back by a
    /// backup), answers [`Durable::NotQueued`] at once. Called from async code: it never
    /// blocks the caller's thread.
    fn commit_durable(&self, c: Commit, _f: Arc<dyn Followups + Send>) -> DurableFuture<'_> {
        Box::pin(std::future::ready(Durable::NotQueued(c)))
    }
    /// Applies a commit with no follow-ups.
    fn commit(&self, c: Commit) -> Result<Committed> {
        self.commit_with(c, &NoFollowups)
    }
}

/// Each person's conversation, and the dedupe marks of the messages already handled.
pub trait ConversationStore {
    /// Whether this message was already handled.
    fn is_handled(&self, key: &DedupeKey) -> Result<bool>;
    /// The conversation of `who` as their last message left it.
    fn session(&self, who: &Identity) -> Result<Option<Conversation>>;
}

/// The guest book: who wrote (with their consent), their visits, ratings and appointments.
pub trait GuestStore {
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
    /// Every visit, oldest first.
    fn visits(&self) -> Result<Vec<Visit>>;
    /// Every rating, oldest first.
    fn ratings(&self) -> Result<Vec<Rating>>;
    /// Every booked appointment, by the time of the visit.
    fn appointments(&self) -> Result<Vec<Appointment>>;
}

/// Cases and the walk-in queues.
pub trait CaseStore {
    /// A case by its number.
    fn case(&self, number: &CaseNumber) -> Result<Option<Case>>;
    /// A guest's cases, newest first.
    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>>;
    /// All open cases, oldest first.
    fn open_cases(&self) -> Result<Vec<Case>>;
    /// Cases created in `[from, to)`, oldest first.
    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>>;
    /// Recommendation (REK) cases in one of these stages: the issued ones, for the activity search.
    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>>;
    /// Numbers issued and called in a walk-in queue.
    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)>;
}

/// Messages waiting to leave, delivered, given up on, and addresses mail cannot reach.
pub trait OutboxStore {
    /// Up to `limit` rows waiting for delivery with an id above `after`, in id order.
    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>>;
    /// [`OutboxStore::outbox_pending`] without the rows whose id `skip` accepts (rows the
    /// caller already holds): those are not decoded and do not count towards `limit`.
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
    /// Marks several rows delivered, in one transaction where the engine can (the delivery
    /// worker marks all the sends that finished together at once).
    fn outbox_sent_all(&self, recs: &[SentRecord]) -> Result<()> {
        recs.iter()
            .try_for_each(|rec| self.outbox_sent(rec.clone()))
    }
    /// Marks rows delivered together with other writers' writes and answers once the marks
    /// are durable (see [`CommitStore::commit_durable`]). A store that does not gather writes
    /// (the default) answers [`Durable::NotQueued`] at once: the caller marks them
    /// ([`OutboxStore::outbox_sent_all`]) and flushes. Never blocks the caller's thread.
    fn outbox_sent_durable(&self, recs: Vec<SentRecord>) -> DurableFuture<'_, Vec<SentRecord>, ()> {
        Box::pin(std::future::ready(Durable::NotQueued(recs)))
    }
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
    /// Whether mail to this address bounced (and it has not written since): nothing more is
    /// sent there. Addresses compare without case.
    fn address_failing(&self, who: &Identity) -> Result<bool>;
}

/// Reminders waiting for their time.
pub trait TimerStore {
    /// Up to `limit` timers due at or before `until`, earliest first.
    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>>;
    /// When the earliest timer is due.
    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>>;
    /// The timers of one owner, earliest first.
    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>>;
    /// Removes a timer that fired before (its firing is already recorded).
    fn drop_timer(&self, t: &Timer) -> Result<()>;
}

/// The web chat's sessions and the conversation log a returning visitor sees.
pub trait WebChatStore {
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

/// Officers' accesses to personal data (UU PDP).
pub trait AuditStore {
    /// The audit log, oldest first.
    fn audit_log(&self) -> Result<Vec<AuditEntry>>;
}

/// Files people sent, by content hash.
pub trait BlobStore {
    /// A kept file's bytes by its content hash (hex SHA-256).
    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>>;
}

/// Durability and housekeeping: flushes, checkpoints, pruning, the store's own secrets.
pub trait StoreMaintenance {
    /// Makes every applied commit durable. Called before a message counts as handled.
    /// Blocks the calling thread; concurrent callers may share one flush.
    fn flush(&self) -> Result<()>;
    /// [`StoreMaintenance::flush`] without holding a thread: resolves once everything applied
    /// before the call is durable. Concurrent callers share one flush (group commit). The
    /// request is made when this is called, not when the future is first polled.
    fn flushed(&self) -> FlushFuture<'_> {
        let r = self.flush();
        Box::pin(std::future::ready(r))
    }
    /// Why the store cannot take writes now (disk full or read-only), while that lasts:
    /// the service refuses new work meanwhile. A store that cannot fail this way says `None`.
    fn trouble(&self) -> Option<String> {
        None
    }
    /// Whether a call may wait now on something outside this process or for long: a
    /// database server's round trips and locks, or a backup that holds writes back. The
    /// runtime then calls the store off the async workers; otherwise in place, which saves
    /// two thread hand-offs per message.
    fn may_wait(&self) -> bool;
    /// Walks the stored records looking for damage: all of them, or (`budget`) a bounded
    /// walk. `None`: this engine has no such check (a database checks its own pages).
    fn check_damage(
        &self,
        _budget: Option<super::verify::Budget>,
    ) -> Result<Option<super::verify::VerifyReport>> {
        Ok(None)
    }
    /// Rewrites the stored files when an erasure happened since the last rewrite, so that
    /// erased bytes are in no file any more (sled keeps old versions in its log). Returns
    /// whether it rewrote; an engine that overwrites in place says `false`.
    fn rewrite_if_erased(&self) -> Result<bool> {
        Ok(false)
    }
    /// Lets the storage engine write down where it stands, so that the next start reads that
    /// instead of replaying everything written since the last one. Writes wait meanwhile.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
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
    /// A random 32-byte secret of this store, made on first use and the same ever after (in
    /// every process on the store, and in a backup): the key of e-mail reply tokens. Durable
    /// before it is returned, so nothing sent with it outlives it.
    fn secret(&self, name: &str) -> Result<[u8; 32]>;
}

/// A person's turn held in the store, for as long as the value lives (see
/// [`Coordination::turn`]).
pub type SharedTurn = Box<dyn Send>;

/// What several processes on one store share (a PostgreSQL database; sled and memory serve
/// one process, so the defaults say "nothing to share"): a person's turn across processes,
/// and leases that let one process at a time do a job (the scheduler, a poller).
pub trait Coordination {
    /// Holds `who`'s turn across processes until the returned value is dropped, waiting for
    /// another process that holds it. `None`: no other process can act for them.
    fn turn(&self, who: &Identity) -> Result<Option<SharedTurn>> {
        self.turns(&[who])
    }
    /// Holds the turns of all of `people` (in their order: callers sort them, so two callers
    /// never wait for each other in a cycle) as one held value, taking no more of the store's
    /// resources than one turn does, so a caller that needs many people's turns at once (the
    /// scheduler firing a round of timers) cannot wait for itself.
    fn turns(&self, _people: &[&Identity]) -> Result<Option<SharedTurn>> {
        Ok(None)
    }
    /// Takes or renews the lease `name` for `ttl`: `true` while this process holds it (it
    /// was free, expired, or ours). A store of one process always grants it.
    fn lease(&self, _name: &str, _ttl: std::time::Duration) -> Result<bool> {
        Ok(true)
    }
    /// Lets go of the lease `name` if this process holds it (another takes it at once).
    fn release(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    /// Whether other processes write to this store and deliver from its outbox too (a shared
    /// database): the delivery worker then reads the whole queue again now and then, for rows
    /// that other processes queued or left behind.
    fn shared(&self) -> bool {
        false
    }
    /// Renews this process's claims on the outbox rows of the chats in `renew` and takes those
    /// of `take` that no other process holds (or whose holder let theirs lapse), each for
    /// `ttl`. Only a chat's holder sends its rows: every row leaves from one process, a chat's
    /// rows in order. A store of one process grants every claim.
    fn outbox_claim(
        &self,
        renew: &[Identity],
        take: &[Identity],
        _ttl: std::time::Duration,
    ) -> Result<Claimed> {
        Ok(Claimed {
            held: renew.iter().chain(take).cloned().collect(),
            rows: None,
        })
    }
    /// Lets go of this process's claims on these chats (another process may take them at once).
    fn outbox_unclaim(&self, _chats: &[Identity]) -> Result<()> {
        Ok(())
    }
    /// Starts listening for entries appended to web chat logs by any process on this store
    /// (this one included), until `stop`: each as a [`WebLogNotice`] on the returned
    /// receiver. `None`: no other process writes to this store, the web chat's own pushes
    /// are all there is.
    fn watch_web_logs(
        &self,
        _stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<WebLogNotice>>> {
        Ok(None)
    }
    /// Starts listening for outbox rows that other processes on this store queue, until
    /// `stop`: each commit that queued some as an [`OutboxNotice`] on the returned receiver,
    /// so that the process holding a chat's claim sends at once rather than at its next read
    /// of the queue. `None`: no other process writes to this store.
    fn watch_outbox(
        &self,
        _stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<OutboxNotice>>> {
        Ok(None)
    }
    /// Counts a message of `who` at `now` in their one-minute flood window, shared by every
    /// process on this store, and returns its number in that window. `None`: one process, the
    /// runtime counts in memory.
    fn flood_count(&self, _who: &Identity, _now: DateTime<Utc>) -> Result<Option<u32>> {
        Ok(None)
    }
}

/// What [`Coordination::watch_web_logs`] tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebLogNotice {
    /// Entry `seq` was appended to the log of web session `session` (and committed).
    Appended { session: String, seq: u64 },
    /// Notices may have been lost (the listening connection was re-made, or its receiver fell
    /// behind): whoever shows logs live reads them again from where they stand.
    Missed,
}

/// What [`Coordination::watch_outbox`] tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxNotice {
    /// Another process committed rows for the chats with these [`chat_tag`]s.
    Queued(Vec<u32>),
    /// Rows may have been queued unannounced (the listening connection was re-made, its
    /// receiver fell behind, or a commit queued for too many chats to name): whoever sends
    /// reads the queue again.
    Missed,
}

/// A chat's tag in [`OutboxNotice::Queued`]: 32 bits of the SHA-256 of its identity. Many
/// addresses share a tag, so it names nobody; a process that holds a chat with a tag it is
/// told about reads that chat's rows (another chat with the same tag costs one read).
pub fn chat_tag(who: &Identity) -> u32 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(who.to_string().as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// What [`Coordination::outbox_claim`] granted.
#[derive(Debug, Clone, Default)]
pub struct Claimed {
    /// The chats this process holds now (of those renewed and taken).
    pub held: Vec<Identity>,
    /// The rows waiting for the chats taken now, read after they were taken, in id order:
    /// what the caller read before may be out of date (another process may have sent some
    /// meanwhile). `None`: no other process sends from this store, what the caller holds is
    /// current.
    pub rows: Option<Vec<OutboxRow>>,
}

/// The domain operations pstbot needs from a store: every boundary at once. Implemented for
/// every type that implements them all, so an engine implements the boundaries and nothing
/// else.
pub trait Store:
    CommitStore
    + ConversationStore
    + GuestStore
    + CaseStore
    + OutboxStore
    + TimerStore
    + WebChatStore
    + AuditStore
    + BlobStore
    + StoreMaintenance
    + Coordination
    + Send
    + Sync
    + 'static
{
}

impl<S> Store for S where
    S: CommitStore
        + ConversationStore
        + GuestStore
        + CaseStore
        + OutboxStore
        + TimerStore
        + WebChatStore
        + AuditStore
        + BlobStore
        + StoreMaintenance
        + Coordination
        + Send
        + Sync
        + 'static
{
}
