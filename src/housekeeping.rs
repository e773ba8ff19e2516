//! Housekeeping of the store: records the office needs only for a while are thinned once a
//! day, and the storage engine writes down where it stands.
//!
//! - Dedupe marks of inbound messages older than `store.dedupe_kept` (30 days): a provider
//!   re-delivers a message within minutes or hours, never after weeks. The marks of fired
//!   reminders (`timer:…`) stay: they are what keeps a reminder from firing twice.
//! - The text of delivery records older than `store.sent_text_kept` (30 days): the record
//!   (row id, recipient, provider ids, delivery status) stays, so late status callbacks and
//!   replies quoting the message still find it; only the copy of the message goes.
//! - A checkpoint ([`crate::store::StoreMaintenance::checkpoint`]): sled replays everything logged since
//!   the last one at start, so without it a store that ran for months would take long to
//!   start after a crash.
//! - A check for damage ([`crate::store::StoreMaintenance::check_damage`]): a bounded one at
//!   start, a full one with each daily pass. Damage is logged and posted to the officers' chat
//!   (once a day), saying what to do: salvage, then restore.
//! - After an erasure (`hapusdata`, the retention purge), a rewrite of the store
//!   ([`crate::store::StoreMaintenance::rewrite_if_erased`]): sled keeps old versions of
//!   records in its log, so the erased bytes are gone from its files only once every live
//!   record is copied into fresh files. Looked at every minute, at most once an hour: erased
//!   data is in no file under the store folder within an hour (and the rewrite's own time).
//!
//! The work runs a page at a time off the async workers, in its own task beside the
//! scheduler ([`crate::scheduler::run`]).

use crate::runtime::{Runtime, RuntimeError};
use crate::store::StoreError;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Records looked at per store call.
const PAGE: usize = 1_000;
/// How often housekeeping runs.
const EVERY_HOURS: i64 = 24;
/// The longest sleep between looks at the clock (it may be set forward meanwhile).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What one housekeeping pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekept {
    /// Dedupe marks removed.
    pub dedupe: usize,
    /// Delivery records whose text was dropped.
    pub sent_text: usize,
    /// Whether the store wrote a checkpoint.
    pub checkpoint: bool,
}

/// Where the next pass over delivery records starts: the records up to here were thinned by
/// an earlier pass (they are in delivery order, so a daily pass reads only the new ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub sent_after: Option<u64>,
}

/// Prunes what is older than the runtime's `settings().kept` allows; with `checkpoint`, then lets the store write
/// down where it stands. Stops between pages when `stop` is cancelled.
pub async fn run_once(
    rt: &Runtime,
    checkpoint: bool,
    stop: &CancellationToken,
) -> Result<Housekept, RuntimeError> {
    run_from(rt, checkpoint, &mut Progress::default(), stop).await
}

/// [`run_once`] going on from where an earlier pass got to, and noting where this one got to.
pub async fn run_from(
    rt: &Runtime,
    checkpoint: bool,
    progress: &mut Progress,
    stop: &CancellationToken,
) -> Result<Housekept, RuntimeError> {
    let now = rt.clock.now();
    let before = |kept: Duration| {
        chrono::Duration::from_std(kept)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
    };
    let (dedupe_before, sent_before) = (
        before(rt.settings().kept.dedupe),
        before(rt.settings().kept.sent_text),
    );
    let store = rt.store.clone();
    let stop = stop.clone();
    let mut sent_after = progress.sent_after;
    let (done, sent_after) = tokio::task::spawn_blocking(move || {
        let mut done = Housekept::default();
        if let Some(before) = dedupe_before {
            let mut after: Option<String> = None;
            while !stop.is_cancelled() {
                let page = store.prune_dedupe(after.as_deref(), before, PAGE)?;
                done.dedupe += page.pruned;
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        if let Some(before) = sent_before {
            while !stop.is_cancelled() {
                let page = store.prune_sent(sent_after, before, PAGE)?;
                done.sent_text += page.pruned;
                match page.next {
                    Some(n) => sent_after = Some(n),
                    None => break,
                }
            }
        }
        if checkpoint && !stop.is_cancelled() {
            store.checkpoint()?;
            done.checkpoint = true;
        }
        Ok::<_, StoreError>((done, sent_after))
    })
    .await
    .map_err(|e| RuntimeError::Join(e.to_string()))??;
    progress.sent_after = sent_after;
    Ok(done)
}

/// Checks the store for damage (`budget`: a bounded walk) and, when something cannot be read,
/// logs it and tells the officers' chat (once a day). Returns the report (`None`: the engine
/// has no such check).
pub async fn check_damage(
    rt: &Runtime,
    budget: Option<crate::store::verify::Budget>,
) -> Result<Option<crate::store::verify::VerifyReport>, RuntimeError> {
    let store = rt.store.clone();
    let report = tokio::task::spawn_blocking(move || store.check_damage(budget))
        .await
        .map_err(|e| RuntimeError::Join(e.to_string()))??;
    let Some(report) = report else {
        return Ok(None);
    };
    if report.is_sound() {
        tracing::info!(
            records = report.records,
            complete = report.complete,
            "store check: no damage found"
        );
        return Ok(Some(report));
    }
    let lines = report.lines();
    tracing::error!(problems = %lines.join(" | "), "store check: the store is DAMAGED; run `pstbot backup --salvage FILE`, then restore the last good backup");
    let now = rt.clock.now();
    let post = rt.bot.texts.officer(
        "officers_store_damaged",
        &[
            ("count", report.problems.len().to_string()),
            (
                "where",
                report
                    .problems
                    .iter()
                    .take(3)
                    .map(|p| p.tree.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ],
    );
    let mut c = crate::store::Commit::new(
        crate::store::DedupeKey(format!("store-damage:{}", now.format("%Y-%m-%d"))),
        now,
        crate::message::Identity::new(crate::message::ChannelKind::Desk, "housekeeping"),
        Default::default(),
    );
    c.session = None;
    let post = Post(vec![crate::message::OutboundMessage::text(
        crate::message::Identity::officers(),
        post,
    )]);
    let store = rt.store.clone();
    // A damaged store may refuse the post too: the log has said it already.
    match tokio::task::spawn_blocking(move || store.commit_with(c, &post)).await {
        Ok(Ok(_)) => rt.outbox_wake.notify_one(),
        Ok(Err(e)) => tracing::error!(error = %e, "store check: the officers could not be told"),
        Err(e) => tracing::error!(error = %e, "store check: the officers could not be told"),
    }
    Ok(Some(report))
}

/// Fixed messages as a commit's follow-ups.
struct Post(Vec<crate::message::OutboundMessage>);

impl crate::store::Followups for Post {
    fn messages(&self, _: &crate::store::Applied) -> Vec<crate::message::OutboundMessage> {
        self.0.clone()
    }
    fn case_timers(&self, _: &crate::cases::Case) -> Vec<crate::store::Timer> {
        Vec::new()
    }
}

/// How often at most the store is rewritten after erasures.
const REWRITE_EVERY: Duration = Duration::from_secs(3600);

/// Rewrites the store when an erasure happened since the last rewrite (see the module's
/// notes). Returns whether it rewrote.
pub async fn rewrite_erased(rt: &Runtime) -> Result<bool, RuntimeError> {
    let store = rt.store.clone();
    Ok(
        tokio::task::spawn_blocking(move || store.rewrite_if_erased())
            .await
            .map_err(|e| RuntimeError::Join(e.to_string()))??,
    )
}

/// At start (without a checkpoint: opening the store just wrote one) and then once a day, until
/// `shutdown`.
pub async fn run(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let mut next = rt.clock.now();
    let mut checkpoint = false;
    let mut progress = Progress::default();
    let mut rewritten: Option<std::time::Instant> = None;
    loop {
        if rewritten.is_none_or(|at| at.elapsed() >= REWRITE_EVERY) {
            match rewrite_erased(&rt).await {
                Ok(true) => rewritten = Some(std::time::Instant::now()),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "rewriting the store after an erasure failed")
                }
            }
        }
        if rt.clock.now() >= next {
            // A bounded check at start (the first pass), a full one every day after.
            let budget = (!checkpoint).then_some(crate::store::verify::Budget::QUICK);
            if let Err(e) = check_damage(&rt, budget).await {
                tracing::error!(error = %e, "store check failed");
            }
            match run_from(&rt, checkpoint, &mut progress, &shutdown).await {
                Ok(done) => {
                    tracing::info!(
                        dedupe_marks = done.dedupe,
                        sent_texts = done.sent_text,
                        checkpoint = done.checkpoint,
                        "housekeeping done"
                    );
                    next = rt.clock.now() + chrono::Duration::hours(EVERY_HOURS);
                    checkpoint = true;
                }
                Err(e) => {
                    tracing::error!(error = %e, "housekeeping failed; trying again in an hour");
                    next = rt.clock.now() + chrono::Duration::hours(1);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(MAX_SLEEP) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
