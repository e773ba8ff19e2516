//! The PostgreSQL store's side of the one apply: [`PgTx`], the commit's [`Tx`] over one
//! transaction, and the statements that write a record (shared with the writes outside
//! commits).
//!
//! Records read to be written again are locked for the rest of the transaction (`FOR UPDATE`,
//! or an upsert that takes the row's lock): a case, a counter, a guest. Another process's
//! commit that wants the same row waits, then reads what this one wrote — so a case write
//! over a stale version is refused ([`StoreError::Conflict`], and the runtime plans again),
//! and case numbers are given one after another without gaps (a transaction that does not
//! commit gives its number back).

use super::Conn;
use super::rows::{case_key, clean, clean_opt, event_ref, record, same_events};
use super::writes::{
    audit_ref, delete_timer, failing_key, guest_from, insert_case, write_appointment, write_audit,
    write_case_row, write_events, write_guest, write_rating, write_row, write_sent, write_session,
    write_timer, write_visit,
};
use crate::cases::{Case, CaseNumber};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::apply::{Counter, Tx};
use crate::store::records::{OutboxRow, SentRecord, Timer};
use crate::store::{AuditEntry, DedupeKey, StoreError};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use tokio_postgres::types::Json;

/// Why a transaction stopped: a duplicate (its mark is there: nothing to write), a refusal of
/// the commit, or the database (retried when it says so; see `commit.rs`).
#[derive(Debug)]
pub(super) enum Abort {
    Duplicate,
    Refused(StoreError),
    Db(tokio_postgres::Error),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Refused(e)
    }
}

impl From<tokio_postgres::Error> for Abort {
    fn from(e: tokio_postgres::Error) -> Self {
        Abort::Db(e)
    }
}

type R<T> = std::result::Result<T, Abort>;

/// One open transaction on one connection.
pub(super) struct PgTx<'c> {
    pub(super) c: &'c Conn,
    /// The cases read in this transaction as stored, so a rewrite changes only the history
    /// rows that changed.
    read: HashMap<String, Case>,
    /// The tags of the chats this transaction queued outbox rows for ([`PgTx::announce`]).
    queued: BTreeSet<u32>,
}

impl<'c> PgTx<'c> {
    pub(super) fn new(c: &'c Conn) -> Self {
        PgTx {
            c,
            read: HashMap::new(),
            queued: BTreeSet::new(),
        }
    }

    /// Announces the outbox rows this transaction queued, once for the whole transaction
    /// (`notify.rs`): delivered to the other processes if, and when, it commits. `holder`:
    /// this process, whose own listener skips the notice (its worker has the rows already).
    pub(super) fn announce(&self, holder: &str) -> R<()> {
        if !self.queued.is_empty() {
            super::notify::announce_outbox(self.c, holder, &self.queued)?;
        }
        Ok(())
    }
}

impl Tx for PgTx<'_> {
    type Error = Abort;
    /// The time and ref of the visit or rating (its primary key).
    type Found = (DateTime<Utc>, String);

    fn marked(&mut self, key: &str) -> R<bool> {
        Ok(self
            .c
            .query_opt("SELECT 1 FROM dedupe_marks WHERE key = $1", &[&clean(key)])?
            .is_some())
    }
    /// Another process that marked the same message meanwhile makes this commit a duplicate.
    fn mark(&mut self, key: &DedupeKey, at: DateTime<Utc>) -> R<()> {
        let n = self.c.execute(
            "INSERT INTO dedupe_marks (key, handled_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&clean(&key.0), &at],
        )?;
        if n == 0 {
            return Err(Abort::Duplicate);
        }
        Ok(())
    }
    fn unmark(&mut self, key: &DedupeKey) -> R<()> {
        self.c
            .execute("DELETE FROM dedupe_marks WHERE key = $1", &[&clean(&key.0)])?;
        Ok(())
    }

    fn put_session(&mut self, who: &Identity, s: &Conversation) -> R<()> {
        Ok(write_session(self.c, who, s)?)
    }
    fn remove_session(&mut self, who: &Identity) -> R<()> {
        self.c.execute(
            "DELETE FROM conversations WHERE identity = $1",
            &[&clean(&who.to_string())],
        )?;
        Ok(())
    }

    fn guest_id_of(&mut self, who: &Identity) -> R<Option<String>> {
        Ok(self
            .c
            .query_opt(
                "SELECT guest_id FROM guest_identities WHERE identity = $1",
                &[&clean(&who.to_string())],
            )?
            .map(|r| r.get(0)))
    }
    fn guest(&mut self, id: &str) -> R<Option<Guest>> {
        let row = self.c.query_opt(
            "SELECT g.record, t.text FROM guests g LEFT JOIN consent_texts t ON t.hash = g.consent_hash
             WHERE g.id = $1 FOR UPDATE OF g",
            &[&clean(id)],
        )?;
        Ok(row.map(|r| guest_from(&r)).transpose()?)
    }
    fn put_guest(&mut self, who: &Identity, g: &Guest) -> R<()> {
        Ok(write_guest(self.c, Some(who), g)?)
    }
    fn unlink_guest(&mut self, who: &Identity) -> R<()> {
        self.c.execute(
            "DELETE FROM guest_identities WHERE identity = $1",
            &[&clean(&who.to_string())],
        )?;
        Ok(())
    }
    fn remove_guest(&mut self, id: &str) -> R<()> {
        self.c
            .execute("DELETE FROM guests WHERE id = $1", &[&clean(id)])?;
        Ok(())
    }
    fn add_visit(&mut self, visit: &Visit, by: &DedupeKey) -> R<()> {
        Ok(write_visit(self.c, visit, &event_ref(&by.0))?)
    }
    fn put_visit(&mut self, at: &(DateTime<Utc>, String), visit: &Visit) -> R<()> {
        self.c.execute(
            "UPDATE visits SET guest_id = $3, name = $4, record = $5 WHERE at = $1 AND ref = $2",
            &[
                &at.0,
                &at.1,
                &clean(&visit.guest_id),
                &clean_opt(visit.name.as_deref()),
                &Json(visit),
            ],
        )?;
        Ok(())
    }
    fn add_rating(&mut self, rating: &Rating, by: &DedupeKey) -> R<()> {
        Ok(write_rating(self.c, rating, &event_ref(&by.0))?)
    }
    fn put_rating(&mut self, at: &(DateTime<Utc>, String), rating: &Rating) -> R<()> {
        self.c.execute(
            "UPDATE ratings SET guest_id = $3, comment = $4, record = $5 WHERE at = $1 AND ref = $2",
            &[
                &at.0,
                &at.1,
                &clean_opt(rating.guest_id.as_deref()),
                &clean_opt(rating.comment.as_deref()),
                &Json(rating),
            ],
        )?;
        Ok(())
    }
    fn add_appointment(&mut self, a: &Appointment) -> R<()> {
        Ok(write_appointment(self.c, a)?)
    }
    fn remove_appointment(&mut self, a: &Appointment) -> R<()> {
        self.c.execute(
            "DELETE FROM appointments WHERE at = $1 AND guest_id = $2",
            &[&a.at, &clean(&a.guest_id)],
        )?;
        Ok(())
    }
    fn set_failing(&mut self, who: &Identity, since: Option<DateTime<Utc>>) -> R<()> {
        match since {
            Some(at) => self.c.execute(
                "INSERT INTO failing_addresses (address, since) VALUES ($1, $2)
                 ON CONFLICT (address) DO UPDATE SET since = $2",
                &[&failing_key(who), &at],
            )?,
            None => self.c.execute(
                "DELETE FROM failing_addresses WHERE address = $1",
                &[&failing_key(who)],
            )?,
        };
        Ok(())
    }

    /// Takes the counter's row lock until the transaction ends (the upsert creates it at 0).
    fn counter(&mut self, c: &Counter) -> R<u64> {
        let v: i64 = match c {
            Counter::CaseNumbers { service, year } => self
                .c
                .query_one(
                    "INSERT INTO case_counters (service, year, last) VALUES ($1, $2, 0)
                     ON CONFLICT (service, year) DO UPDATE SET last = case_counters.last
                     RETURNING last",
                    &[&service.prefix(), year],
                )?
                .get(0),
            Counter::QueueIssued(q) | Counter::QueueCalled(q) => {
                let row = self.c.query_one(
                    "INSERT INTO queue_counters (letter, day) VALUES ($1, $2)
                     ON CONFLICT (letter, day) DO UPDATE SET issued = queue_counters.issued
                     RETURNING issued, called",
                    &[&q.letter.to_string(), &q.day],
                )?;
                match c {
                    Counter::QueueIssued(_) => row.get(0),
                    _ => row.get(1),
                }
            }
        };
        Ok(v as u64)
    }
    fn set_counter(&mut self, c: &Counter, value: u64) -> R<()> {
        let v = value as i64;
        match c {
            Counter::CaseNumbers { service, year } => self.c.execute(
                "INSERT INTO case_counters (service, year, last) VALUES ($1, $2, $3)
                 ON CONFLICT (service, year) DO UPDATE SET last = $3",
                &[&service.prefix(), year, &v],
            )?,
            Counter::QueueIssued(q) => self.c.execute(
                "INSERT INTO queue_counters (letter, day, issued) VALUES ($1, $2, $3)
                 ON CONFLICT (letter, day) DO UPDATE SET issued = $3",
                &[&q.letter.to_string(), &q.day, &v],
            )?,
            Counter::QueueCalled(q) => self.c.execute(
                "INSERT INTO queue_counters (letter, day, called) VALUES ($1, $2, $3)
                 ON CONFLICT (letter, day) DO UPDATE SET called = $3",
                &[&q.letter.to_string(), &q.day, &v],
            )?,
        };
        Ok(())
    }
    /// Locks the case until the transaction ends.
    fn case(&mut self, number: &CaseNumber) -> R<Option<Case>> {
        let key = case_key(number);
        let Some(row) = self.c.query_opt(
            "SELECT record FROM cases WHERE number = $1 FOR UPDATE",
            &[&key],
        )?
        else {
            return Ok(None);
        };
        let case: Case = record(&row, "record", &|| key.clone())?;
        self.read.insert(key, case.clone());
        Ok(Some(case))
    }
    fn create_case(&mut self, case: &Case) -> R<()> {
        insert_case(self.c, case)?;
        self.read.insert(case_key(&case.number), case.clone());
        Ok(())
    }
    fn put_case(&mut self, case: &Case) -> R<()> {
        let key = case_key(&case.number);
        let same = self
            .read
            .get(&key)
            .map_or(0, |stored| same_events(stored, case));
        write_case_row(self.c, case, false)?;
        write_events(self.c, case, same)?;
        self.read.insert(key, case.clone());
        Ok(())
    }
    /// The `open` column is the open list (the case's record says the same: `put_case` wrote
    /// it just before).
    fn set_open(&mut self, number: &CaseNumber, open: bool) -> R<()> {
        self.c.execute(
            "UPDATE cases SET open = $2 WHERE number = $1",
            &[&case_key(number), &open],
        )?;
        Ok(())
    }
    /// A guest's cases are found by the cases' own guest ids: there is no link to forget.
    fn unlink_case(&mut self, _: &str, _: &CaseNumber) -> R<()> {
        Ok(())
    }

    fn put_blob(&mut self, hash: &str, bytes: &[u8]) -> R<()> {
        self.c.execute(
            "INSERT INTO files (hash, size, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&clean(hash), &(bytes.len() as i64), &bytes],
        )?;
        Ok(())
    }
    fn remove_blob(&mut self, hash: &str) -> R<()> {
        self.c
            .execute("DELETE FROM files WHERE hash = $1", &[&clean(hash)])?;
        Ok(())
    }

    fn next_row_id(&mut self) -> R<u64> {
        let id: i64 = self
            .c
            .query_one("SELECT nextval('outbox_ids')", &[])?
            .get(0);
        Ok(id as u64)
    }
    fn put_row(&mut self, row: &OutboxRow) -> R<()> {
        self.queued.insert(crate::store::chat_tag(&row.msg.to));
        Ok(write_row(self.c, row)?)
    }
    fn remove_row(&mut self, id: u64) -> R<()> {
        self.c
            .execute("DELETE FROM outbox WHERE id = $1", &[&(id as i64)])?;
        Ok(())
    }
    fn put_sent(&mut self, rec: &SentRecord) -> R<()> {
        Ok(write_sent(self.c, rec)?)
    }
    fn remove_sent(&mut self, rec: &SentRecord) -> R<()> {
        self.c
            .execute("DELETE FROM outbox_sent WHERE id = $1", &[&(rec.id as i64)])?;
        let refs: Vec<String> = rec.refs().map(clean).collect();
        self.c.execute(
            "DELETE FROM sent_refs WHERE channel = $1 AND provider_ref = ANY($2)",
            &[&rec.to.channel.as_str(), &refs],
        )?;
        Ok(())
    }
    fn remove_failed(&mut self, id: u64) -> R<()> {
        self.c
            .execute("DELETE FROM outbox_failed WHERE id = $1", &[&(id as i64)])?;
        Ok(())
    }

    fn replace_timers(&mut self, owner: &str, timers: &[&Timer]) -> R<()> {
        self.c
            .execute("DELETE FROM timers WHERE owner = $1", &[&clean(owner)])?;
        for t in timers {
            write_timer(self.c, t)?;
        }
        Ok(())
    }
    fn remove_timer(&mut self, timer: &Timer) -> R<()> {
        Ok(delete_timer(self.c, timer)?)
    }

    fn add_audit(&mut self, a: &AuditEntry, by: &DedupeKey) -> R<()> {
        Ok(write_audit(self.c, a, &audit_ref(a, by))?)
    }
}
