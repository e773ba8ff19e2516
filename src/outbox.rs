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
//!
//! Several processes on one database share the outbox: a process sends a chat's rows only
//! while it holds that chat's claim ([`claims`]), so each row leaves from one process and a
//! chat's rows in order; a process that dies leaves its chats to the others within seconds.

mod claims;
mod holding;
mod limits;
mod queues;
mod send;

pub use limits::backoff;
pub use send::{Delivered, DeliveryContext, ProviderRef, SendError, SendFuture, Sender};

use crate::config::DeliveryConfig;
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::runtime::OutboxFeed;
use crate::store::{DeliveryStatus, Durable, FailedRecord, OutboxRow, SentRecord, Store};
use crate::text::Texts;
use claims::{CLAIM_RENEW, Claims};
use limits::Limits;
use queues::Queues;
use std::collections::{HashMap, HashSet, VecDeque};
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

/// The outcome of one attempt, back from its task.
struct Attempt {
    row: OutboxRow,
    result: Result<Delivered, SendError>,
}

/// The delivery worker of one process.
pub struct Outbox {
    /// The store, the clock, the officers' texts, the wake-up and the hand-off.
    feed: OutboxFeed,
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

impl Outbox {
    /// The worker for `channels`, fed by the runtime (its `outbox_feed`).
    pub fn new(feed: OutboxFeed, channels: Channels, cfg: DeliveryConfig) -> Outbox {
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
            feed,
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
    fn load(&self, q: &mut Queues, claims: &mut Claims) -> crate::store::Result<Option<Staged>> {
        // On a shared store other processes queue rows too, with ids below any seen here,
        // and leave chats to take over: the whole queue is read.
        let mut after = match self.feed.store.shared() {
            true => None,
            false => q.highest.map(|h| h.saturating_sub(REORDER_WINDOW)),
        };
        let mut read = Vec::new();
        loop {
            // Rows already held are skipped undecoded: under load most of the window is.
            let rows = self
                .feed
                .store
                .outbox_pending_except(after, SCAN, &|id| q.known.contains(&id))?;
            let n = rows.len();
            for row in rows {
                after = Some(row.id);
                q.highest = Some(q.highest.map_or(row.id, |h| h.max(row.id)));
                q.scanned = Some(q.scanned.map_or(row.id, |h| h.max(row.id)));
                if self.channel_for(&row.msg.to).is_some() {
                    read.push(row);
                }
            }
            if n < SCAN {
                break;
            }
        }
        let taken = self.take_claims(q, claims, read.iter().map(|r| &r.msg.to), false)?;
        let mut new = Vec::new();
        for row in read {
            // Another process's chat, or one whose rows were just read again.
            if !claims.holds(&row.msg.to) || taken.contains(&row.msg.to) {
                continue;
            }
            q.known.insert(row.id);
            q.stage(&row);
            new.push(row);
        }
        if new.is_empty() {
            return Ok(None);
        }
        let store = self.feed.store.clone();
        let flushed = tokio::spawn(async move { store.flushed().await });
        Ok(Some((flushed, new)))
    }

    /// Takes rows handed off by the runtime: their commit is flushed, so they are queued at
    /// once. A row the worker also read from the store is queued once: if it is still
    /// staged, the hand-off proves it durable and it is queued now (its staged flush then
    /// skips it); if it is queued or in flight, nothing changes; if a scan may have read it
    /// before and it has been sent since, the store is asked whether it is still waiting.
    /// Returns `false` when that read failed (a reload finds what is left).
    fn accept(&self, q: &mut Queues, claims: &mut Claims, rows: Vec<OutboxRow>) -> bool {
        let mut ok = true;
        let rows: Vec<OutboxRow> = rows
            .into_iter()
            .filter(|r| self.channel_for(&r.msg.to).is_some())
            .collect();
        // On a shared store a chat held here may have rows another process queued (it could
        // not take the chat): they are read with the hand-off, so that none is overtaken.
        let shared = self.feed.store.shared();
        let taken = match self.take_claims(q, claims, rows.iter().map(|r| &r.msg.to), shared) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot claim chats; reading the store again");
                ok = false;
                HashSet::new()
            }
        };
        for row in rows {
            // Another process sends this chat's rows (a scan finds them if it lets go), or
            // they were just read again with the claim.
            if !claims.holds(&row.msg.to) || taken.contains(&row.msg.to) {
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
                match self.feed.store.outbox_pending(row.id.checked_sub(1), 1) {
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
        let _attached = self.feed.handoff.attach();
        let mut q = Queues::default();
        let mut tasks: JoinSet<Attempt> = JoinSet::new();
        // Rows read, waiting for their flush; applied in the order they were read.
        let mut staged: VecDeque<Staged> = VecDeque::new();
        let mut marks = Marking::default();
        let mut claims = Claims::default();
        let mut renew = tokio::time::interval(CLAIM_RENEW);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reload = true;
        let mut troubled = false;
        // Rows other processes queue for chats held here (a shared store).
        let mut notices = match self.feed.store.watch_outbox(shutdown.clone()) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot listen for rows queued elsewhere; reading the queue every {CLAIM_RENEW:?}");
                None
            }
        };
        loop {
            // While the store cannot write, nothing is sent (a delivery could not be marked);
            // once it was reopened, the queues are read again from what is on disk.
            let trouble = self.feed.store.trouble().is_some();
            if trouble != troubled {
                troubled = trouble;
                if !trouble {
                    q.forget_unsent();
                    reload = true;
                }
            }
            if trouble && !shutdown.is_cancelled() {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                        marks.flush(&self.feed.store, self.finish(&mut q, vec![done]));
                    }
                    _ = shutdown.cancelled() => {}
                }
                continue;
            }
            if reload && !shutdown.is_cancelled() {
                match self.load(&mut q, &mut claims) {
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
                let handed = self.feed.handoff.take();
                if !handed.is_empty() && !self.accept(&mut q, &mut claims, handed) {
                    reload = true;
                }
            }
            let wait = if shutdown.is_cancelled() {
                None
            } else {
                self.dispatch(&mut q, &claims, &mut tasks)
            };
            if shutdown.is_cancelled() && tasks.is_empty() && marks.flushes.is_empty() {
                // Another process takes these chats at once rather than when they lapse.
                claims.release(&self.feed.store, claims.chats());
                return;
            }
            let sleep = wait.unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    let mut finished = vec![done];
                    while let Some(more) = tasks.try_join_next() {
                        finished.push(more);
                    }
                    marks.flush(&self.feed.store, self.finish(&mut q, finished));
                }
                Some(done) = marks.flushes.join_next_with_id(), if !marks.flushes.is_empty() => {
                    let freed = marks.flushed(&mut q, done);
                    self.release_idle(&q, &mut claims, freed);
                }
                _ = renew.tick() => {
                    q.sweep();
                    reload |= self.claims_tick(&mut q, &mut claims);
                }
                r = async { (&mut staged.front_mut().expect("not empty").0).await }, if !staged.is_empty() => {
                    let (_, rows) = staged.pop_front().expect("not empty");
                    reload |= !staged_flushed(&mut q, r, rows);
                }
                _ = self.feed.wake.notified(), if !shutdown.is_cancelled() => reload = true,
                got = async { notices.as_mut().expect("listening").recv().await }, if notices.is_some() && !shutdown.is_cancelled() => {
                    match got {
                        Some(first) => {
                            let rx = notices.as_mut().expect("listening");
                            reload |= !self.noticed(&mut q, &mut claims, first, rx);
                        }
                        // Nobody announces any more: the read every CLAIM_RENEW remains.
                        None => notices = None,
                    }
                }
                // Taken at the top of the loop.
                _ = self.feed.handoff.handed(), if !shutdown.is_cancelled() => {}
                _ = tokio::time::sleep(sleep), if !shutdown.is_cancelled() => {}
                _ = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
                // Shutdown arrived between the check above and here, with nothing in flight:
                // go round once more and return.
                else => {}
            }
        }
    }

    /// Starts every send that is allowed now; returns how long until the next one may be.
    fn dispatch(
        &self,
        q: &mut Queues,
        claims: &Claims,
        tasks: &mut JoinSet<Attempt>,
    ) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        let mut soonest = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
        for (who, ch) in self.sendable(q, claims, tasks.len(), &mut soonest) {
            let row = q.start(who);
            let store = self.feed.store.clone();
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

    /// The chats whose next row may be sent now, in round-robin order, as many as there are
    /// free send slots (`in_flight` are taken), each with its channel and its rate-limit slot
    /// taken. Tells `soonest` when one that waits may go. Only the chats chosen are copied:
    /// with hundreds of chats waiting, most are passed over every time.
    fn sendable(
        &self,
        q: &Queues,
        claims: &Claims,
        in_flight: usize,
        soonest: &mut impl FnMut(Duration),
    ) -> Vec<(Identity, Arc<dyn Sender>)> {
        let now = self.feed.clock.now();
        let mut chosen = Vec::new();
        for who in q.ready() {
            if in_flight + chosen.len() >= IN_FLIGHT {
                soonest(Duration::from_millis(50));
                break;
            }
            // Only while this process surely holds the chat (the next renewal decides).
            if !claims.may_send(who) {
                continue;
            }
            let Some(row) = q.chats.get(who).and_then(|r| r.front()) else {
                continue;
            };
            if let Some(at) = row.not_before
                && at > now
            {
                soonest((at - now).to_std().unwrap_or_default());
                continue;
            }
            let Some(ch) = self.channel_for(who).cloned() else {
                continue;
            };
            // A message landing in a channel's officers' group counts against that group's
            // limit, whoever it is addressed to; any other against its own chat's.
            let slot = match ch.group_of(who).and_then(|k| self.limits.get(&k)) {
                Some(l) => l.take_group(),
                None => self
                    .limits
                    .get(&who.channel)
                    .map_or(Ok(()), |l| l.take(who)),
            };
            if let Err(wait) = slot {
                soonest(wait);
                continue;
            }
            chosen.push((who.clone(), ch));
        }
        chosen
    }

    /// Records finished attempts: failed ones are rescheduled or given up on; delivered ones
    /// are returned with the chats of the batch, to be marked (the caller marks them, without
    /// stopping the worker, then frees the chats: [`Marking`]).
    fn finish(
        &self,
        q: &mut Queues,
        finished: Vec<Result<Attempt, tokio::task::JoinError>>,
    ) -> Option<ToMark> {
        let now = self.feed.clock.now();
        let mut chats = Vec::new();
        // Marked together by the caller: one write for all the sends that finished (delivered,
        // or finished without sending); none means nothing was sent.
        let mut delivered_recs = Vec::new();
        for done in finished {
            let Ok(Attempt { mut row, result }) = done else {
                tracing::error!("outbox: a send task panicked; its row stays queued");
                continue;
            };
            let who = row.msg.to.clone();
            let id = row.id;
            q.in_flight.remove(&id);
            let outcome = match result {
                Ok(delivered) => {
                    let mut rec = SentRecord::delivered(&row, now, delivered.provider_ref);
                    rec.thread = delivered.thread;
                    delivered_recs.push(rec);
                    Ok(None)
                }
                Err(SendError::Withheld {
                    reason,
                    covered: true,
                }) => {
                    tracing::info!(to = %who.masked(), %reason, "outbox: message finished without sending");
                    let mut rec = SentRecord::delivered(&row, now, None);
                    rec.status = Some(DeliveryStatus::Withheld);
                    rec.status_at = Some(now);
                    delivered_recs.push(rec);
                    Ok(None)
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
                    self.feed.store.outbox_retry(&row).map(|_| Some(row))
                }
                Err(e) => {
                    tracing::error!(to = %who.masked(), attempts = row.attempts + 1, error = %e, "outbox: giving up on a message");
                    let notice = failure_notice(&self.feed.texts, &row, &e);
                    let rec = FailedRecord {
                        at: now,
                        reason: e.to_string(),
                        row: row.kept(),
                    };
                    let r = self.feed.store.outbox_failed(rec, notice.clone());
                    if notice.is_some() {
                        self.feed.wake.notify_one();
                    }
                    r.map(|_| None)
                }
            };
            match outcome {
                Ok(Some(retry)) => {
                    // Back to the head of its chat: nothing after it may overtake it.
                    q.chats.entry(who.clone()).or_default().push_front(retry);
                }
                // Delivered: known until its mark is written (see `Marking::flushed`).
                Ok(None) if delivered_recs.last().is_some_and(|r| r.id == id) => {}
                // Given up on: it left the store.
                Ok(None) => {
                    q.known.remove(&id);
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox: cannot record a delivery; the message may be sent again");
                    // Still in the store: a scan reads it again.
                    q.known.remove(&id);
                }
            }
            chats.push(who);
        }
        if delivered_recs.is_empty() {
            // Nothing sent: no mark to wait for before these chats may send again.
            for who in chats.drain(..) {
                q.free(&who);
            }
        } else {
            // Until their marks are written, a store scan must not take these rows for unsent.
            q.marking.extend(delivered_recs.iter().map(|r| r.id));
        }
        (!chats.is_empty()).then_some(ToMark {
            chats,
            recs: delivered_recs,
        })
    }
}

/// Sends that finished together: their delivery records, and their chats, which send again
/// once the records are durable.
struct ToMark {
    chats: Vec<Identity>,
    recs: Vec<SentRecord>,
}

/// Delivery marks being written; their chats send again once they are durable.
#[derive(Default)]
struct Marking {
    flushes: JoinSet<crate::store::Result<()>>,
    /// Per write: its chats, and the ids of its rows.
    chats: HashMap<tokio::task::Id, (Vec<Identity>, Vec<u64>)>,
}

impl Marking {
    /// Writes the marks of a batch of finished sends and waits for their flush, without
    /// stopping the worker. The store writes them together with other writers' commits where
    /// it can ([`crate::store::OutboxStore::outbox_sent_durable`]).
    fn flush(&mut self, store: &Arc<dyn Store>, marks: Option<ToMark>) {
        let Some(ToMark { chats, recs }) = marks else {
            return;
        };
        let ids = recs.iter().map(|r| r.id).collect();
        let store = store.clone();
        let id = self
            .flushes
            .spawn(async move {
                match store.outbox_sent_durable(recs).await {
                    Durable::Done(r) => r,
                    Durable::NotQueued(recs) => {
                        store.outbox_sent_all(&recs)?;
                        store.flushed().await
                    }
                }
            })
            .id();
        self.chats.insert(id, (chats, ids));
    }

    /// Frees the chats of every write that finished (`first` and any others done by now);
    /// returns them.
    fn flushed(
        &mut self,
        q: &mut Queues,
        first: Result<(tokio::task::Id, crate::store::Result<()>), tokio::task::JoinError>,
    ) -> Vec<Identity> {
        let mut freed = Vec::new();
        let mut all = vec![first];
        while let Some(more) = self.flushes.try_join_next_with_id() {
            all.push(more);
        }
        for done in all {
            let id = match done {
                Ok((id, Ok(()))) => id,
                Ok((id, Err(e))) => {
                    tracing::error!(error = %e, "outbox: cannot record deliveries; the messages may be sent again");
                    id
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox: the task recording deliveries failed; the messages may be sent again");
                    e.id()
                }
            };
            let (chats, ids) = self.chats.remove(&id).unwrap_or_default();
            // Out of the store's queue now (or, if the mark failed, read again by a scan).
            for row in ids {
                q.marking.remove(&row);
                q.known.remove(&row);
            }
            for who in chats {
                q.free(&who);
                freed.push(who);
            }
        }
        freed
    }
}

/// Rows read from the store whose flush finished: queued when it succeeded; otherwise
/// forgotten, and `false` (the store is read again).
fn staged_flushed(
    q: &mut Queues,
    flushed: Result<crate::store::Result<()>, tokio::task::JoinError>,
    rows: Vec<OutboxRow>,
) -> bool {
    match flushed {
        Ok(Ok(())) => {
            q.queue_rows(rows);
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "outbox: flush failed; reading the rows again");
            q.forget_staged(rows);
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "outbox: flush task failed; reading the rows again");
            q.forget_staged(rows);
            false
        }
    }
}

/// What the officers are told when a message is given up on (nothing when the message was
/// itself for the officers' chat: that would loop).
fn failure_notice(texts: &Texts, row: &OutboxRow, e: &SendError) -> Option<OutboundMessage> {
    if row.msg.to.channel == ChannelKind::Officers {
        return None;
    }
    let to = crate::message::identity_shown(&row.msg.to);
    let preview = crate::message::clip(&row.msg.text, 80);
    let text = match e {
        SendError::Withheld { reason, .. } => texts.officer(
            "officers_applicant_unreachable",
            &[("to", to), ("reason", reason.clone()), ("preview", preview)],
        ),
        _ => texts.officer(
            "officers_delivery_failed",
            &[("to", to), ("error", e.to_string()), ("preview", preview)],
        ),
    };
    // The case it was about, so the officers know which applicant to reach another way.
    let text = match row.msg.topic.as_ref().and_then(|t| t.case.as_ref()) {
        Some(case) => format!("[{case}] {text}"),
        None => text,
    };
    Some(OutboundMessage::text(Identity::officers(), text))
}
