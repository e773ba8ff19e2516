//! What an erasure finds in the PostgreSQL store before its transaction: the
//! [`ErasureScan`] over one connection. (PostgreSQL could scan inside the transaction; the
//! erasure is written once, above the engines, for those that cannot.)

use super::Conn;
use super::rows::{case_key, clean, record};
use crate::cases::CaseNumber;
use crate::guestbook::{Appointment, Rating, Visit};
use crate::message::{ChannelKind, Identity};
use crate::store::erase::ErasureScan;
use crate::store::records::{FailedRecord, OutboxRow, SentRecord};
use crate::store::{DedupeKey, Result, StoreError};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// One connection, scanned table by table.
pub(super) struct PgScan<'c>(pub(super) &'c Conn);

/// An identity as its key columns spell it (`CHANNEL:ADDRESS`).
pub(super) fn identity_from(text: &str) -> Result<Identity> {
    text.split_once(':')
        .and_then(|(channel, address)| Some(Identity::new(ChannelKind::parse(channel)?, address)))
        .ok_or_else(|| StoreError::Corrupt {
            key: text.to_string(),
            reason: "an identity is CHANNEL:ADDRESS".into(),
        })
}

impl PgScan<'_> {
    /// The records of a table (its `record` column) that `keep` accepts, with the rows.
    fn records_where<T: DeserializeOwned>(
        &self,
        sql: &str,
        keep: &dyn Fn(&T) -> bool,
    ) -> Result<Vec<(tokio_postgres::Row, T)>> {
        let mut out = Vec::new();
        for row in self.0.query(sql, &[])? {
            let rec: T = record(&row, "record", &|| sql.to_string())?;
            if keep(&rec) {
                out.push((row, rec));
            }
        }
        Ok(out)
    }

    /// The texts of a one-column query that `keep` accepts.
    fn texts_where(&self, sql: &str, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        Ok(self
            .0
            .query(sql, &[])?
            .into_iter()
            .map(|r| r.get::<_, String>(0))
            .filter(|k| keep(k))
            .collect())
    }
}

impl ErasureScan for PgScan<'_> {
    type Found = (DateTime<Utc>, String);

    /// The log goes; its counter stays, so a page that comes back never sees numbers again.
    fn erase_web_log(&mut self, session: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM web_log WHERE session = $1", &[&clean(session)])?;
        Ok(())
    }
    fn visits_where(&self, keep: &dyn Fn(&Visit) -> bool) -> Result<Vec<(Self::Found, Visit)>> {
        Ok(self
            .records_where("SELECT at, ref, record FROM visits ORDER BY at, ref", keep)?
            .into_iter()
            .map(|(row, v)| ((row.get(0), row.get(1)), v))
            .collect())
    }
    fn ratings_where(&self, keep: &dyn Fn(&Rating) -> bool) -> Result<Vec<(Self::Found, Rating)>> {
        Ok(self
            .records_where("SELECT at, ref, record FROM ratings ORDER BY at, ref", keep)?
            .into_iter()
            .map(|(row, r)| ((row.get(0), row.get(1)), r))
            .collect())
    }
    fn appointments_where(&self, keep: &dyn Fn(&Appointment) -> bool) -> Result<Vec<Appointment>> {
        Ok(self
            .records_where(
                "SELECT record FROM appointments ORDER BY at, guest_id",
                keep,
            )?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }
    fn rows_where(&self, keep: &dyn Fn(&OutboxRow) -> bool) -> Result<Vec<u64>> {
        Ok(self
            .records_where::<OutboxRow>("SELECT record FROM outbox ORDER BY id", keep)?
            .into_iter()
            .map(|(_, r)| r.id)
            .collect())
    }
    fn sent_where(&self, keep: &dyn Fn(&SentRecord) -> bool) -> Result<Vec<SentRecord>> {
        Ok(self
            .records_where("SELECT record FROM outbox_sent ORDER BY id", keep)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }
    fn failed_where(&self, keep: &dyn Fn(&FailedRecord) -> bool) -> Result<Vec<u64>> {
        Ok(self
            .records_where::<FailedRecord>("SELECT record FROM outbox_failed ORDER BY id", keep)?
            .into_iter()
            .map(|(_, r)| r.row.id)
            .collect())
    }
    fn timer_owners_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        self.texts_where("SELECT DISTINCT owner FROM timers ORDER BY owner", keep)
    }
    fn marks_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<DedupeKey>> {
        Ok(self
            .texts_where("SELECT key FROM dedupe_marks ORDER BY key", keep)?
            .into_iter()
            .map(DedupeKey)
            .collect())
    }
    fn guest_links(&self, guest_id: &str) -> Result<Vec<Identity>> {
        self.0
            .query(
                "SELECT identity FROM guest_identities WHERE guest_id = $1 ORDER BY identity",
                &[&clean(guest_id)],
            )?
            .iter()
            .map(|r| identity_from(r.get(0)))
            .collect()
    }
    /// A guest's cases are found by the cases' own guest ids: no index to unlink.
    fn case_links(&self, _: &str) -> Result<Vec<CaseNumber>> {
        Ok(Vec::new())
    }
    /// Looks for the hash in the stored text of every other case.
    fn blobs_held(&self, hashes: &[String], except: &[CaseNumber]) -> Result<Vec<bool>> {
        let except: Vec<String> = except.iter().map(case_key).collect();
        let mut held = Vec::with_capacity(hashes.len());
        for h in hashes {
            let row = self.0.query_one(
                "SELECT EXISTS (SELECT 1 FROM cases WHERE NOT (number = ANY($2))
                   AND strpos(record::text, $1) > 0)",
                &[&clean(h), &except],
            )?;
            held.push(row.get::<_, bool>(0));
        }
        Ok(held)
    }
}
