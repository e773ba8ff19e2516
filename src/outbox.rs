//! The delivery worker: sends the rows of the durable outbox through the channel adapters.
//!
//! Every outbound message was written as an outbox row in the same transaction as the change
//! that caused it (see [`crate::store::Followups`]). This worker:
//!
//! - keeps per-chat order: a chat's next row waits until the one before it is delivered or
//!   given up on, and only one row per chat is ever in flight;
//! - marks a delivered row sent and flushes that mark before the chat's next row goes out, so a
//!   crash can repeat at most the one in-flight message per chat, and a restart resends every
//!   row not marked (nothing is lost);
//! - retries transient failures (HTTP 429/5xx, timeouts, SMTP 4xx) with exponential backoff and
//!   jitter, waiting at least a provider's `retry_after`; gives up on permanent failures (other
//!   4xx, SMTP 5xx) or after the last attempt, keeps the row as failed and tells the officers'
//!   admin chat;
//! - respects per-chat, per-group and per-channel rate limits ([`crate::config::RateLimit`]).
//!
//! Rows for a channel that is not running (not configured in this process) stay queued.

mod send;

pub use send::{DeliveryContext, ProviderRef, SendError, SendFuture, Sender};

use crate::config::{DeliveryConfig, RateLimit};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::runtime::Runtime;
use crate::store::{DeliveryStatus, FailedRecord, OutboxRow, SentRecord};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The running channels, by the kind of identity they deliver to. The officers' admin chat
/// ([`ChannelKind::Officers`]) is served by whichever adapter hosts it.
#[derive(Default, Clone)]
pub struct Channels {
    by_kind: HashMap<ChannelKind, Arc<dyn Sender>>,
}

impl Channels {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, kind: ChannelKind, ch: Arc<dyn Sender>) {
        self.by_kind.insert(kind, ch);
    }
    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Sender>> {
        self.by_kind.get(&kind)
    }
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }
}

impl FromIterator<(ChannelKind, Arc<dyn Sender>)> for Channels {
    fn from_iter<I: IntoIterator<Item = (ChannelKind, Arc<dyn Sender>)>>(senders: I) -> Self {
        let mut channels = Channels::new();
        for (kind, sender) in senders {
            channels.add(kind, sender);
        }
        channels
    }
}

/// Rows whose commit's flush finished, handed from the runtime to the running worker so they
/// are queued at once: no store read and no flush of the worker's own (a row the worker reads
/// from the store may not be flushed yet, so it waits for a flush before sending it).
///
/// Only while a worker is attached ([`Outbox::run`]) are rows taken; otherwise
/// [`Handoff::give`] refuses them and they wait in the store for the next worker's scan, so a
/// runtime with no worker (tests, `pstbot chat`) holds nothing in memory.
#[derive(Default)]
pub struct Handoff {
    state: std::sync::Mutex<HandoffState>,
    ready: tokio::sync::Notify,
}

#[derive(Default)]
struct HandoffState {
    attached: bool,
    rows: Vec<OutboxRow>,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HandoffState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands over rows whose commit is flushed; `false` when no worker takes them (the caller
    /// then wakes the worker's store scan instead).
    pub fn give(&self, rows: Vec<OutboxRow>) -> bool {
        let mut s = self.lock();
        if !s.attached {
            return false;
        }
        s.rows.extend(rows);
        drop(s);
        self.ready.notify_one();
        true
    }

    /// Whether a worker takes rows now.
    pub fn attached(&self) -> bool {
        self.lock().attached
    }

    fn attach(&self) -> Attached<'_> {
        self.lock().attached = true;
        Attached(self)
    }

    fn take(&self) -> Vec<OutboxRow> {
        std::mem::take(&mut self.lock().rows)
    }
}

/// The worker's attachment; when it ends, rows not taken stay in the store for the next scan.
struct Attached<'a>(&'a Handoff);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.attached = false;
        s.rows.clear();
    }
}

/// The wait before retry number `attempt` (1-based): initial × 2^(attempt-1), at most `max`,
/// with ±20% jitter so many failed rows do not retry in lockstep.
pub fn backoff(cfg: &DeliveryConfig, attempt: u32) -> Duration {
    let exp = cfg
        .backoff_initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let base = exp.min(cfg.backoff_max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    base.mul_f64(jitter)
}

struct Limits {
    per_chat: DefaultKeyedRateLimiter<Identity>,
    group: DefaultDirectRateLimiter,
    global: DefaultDirectRateLimiter,
    /// Built once: making a clock reads the CPU's features (a profile showed ~3 % of the
    /// bot's time in building one per check).
    clock: DefaultClock,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

impl Limits {
    fn new(l: RateLimit) -> Limits {
        Limits {
            // Short bursts are fine (a reply is often two or three messages); the rate holds.
            per_chat: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(nz(l.per_chat_per_minute)).allow_burst(nz(3)),
            ),
            group: DefaultDirectRateLimiter::direct(
                Quota::per_minute(nz(l.group_per_minute)).allow_burst(nz(3)),
            ),
            global: DefaultDirectRateLimiter::direct(Quota::per_second(nz(l.per_second))),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a sending slot for `to`, or says how long to wait for one.
    fn take(&self, to: &Identity) -> Result<(), Duration> {
        let clock = &self.clock;
        let chat = if to.channel == ChannelKind::Officers {
            self.group.check()
        } else {
            self.per_chat.check_key(to)
        };
        chat.map_err(|nu| nu.wait_time_from(clock.now()))?;
        self.global
            .check()
            .map_err(|nu| nu.wait_time_from(clock.now()))
    }
}

/// The outcome of one attempt, back from its task.
struct Attempt {
    row: OutboxRow,
    result: Result<ProviderRef, SendError>,
}

/// The delivery worker of one process.
pub struct Outbox {
    rt: Arc<Runtime>,
    channels: Channels,
    cfg: DeliveryConfig,
    limits: HashMap<ChannelKind, Limits>,
}

/// How many rows are read from the store per scan, and how many sends run at once.
const SCAN: usize = 512;
const IN_FLIGHT: usize = 32;
/// Rows get ids when their transaction starts; a transaction that started earlier may commit a
/// little later. Each scan re-reads this many ids below the highest seen, so none is skipped.
const REORDER_WINDOW: u64 = 4096;

/// Rows read from the store and the flush they wait for before they may be sent.
type Staged = (
    tokio::task::JoinHandle<crate::store::Result<()>>,
    Vec<OutboxRow>,
);

#[derive(Default)]
struct Queues {
    /// Per chat, rows waiting, in id order.
    chats: BTreeMap<Identity, VecDeque<OutboxRow>>,
    /// Ids loaded and not finished.
    known: HashSet<u64>,
    /// Ids read and waiting for their flush (not yet in `chats`), and the same by chat: a
    /// chat's row waits while an older row of that chat is still staged.
    staged: HashSet<u64>,
    staged_chats: HashMap<Identity, std::collections::BTreeSet<u64>>,
    /// The highest id a store scan ever returned (not reset on reload): a row handed off
    /// with an id above it was never read, so it cannot have been sent already.
    scanned: Option<u64>,
    /// Chats with a row in flight, and the ids in flight.
    busy: HashSet<Identity>,
    in_flight: HashSet<u64>,
    highest: Option<u64>,
    /// The chat whose row was started last: the next dispatch starts after it (round-robin),
    /// so a chat with many rows cannot keep the others waiting.
    cursor: Option<Identity>,
}

impl Queues {
    /// Chats with a row waiting and none in flight, in round-robin order: those after the
    /// last chat served first, then from the start.
    fn ready(&self) -> Vec<Identity> {
        use std::ops::Bound::{Excluded, Unbounded};
        let ready = |(who, rows): (&Identity, &VecDeque<OutboxRow>)| {
            let front = rows.front()?;
            let older_staged = self
                .staged_chats
                .get(who)
                .and_then(|ids| ids.first())
                .is_some_and(|&id| id < front.id);
            (!self.busy.contains(who) && !older_staged).then(|| who.clone())
        };
        match &self.cursor {
            None => self.chats.iter().filter_map(ready).collect(),
            Some(c) => self
                .chats
                .range::<Identity, _>((Excluded(c), Unbounded))
                .chain(self.chats.range::<Identity, _>(..=c))
                .filter_map(ready)
                .collect(),
        }
    }

    /// Notes a row read from the store, waiting for its flush.
    fn stage(&mut self, row: &OutboxRow) {
        self.staged.insert(row.id);
        self.staged_chats
            .entry(row.msg.to.clone())
            .or_default()
            .insert(row.id);
    }

    /// Takes a row out of the staged ones; `false` if it was not staged (any more).
    fn unstage(&mut self, row: &OutboxRow) -> bool {
        if !self.staged.remove(&row.id) {
            return false;
        }
        if let Some(ids) = self.staged_chats.get_mut(&row.msg.to) {
            ids.remove(&row.id);
            if ids.is_empty() {
                self.staged_chats.remove(&row.msg.to);
            }
        }
        true
    }

    /// Queues a row in its chat, in id order (once: a row already there is left as it is).
    fn enqueue(&mut self, row: OutboxRow) {
        let chat = self.chats.entry(row.msg.to.clone()).or_default();
        let pos = chat.partition_point(|r| r.id < row.id);
        if chat.get(pos).is_some_and(|r| r.id == row.id) {
            return;
        }
        chat.insert(pos, row);
    }

    /// Takes the chat's next row to send: the chat is busy until it finishes, and the next
    /// round-robin pass starts after it. The chat must have a row waiting.
    fn start(&mut self, who: Identity) -> OutboxRow {
        let row = self
            .chats
            .get_mut(&who)
            .and_then(|r| r.pop_front())
            .expect("the chat has a row waiting");
        self.busy.insert(who.clone());
        self.in_flight.insert(row.id);
        self.cursor = Some(who);
        row
    }
}

impl Outbox {
    pub fn new(rt: Arc<Runtime>, channels: Channels, cfg: DeliveryConfig) -> Outbox {
        let limits = [
            ChannelKind::Telegram,
            ChannelKind::Whatsapp,
            ChannelKind::Sms,
            ChannelKind::Email,
            ChannelKind::Web,
            ChannelKind::Terminal,
            ChannelKind::Officers,
        ]
        .into_iter()
        .map(|k| (k, Limits::new(cfg.limit(k.as_str()))))
        .collect();
        Outbox {
            rt,
            channels,
            cfg,
            limits,
        }
    }

    /// Which channel carries messages to `to`.
    fn channel_for(&self, to: &Identity) -> Option<&Arc<dyn Sender>> {
        self.channels.get(to.channel)
    }

    /// Reads rows not yet known from the store. A row is visible once its commit is applied,
    /// which may be before that commit is flushed (group commit: the commit waits for a shared
    /// flush). So new rows are returned with a flush that starts after they were read: they
    /// are queued for sending only once it finished, so nothing is sent for a change that a
    /// crash could still undo. The flush runs while the worker goes on sending other rows.
    fn load(&self, q: &mut Queues) -> crate::store::Result<Option<Staged>> {
        let mut after = q.highest.map(|h| h.saturating_sub(REORDER_WINDOW));
        let mut new = Vec::new();
        loop {
            // Rows already held are skipped undecoded: under load most of the window is.
            let rows = self
                .rt
                .store
                .outbox_pending_except(after, SCAN, &|id| q.known.contains(&id))?;
            let n = rows.len();
            for row in rows {
                after = Some(row.id);
                if self.channel_for(&row.msg.to).is_none() {
                    continue;
                }
                q.highest = Some(q.highest.map_or(row.id, |h| h.max(row.id)));
                q.scanned = Some(q.scanned.map_or(row.id, |h| h.max(row.id)));
                q.known.insert(row.id);
                q.stage(&row);
                new.push(row);
            }
            if n < SCAN {
                break;
            }
        }
        if new.is_empty() {
            return Ok(None);
        }
        let store = self.rt.store.clone();
        let flushed = tokio::spawn(async move { store.flushed().await });
        Ok(Some((flushed, new)))
    }

    /// Queues rows whose flush finished, each in its chat in id order; rows queued meanwhile
    /// by a hand-off (or forgotten by a reload) are not queued again.
    fn queue_rows(q: &mut Queues, rows: Vec<OutboxRow>) {
        for row in rows {
            if q.unstage(&row) {
                q.enqueue(row);
            }
        }
    }

    /// Forgets rows whose flush failed (a reload reads them again), except those a hand-off
    /// queued meanwhile.
    fn forget_staged(q: &mut Queues, rows: Vec<OutboxRow>) {
        for row in rows {
            if q.unstage(&row) {
                q.known.remove(&row.id);
            }
        }
    }

    /// Takes rows handed off by the runtime: their commit is flushed, so they are queued at
    /// once. A row the worker also read from the store is queued once: if it is still
    /// staged, the hand-off proves it durable and it is queued now (its staged flush then
    /// skips it); if it is queued or in flight, nothing changes; if a scan may have read it
    /// before and it has been sent since, the store is asked whether it is still waiting.
    /// Returns `false` when that read failed (a reload finds what is left).
    fn accept(&self, q: &mut Queues, rows: Vec<OutboxRow>) -> bool {
        let mut ok = true;
        for row in rows {
            if self.channel_for(&row.msg.to).is_none() {
                continue;
            }
            if q.staged.contains(&row.id) {
                q.unstage(&row);
                q.enqueue(row);
                continue;
            }
            if q.known.contains(&row.id) {
                continue;
            }
            if q.scanned.is_some_and(|s| row.id <= s) {
                // Read by an earlier scan and no longer held: sent or given up on since,
                // unless a reload dropped it.
                match self.rt.store.outbox_pending(row.id.checked_sub(1), 1) {
                    Ok(rows) if rows.first().is_some_and(|r| r.id == row.id) => {}
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "outbox: cannot check a handed-off message; reading the store again");
                        ok = false;
                        continue;
                    }
                }
            }
            q.known.insert(row.id);
            q.enqueue(row);
        }
        ok
    }

    /// Runs until `shutdown`: then stops starting sends, lets those in flight finish (their
    /// marks are written), and returns.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let _attached = self.rt.handoff.attach();
        let mut q = Queues::default();
        let mut tasks: JoinSet<Attempt> = JoinSet::new();
        // Rows read, waiting for their flush; applied in the order they were read.
        let mut staged: VecDeque<Staged> = VecDeque::new();
        // Chats whose delivery marks are being flushed; they send again once it finished.
        let mut marks: JoinSet<crate::store::Result<()>> = JoinSet::new();
        let mut marking: HashMap<tokio::task::Id, Vec<Identity>> = HashMap::new();
        let mut reload = true;
        let mut troubled = false;
        loop {
            // While the store cannot write, nothing is sent (a delivery could not be marked);
            // once it was reopened, the queues are read again from what is on disk.
            let trouble = self.rt.store.trouble().is_some();
            if trouble != troubled {
                troubled = trouble;
                if !trouble {
                    q.chats.clear();
                    q.known.retain(|id| q.in_flight.contains(id));
                    q.staged.clear();
                    q.staged_chats.clear();
                    q.highest = None;
                    reload = true;
                }
            }
            if trouble && !shutdown.is_cancelled() {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                        if let Some(chats) = self.finish(&mut q, vec![done]) {
                            let store = self.rt.store.clone();
                            let id = marks.spawn(async move { store.flushed().await }).id();
                            marking.insert(id, chats);
                        }
                    }
                    _ = shutdown.cancelled() => {}
                }
                continue;
            }
            if reload && !shutdown.is_cancelled() {
                match self.load(&mut q) {
                    Ok(Some(s)) => staged.push_back(s),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "outbox: cannot read queued messages; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = shutdown.cancelled() => {}
                        }
                        continue;
                    }
                }
                reload = false;
            }
            // Hand-offs are taken only after the store was read (at start and after a
            // reload), so a handed row never overtakes an older row of its chat on disk.
            if !shutdown.is_cancelled() {
                let handed = self.rt.handoff.take();
                if !handed.is_empty() && !self.accept(&mut q, handed) {
                    reload = true;
                }
            }
            let wait = if shutdown.is_cancelled() {
                None
            } else {
                self.dispatch(&mut q, &mut tasks)
            };
            if shutdown.is_cancelled() && tasks.is_empty() && marks.is_empty() {
                return;
            }
            let sleep = wait.unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    let mut finished = vec![done];
                    while let Some(more) = tasks.try_join_next() {
                        finished.push(more);
                    }
                    if let Some(chats) = self.finish(&mut q, finished) {
                        let store = self.rt.store.clone();
                        let id = marks.spawn(async move { store.flushed().await }).id();
                        marking.insert(id, chats);
                    }
                }
                Some(done) = marks.join_next_with_id(), if !marks.is_empty() => {
                    let mut all = vec![done];
                    while let Some(more) = marks.try_join_next_with_id() {
                        all.push(more);
                    }
                    for done in all {
                        let id = match done {
                            Ok((id, Ok(()))) => id,
                            Ok((id, Err(e))) => {
                                tracing::error!(error = %e, "outbox: flush of delivery marks failed");
                                id
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "outbox: flush task of delivery marks failed");
                                e.id()
                            }
                        };
                        for who in marking.remove(&id).unwrap_or_default() {
                            q.busy.remove(&who);
                        }
                    }
                }
                r = async { (&mut staged.front_mut().expect("not empty").0).await }, if !staged.is_empty() => {
                    let (_, rows) = staged.pop_front().expect("not empty");
                    match r {
                        Ok(Ok(())) => Self::queue_rows(&mut q, rows),
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "outbox: flush failed; reading the rows again");
                            Self::forget_staged(&mut q, rows);
                            reload = true;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "outbox: flush task failed; reading the rows again");
                            Self::forget_staged(&mut q, rows);
                            reload = true;
                        }
                    }
                }
                _ = self.rt.outbox_wake.notified(), if !shutdown.is_cancelled() => reload = true,
                // Taken at the top of the loop.
                _ = self.rt.handoff.ready.notified(), if !shutdown.is_cancelled() => {}
                _ = tokio::time::sleep(sleep), if !shutdown.is_cancelled() => {}
                _ = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
                // Shutdown arrived between the check above and here, with nothing in flight:
                // go round once more and return.
                else => {}
            }
        }
    }

    /// Starts every send that is allowed now; returns how long until the next one may be.
    fn dispatch(&self, q: &mut Queues, tasks: &mut JoinSet<Attempt>) -> Option<Duration> {
        let now = self.rt.clock.now();
        let mut next: Option<Duration> = None;
        let mut soonest = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
        for who in q.ready() {
            if tasks.len() >= IN_FLIGHT {
                soonest(Duration::from_millis(50));
                break;
            }
            let Some(row) = q.chats.get(&who).and_then(|r| r.front()) else {
                continue;
            };
            if let Some(at) = row.not_before
                && at > now
            {
                soonest((at - now).to_std().unwrap_or_default());
                continue;
            }
            if let Some(l) = self.limits.get(&who.channel)
                && let Err(wait) = l.take(&who)
            {
                soonest(wait);
                continue;
            }
            let Some(ch) = self.channel_for(&who).cloned() else {
                continue;
            };
            let row = q.start(who);
            let store = self.rt.store.clone();
            let timeout = self.cfg.send_timeout;
            tasks.spawn(async move {
                let result = match tokio::time::timeout(timeout, ch.send(&row, &store)).await {
                    Ok(r) => r,
                    Err(_) => Err(SendError::Transient {
                        reason: format!("no answer within {timeout:?}"),
                        retry_after: None,
                    }),
                };
                Attempt { row, result }
            });
        }
        next
    }

    /// Records finished attempts: delivered rows are marked, failed ones rescheduled or given
    /// up on. Returns the chats of the batch when a mark must be flushed before they may send
    /// again (the caller flushes, without stopping the worker, then frees them).
    fn finish(
        &self,
        q: &mut Queues,
        finished: Vec<Result<Attempt, tokio::task::JoinError>>,
    ) -> Option<Vec<Identity>> {
        let now = self.rt.clock.now();
        let mut sent_any = false;
        let mut chats = Vec::new();
        for done in finished {
            let Ok(Attempt { mut row, result }) = done else {
                tracing::error!("outbox: a send task panicked; its row stays queued");
                continue;
            };
            let who = row.msg.to.clone();
            q.in_flight.remove(&row.id);
            let outcome = match result {
                Ok(provider_ref) => {
                    sent_any = true;
                    let rec = SentRecord::delivered(&row, now, provider_ref);
                    self.rt.store.outbox_sent(rec).map(|_| None)
                }
                Err(SendError::Withheld {
                    reason,
                    covered: true,
                }) => {
                    sent_any = true;
                    tracing::info!(to = %who.masked(), %reason, "outbox: message finished without sending");
                    let mut rec = SentRecord::delivered(&row, now, None);
                    rec.status = Some(DeliveryStatus::Withheld);
                    rec.status_at = Some(now);
                    self.rt.store.outbox_sent(rec).map(|_| None)
                }
                Err(SendError::Transient {
                    reason,
                    retry_after,
                }) if row.attempts + 1 < self.cfg.max_attempts => {
                    row.attempts += 1;
                    let wait =
                        backoff(&self.cfg, row.attempts).max(retry_after.unwrap_or_default());
                    tracing::warn!(to = %who.masked(), attempt = row.attempts, wait_ms = wait.as_millis() as u64, %reason, "outbox: delivery failed; will retry");
                    row.not_before =
                        Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                    row.last_error = Some(reason);
                    self.rt.store.outbox_retry(&row).map(|_| Some(row))
                }
                Err(e) => {
                    tracing::error!(to = %who.masked(), attempts = row.attempts + 1, error = %e, "outbox: giving up on a message");
                    let notice = failure_notice(&row, &e);
                    let rec = FailedRecord {
                        at: now,
                        reason: e.to_string(),
                        row: row.kept(),
                    };
                    let r = self.rt.store.outbox_failed(rec, notice.clone());
                    if notice.is_some() {
                        self.rt.outbox_wake.notify_one();
                    }
                    r.map(|_| None)
                }
            };
            match outcome {
                Ok(Some(retry)) => {
                    // Back to the head of its chat: nothing after it may overtake it.
                    q.chats.entry(who.clone()).or_default().push_front(retry);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "outbox: cannot record a delivery; the message may be sent again");
                }
            }
            chats.push(who);
        }
        if !sent_any {
            for who in chats.drain(..) {
                q.busy.remove(&who);
            }
        }
        // Forget ids that left the store (sent or failed); keep those still queued.
        let queued: HashSet<u64> = q
            .chats
            .values()
            .flat_map(|rows| rows.iter().map(|r| r.id))
            .collect();
        q.known
            .retain(|id| queued.contains(id) || q.in_flight.contains(id) || q.staged.contains(id));
        q.chats
            .retain(|who, rows| !rows.is_empty() || q.busy.contains(who));
        (!chats.is_empty()).then_some(chats)
    }
}

/// What the officers are told when a message is given up on (nothing when the message was
/// itself for the officers' chat: that would loop).
fn failure_notice(row: &OutboxRow, e: &SendError) -> Option<OutboundMessage> {
    if row.msg.to.channel == ChannelKind::Officers {
        return None;
    }
    let preview = crate::message::clip(&row.msg.text, 80);
    if let SendError::Withheld { reason, .. } = e {
        return Some(OutboundMessage::text(
            Identity::officers(),
            format!(
                "⚠️ Pemohon {to} tidak dapat dihubungi / the applicant could not be reached: {reason}.\n«{preview}»",
                to = row.msg.to.masked()
            ),
        ));
    }
    Some(OutboundMessage::text(
        Identity::officers(),
        format!(
            "⚠️ Pesan ke {to} gagal terkirim / a message could not be delivered ({e}).\n«{preview}»",
            to = row.msg.to.masked()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, to: &Identity) -> OutboxRow {
        OutboxRow::new(
            id,
            format!("k#{id}"),
            chrono::Utc::now(),
            OutboundMessage::text(to.clone(), format!("pesan {id}")),
        )
    }

    #[test]
    fn a_chat_with_many_rows_does_not_starve_the_others() {
        // One send slot: "A" (first in key order) has 100 rows queued before "B"'s one row.
        let a = Identity::new(ChannelKind::Sms, "+6281100000001");
        let b = Identity::new(ChannelKind::Sms, "+6281100000002");
        let mut q = Queues::default();
        q.chats
            .insert(a.clone(), (1..=100).map(|id| row(id, &a)).collect());
        q.chats
            .insert(b.clone(), [row(101, &b)].into_iter().collect());
        let mut order = Vec::new();
        for _ in 0..4 {
            let who = q.ready().into_iter().next().expect("a chat is ready");
            let sent = q.start(who.clone());
            order.push(sent.id);
            // Delivered: the chat may send again.
            q.in_flight.remove(&sent.id);
            q.busy.remove(&who);
        }
        assert_eq!(
            order,
            vec![1, 101, 2, 3],
            "B is served right after A's first row"
        );
    }

    #[test]
    fn a_busy_chat_is_skipped_and_its_order_is_kept() {
        let a = Identity::new(ChannelKind::Sms, "+6281100000001");
        let b = Identity::new(ChannelKind::Sms, "+6281100000002");
        let c = Identity::new(ChannelKind::Sms, "+6281100000003");
        let mut q = Queues::default();
        for (who, ids) in [(&a, [1, 4]), (&b, [2, 5]), (&c, [3, 6])] {
            q.chats
                .insert(who.clone(), ids.iter().map(|id| row(*id, who)).collect());
        }
        let first = q.start(a.clone());
        assert_eq!(first.id, 1);
        // A is in flight: at most one row per chat, so only B and C are ready, B first.
        assert_eq!(q.ready(), vec![b.clone(), c.clone()]);
        let second = q.start(b.clone());
        assert_eq!(second.id, 2);
        q.busy.remove(&a);
        // After B: C, then A (wrapping round); A's next row is its second, in order.
        assert_eq!(q.ready(), vec![c.clone(), a.clone()]);
        assert_eq!(q.start(c).id, 3);
        assert_eq!(q.start(a).id, 4);
    }
}
