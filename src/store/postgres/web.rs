//! The PostgreSQL store's web chat sessions and conversation logs. A log's sequence numbers
//! come from its own counter row, locked while an entry is added: entries of one log are
//! numbered in the order they commit, so a page that read up to a number never misses an
//! earlier one written later by another process. Each entry is announced to the processes
//! showing logs live (`notify.rs`) in the transaction that writes it.

use super::PgStore;
use super::rows::{clean, record};
use crate::store::records::{WebLogEntry, WebSession};
use crate::store::{Result, StoreError, WebChatStore};
use tokio_postgres::types::Json;

impl WebChatStore for PgStore {
    fn web_session(&self, id: &str) -> Result<Option<WebSession>> {
        self.record_of(
            "SELECT record FROM web_sessions WHERE id = $1",
            &[&clean(id)],
        )
    }

    fn put_web_session(&self, s: &WebSession) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO web_sessions (id, created_at, record) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET created_at = $2, record = $3",
            &[&clean(&s.id), &s.created_at, &Json(s)],
        )?;
        Ok(())
    }

    fn web_log_append(&self, session: &str, key: &str, entry: &WebLogEntry) -> Result<(u64, bool)> {
        let (session, key) = (clean(session), clean(key));
        let mut logged = None;
        let added = self.in_transaction(|c| {
            // The counter's row lock orders this log's entries until the transaction ends.
            let seq: i64 = c
                .query_one(
                    "INSERT INTO web_log_counters (session, last) VALUES ($1, 1)
                     ON CONFLICT (session) DO UPDATE SET last = web_log_counters.last + 1
                     RETURNING last",
                    &[&session],
                )?
                .get(0);
            if let Some(row) = c.query_opt(
                "SELECT seq FROM web_log WHERE session = $1 AND key = $2",
                &[&session, &key],
            )? {
                // Rolled back: the counter keeps its value.
                logged = Some(row.get::<_, i64>(0));
                return Ok(None);
            }
            c.execute(
                "INSERT INTO web_log (session, seq, key, at, visitor, record) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&session, &seq, &key, &entry.at, &entry.visitor, &Json(entry)],
            )?;
            // Delivered to the listening processes when (and only if) this commits.
            c.execute(
                "SELECT pg_notify($1, $2)",
                &[&super::notify::CHANNEL, &super::notify::payload(&session, seq)],
            )?;
            Ok(Some(seq))
        })?;
        match (added, logged) {
            (Some(seq), _) => Ok((seq as u64, true)),
            (None, Some(seq)) => Ok((seq as u64, false)),
            (None, None) => Err(StoreError::Engine("web log entry not written".into())),
        }
    }

    fn web_log(&self, session: &str, after: u64, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        self.log_rows(
            "SELECT seq, record FROM web_log WHERE session = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            session,
            after,
            limit,
        )
    }

    fn web_log_tail(&self, session: &str, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        let mut v = self.log_rows(
            "SELECT seq, record FROM web_log WHERE session = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3",
            session,
            0,
            limit,
        )?;
        v.reverse();
        Ok(v)
    }
}

impl PgStore {
    fn log_rows(
        &self,
        sql: &str,
        session: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, WebLogEntry)>> {
        let after = after.min(i64::MAX as u64) as i64;
        self.conn()?
            .query(sql, &[&clean(session), &after, &super::rows::limit(limit)])?
            .iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                Ok((
                    seq as u64,
                    record(r, "record", &|| format!("web_log {seq}"))?,
                ))
            })
            .collect()
    }
}
