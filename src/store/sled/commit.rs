//! Commits on the sled store: the one apply ([`crate::store::apply`]) in one sled transaction
//! over every commit tree, an erasure's scan before it, and many commits in one transaction:
//! those handed to the flusher by concurrent writers ([`CommitStore::commit_durable`]) and a
//! burst of due reminders ([`CommitStore::commit_many`]).
//!
//! Why gather them: every sled transaction seals the log buffer before and after its batch
//! marker, so each costs two log writes (each a `pwrite` and a `sync_file_range` on sled's I/O
//! threads) whatever its size; a flush then writes once more (BENCHMARKS.md, "One transaction
//! for many messages").

use super::keys::{T_OUTBOX, T_SENT, T_SENT_REFS};
use super::outbox::{mark_sent, mark_sent_alone};
use super::scan::SledScan;
use super::tx::{Abort, SledTx, tx_error};
use super::{Gate, SledStore};
use crate::cases::CaseNumber;
use crate::store::apply;
use crate::store::erase;
use crate::store::group::RoundFn;
use crate::store::records::SentRecord;
use crate::store::{
    Commit, CommitStore, Committed, Durable, DurableFuture, Followups, Result, StoreError,
};
use ::sled::transaction::{ConflictableTransactionError, TransactionError};
use ::sled::{Db, Transactional, Tree};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A write handed to the flusher thread, and where its answer goes. (Mostly commits, which are
/// large: the marks' variant is not worth an allocation per message to shrink the other.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Queued {
    Commit {
        commit: Commit,
        followups: Arc<dyn Followups + Send>,
        answer: oneshot::Sender<Durable>,
    },
    Sent {
        recs: Vec<SentRecord>,
        answer: oneshot::Sender<Durable<Vec<SentRecord>, ()>>,
    },
}

/// A queued write's outcome, to be sent once the flush after it finished.
#[allow(clippy::large_enum_variant)]
enum Answer {
    Commit(oneshot::Sender<Durable>, Durable),
    Sent(
        oneshot::Sender<Durable<Vec<SentRecord>, ()>>,
        Durable<Vec<SentRecord>, ()>,
    ),
}

impl Answer {
    /// Sends the outcome; an applied write whose flush failed gets the flush's error.
    fn send(self, flushed: &std::result::Result<(), String>) {
        // A writer that went away (its request was dropped) needs no answer: `let _`.
        match self {
            Answer::Commit(to, outcome) => {
                let _ = to.send(after_flush(outcome, flushed));
            }
            Answer::Sent(to, outcome) => {
                let _ = to.send(after_flush(outcome, flushed));
            }
        }
    }
}

fn after_flush<T, R>(
    outcome: Durable<T, R>,
    flushed: &std::result::Result<(), String>,
) -> Durable<T, R> {
    match (outcome, flushed) {
        (Durable::Done(Ok(_)), Err(e)) => Durable::Done(Err(StoreError::Engine(e.clone()))),
        (outcome, _) => outcome,
    }
}

/// The flusher's round ([`crate::store::group`]): applies the writes handed over since the
/// last round (the commits, each as if alone, and the delivery marks, in one transaction when
/// none is refused); flushes; then answers them. While a backup, a rewrite or a reopen holds
/// writes back, they are handed back instead (their writers wait for the gate themselves; the
/// flusher must not, as a reopen stops it while holding the gate).
pub(super) fn round(db: Db, trees: Vec<Tree>, gate: Arc<Gate>) -> RoundFn<Queued> {
    Box::new(move |jobs, before_flush| {
        let answers = if jobs.is_empty() {
            Vec::new()
        } else if let Some(_writing) = gate.try_shared() {
            apply_queued(&trees, jobs)
        } else {
            jobs.into_iter().map(handed_back).collect()
        };
        before_flush();
        let flushed = db.flush().map(|_| ()).map_err(|e| e.to_string());
        for answer in answers {
            answer.send(&flushed);
        }
        flushed
    })
}

fn handed_back(q: Queued) -> Answer {
    match q {
        Queued::Commit { commit, answer, .. } => Answer::Commit(answer, Durable::NotQueued(commit)),
        Queued::Sent { recs, answer } => Answer::Sent(answer, Durable::NotQueued(recs)),
    }
}

/// Applies the queued writes (see [`round`]): first all in one transaction; when a commit is
/// refused, each commit alone and the marks together. Each one's outcome, before the flush.
fn apply_queued(trees: &[Tree], jobs: Vec<Queued>) -> Vec<Answer> {
    let mut commits = Vec::new();
    let mut marks = Vec::new();
    let mut marked = Vec::new();
    for q in jobs {
        match q {
            Queued::Commit {
                commit,
                followups,
                answer,
            } => commits.push((commit, followups, answer)),
            Queued::Sent { recs, answer } => {
                marks.extend(recs);
                marked.push(answer);
            }
        }
    }
    let items: Vec<(&Commit, &dyn Followups)> = commits
        .iter()
        .map(|(c, f, _)| (c, &**f as &dyn Followups))
        .collect();
    let (done, marks_done): (Vec<Result<Committed>>, Result<()>) = if items.is_empty() {
        (Vec::new(), mark_sent_alone(trees, &marks))
    } else {
        let together = trees.transaction(|t| {
            let done = apply::apply_together(&mut SledTx { t }, &items)?;
            mark_sent([&t[T_OUTBOX], &t[T_SENT], &t[T_SENT_REFS]], &marks)?;
            Ok(done)
        });
        match together {
            Ok(done) => (done.into_iter().map(Ok).collect(), Ok(())),
            Err(_) => (
                items
                    .iter()
                    .map(|item| {
                        transact(trees, std::slice::from_ref(item)).map(|mut d| d.remove(0))
                    })
                    .collect(),
                mark_sent_alone(trees, &marks),
            ),
        }
    };
    let mut answers: Vec<Answer> = commits
        .into_iter()
        .zip(done)
        .map(|((_, _, answer), r)| Answer::Commit(answer, Durable::Done(r)))
        .collect();
    answers.extend(
        marked
            .into_iter()
            .map(|answer| Answer::Sent(answer, Durable::Done(marks_done.clone()))),
    );
    answers
}

/// Applies commits (no erasures) in one transaction over `trees`: all or none, except that a
/// commit whose dedupe mark exists is a duplicate and changes nothing.
fn transact(trees: &[Tree], items: &[(&Commit, &dyn Followups)]) -> Result<Vec<Committed>> {
    trees
        .transaction(|t| apply::apply_together(&mut SledTx { t }, items))
        .map_err(tx_error)
}

impl CommitStore for SledStore {
    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed> {
        let r = (move || -> Result<Committed> {
            let _writing = self.writing();
            let engine = self.e()?;
            let found = match &c.erase {
                Some(e) => {
                    let own: Vec<CaseNumber> =
                        c.case_updates.iter().map(|u| u.number.clone()).collect();
                    Some(erase::prepare(&mut SledScan(&engine), e, &own)?)
                }
                None => None,
            };
            let result = engine.trees.as_slice().transaction(|t| {
                match apply::apply(&mut SledTx { t }, &c, f, found.as_ref())? {
                    Some(applied) => Ok(applied),
                    // Nothing written: the transaction is dropped rather than committed empty.
                    None => Err(ConflictableTransactionError::Abort(Abort::Duplicate)),
                }
            });
            match result {
                Ok(applied) => {
                    if c.erase.is_some() {
                        // The erased bytes stay in sled's files until the store is rewritten.
                        engine
                            .db
                            .open_tree("meta")?
                            .insert(super::rewrite::REWRITE_DUE, &[1u8][..])?;
                    }
                    Ok(Committed::Applied(applied))
                }
                Err(TransactionError::Abort(Abort::Duplicate)) => Ok(Committed::Duplicate),
                Err(e) => Err(tx_error(e)),
            }
        })();
        self.noted(r)
    }

    fn commit_durable(&self, c: Commit, f: Arc<dyn Followups + Send>) -> DurableFuture<'_> {
        // An erasure scans before its transaction; the caller applies it alone.
        if c.erase.is_some() {
            return Box::pin(std::future::ready(Durable::NotQueued(c)));
        }
        self.hand_over(|answer| Queued::Commit {
            commit: c,
            followups: f,
            answer,
        })
    }

    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        apply::each_as_if_alone(
            items,
            |together| self.apply_together(together),
            |c, f| self.commit_with(c, f),
        )
    }
}

impl SledStore {
    /// Hands a write to the flusher thread and waits (holding no thread) for its answer. A
    /// closed store answers at once with its error (as its own writes would).
    pub(super) fn hand_over<T: Send + 'static, R: Send + 'static>(
        &self,
        queued: impl FnOnce(oneshot::Sender<Durable<T, R>>) -> Queued,
    ) -> DurableFuture<'_, T, R> {
        let engine = match self.e() {
            Ok(engine) => engine,
            Err(e) => return Box::pin(std::future::ready(Durable::Done(self.noted(Err(e))))),
        };
        let (answer, answered) = oneshot::channel();
        engine.group.submit(queued(answer));
        Box::pin(async move {
            match answered.await {
                Ok(Durable::Done(r)) => Durable::Done(self.noted(r)),
                Ok(handed_back) => handed_back,
                Err(_) => Durable::Done(Err(StoreError::Engine(
                    "the store closed before the write was applied".into(),
                ))),
            }
        })
    }

    /// Applies many commits (none of them an erasure) in one transaction: all or none. A
    /// commit whose dedupe mark exists (also one earlier in `commits`) is a duplicate and
    /// changes nothing. For bulk loads (the scale benchmark seeds its stores with it); the
    /// service commits one message at a time through [`CommitStore::commit_with`].
    pub fn commit_batch(&self, commits: &[Commit], f: &dyn Followups) -> Result<Vec<Committed>> {
        if commits.iter().any(|c| c.erase.is_some()) {
            return Err(StoreError::Engine(
                "an erasure cannot be part of a batch".into(),
            ));
        }
        let items: Vec<(&Commit, &dyn Followups)> = commits.iter().map(|c| (c, f)).collect();
        self.apply_together(&items)
    }

    /// Applies commits (no erasures) in one transaction: all or none, except that a commit
    /// whose dedupe mark exists is a duplicate and changes nothing.
    fn apply_together(&self, items: &[(&Commit, &dyn Followups)]) -> Result<Vec<Committed>> {
        let _writing = self.writing();
        transact(&self.e()?.trees, items)
    }
}
