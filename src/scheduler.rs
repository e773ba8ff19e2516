//! The scheduler: fires due timers through the runtime.
//!
//! Timers live in the store under big-endian due time + id, so a tick reads only what is due
//! ([`crate::store::TimerStore::timers_due`]) and the next wake-up is the first key. The task sleeps
//! until that time or until a commit adds timers ([`Runtime::timers_wake`]); it never scans
//! all cases. Firing goes through [`Runtime::fire`]: one transaction with the dedupe mark, so a
//! timer fires once even when the process dies around it. Several processes on one database
//! take turns through a lease: one fires, another takes over when it stops or dies.

use crate::runtime::Runtime;
use crate::store::Timer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Timers fired per store read.
const BATCH: usize = 256;
/// The longest sleep: a guard against the wall clock being set forward while asleep.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long the scheduler's lease lasts (several processes on one database: one fires timers,
/// another takes over within this time after it dies), and how often it is renewed.
const LEASE: Duration = Duration::from_secs(15);
const LEASE_RENEW: Duration = Duration::from_secs(5);
/// The lease's name in the store.
const LEASE_NAME: &str = "scheduler";

/// How often the retention purge looks for inactive persons.
const PURGE_EVERY_HOURS: i64 = 24;

/// Fires every timer due now; returns how many fired. One owner's timers (a case's, an idle
/// conversation's) fire one after another in due order; different owners' fire together
/// ([`Runtime::fire_many`]: one store transaction and one flush for the lot), so a burst of due
/// reminders is not one transaction and one fsync per reminder.
pub async fn tick(rt: &Runtime) -> crate::Result<usize> {
    let mut fired = 0;
    loop {
        let now = rt.clock.now();
        let due = rt.store.timers_due(now, BATCH)?;
        let n = due.len();
        let mut groups: Vec<std::collections::VecDeque<Timer>> =
            by_owner(due).into_iter().map(Into::into).collect();
        // Round by round: each owner's next timer, all owners together.
        loop {
            let round: Vec<Timer> = groups.iter_mut().filter_map(|g| g.pop_front()).collect();
            if round.is_empty() {
                break;
            }
            fired += rt.fire_many(round).await?;
        }
        if n < BATCH {
            return Ok(fired);
        }
    }
}

/// Groups timers (in due order) by owner, each group in due order, groups in the order of
/// their first timer.
fn by_owner(due: Vec<Timer>) -> Vec<Vec<Timer>> {
    let mut groups: Vec<Vec<Timer>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for t in due {
        match index.get(&t.owner) {
            Some(&i) => groups[i].push(t),
            None => {
                index.insert(t.owner.clone(), groups.len());
                groups.push(vec![t]);
            }
        }
    }
    groups
}

/// The retention purge (SPEC §6): at start and then once a day, in its own task so that
/// reading a large guest book never holds up timers that are due.
async fn purge_loop(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let mut next_purge = rt.clock.now();
    loop {
        if rt.clock.now() >= next_purge {
            // Stopping drops the purge between erasures (each is one transaction), so a long
            // scan does not hold up shutdown.
            let done = tokio::select! {
                r = rt.purge_inactive() => r,
                _ = shutdown.cancelled() => return,
            };
            match done {
                Ok(_) => next_purge = rt.clock.now() + chrono::Duration::hours(PURGE_EVERY_HOURS),
                Err(e) => {
                    tracing::error!(error = %e, "retention purge failed; trying again in an hour");
                    next_purge = rt.clock.now() + chrono::Duration::hours(1);
                }
            }
        }
        // Looked at again every minute: the clock may be set forward meanwhile.
        tokio::select! {
            _ = tokio::time::sleep(MAX_SLEEP) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Runs until `shutdown`; a firing in progress completes first.
pub async fn run(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let purge = tokio::spawn(purge_loop(rt.clone(), shutdown.clone()));
    let housekeeping = tokio::spawn(crate::housekeeping::run(rt.clone(), shutdown.clone()));
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        // On a shared store one process fires the timers (a timer fired twice would be
        // deduplicated anyway: this spares the work and the contention).
        let store = rt.store.clone();
        let leader = tokio::task::spawn_blocking(move || store.lease(LEASE_NAME, LEASE))
            .await
            .map_err(|e| crate::store::StoreError::Engine(e.to_string()))
            .and_then(|r| r);
        match leader {
            Ok(true) => {}
            Ok(false) => {
                tokio::select! {
                    _ = tokio::time::sleep(LEASE_RENEW) => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "scheduler: cannot take its lease; trying again soon");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
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
            _ = tokio::time::sleep(wait.min(LEASE_RENEW)) => {}
            _ = rt.timers_wake.notified() => {}
            _ = shutdown.cancelled() => break,
        }
    }
    // Another process takes over at once rather than when the lease runs out.
    let store = rt.store.clone();
    let _ = tokio::task::spawn_blocking(move || store.release(LEASE_NAME)).await;
    let _ = purge.await;
    let _ = housekeeping.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ChannelKind, Identity};
    use crate::store::Reminder;
    use chrono::{TimeZone, Utc};

    fn timer(owner: &str, id: &str, minute: u32) -> Timer {
        Timer {
            id: format!("{owner}/{id}"),
            owner: owner.into(),
            due: Utc.with_ymd_and_hms(2026, 11, 23, 2, minute, 0).unwrap(),
            what: Reminder::IdleClose {
                who: Identity::new(ChannelKind::Terminal, owner),
                last_seen: Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
            },
        }
    }

    #[test]
    fn one_owners_timers_stay_in_due_order_in_one_group() {
        let due = vec![
            timer("a", "1", 1),
            timer("b", "1", 2),
            timer("a", "2", 3),
            timer("c", "1", 4),
            timer("b", "2", 5),
        ];
        let ids: Vec<Vec<String>> = by_owner(due)
            .into_iter()
            .map(|g| g.into_iter().map(|t| t.id).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec!["a/1".to_string(), "a/2".into()],
                vec!["b/1".to_string(), "b/2".into()],
                vec!["c/1".to_string()],
            ]
        );
    }
}
