//! A timer that fires goes through the runtime like an inbound message: one commit holds its
//! dedupe mark (`timer:ID`), its removal from the due index, the case history entry and the
//! reminder messages in the outbox. So it fires exactly once, even across a crash. What a
//! timer says and changes is planned by `reminders::fire`.

use super::commit::{Done, done, off_worker};
use super::followups::PlanFollowups;
use super::{Runtime, RuntimeError};
use crate::message::OutboundMessage;
use crate::plan::{Plan, Render};
use crate::reminders::fire::{kind_name, person_of, timer_plan};
use crate::store::{Applied, Commit, Committed, DedupeKey, Followups, StoreError, Timer};

/// Timers that fired, with their messages and what their commits did; and the first error.
type Fired = (
    Vec<(Timer, Vec<OutboundMessage>, Applied)>,
    Option<RuntimeError>,
);

impl Runtime {
    /// Fires one due timer. A timer fired before is only removed. Returns the messages it
    /// queued.
    pub async fn fire(&self, timer: Timer) -> Result<Vec<OutboundMessage>, RuntimeError> {
        let key = DedupeKey(timer.dedupe_id());
        // A timer that changes a conversation waits for that person's turn.
        let _turn = match person_of(&timer.what) {
            Some(who) => Some(self.turns.of(who).lock().await),
            None => None,
        };
        let _shared = match person_of(&timer.what) {
            Some(who) => self.shared_turn(who)?,
            None => None,
        };
        if self.store.is_handled(&key)? {
            self.store.drop_timer(&timer)?;
            return Ok(Vec::new());
        }
        let done = self.commit_planned(|ctx| timer_plan(ctx, &timer)).await?;
        if let Some((_, msgs)) = &done {
            tracing::info!(timer = %timer.id.split('/').next().unwrap_or(""), kind = kind_name(&timer.what), messages = msgs.len(), "timer fired");
        }
        match done {
            Some((_, msgs)) => Ok(msgs),
            None => {
                self.store.drop_timer(&timer)?;
                Ok(Vec::new())
            }
        }
    }

    /// Fires timers of different owners together: their commits go to the store in one call
    /// ([`crate::store::CommitStore::commit_many`]: one transaction in sled) and share one flush.
    /// Each fires exactly as [`Runtime::fire`] would; returns how many were handled.
    pub async fn fire_many(&self, timers: Vec<Timer>) -> Result<usize, RuntimeError> {
        if timers.len() < 2 {
            for t in &timers {
                self.fire(t.clone()).await?;
            }
            return Ok(timers.len());
        }
        if let Some(trouble) = self.store.trouble() {
            return Err(StoreError::Engine(trouble).into());
        }
        // The turns of the people whose conversations these timers change, taken in shard
        // order (every other path holds one turn at a time, so this cannot deadlock).
        let mut shards: Vec<usize> = timers
            .iter()
            .filter_map(|t| person_of(&t.what))
            .map(|who| self.turns.index(who))
            .collect();
        shards.sort_unstable();
        shards.dedup();
        let mut turns = Vec::with_capacity(shards.len());
        for i in shards {
            turns.push(self.turns.at(i).lock().await);
        }
        // Then across processes, in the order of the identities.
        let mut people: Vec<&crate::message::Identity> =
            timers.iter().filter_map(|t| person_of(&t.what)).collect();
        people.sort();
        people.dedup();
        let shared = off_worker(|| self.store.turns(&people))?;
        let n = timers.len();
        let (mut fired, failed) = off_worker(|| self.commit_timers(timers));
        // Whatever applied is flushed before anyone is told (a failure of one timer does
        // not hold back the others).
        let flushed = self.store.flushed().await;
        drop(shared);
        drop(turns);
        flushed?;
        let mut rows = Vec::new();
        let mut timers_changed = false;
        for (timer, msgs, applied) in &mut fired {
            rows.append(&mut applied.rows);
            timers_changed |= applied.timers_changed;
            tracing::info!(timer = %timer.id.split('/').next().unwrap_or(""), kind = kind_name(&timer.what), messages = msgs.len(), "timer fired");
        }
        self.flushed_commits(rows, timers_changed, true);
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(n)
    }

    /// Plans and applies timers (no flush): those fired before are only removed; the rest go
    /// to the store together, and one whose case changed meanwhile is planned again on its
    /// own. Returns the fired timers with their messages and what their commits did, and the
    /// first error.
    fn commit_timers(&self, timers: Vec<Timer>) -> Fired {
        let mut fired = Vec::new();
        let mut failed: Option<RuntimeError> = None;
        let fail = |e: RuntimeError, failed: &mut Option<RuntimeError>| {
            tracing::error!(error = %e, "a due timer could not fire");
            failed.get_or_insert(e);
        };
        let ctx = self.plan_context(self.clock.now());
        // Planned: the timer, its commit (moved to the store below) and how to word it.
        let mut todo: Vec<(Timer, Option<Commit>, Render)> = Vec::with_capacity(timers.len());
        for t in timers {
            let planned = (|| {
                if self.store.is_handled(&DedupeKey(t.dedupe_id()))? {
                    self.store.drop_timer(&t)?;
                    return Ok(None);
                }
                timer_plan(&ctx, &t).map(Some)
            })();
            match planned {
                Ok(Some(Plan { commit, render })) => todo.push((t, Some(commit), render)),
                Ok(None) => {}
                Err(e) => fail(RuntimeError::Store(e), &mut failed),
            }
        }
        let mut follow = Vec::with_capacity(todo.len());
        let mut items = Vec::with_capacity(todo.len());
        for (t, commit, render) in todo {
            let Some(commit) = commit else {
                continue;
            };
            match PlanFollowups::new(&ctx, &commit, render) {
                Ok(f) => {
                    follow.push((t, f));
                    items.push(commit);
                }
                Err(e) => fail(RuntimeError::Store(e), &mut failed),
            }
        }
        let items = items
            .into_iter()
            .zip(&follow)
            .map(|(c, (_, f))| (c, f as &dyn Followups))
            .collect();
        let results = self.store.commit_many(items);
        for ((t, _), result) in follow.into_iter().zip(results) {
            let done: Result<Option<Done>, RuntimeError> = match result {
                Ok(Committed::Applied(applied)) => Ok(Some(done(applied))),
                Ok(Committed::Duplicate) => Ok(None),
                Err(StoreError::Conflict(_)) => self.commit_now(&mut |ctx| timer_plan(ctx, &t)),
                Err(e) => Err(e.into()),
            };
            match done {
                Ok(Some((applied, msgs))) => fired.push((t, msgs, applied)),
                Ok(None) => {
                    if let Err(e) = self.store.drop_timer(&t) {
                        fail(e.into(), &mut failed);
                    }
                }
                Err(e) => fail(e, &mut failed),
            }
        }
        (fired, failed)
    }
}
