//! Commits on the PostgreSQL store: the one apply ([`crate::store::apply`]) in one
//! transaction, an erasure's scan before it, many commits in one transaction — and the retry
//! rule.
//!
//! **Isolation and retries.** A commit runs at `READ COMMITTED` and locks what it reads to
//! write again (see `tx.rs`), so concurrent commits of different people never wait on each
//! other, and two that touch the same case or counter take turns. A transaction the server
//! refuses for a reason that passes (`40001` serialization failure — what CockroachDB and
//! YugabyteDB, which run serializable, answer a conflict with — or `40P01` deadlock) is
//! rolled back and applied again from the start, up to [`RETRIES`] times, after a short
//! random pause. A connection lost before `COMMIT` was sent is retried the same way on a new
//! connection; one lost while `COMMIT` was under way is an error (the caller does not
//! acknowledge; the provider's retry finds the dedupe mark if it did commit).

use super::scan::PgScan;
use super::tx::{Abort, PgTx};
use super::{Conn, PgStore};
use crate::cases::CaseNumber;
use crate::store::apply;
use crate::store::erase;
use crate::store::{Commit, CommitStore, Committed, Followups, Result, StoreError};

/// How often a transaction refused for a passing reason is applied again.
pub(super) const RETRIES: usize = 8;

/// Whether the database asks for the transaction to be tried again.
pub(super) fn passing(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(code) => {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        }
        None => e.is_closed(),
    }
}

/// A short random pause before trying again, longer each time.
pub(super) fn pause(attempt: usize) {
    let ms = 2u64.saturating_pow(attempt as u32).min(200);
    std::thread::sleep(std::time::Duration::from_millis(ms + fastrand::u64(..=ms)));
}

/// What one try of a transaction came to.
enum Tried<T> {
    Done(T),
    Again(StoreError),
}

impl PgStore {
    /// Runs `body` in a transaction on a pooled connection and commits it, applying it again
    /// when the database says so (see the module's retry rule). `body` returns `None` to roll
    /// back (nothing to write: a duplicate).
    pub(super) fn in_transaction<T>(
        &self,
        mut body: impl FnMut(&Conn) -> std::result::Result<Option<T>, Abort>,
    ) -> Result<Option<T>> {
        let mut attempt = 0;
        loop {
            match self.try_transaction(&mut body)? {
                Tried::Done(v) => return Ok(v),
                Tried::Again(e) if attempt + 1 < RETRIES => {
                    tracing::debug!(error = %e, attempt, "store: transaction refused for now; applying it again");
                    attempt += 1;
                    pause(attempt);
                }
                Tried::Again(e) => return Err(e),
            }
        }
    }

    fn try_transaction<T>(
        &self,
        body: &mut impl FnMut(&Conn) -> std::result::Result<Option<T>, Abort>,
    ) -> Result<Tried<Option<T>>> {
        let c = match self.conn() {
            Ok(c) => c,
            Err(e) => return Ok(Tried::Again(e)),
        };
        if let Err(e) = c.batch("BEGIN ISOLATION LEVEL READ COMMITTED") {
            return if passing(&e) {
                Ok(Tried::Again(e.into()))
            } else {
                Err(e.into())
            };
        }
        let rollback = |c: &Conn| {
            let _ = c.batch("ROLLBACK");
        };
        match body(&c) {
            Ok(Some(v)) => match c.batch("COMMIT") {
                Ok(()) => Ok(Tried::Done(Some(v))),
                Err(e) if e.code().is_some() && passing(&e) => Ok(Tried::Again(e.into())),
                Err(e) => Err(e.into()),
            },
            Ok(None) | Err(Abort::Duplicate) => {
                rollback(&c);
                Ok(Tried::Done(None))
            }
            Err(Abort::Refused(e)) => {
                rollback(&c);
                Err(e)
            }
            Err(Abort::Db(e)) => {
                rollback(&c);
                if passing(&e) {
                    Ok(Tried::Again(e.into()))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Applies commits (no erasures) in one transaction: all or none, except that a commit
    /// whose dedupe mark exists is a duplicate and changes nothing.
    fn apply_together(&self, items: &[(&Commit, &dyn Followups)]) -> Result<Vec<Committed>> {
        let done = self.in_transaction(|c| {
            let mut tx = PgTx::new(c);
            let done = apply::apply_together(&mut tx, items)?;
            tx.announce(&self.holder)?;
            Ok(Some(done))
        })?;
        // A mark another process wrote meanwhile refuses the lot: each is then applied alone.
        done.ok_or_else(|| StoreError::Engine("a commit of the batch was applied meanwhile".into()))
    }
}

impl CommitStore for PgStore {
    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed> {
        let found = match &c.erase {
            Some(e) => {
                let own: Vec<CaseNumber> =
                    c.case_updates.iter().map(|u| u.number.clone()).collect();
                let conn = self.conn()?;
                Some(erase::prepare(&mut PgScan(&conn), e, &own)?)
            }
            None => None,
        };
        let applied = self.in_transaction(|conn| {
            let mut tx = PgTx::new(conn);
            let applied = apply::apply(&mut tx, &c, f, found.as_ref())?;
            if applied.is_some() {
                tx.announce(&self.holder)?;
            }
            Ok(applied)
        })?;
        Ok(match applied {
            Some(a) => Committed::Applied(a),
            None => Committed::Duplicate,
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
