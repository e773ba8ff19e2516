//! The PostgreSQL store's outbox: rows waiting, delivered and given up on, provider ids, and
//! the addresses mail cannot reach.

use super::PgStore;
use super::rows::{clean, record, status_text};
use super::writes::{failing_key, write_failed, write_refs, write_row, write_sent};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::store::records::{DeliveryStatus, FailedRecord, OutboxRow, SentRecord};
use crate::store::{OutboxStore, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::types::Json;

impl OutboxStore for PgStore {
    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>> {
        let after = after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
        self.records(
            "SELECT record FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &super::rows::limit(limit)],
        )
    }

    /// Only a row still waiting is written back (a row marked sent meanwhile stays sent).
    fn outbox_retry(&self, row: &OutboxRow) -> Result<()> {
        self.conn()?.execute(
            "UPDATE outbox SET attempts = $2, not_before = $3, last_error = $4, record = $5
             WHERE id = $1",
            &[
                &(row.id as i64),
                &(row.attempts as i32),
                &row.not_before,
                &row.last_error.as_deref().map(clean),
                &Json(row),
            ],
        )?;
        Ok(())
    }

    fn outbox_sent(&self, rec: SentRecord) -> Result<()> {
        self.in_transaction(|c| {
            c.execute("DELETE FROM outbox WHERE id = $1", &[&(rec.id as i64)])?;
            write_sent(c, &rec)?;
            write_refs(c, &rec)?;
            Ok(Some(()))
        })?;
        Ok(())
    }

    fn outbox_failed(&self, rec: FailedRecord, notice: Option<OutboundMessage>) -> Result<()> {
        self.in_transaction(|c| {
            c.execute("DELETE FROM outbox WHERE id = $1", &[&(rec.row.id as i64)])?;
            write_failed(c, &rec)?;
            if let Some(msg) = &notice {
                let id: i64 = c.query_one("SELECT nextval('outbox_ids')", &[])?.get(0);
                let row = OutboxRow::new(
                    id as u64,
                    OutboxRow::failure_key(rec.row.id),
                    rec.at,
                    msg.clone(),
                );
                write_row(c, &row)?;
                // The officers' chat may be held by another process (`notify.rs`).
                let tags = [crate::store::chat_tag(&msg.to)].into_iter().collect();
                super::notify::announce_outbox(c, &self.holder, &tags)?;
            }
            Ok(Some(()))
        })?;
        Ok(())
    }

    fn sent(&self, id: u64) -> Result<Option<SentRecord>> {
        self.record_of(
            "SELECT record FROM outbox_sent WHERE id = $1",
            &[&(id as i64)],
        )
    }

    fn sent_by_ref(&self, channel: ChannelKind, provider_ref: &str) -> Result<Option<SentRecord>> {
        self.record_of(
            "SELECT s.record FROM sent_refs r JOIN outbox_sent s ON s.id = r.id
             WHERE r.channel = $1 AND r.provider_ref = $2",
            &[&channel.as_str(), &clean(provider_ref)],
        )
    }

    fn outbox_status(&self, id: u64, status: DeliveryStatus, at: DateTime<Utc>) -> Result<bool> {
        let changed = self.in_transaction(|c| {
            let Some(row) = c.query_opt(
                "SELECT record FROM outbox_sent WHERE id = $1 FOR UPDATE",
                &[&(id as i64)],
            )?
            else {
                return Ok(Some(false));
            };
            let mut rec: SentRecord = record(&row, "record", &|| format!("outbox_sent {id}"))?;
            if !status.advances(rec.status) {
                return Ok(Some(false));
            }
            rec.status = Some(status);
            rec.status_at = Some(at);
            c.execute(
                "UPDATE outbox_sent SET status = $2, status_at = $3, record = $4 WHERE id = $1",
                &[&(id as i64), &status_text(status), &at, &Json(&rec)],
            )?;
            Ok(Some(true))
        })?;
        Ok(changed.unwrap_or(false))
    }

    fn failed(&self) -> Result<Vec<FailedRecord>> {
        self.records("SELECT record FROM outbox_failed ORDER BY id", &[])
    }

    fn address_failing(&self, who: &Identity) -> Result<bool> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT 1 FROM failing_addresses WHERE address = $1",
                &[&failing_key(who)],
            )?
            .is_some())
    }
}

impl PgStore {
    /// Every delivered row's record, in row order (checks after a crash campaign).
    pub fn sent_records(&self) -> Result<Vec<SentRecord>> {
        self.records("SELECT record FROM outbox_sent ORDER BY id", &[])
    }
}
