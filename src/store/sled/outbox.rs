//! The sled store's outbox: rows waiting, delivered and given up on, provider ids, and the
//! addresses mail cannot reach.

use super::SledStore;
use super::keys::{
    T_FAILED, T_FAILING, T_OUTBOX, T_SENT, T_SENT_REFS, dec, enc, failing_key, sent_ref_key,
};
use super::tx::{TxResult, tx_done};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::store::records::{DeliveryStatus, FailedRecord, OutboxRow, SentRecord};
use crate::store::{DurableFuture, OutboxStore, Result};
use ::sled::transaction::TransactionalTree;
use ::sled::{Transactional, Tree};
use chrono::{DateTime, Utc};

/// Inside a transaction over the `outbox`, `sent` and `sent_refs` trees: moves delivered rows
/// from the queue to the delivery records, findable by their provider ids.
pub(super) fn mark_sent(t: [&TransactionalTree; 3], recs: &[SentRecord]) -> TxResult<()> {
    let [outbox, sent, refs] = t;
    for rec in recs {
        let key = rec.id.to_be_bytes();
        outbox.remove(&key)?;
        sent.insert(&key, enc(rec))?;
        for r in rec.refs() {
            refs.insert(sent_ref_key(rec.to.channel, r), &key)?;
        }
    }
    Ok(())
}

/// Marks rows delivered in a transaction of their own over the three trees of [`mark_sent`]
/// (`trees`: every tree of the store, in `TREE_NAMES` order).
pub(super) fn mark_sent_alone(trees: &[Tree], recs: &[SentRecord]) -> Result<()> {
    if recs.is_empty() {
        return Ok(());
    }
    let t = [&trees[T_OUTBOX], &trees[T_SENT], &trees[T_SENT_REFS]];
    tx_done(t.transaction(|t| mark_sent([&t[0], &t[1], &t[2]], recs)))
}

impl OutboxStore for SledStore {
    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>> {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        self.e()?.trees[T_OUTBOX]
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    fn outbox_pending_except(
        &self,
        after: Option<u64>,
        limit: usize,
        skip: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<OutboxRow>> {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_OUTBOX].range(start.to_be_bytes()..) {
            let (k, v) = kv?;
            let id = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes);
            if id.is_ok_and(skip) {
                continue;
            }
            out.push(dec(&k, &v)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn outbox_retry(&self, row: &OutboxRow) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            // Only a row still waiting is written back (never resurrect one marked sent).
            let key = row.id.to_be_bytes();
            let tree = &self.e()?.trees[T_OUTBOX];
            if let Some(old) = tree.get(key)? {
                let _ = tree.compare_and_swap(key, Some(old), Some(enc(row)))?;
            }
            Ok(())
        })();
        self.noted(r)
    }

    fn outbox_sent(&self, rec: SentRecord) -> Result<()> {
        self.outbox_sent_all(std::slice::from_ref(&rec))
    }

    fn outbox_sent_all(&self, recs: &[SentRecord]) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            mark_sent_alone(&self.e()?.trees, recs)
        })();
        self.noted(r)
    }

    fn outbox_sent_durable(&self, recs: Vec<SentRecord>) -> DurableFuture<'_, Vec<SentRecord>, ()> {
        self.hand_over(|answer| super::commit::Queued::Sent { recs, answer })
    }

    fn outbox_failed(&self, rec: FailedRecord, notice: Option<OutboundMessage>) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            let key = rec.row.id.to_be_bytes();
            let trees = [&self.e()?.trees[T_OUTBOX], &self.e()?.trees[T_FAILED]];
            tx_done(trees.transaction(|t| {
                t[0].remove(&key)?;
                t[1].insert(&key, enc(&rec))?;
                if let Some(msg) = &notice {
                    let id = t[0].generate_id()?;
                    let row =
                        OutboxRow::new(id, OutboxRow::failure_key(rec.row.id), rec.at, msg.clone());
                    t[0].insert(&id.to_be_bytes(), enc(&row))?;
                }
                Ok(())
            }))
        })();
        self.noted(r)
    }

    fn sent(&self, id: u64) -> Result<Option<SentRecord>> {
        self.get(T_SENT, &id.to_be_bytes())
    }

    fn sent_by_ref(&self, channel: ChannelKind, provider_ref: &str) -> Result<Option<SentRecord>> {
        match self.e()?.trees[T_SENT_REFS].get(sent_ref_key(channel, provider_ref))? {
            Some(id) => self.get(T_SENT, &id),
            None => Ok(None),
        }
    }

    fn outbox_status(&self, id: u64, status: DeliveryStatus, at: DateTime<Utc>) -> Result<bool> {
        let r = (move || -> Result<bool> {
            let key = id.to_be_bytes();
            let tree = &self.e()?.trees[T_SENT];
            // Compare-and-swap: two callbacks for one message may race.
            loop {
                let Some(old) = tree.get(key)? else {
                    return Ok(false);
                };
                let mut rec: SentRecord = dec(&key, &old)?;
                if !status.advances(rec.status) {
                    return Ok(false);
                }
                rec.status = Some(status);
                rec.status_at = Some(at);
                if tree
                    .compare_and_swap(key, Some(old), Some(enc(&rec)))?
                    .is_ok()
                {
                    return Ok(true);
                }
            }
        })();
        self.noted(r)
    }

    fn failed(&self) -> Result<Vec<FailedRecord>> {
        self.all(T_FAILED)
    }

    fn address_failing(&self, who: &Identity) -> Result<bool> {
        Ok(self.e()?.trees[T_FAILING].get(failing_key(who))?.is_some())
    }
}

impl SledStore {
    /// Every delivered row's record, in row order (for checks after a crash campaign, and by
    /// hand when something goes wrong: row ids are not contiguous after a restart).
    pub fn sent_records(&self) -> Result<Vec<SentRecord>> {
        self.all(T_SENT)
    }
}
