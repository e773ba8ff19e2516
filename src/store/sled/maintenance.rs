//! The sled store's durability and housekeeping: group flushes, checkpoints (closing and
//! reopening sled), pruning passes, and the store's secrets in `meta`.

use super::SledStore;
use super::keys::{T_DEDUPE, T_SENT, dec, enc, time_key};
use crate::store::records::SentRecord;
use crate::store::{FlushFuture, PrunePage, Result, StoreError, StoreMaintenance, TIMER_MARK};
use chrono::{DateTime, Utc};
use std::sync::Arc;

impl StoreMaintenance for SledStore {
    fn flush(&self) -> Result<()> {
        let r = self
            .e()
            .and_then(|e| e.group.flush_blocking().map_err(StoreError::Engine));
        self.noted(r)
    }

    fn flushed(&self) -> FlushFuture<'_> {
        // The request is made now, before the future is polled.
        let asked = self.e().map(|e| {
            let t = e.group.request();
            (e, t)
        });
        Box::pin(async move {
            let r = match asked {
                Ok((e, t)) => e.group.wait(t).await.map_err(StoreError::Engine),
                Err(e) => Err(e),
            };
            self.noted(r)
        })
    }

    /// Only while something holds writes back (a backup, a rewrite, a reopen): a sled
    /// commit otherwise works in memory and leaves the disk to the flusher.
    fn may_wait(&self) -> bool {
        self.gate.held()
    }

    fn check_damage(
        &self,
        budget: Option<crate::store::verify::Budget>,
    ) -> Result<Option<crate::store::verify::VerifyReport>> {
        self.verify(budget).map(Some)
    }

    fn rewrite_if_erased(&self) -> Result<bool> {
        SledStore::rewrite_if_erased(self)
    }

    fn trouble(&self) -> Option<String> {
        self.trouble
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// sled 0.34 writes down its page table only when a database is opened, and replays
    /// everything logged since at the next open: so the store is closed and opened again here.
    /// Writes (and reads) wait meanwhile; everything applied is flushed first.
    fn checkpoint(&self) -> Result<()> {
        let _alone = self.gate.alone();
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let Some(engine) = live.take() else {
            return Err(StoreError::Engine(
                self.trouble()
                    .unwrap_or_else(|| "the store is closed".into()),
            ));
        };
        let flushed = engine.db.flush();
        // Reads that took the database before hold it open (and its file lock): new ones wait
        // on `live`, so these end soon.
        let waited = std::time::Instant::now();
        while Arc::strong_count(&engine) > 1
            && waited.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(engine);
        let r = flushed
            .map_err(StoreError::from)
            .and_then(|_| self.open_engine());
        match r {
            Ok(engine) => {
                *live = Some(Arc::new(engine));
                Ok(())
            }
            // Closed: the store reports trouble and `heal` opens it again.
            Err(e) => {
                drop(live);
                self.noted(Err(e))
            }
        }
    }

    fn prune_dedupe(
        &self,
        after: Option<&str>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<String>> {
        let r = (move || -> Result<PrunePage<String>> {
            let _writing = self.writing();
            let tree = &self.e()?.trees[T_DEDUPE];
            let from = match after {
                Some(a) => std::ops::Bound::Excluded(a.as_bytes().to_vec()),
                None => std::ops::Bound::Unbounded,
            };
            let cutoff = time_key(before);
            let mut batch = ::sled::Batch::default();
            let (mut seen, mut pruned, mut last) = (0, 0, None);
            for kv in tree.range::<Vec<u8>, _>((from, std::ops::Bound::Unbounded)) {
                let (k, at) = kv?;
                seen += 1;
                // The value is the big-endian millis it was handled at: byte order is time order.
                if !k.starts_with(TIMER_MARK.as_bytes()) && at.as_ref() < cutoff.as_slice() {
                    batch.remove(k.clone());
                    pruned += 1;
                }
                last = Some(k);
                if seen == limit {
                    break;
                }
            }
            tree.apply_batch(batch)?;
            Ok(PrunePage {
                next: if seen == limit {
                    last.map(|k| String::from_utf8_lossy(&k).into_owned())
                } else {
                    None
                },
                pruned,
            })
        })();
        self.noted(r)
    }

    fn prune_sent(
        &self,
        after: Option<u64>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<u64>> {
        let r = (move || -> Result<PrunePage<u64>> {
            let _writing = self.writing();
            let tree = &self.e()?.trees[T_SENT];
            let from = after.map_or(0, |a| a.saturating_add(1)).to_be_bytes();
            let (mut seen, mut pruned, mut last) = (0, 0, None);
            for kv in tree.range(from..) {
                let (k, old) = kv?;
                seen += 1;
                let mut rec: SentRecord = dec(&k, &old)?;
                if rec.at >= before {
                    return Ok(PrunePage { next: None, pruned });
                }
                last = Some(rec.id);
                if rec.msg.is_some() {
                    rec.msg = None;
                    // Compare-and-swap: a status callback may change the record meanwhile;
                    // then it is left for the next pass.
                    if tree
                        .compare_and_swap(&k, Some(old), Some(enc(&rec)))?
                        .is_ok()
                    {
                        pruned += 1;
                    }
                }
                if seen == limit {
                    break;
                }
            }
            Ok(PrunePage {
                next: if seen == limit { last } else { None },
                pruned,
            })
        })();
        self.noted(r)
    }

    fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let e = self.e()?;
        let meta = e.db.open_tree("meta")?;
        let key = format!("secret:{name}");
        let fresh = crate::store::random_secret()?;
        // The first process to store one wins; everyone reads what is there.
        let _ = meta.compare_and_swap(&key, None as Option<&[u8]>, Some(&fresh[..]))?;
        let stored = meta
            .get(&key)?
            .ok_or_else(|| StoreError::Engine(format!("secret {name} vanished")))?;
        e.db.flush()?;
        <[u8; 32]>::try_from(stored.as_ref())
            .map_err(|_| StoreError::Engine(format!("secret {name} is damaged")))
    }
}
