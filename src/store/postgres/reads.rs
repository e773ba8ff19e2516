//! What the PostgreSQL store answers about conversations, guests, cases, the audit log and
//! files.

use super::PgStore;
use super::rows::{bound, case_key, clean, record};
use super::writes::guest_from;
use crate::cases::{Case, CaseNumber, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::{
    AuditEntry, AuditStore, BlobStore, CaseStore, ConversationStore, DedupeKey, GuestStore,
    QueueKey, Result,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// The guest columns every guest read selects (the consent text joined in).
const GUEST: &str =
    "SELECT g.record, t.text FROM guests g LEFT JOIN consent_texts t ON t.hash = g.consent_hash";

impl PgStore {
    /// The `record` column of every row of a query.
    pub(super) fn records<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[super::Param<'_>],
    ) -> Result<Vec<T>> {
        self.conn()?
            .query(sql, params)?
            .iter()
            .map(|r| record(r, "record", &|| sql.to_string()))
            .collect()
    }

    /// The `record` column of the row of a query, if any.
    pub(super) fn record_of<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[super::Param<'_>],
    ) -> Result<Option<T>> {
        self.conn()?
            .query_opt(sql, params)?
            .map(|r| record(&r, "record", &|| sql.to_string()))
            .transpose()
    }

    fn guests_of(&self, sql: &str, params: &[super::Param<'_>]) -> Result<Vec<Guest>> {
        self.conn()?
            .query(sql, params)?
            .iter()
            .map(guest_from)
            .collect()
    }
}

impl ConversationStore for PgStore {
    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT 1 FROM dedupe_marks WHERE key = $1",
                &[&clean(&key.0)],
            )?
            .is_some())
    }

    fn session(&self, who: &Identity) -> Result<Option<Conversation>> {
        self.record_of(
            "SELECT record FROM conversations WHERE identity = $1",
            &[&clean(&who.to_string())],
        )
    }
}

impl GuestStore for PgStore {
    fn guest_of(&self, who: &Identity) -> Result<Option<Guest>> {
        let sql =
            format!("{GUEST} JOIN guest_identities i ON i.guest_id = g.id WHERE i.identity = $1");
        Ok(self
            .guests_of(&sql, &[&clean(&who.to_string())])?
            .into_iter()
            .next())
    }

    /// Every notification asks this: the `email` column, no record decoded.
    fn email_of(&self, who: &Identity) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT g.email FROM guest_identities i JOIN guests g ON g.id = i.guest_id
                 WHERE i.identity = $1",
                &[&clean(&who.to_string())],
            )?
            .and_then(|r| r.get::<_, Option<String>>(0)))
    }

    fn guests(&self) -> Result<Vec<Guest>> {
        self.guests_of(&format!("{GUEST} ORDER BY g.id"), &[])
    }

    fn guests_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Guest>> {
        let sql = format!("{GUEST} WHERE $1::text IS NULL OR g.id > $1 ORDER BY g.id LIMIT $2");
        self.guests_of(&sql, &[&after.map(clean), &super::rows::limit(limit)])
    }

    fn visits(&self) -> Result<Vec<Visit>> {
        self.records("SELECT record FROM visits ORDER BY at, ref", &[])
    }

    fn ratings(&self) -> Result<Vec<Rating>> {
        self.records("SELECT record FROM ratings ORDER BY at, ref", &[])
    }

    fn appointments(&self) -> Result<Vec<Appointment>> {
        self.records("SELECT record FROM appointments ORDER BY at, guest_id", &[])
    }
}

impl CaseStore for PgStore {
    fn case(&self, number: &CaseNumber) -> Result<Option<Case>> {
        self.record_of(
            "SELECT record FROM cases WHERE number = $1",
            &[&case_key(number)],
        )
    }

    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>> {
        let mut out: Vec<Case> = self.records(
            "SELECT record FROM cases WHERE guest_id = $1",
            &[&clean(guest_id)],
        )?;
        out.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.number.cmp(&a.number))
        });
        Ok(out)
    }

    fn open_cases(&self) -> Result<Vec<Case>> {
        let mut out: Vec<Case> = self.records("SELECT record FROM cases WHERE open", &[])?;
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.number.cmp(&b.number))
        });
        Ok(out)
    }

    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>> {
        self.records(
            "SELECT record FROM cases WHERE created_at >= $1 AND created_at < $2
             ORDER BY created_at, number",
            &[&bound(from), &bound(to)],
        )
    }

    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>> {
        let stages: Vec<String> = stages.iter().map(|s| clean(s)).collect();
        self.records(
            "SELECT record FROM cases WHERE service = $1 AND stage = ANY($2) ORDER BY number",
            &[&Service::Rek.prefix(), &stages],
        )
    }

    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)> {
        let row = self.conn()?.query_opt(
            "SELECT issued, called FROM queue_counters WHERE letter = $1 AND day = $2",
            &[&key.letter.to_string(), &key.day],
        )?;
        Ok(row.map_or((0, 0), |r| {
            (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64)
        }))
    }
}

impl AuditStore for PgStore {
    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.records("SELECT record FROM audit_log ORDER BY at, ref", &[])
    }
}

impl BlobStore for PgStore {
    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()?
            .query_opt("SELECT bytes FROM files WHERE hash = $1", &[&clean(hash)])?
            .map(|r| r.get(0)))
    }
}
