//! The sled store's side of the one apply: [`SledTx`], the commit's [`Tx`] over one sled
//! transaction across every commit tree, and the mapping of its outcome.

use super::keys::{
    T_APPOINTMENTS, T_AUDIT, T_BLOBS, T_CASES, T_CASES_BY_TIME, T_CONSENTS, T_COUNTERS, T_DEDUPE,
    T_FAILED, T_FAILING, T_GUEST_CASES, T_GUEST_IDS, T_GUESTS, T_OPEN, T_OUTBOX, T_RATINGS, T_SENT,
    T_SENT_REFS, T_SESSIONS, T_TIMER_OWNERS, T_TIMERS, T_VISITS, appointment_key, case_key,
    counter_key, counter_value, enc, event_key, failing_key, guest_case_key, identity_key,
    sent_ref_key, stored_guest, time_key, timer_key,
};
use crate::cases::{Case, CaseNumber};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::apply::{Counter, Tx};
use crate::store::records::{OutboxRow, SentRecord, Timer};
use crate::store::{AuditEntry, DedupeKey, StoreError};
use ::sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// Why a transaction stopped on purpose: a duplicate (nothing to write), or a refusal.
#[derive(Debug)]
pub(super) enum Abort {
    Duplicate,
    Refused(StoreError),
}

impl From<StoreError> for ConflictableTransactionError<Abort> {
    fn from(e: StoreError) -> Self {
        ConflictableTransactionError::Abort(Abort::Refused(e))
    }
}

/// What a step inside a sled transaction returns.
pub(super) type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Abort>>;

/// The store error for a failed transaction (a duplicate, where it is an outcome rather than
/// an error, is matched by the caller first).
pub(super) fn tx_error(e: TransactionError<Abort>) -> StoreError {
    match e {
        TransactionError::Abort(Abort::Refused(e)) => e,
        TransactionError::Abort(Abort::Duplicate) => {
            StoreError::Engine("a duplicate commit where none was expected".into())
        }
        TransactionError::Storage(e) => e.into(),
    }
}

/// Maps a transaction's outcome for the delivery and timer writes (which abort only on
/// corrupt records).
pub(super) fn tx_done(
    r: std::result::Result<(), TransactionError<Abort>>,
) -> Result<(), StoreError> {
    r.map_err(tx_error)
}

/// Reads a JSON record inside a transaction.
pub(super) fn tx_get<T: DeserializeOwned>(
    t: &TransactionalTree,
    key: &[u8],
) -> TxResult<Option<T>> {
    match t.get(key)? {
        Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| {
            StoreError::Corrupt {
                key: String::from_utf8_lossy(key).into_owned(),
                reason: e.to_string(),
            }
            .into()
        }),
        None => Ok(None),
    }
}

/// Removes one timer from the due index and from its owner's list.
pub(super) fn tx_remove_timer(
    timers: &TransactionalTree,
    owners: &TransactionalTree,
    timer: &Timer,
) -> TxResult<()> {
    let k = timer_key(timer);
    timers.remove(k.as_slice())?;
    let owner = timer.owner.as_bytes();
    if let Some(mut keys) = tx_get::<Vec<Vec<u8>>>(owners, owner)? {
        keys.retain(|x| *x != k);
        if keys.is_empty() {
            owners.remove(owner)?;
        } else {
            owners.insert(owner, enc(&keys))?;
        }
    }
    Ok(())
}

/// One sled transaction over every commit tree (indexed by the `T_…` numbers of [`super::keys`]).
pub(super) struct SledTx<'t> {
    pub(super) t: &'t [TransactionalTree],
}

impl Tx for SledTx<'_> {
    type Error = ConflictableTransactionError<Abort>;
    /// The key of the visit or rating in its tree.
    type Found = Vec<u8>;

    fn marked(&mut self, key: &str) -> TxResult<bool> {
        Ok(self.t[T_DEDUPE].get(key.as_bytes())?.is_some())
    }
    fn mark(&mut self, key: &DedupeKey, at: DateTime<Utc>) -> TxResult<()> {
        self.t[T_DEDUPE].insert(key.0.as_bytes(), &time_key(at))?;
        Ok(())
    }
    fn unmark(&mut self, key: &DedupeKey) -> TxResult<()> {
        self.t[T_DEDUPE].remove(key.0.as_bytes())?;
        Ok(())
    }

    fn put_session(&mut self, who: &Identity, session: &Conversation) -> TxResult<()> {
        self.t[T_SESSIONS].insert(identity_key(who), enc(session))?;
        Ok(())
    }
    fn remove_session(&mut self, who: &Identity) -> TxResult<()> {
        self.t[T_SESSIONS].remove(identity_key(who))?;
        Ok(())
    }

    fn guest_id_of(&mut self, who: &Identity) -> TxResult<Option<String>> {
        Ok(self.t[T_GUEST_IDS]
            .get(identity_key(who))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }
    /// The guest as stored: its consent text may be a reference (see [`stored_guest`]).
    fn guest(&mut self, id: &str) -> TxResult<Option<Guest>> {
        tx_get(&self.t[T_GUESTS], id.as_bytes())
    }
    fn put_guest(&mut self, who: &Identity, g: &Guest) -> TxResult<()> {
        let (stored, text) = stored_guest(g);
        if let Some((hash, text)) = text
            && self.t[T_CONSENTS].get(hash.as_bytes())?.is_none()
        {
            self.t[T_CONSENTS].insert(hash.as_bytes(), text.as_bytes())?;
        }
        self.t[T_GUESTS].insert(g.id.as_bytes(), enc(&stored))?;
        self.t[T_GUEST_IDS].insert(identity_key(who), g.id.as_bytes())?;
        Ok(())
    }
    fn unlink_guest(&mut self, who: &Identity) -> TxResult<()> {
        self.t[T_GUEST_IDS].remove(identity_key(who))?;
        Ok(())
    }
    fn remove_guest(&mut self, id: &str) -> TxResult<()> {
        self.t[T_GUESTS].remove(id.as_bytes())?;
        Ok(())
    }
    fn add_visit(&mut self, visit: &Visit, by: &DedupeKey) -> TxResult<()> {
        self.t[T_VISITS].insert(event_key(visit.at, &by.0), enc(visit))?;
        Ok(())
    }
    fn put_visit(&mut self, at: &Vec<u8>, visit: &Visit) -> TxResult<()> {
        self.t[T_VISITS].insert(at.as_slice(), enc(visit))?;
        Ok(())
    }
    fn add_rating(&mut self, rating: &Rating, by: &DedupeKey) -> TxResult<()> {
        self.t[T_RATINGS].insert(event_key(rating.at, &by.0), enc(rating))?;
        Ok(())
    }
    fn put_rating(&mut self, at: &Vec<u8>, rating: &Rating) -> TxResult<()> {
        self.t[T_RATINGS].insert(at.as_slice(), enc(rating))?;
        Ok(())
    }
    fn add_appointment(&mut self, a: &Appointment) -> TxResult<()> {
        self.t[T_APPOINTMENTS].insert(appointment_key(a.at, &a.guest_id), enc(a))?;
        Ok(())
    }
    fn remove_appointment(&mut self, a: &Appointment) -> TxResult<()> {
        self.t[T_APPOINTMENTS].remove(appointment_key(a.at, &a.guest_id))?;
        Ok(())
    }
    fn set_failing(&mut self, who: &Identity, since: Option<DateTime<Utc>>) -> TxResult<()> {
        match since {
            Some(at) => self.t[T_FAILING].insert(failing_key(who), &time_key(at))?,
            None => self.t[T_FAILING].remove(failing_key(who))?,
        };
        Ok(())
    }

    fn counter(&mut self, c: &Counter) -> TxResult<u64> {
        Ok(counter_value(
            self.t[T_COUNTERS].get(counter_key(c).as_bytes())?,
        ))
    }
    fn set_counter(&mut self, c: &Counter, value: u64) -> TxResult<()> {
        self.t[T_COUNTERS].insert(counter_key(c).as_bytes(), &value.to_be_bytes())?;
        Ok(())
    }
    fn case(&mut self, number: &CaseNumber) -> TxResult<Option<Case>> {
        tx_get(&self.t[T_CASES], &case_key(number))
    }
    fn create_case(&mut self, case: &Case) -> TxResult<()> {
        let ck = case_key(&case.number);
        self.t[T_CASES].insert(ck.as_slice(), enc(case))?;
        self.t[T_OPEN].insert(ck.as_slice(), &[])?;
        self.t[T_GUEST_CASES].insert(guest_case_key(&case.guest_id, Some(&case.number)), &[])?;
        let mut tk = time_key(case.created_at).to_vec();
        tk.extend_from_slice(&ck);
        self.t[T_CASES_BY_TIME].insert(tk, &[])?;
        Ok(())
    }
    fn put_case(&mut self, case: &Case) -> TxResult<()> {
        self.t[T_CASES].insert(case_key(&case.number), enc(case))?;
        Ok(())
    }
    fn set_open(&mut self, number: &CaseNumber, open: bool) -> TxResult<()> {
        let ck = case_key(number);
        if open {
            self.t[T_OPEN].insert(ck, &[])?;
        } else {
            self.t[T_OPEN].remove(ck)?;
        }
        Ok(())
    }
    fn unlink_case(&mut self, guest_id: &str, number: &CaseNumber) -> TxResult<()> {
        self.t[T_GUEST_CASES].remove(guest_case_key(guest_id, Some(number)))?;
        Ok(())
    }

    fn put_blob(&mut self, hash: &str, bytes: &[u8]) -> TxResult<()> {
        self.t[T_BLOBS].insert(hash.as_bytes(), bytes)?;
        Ok(())
    }
    fn remove_blob(&mut self, hash: &str) -> TxResult<()> {
        self.t[T_BLOBS].remove(hash.as_bytes())?;
        Ok(())
    }

    fn next_row_id(&mut self) -> TxResult<u64> {
        Ok(self.t[T_OUTBOX].generate_id()?)
    }
    fn put_row(&mut self, row: &OutboxRow) -> TxResult<()> {
        self.t[T_OUTBOX].insert(&row.id.to_be_bytes(), enc(row))?;
        Ok(())
    }
    fn remove_row(&mut self, id: u64) -> TxResult<()> {
        self.t[T_OUTBOX].remove(&id.to_be_bytes())?;
        Ok(())
    }
    fn put_sent(&mut self, rec: &SentRecord) -> TxResult<()> {
        self.t[T_SENT].insert(&rec.id.to_be_bytes(), enc(rec))?;
        Ok(())
    }
    fn remove_sent(&mut self, rec: &SentRecord) -> TxResult<()> {
        self.t[T_SENT].remove(&rec.id.to_be_bytes())?;
        for r in rec.refs() {
            self.t[T_SENT_REFS].remove(sent_ref_key(rec.to.channel, r))?;
        }
        Ok(())
    }
    fn remove_failed(&mut self, id: u64) -> TxResult<()> {
        self.t[T_FAILED].remove(&id.to_be_bytes())?;
        Ok(())
    }

    /// The owner's list in `timer_owners` says which `timers` keys to remove: sled cannot scan
    /// inside a transaction. Most commits recompute the same reminders: a timer already stored
    /// as it is, and an unchanged list, are not written again (each write costs sled an
    /// insert at commit, on the one thread that applies everyone's commits).
    fn replace_timers(&mut self, owner: &str, timers: &[&Timer]) -> TxResult<()> {
        let owner = owner.as_bytes();
        let old: Vec<Vec<u8>> = tx_get(&self.t[T_TIMER_OWNERS], owner)?.unwrap_or_default();
        let mut keys = Vec::with_capacity(timers.len());
        for timer in timers {
            let k = timer_key(timer);
            let v = enc(timer);
            let stored = old.contains(&k) && self.t[T_TIMERS].get(&k)?.is_some_and(|cur| cur == v);
            if !stored {
                self.t[T_TIMERS].insert(k.as_slice(), v)?;
            }
            keys.push(k);
        }
        for k in old.iter().filter(|k| !keys.contains(k)) {
            self.t[T_TIMERS].remove(k.as_slice())?;
        }
        if keys.is_empty() {
            if !old.is_empty() {
                self.t[T_TIMER_OWNERS].remove(owner)?;
            }
        } else if keys != old {
            self.t[T_TIMER_OWNERS].insert(owner, enc(&keys))?;
        }
        Ok(())
    }
    fn remove_timer(&mut self, timer: &Timer) -> TxResult<()> {
        tx_remove_timer(&self.t[T_TIMERS], &self.t[T_TIMER_OWNERS], timer)
    }

    fn add_audit(&mut self, a: &AuditEntry, by: &DedupeKey) -> TxResult<()> {
        let salt = format!("{}/{}/{}/{}", by.0, a.officer, a.action, a.subject);
        self.t[T_AUDIT].insert(event_key(a.at, &salt), enc(a))?;
        Ok(())
    }
}
