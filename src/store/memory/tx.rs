//! The memory store's transaction: the one [`Tx`] over a copy of its state, and the
//! [`ErasureScan`] over the state itself.

use super::{State, failing_key};
use crate::cases::{Case, CaseNumber};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::apply::{Counter, Tx};
use crate::store::erase::ErasureScan;
use crate::store::records::{FailedRecord, OutboxRow, SentRecord, Timer};
use crate::store::{AuditEntry, DedupeKey, Result, StoreError};
use chrono::{DateTime, Utc};

impl Tx for State {
    type Error = StoreError;
    /// The position in the list of visits or ratings.
    type Found = usize;

    fn marked(&mut self, key: &str) -> Result<bool> {
        Ok(self.dedupe.contains_key(&DedupeKey(key.to_string())))
    }
    fn mark(&mut self, key: &DedupeKey, at: DateTime<Utc>) -> Result<()> {
        self.dedupe.insert(key.clone(), at);
        Ok(())
    }
    fn unmark(&mut self, key: &DedupeKey) -> Result<()> {
        self.dedupe.remove(key);
        Ok(())
    }

    fn put_session(&mut self, who: &Identity, session: &Conversation) -> Result<()> {
        self.sessions.insert(who.clone(), session.clone());
        Ok(())
    }
    fn remove_session(&mut self, who: &Identity) -> Result<()> {
        self.sessions.remove(who);
        Ok(())
    }

    fn guest_id_of(&mut self, who: &Identity) -> Result<Option<String>> {
        Ok(self.guest_ids.get(who).cloned())
    }
    fn guest(&mut self, id: &str) -> Result<Option<Guest>> {
        Ok(self.guests.get(id).cloned())
    }
    fn put_guest(&mut self, who: &Identity, guest: &Guest) -> Result<()> {
        self.guest_ids.insert(who.clone(), guest.id.clone());
        self.guests.insert(guest.id.clone(), guest.clone());
        Ok(())
    }
    fn unlink_guest(&mut self, who: &Identity) -> Result<()> {
        self.guest_ids.remove(who);
        Ok(())
    }
    fn remove_guest(&mut self, id: &str) -> Result<()> {
        self.guests.remove(id);
        Ok(())
    }
    fn add_visit(&mut self, visit: &Visit, _: &DedupeKey) -> Result<()> {
        self.visits.push(visit.clone());
        Ok(())
    }
    fn put_visit(&mut self, at: &usize, visit: &Visit) -> Result<()> {
        if let Some(v) = self.visits.get_mut(*at) {
            *v = visit.clone();
        }
        Ok(())
    }
    fn add_rating(&mut self, rating: &Rating, _: &DedupeKey) -> Result<()> {
        self.ratings.push(rating.clone());
        Ok(())
    }
    fn put_rating(&mut self, at: &usize, rating: &Rating) -> Result<()> {
        if let Some(r) = self.ratings.get_mut(*at) {
            *r = rating.clone();
        }
        Ok(())
    }
    fn add_appointment(&mut self, a: &Appointment) -> Result<()> {
        self.appointments.push(a.clone());
        Ok(())
    }
    fn remove_appointment(&mut self, a: &Appointment) -> Result<()> {
        self.appointments.retain(|x| x != a);
        Ok(())
    }
    fn set_failing(&mut self, who: &Identity, since: Option<DateTime<Utc>>) -> Result<()> {
        if since.is_some() {
            self.failing.insert(failing_key(who));
        } else {
            self.failing.remove(&failing_key(who));
        }
        Ok(())
    }

    fn counter(&mut self, c: &Counter) -> Result<u64> {
        Ok(self.counters.get(c).copied().unwrap_or(0))
    }
    fn set_counter(&mut self, c: &Counter, value: u64) -> Result<()> {
        self.counters.insert(c.clone(), value);
        Ok(())
    }
    fn case(&mut self, number: &CaseNumber) -> Result<Option<Case>> {
        Ok(self.cases.get(number).cloned())
    }
    fn create_case(&mut self, case: &Case) -> Result<()> {
        self.cases.insert(case.number.clone(), case.clone());
        self.open.insert(case.number.clone());
        Ok(())
    }
    fn put_case(&mut self, case: &Case) -> Result<()> {
        self.cases.insert(case.number.clone(), case.clone());
        Ok(())
    }
    fn set_open(&mut self, number: &CaseNumber, open: bool) -> Result<()> {
        if open {
            self.open.insert(number.clone());
        } else {
            self.open.remove(number);
        }
        Ok(())
    }
    /// A guest's cases are found by the cases' own guest ids: there is no link to forget.
    fn unlink_case(&mut self, _: &str, _: &CaseNumber) -> Result<()> {
        Ok(())
    }

    fn put_blob(&mut self, hash: &str, bytes: &[u8]) -> Result<()> {
        self.blobs.insert(hash.to_string(), bytes.to_vec());
        Ok(())
    }
    fn remove_blob(&mut self, hash: &str) -> Result<()> {
        self.blobs.remove(hash);
        Ok(())
    }

    fn next_row_id(&mut self) -> Result<u64> {
        self.next_row += 1;
        Ok(self.next_row)
    }
    fn put_row(&mut self, row: &OutboxRow) -> Result<()> {
        self.outbox.insert(row.id, row.clone());
        Ok(())
    }
    fn remove_row(&mut self, id: u64) -> Result<()> {
        self.outbox.remove(&id);
        Ok(())
    }
    fn put_sent(&mut self, rec: &SentRecord) -> Result<()> {
        self.sent.insert(rec.id, rec.clone());
        Ok(())
    }
    fn remove_sent(&mut self, rec: &SentRecord) -> Result<()> {
        self.sent.remove(&rec.id);
        for r in rec.refs() {
            self.sent_refs.remove(&(rec.to.channel, r.to_string()));
        }
        Ok(())
    }
    fn remove_failed(&mut self, id: u64) -> Result<()> {
        self.failed.remove(&id);
        Ok(())
    }

    fn replace_timers(&mut self, owner: &str, timers: &[&Timer]) -> Result<()> {
        self.timers.retain(|_, t| t.owner != owner);
        for t in timers {
            self.timers.insert((t.due, t.id.clone()), (*t).clone());
        }
        Ok(())
    }
    fn remove_timer(&mut self, timer: &Timer) -> Result<()> {
        self.timers.remove(&(timer.due, timer.id.clone()));
        Ok(())
    }

    fn add_audit(&mut self, entry: &AuditEntry, _: &DedupeKey) -> Result<()> {
        self.audit.push(entry.clone());
        Ok(())
    }
}

impl ErasureScan for State {
    type Found = usize;

    fn erase_web_log(&mut self, session: &str) -> Result<()> {
        self.web_log.retain(|(s, _), _| s != session);
        self.web_log_keys.retain(|(s, _), _| s != session);
        Ok(())
    }
    fn visits_where(&self, keep: &dyn Fn(&Visit) -> bool) -> Result<Vec<(usize, Visit)>> {
        Ok(found(&self.visits, keep))
    }
    fn ratings_where(&self, keep: &dyn Fn(&Rating) -> bool) -> Result<Vec<(usize, Rating)>> {
        Ok(found(&self.ratings, keep))
    }
    fn appointments_where(&self, keep: &dyn Fn(&Appointment) -> bool) -> Result<Vec<Appointment>> {
        Ok(self
            .appointments
            .iter()
            .filter(|a| keep(a))
            .cloned()
            .collect())
    }
    fn rows_where(&self, keep: &dyn Fn(&OutboxRow) -> bool) -> Result<Vec<u64>> {
        Ok(self
            .outbox
            .values()
            .filter(|r| keep(r))
            .map(|r| r.id)
            .collect())
    }
    fn sent_where(&self, keep: &dyn Fn(&SentRecord) -> bool) -> Result<Vec<SentRecord>> {
        Ok(self.sent.values().filter(|r| keep(r)).cloned().collect())
    }
    fn failed_where(&self, keep: &dyn Fn(&FailedRecord) -> bool) -> Result<Vec<u64>> {
        Ok(self
            .failed
            .iter()
            .filter(|(_, r)| keep(r))
            .map(|(id, _)| *id)
            .collect())
    }
    fn timer_owners_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut owners: Vec<String> = self
            .timers
            .values()
            .filter(|t| keep(&t.owner))
            .map(|t| t.owner.clone())
            .collect();
        owners.sort();
        owners.dedup();
        Ok(owners)
    }
    fn marks_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<DedupeKey>> {
        Ok(self.dedupe.keys().filter(|k| keep(&k.0)).cloned().collect())
    }
    fn guest_links(&self, guest_id: &str) -> Result<Vec<Identity>> {
        Ok(self
            .guest_ids
            .iter()
            .filter(|(_, id)| *id == guest_id)
            .map(|(who, _)| who.clone())
            .collect())
    }
    fn case_links(&self, _: &str) -> Result<Vec<CaseNumber>> {
        Ok(Vec::new())
    }
    fn blobs_held(&self, hashes: &[String], except: &[CaseNumber]) -> Result<Vec<bool>> {
        let others: Vec<&Case> = self
            .cases
            .values()
            .filter(|c| !except.contains(&c.number))
            .collect();
        Ok(hashes
            .iter()
            .map(|h| {
                others
                    .iter()
                    .any(|c| c.attachments.iter().any(|a| a.blob == *h))
            })
            .collect())
    }
}

/// The records `keep` accepts, with their positions.
fn found<T: Clone>(all: &[T], keep: &dyn Fn(&T) -> bool) -> Vec<(usize, T)> {
    all.iter()
        .enumerate()
        .filter(|(_, x)| keep(x))
        .map(|(i, x)| (i, x.clone()))
        .collect()
}
