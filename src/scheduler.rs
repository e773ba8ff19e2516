//! The scheduler: fires due timers through the runtime.
//!
//! Timers live in the store under big-endian due time + id, so a tick reads only what is due
//! ([`crate::store::Store::timers_due`]) and the next wake-up is the first key. The task sleeps
//! until that time or until a commit adds timers ([`Runtime::timers_wake`]); it never scans
//! all cases. Firing goes through [`Runtime::fire`]: one transaction with the dedupe mark, so a
//! timer fires once even when the process dies around it.

use crate::runtime::Runtime;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Timers fired per store read.
const BATCH: usize = 256;
/// The longest sleep: a guard against the wall clock being set forward while asleep.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How often the retention purge looks for inactive persons.
const PURGE_EVERY_HOURS: i64 = 24;

/// Fires every timer due now (in due order); returns how many fired.
pub async fn tick(rt: &Runtime) -> crate::Result<usize> {
    let mut fired = 0;
    loop {
        let now = rt.clock.now();
        let due = rt.store.timers_due(now, BATCH)?;
        let n = due.len();
        for t in due {
            rt.fire(t).await?;
            fired += 1;
        }
        if n < BATCH {
            return Ok(fired);
        }
    }
}

/// Runs until `shutdown`; a firing in progress completes first.
pub async fn run(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let mut next_purge = rt.clock.now();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        if rt.clock.now() >= next_purge {
            // The retention purge (SPEC §6) runs at start and then once a day.
            match rt.purge_inactive().await {
                Ok(_) => next_purge = rt.clock.now() + chrono::Duration::hours(PURGE_EVERY_HOURS),
                Err(e) => {
                    tracing::error!(error = %e, "retention purge failed; trying again in an hour");
                    next_purge = rt.clock.now() + chrono::Duration::hours(1);
                }
            }
        }
        let wait = match tick(&rt).await {
            Ok(_) => match rt.store.next_timer_due() {
                Ok(Some(at)) => (at - rt.clock.now())
                    .to_std()
                    .unwrap_or_default()
                    .min(MAX_SLEEP),
                Ok(None) => MAX_SLEEP,
                Err(e) => {
                    tracing::error!(error = %e, "scheduler: cannot read timers");
                    Duration::from_secs(1)
                }
            },
            Err(e) if rt.store.trouble().is_some() => {
                tracing::debug!(error = %e, "scheduler: waiting for the store to take writes");
                Duration::from_secs(1)
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduler: a timer could not fire; trying again soon");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = rt.timers_wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
