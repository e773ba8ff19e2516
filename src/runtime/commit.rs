//! Committing a plan: plan (again, when a case it changes was changed meanwhile), apply it in
//! one store transaction with its follow-ups, wait for the shared flush, then tell the workers.

use super::followups::PlanFollowups;
use super::{Runtime, RuntimeError};
use crate::message::OutboundMessage;
use crate::plan::{Plan, PlanContext};
use crate::store::{Applied, Committed, OutboxRow, StoreError};

/// How often a message is re-planned when a case it changes was changed meanwhile.
const CONFLICT_RETRIES: usize = 5;

/// A planner as the runtime calls it: once per attempt, with a context made for that attempt.
pub(crate) type Planner<'p> = dyn FnMut(&PlanContext) -> Result<Plan, StoreError> + 'p;

/// What a commit did, and the messages it queued. `None` where it is used: a duplicate.
pub(crate) type Done = (Applied, Vec<OutboundMessage>);

/// Runs blocking work (store reads and a commit) from async code. On a multi-threaded
/// runtime the worker hands its other tasks to another thread meanwhile
/// ([`tokio::task::block_in_place`]); elsewhere (a current-thread runtime in tests, no runtime)
/// it simply runs. Unlike `spawn_blocking`, `f` may borrow: the per-person lock held by the
/// caller and the plan's borrows stay as they are.
pub(crate) fn off_worker<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl Runtime {
    /// Plans (again, when a case it changes was changed meanwhile), commits with the plan's
    /// follow-ups, flushes, hands the queued rows to the outbox worker and wakes the
    /// scheduler. `None`: a duplicate.
    pub(crate) async fn commit_planned(
        &self,
        plan: impl FnMut(&PlanContext) -> Result<Plan, StoreError>,
    ) -> Result<Option<Done>, RuntimeError> {
        self.commit_planned_with(true, plan).await
    }

    /// [`Runtime::commit_planned`]; `handoff: false` leaves the rows for the worker's store
    /// scan (it is only woken).
    pub(super) async fn commit_planned_with(
        &self,
        handoff: bool,
        mut plan: impl FnMut(&PlanContext) -> Result<Plan, StoreError>,
    ) -> Result<Option<Done>, RuntimeError> {
        // While the disk refuses writes, new work is refused before anything is planned.
        if let Some(trouble) = self.store.trouble() {
            return Err(StoreError::Engine(trouble).into());
        }
        // Planning reads the store and the commit writes it. Where that may wait (a database
        // server's round trips and locks, a backup holding writes) it runs off the async
        // workers, so a slow commit does not hold up other people's requests. Otherwise it
        // runs in place: handing the worker to another thread and back costs more than a
        // sled commit (BENCHMARKS.md, "Thread hand-offs").
        let done = if self.store.may_wait() {
            off_worker(|| self.commit_now(&mut plan))
        } else {
            self.commit_now(&mut plan)
        }?;
        let Some((mut applied, msgs)) = done else {
            return Ok(None);
        };
        // Group commit: wait (holding no thread) for a flush that started after this commit;
        // concurrent messages share it.
        self.store.flushed().await?;
        self.flushed_commits(
            std::mem::take(&mut applied.rows),
            applied.timers_changed,
            handoff,
        );
        Ok(Some((applied, msgs)))
    }

    /// Tells the workers about commits whose flush finished: the outbox rows they queued go
    /// to the delivery worker at once (`handoff`), with no store read and no flush of its own
    /// — without a worker to take them, it is woken and finds them by its scan — and the
    /// scheduler looks again when timers changed.
    pub(super) fn flushed_commits(
        &self,
        rows: Vec<OutboxRow>,
        timers_changed: bool,
        handoff: bool,
    ) {
        let handed = rows.is_empty() || (handoff && self.handoff.give(rows));
        if !handed {
            self.outbox_wake.notify_one();
        }
        if timers_changed {
            self.timers_wake.notify_one();
        }
    }

    /// Plans and applies a commit on this thread (no flush), planning again when a case it
    /// changes was changed meanwhile. `None`: a duplicate. Returns the messages it queued.
    pub(super) fn commit_now(&self, plan: &mut Planner<'_>) -> Result<Option<Done>, RuntimeError> {
        let mut attempt = 0;
        loop {
            let ctx = self.plan_context(self.clock.now());
            let Plan { commit, render } = plan(&ctx)?;
            let f = PlanFollowups::new(&ctx, &commit, &render)?;
            match self.store.commit_with(commit, &f) {
                Ok(Committed::Duplicate) => return Ok(None),
                Ok(Committed::Applied(applied)) => return Ok(Some((applied, f.take()))),
                Err(StoreError::Conflict(case)) if attempt + 1 < CONFLICT_RETRIES => {
                    tracing::debug!(%case, "case changed meanwhile; planning again");
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
