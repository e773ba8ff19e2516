//! Commits on the sled store: the one apply ([`crate::store::apply`]) in one sled transaction
//! over every commit tree, an erasure's scan before it, and many commits in one transaction.

use super::SledStore;
use super::scan::SledScan;
use super::tx::{Abort, SledTx, tx_error};
use crate::cases::CaseNumber;
use crate::store::apply;
use crate::store::erase;
use crate::store::{Commit, CommitStore, Committed, Followups, Result, StoreError};
use ::sled::Transactional;
use ::sled::transaction::{ConflictableTransactionError, TransactionError};

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

    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        apply::each_as_if_alone(
            items,
            |together| self.apply_together(together),
            |c, f| self.commit_with(c, f),
        )
    }
}

impl SledStore {
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
        let engine = self.e()?;
        let result = engine
            .trees
            .as_slice()
            .transaction(|t| apply::apply_together(&mut SledTx { t }, items));
        result.map_err(tx_error)
    }
}
