//! The PostgreSQL store's durability and housekeeping: nothing to flush (a commit is durable
//! when `COMMIT` returns), nothing to checkpoint (the server does), pruning passes, and the
//! store's secrets.

use super::PgStore;
use super::rows::{clean, record};
use crate::store::records::SentRecord;
use crate::store::{PrunePage, Result, StoreError, StoreMaintenance, TIMER_MARK};
use chrono::{DateTime, Utc};
use tokio_postgres::types::Json;

impl StoreMaintenance for PgStore {
    /// Every commit was durable when it returned.
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Every call is a round trip to the server, and may wait for another process's lock.
    fn may_wait(&self) -> bool {
        true
    }

    fn prune_dedupe(
        &self,
        after: Option<&str>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<String>> {
        let c = self.conn()?;
        let page = c.query(
            "SELECT key, handled_at < $2 AND left(key, $4) <> $5 FROM dedupe_marks
             WHERE $1::text IS NULL OR key > $1 ORDER BY key LIMIT $3",
            &[
                &after.map(clean),
                &before,
                &super::rows::limit(limit),
                &(TIMER_MARK.len() as i32),
                &TIMER_MARK,
            ],
        )?;
        let old: Vec<String> = page
            .iter()
            .filter(|r| r.get::<_, bool>(1))
            .map(|r| r.get(0))
            .collect();
        let pruned = c.execute(
            "DELETE FROM dedupe_marks WHERE key = ANY($1) AND handled_at < $2",
            &[&old, &before],
        )? as usize;
        Ok(PrunePage {
            next: if page.len() == limit {
                page.last().map(|r| r.get(0))
            } else {
                None
            },
            pruned,
        })
    }

    fn prune_sent(
        &self,
        after: Option<u64>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<u64>> {
        let c = self.conn()?;
        let after = after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
        let page = c.query(
            "SELECT id, at, has_text FROM outbox_sent WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &super::rows::limit(limit)],
        )?;
        let mut thin: Vec<i64> = Vec::new();
        let mut last = None;
        let mut reached_newer = false;
        for r in &page {
            let at: DateTime<Utc> = r.get(1);
            if at >= before {
                reached_newer = true;
                break;
            }
            let id: i64 = r.get(0);
            last = Some(id as u64);
            if r.get::<_, bool>(2) {
                thin.push(id);
            }
        }
        // The text goes from the record; the row lock orders this with a status callback.
        let pruned = self
            .in_transaction(|c| {
                let rows = c.query(
                    "SELECT record FROM outbox_sent WHERE id = ANY($1) AND has_text FOR UPDATE",
                    &[&thin],
                )?;
                let mut n = 0;
                for row in rows {
                    let mut rec: SentRecord = record(&row, "record", &|| "outbox_sent".into())?;
                    rec.msg = None;
                    n += c.execute(
                        "UPDATE outbox_sent SET has_text = false, record = $2 WHERE id = $1",
                        &[&(rec.id as i64), &Json(&rec)],
                    )? as usize;
                }
                Ok(Some(n))
            })?
            .unwrap_or(0);
        Ok(PrunePage {
            next: if !reached_newer && page.len() == limit {
                last
            } else {
                None
            },
            pruned,
        })
    }

    fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let c = self.conn()?;
        let fresh = crate::store::random_secret()?;
        // The first process to store one wins; everyone reads what is there.
        c.execute(
            "INSERT INTO store_secrets (name, secret) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&clean(name), &&fresh[..]],
        )?;
        let stored: Vec<u8> = c
            .query_one(
                "SELECT secret FROM store_secrets WHERE name = $1",
                &[&clean(name)],
            )?
            .get(0);
        <[u8; 32]>::try_from(stored.as_slice())
            .map_err(|_| StoreError::Engine(format!("secret {name} is damaged")))
    }
}
