//! Committing a plan: plan (again, when a case it changes was changed meanwhile), apply it in
//! one store transaction with its follow-ups, wait for the shared flush, then tell the workers.

use super::followups::PlanFollowups;
use super::{Runtime, RuntimeError};
use crate::message::OutboundMessage;
use crate::plan::{Plan, PlanContext};
use crate::store::{Applied, Commit, Committed, Durable, OutboxRow, StoreError};
use std::sync::Arc;

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
        plan: impl FnMut(&PlanContext) -> Result<Plan, StoreError> + Send,
    ) -> Result<Option<Done>, RuntimeError> {
        self.commit_planned_with(true, plan).await
    }

    /// [`Runtime::commit_planned`]; `handoff: false` leaves the rows for the worker's store
    /// scan (it is only woken).
    pub(super) async fn commit_planned_with(
        &self,
        handoff: bool,
        mut plan: impl FnMut(&PlanContext) -> Result<Plan, StoreError> + Send,
    ) -> Result<Option<Done>, RuntimeError> {
        // While the disk refuses writes, new work is refused before anything is planned.
        if let Some(trouble) = self.store.trouble() {
            return Err(StoreError::Engine(trouble).into());
        }
        let Some((mut applied, msgs)) = self.commit_flushed(&mut plan).await? else {
            return Ok(None);
        };
        self.flushed_commits(
            std::mem::take(&mut applied.rows),
            applied.timers_changed,
            handoff,
        );
        Ok(Some((applied, msgs)))
    }

    /// Plans and commits, planning again when a case it changes was changed meanwhile, and
    /// returns once the commit is durable. `None`: a duplicate.
    ///
    /// The store gathers the commits of concurrent messages into one transaction and one
    /// flush where it can ([`crate::store::CommitStore::commit_durable`]); where it does not,
    /// the commit is applied here and waits (holding no thread) for a flush that started after
    /// it, which concurrent messages share.
    async fn commit_flushed(
        &self,
        plan: &mut (impl FnMut(&PlanContext) -> Result<Plan, StoreError> + Send),
    ) -> Result<Option<Done>, RuntimeError> {
        if self.store.may_wait() {
            // Planning reads the store and the commit writes it; where that may wait (a
            // database server's round trips and locks, a backup holding writes back) both run
            // off the async workers, so they do not hold up other people's requests.
            let done = off_worker(|| self.commit_now(plan))?;
            if done.is_some() {
                self.store.flushed().await?;
            }
            return Ok(done);
        }
        let mut attempt = 0;
        loop {
            let (commit, f) = self.plan_once(plan)?;
            let result = match self.store.commit_durable(commit, f.clone()).await {
                Durable::Done(r) => r,
                Durable::NotQueued(commit) => self.commit_here(commit, &f).await,
            };
            if let Some(done) = settled(result, &mut attempt) {
                return done;
            }
        }
    }

    /// A plan made now, with its follow-ups.
    fn plan_once(
        &self,
        plan: &mut Planner<'_>,
    ) -> Result<(Commit, Arc<PlanFollowups>), StoreError> {
        let ctx = self.plan_context(self.clock.now());
        let Plan { commit, render } = plan(&ctx)?;
        let f = PlanFollowups::new(&ctx, &commit, render)?;
        Ok((commit, Arc::new(f)))
    }

    /// Applies a commit the store did not take ([`Durable::NotQueued`]) and waits for its
    /// flush. In place, as handing the worker to another thread and back costs more than a
    /// sled commit (BENCHMARKS.md, "Thread hand-offs"); off the workers if the store came to
    /// hold writes back meanwhile (a backup started).
    async fn commit_here(
        &self,
        commit: Commit,
        f: &PlanFollowups,
    ) -> Result<Committed, StoreError> {
        let committed = if self.store.may_wait() {
            off_worker(|| self.store.commit_with(commit, f))
        } else {
            self.store.commit_with(commit, f)
        }?;
        if matches!(committed, Committed::Applied(_)) {
            self.store.flushed().await?;
        }
        Ok(committed)
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
            let (commit, f) = self.plan_once(plan)?;
            if let Some(done) = settled(self.store.commit_with(commit, &*f), &mut attempt) {
                return done;
            }
        }
    }
}

/// What an applied commit did, and the messages it queued: its outbox rows hold them in
/// order. Copied here, after the store's transaction, not inside it (on sled one thread
/// applies everyone's commits).
pub(super) fn done(applied: Applied) -> Done {
    let msgs = applied.rows.iter().map(|r| r.msg.clone()).collect();
    (applied, msgs)
}

/// What an attempt's outcome means: done (`Some`: what it did, a duplicate, or an error), or
/// `None` to plan again when a case it changes was changed meanwhile and attempts remain.
fn settled(
    result: Result<Committed, StoreError>,
    attempt: &mut usize,
) -> Option<Result<Option<Done>, RuntimeError>> {
    match result {
        Ok(Committed::Duplicate) => Some(Ok(None)),
        Ok(Committed::Applied(applied)) => Some(Ok(Some(done(applied)))),
        Err(StoreError::Conflict(case)) if *attempt + 1 < CONFLICT_RETRIES => {
            tracing::debug!(%case, "case changed meanwhile; planning again");
            *attempt += 1;
            None
        }
        Err(e) => Some(Err(e.into())),
    }
}
