//! The erasure of a person's data (UU PDP), written once above the engines: what to find
//! before the commit's transaction ([`prepare`], over an engine's [`ErasureScan`]), and what
//! the transaction then changes ([`apply`], over its [`Tx`]). See [`Erasure`] for what goes.
//!
//! The scan comes first because an engine may not be able to scan inside a transaction (sled
//! cannot); the commit's own writes come before the erasure in the transaction, and the scan
//! sees none of them: a message the erasing commit queues to the person stays (see
//! [`super::apply`]).

use super::Result;
use super::apply::{Tx, replace_unfired};
use super::commit::{DedupeKey, Erasure};
use super::records::{FailedRecord, OutboxRow, SentRecord};
use crate::cases::CaseNumber;
use crate::guestbook::{Appointment, Rating, Visit};
use crate::message::{ChannelKind, Identity};

/// The reads an erasure needs before its transaction, and its one write outside it. Each
/// `…_where` returns the stored records `keep` accepts.
pub trait ErasureScan {
    /// Where a found visit or rating is kept (they carry no key of their own); the same type
    /// as the engine's [`Tx::Found`].
    type Found;

    /// Removes the conversation log of a web chat session. Done before the transaction: should
    /// the commit then fail, the copy is gone and the erasure is asked again, never the
    /// reverse.
    fn erase_web_log(&mut self, session: &str) -> Result<()>;
    /// The visits `keep` accepts, with where they are kept.
    fn visits_where(&self, keep: &dyn Fn(&Visit) -> bool) -> Result<Vec<(Self::Found, Visit)>>;
    /// The ratings `keep` accepts, with where they are kept.
    fn ratings_where(&self, keep: &dyn Fn(&Rating) -> bool) -> Result<Vec<(Self::Found, Rating)>>;
    /// The booked visits `keep` accepts.
    fn appointments_where(&self, keep: &dyn Fn(&Appointment) -> bool) -> Result<Vec<Appointment>>;
    /// The ids of the outbox rows `keep` accepts.
    fn rows_where(&self, keep: &dyn Fn(&OutboxRow) -> bool) -> Result<Vec<u64>>;
    /// The delivery records `keep` accepts.
    fn sent_where(&self, keep: &dyn Fn(&SentRecord) -> bool) -> Result<Vec<SentRecord>>;
    /// The ids of the failure records `keep` accepts.
    fn failed_where(&self, keep: &dyn Fn(&FailedRecord) -> bool) -> Result<Vec<u64>>;
    /// The owners with timers whose name `keep` accepts.
    fn timer_owners_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>>;
    /// The dedupe marks whose key `keep` accepts.
    fn marks_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<DedupeKey>>;
    /// Every identity registered as the guest `guest_id`.
    fn guest_links(&self, guest_id: &str) -> Result<Vec<Identity>>;
    /// The cases an index lists under the guest `guest_id` (an engine that finds a guest's
    /// cases by the case's own guest id has none).
    fn case_links(&self, guest_id: &str) -> Result<Vec<CaseNumber>>;
    /// For each file hash, whether a case other than `except` names it.
    fn blobs_held(&self, hashes: &[String], except: &[CaseNumber]) -> Result<Vec<bool>>;
}

/// What an erasure changes beyond the records its [`Erasure`] names directly, as found before
/// the transaction.
pub struct ErasureFinds<F> {
    /// The person's visits and ratings, anonymised, where they are kept.
    visits: Vec<(F, Visit)>,
    ratings: Vec<(F, Rating)>,
    appointments: Vec<Appointment>,
    /// Outbox rows to the person.
    rows: Vec<u64>,
    /// Delivery records of messages to the person.
    sent_to_them: Vec<SentRecord>,
    /// Delivery records of messages to others about the person's cases, without their text.
    sent_about_them: Vec<SentRecord>,
    failed: Vec<u64>,
    timer_owners: Vec<String>,
    marks: Vec<DedupeKey>,
    guest_links: Vec<Identity>,
    case_links: Vec<CaseNumber>,
    /// Files of the person's cases that no other case holds.
    blobs: Vec<String>,
}

/// Does the erasure's write outside the transaction (the web chat logs) and finds what it
/// changes. `own_cases` are the person's cases, rewritten by the same commit without their
/// files: they do not count as still holding a file.
pub fn prepare<S: ErasureScan>(
    s: &mut S,
    e: &Erasure,
    own_cases: &[CaseNumber],
) -> Result<ErasureFinds<S::Found>> {
    for who in e
        .identities
        .iter()
        .filter(|i| i.channel == ChannelKind::Web)
    {
        s.erase_web_log(&who.address)?;
    }
    let mine = |who: &Identity| e.identities.contains(who);
    let visits = s.visits_where(&|v| v.guest_id == e.guest_id)?;
    let ratings = s.ratings_where(&|r| r.guest_id.as_deref() == Some(e.guest_id.as_str()))?;
    let sent =
        s.sent_where(&|r| mine(&r.to) || r.msg.as_ref().is_some_and(|m| e.quotes_case(&m.text)))?;
    let (sent_to_them, mut sent_about_them): (Vec<_>, Vec<_>) =
        sent.into_iter().partition(|r| mine(&r.to));
    for r in &mut sent_about_them {
        r.msg = None;
    }
    let held = s.blobs_held(&e.blobs, own_cases)?;
    Ok(ErasureFinds {
        visits: visits.into_iter().map(|(k, v)| (k, e.visit(&v))).collect(),
        ratings: ratings
            .into_iter()
            .map(|(k, r)| (k, e.rating(&r)))
            .collect(),
        appointments: s.appointments_where(&|a| a.guest_id == e.guest_id)?,
        rows: s.rows_where(&|r| mine(&r.msg.to))?,
        sent_to_them,
        sent_about_them,
        failed: s.failed_where(&|r| mine(&r.row.msg.to) || e.quotes_case(&r.row.msg.text))?,
        timer_owners: s.timer_owners_where(&|owner| e.owns_timer(owner))?,
        marks: s.marks_where(&|key| e.names(key))?,
        guest_links: s.guest_links(&e.guest_id)?,
        case_links: s.case_links(&e.guest_id)?,
        blobs: e
            .blobs
            .iter()
            .zip(held)
            .filter(|(_, held)| !held)
            .map(|(h, _)| h.clone())
            .collect(),
    })
}

/// Applies an erasure inside the commit's transaction, last of the commit's writes.
pub fn apply<T: Tx>(
    t: &mut T,
    e: &Erasure,
    found: &ErasureFinds<T::Found>,
) -> Result<(), T::Error> {
    t.remove_guest(&e.guest_id)?;
    for who in &e.identities {
        t.remove_session(who)?;
        t.unlink_guest(who)?;
        t.set_failing(who, None)?;
    }
    for who in &found.guest_links {
        t.unlink_guest(who)?;
    }
    for n in &found.case_links {
        t.unlink_case(&e.guest_id, n)?;
    }
    for (at, v) in &found.visits {
        t.put_visit(at, v)?;
    }
    for (at, r) in &found.ratings {
        t.put_rating(at, r)?;
    }
    for a in &found.appointments {
        t.remove_appointment(a)?;
    }
    for id in &found.rows {
        t.remove_row(*id)?;
    }
    for rec in &found.sent_to_them {
        t.remove_sent(rec)?;
    }
    for rec in &found.sent_about_them {
        t.put_sent(rec)?;
    }
    for id in &found.failed {
        t.remove_failed(*id)?;
    }
    for owner in &found.timer_owners {
        replace_unfired(t, owner, &[])?;
    }
    for key in &found.marks {
        t.unmark(key)?;
    }
    for hash in &found.blobs {
        t.remove_blob(hash)?;
    }
    Ok(())
}
