//! The one apply of a [`Commit`], written once above the engines over a narrow transactional
//! interface ([`Tx`]) so memory, sled and any later engine cannot apply a commit differently.
//!
//! An engine opens one transaction, hands it to [`apply`] and commits it (or, for
//! [`CommitStore::commit_many`](super::CommitStore::commit_many), hands it to
//! [`apply_together`] and falls back on [`each_as_if_alone`]). Within the transaction a commit
//! writes, in this order:
//!
//! 1. its dedupe mark (a commit whose mark exists changes nothing: a duplicate);
//! 2. the sender's conversation;
//! 3. the guest book save, merged into the guest registered from the sender;
//! 4. the new case, numbered by its service's counter for the year, with its indexes;
//! 5. the whole-case writes, each carrying the stored version + 1 (else a conflict);
//! 6. the walk-in queue: a ticket issued, the next number called;
//! 7. the case events, appended to the cases as stored (each bumps the version);
//! 8. the visit, the rating, the appointment, the files, the failing-address mark;
//! 9. the follow-up messages as outbox rows, numbered by the engine, in order;
//! 10. the timers: the commit's own sets, then each written case's reminders, leaving out
//!     those already fired;
//! 11. the fired timer's removal, the audit entries;
//! 12. the erasure ([`super::erase`]), last, so it also reaches what this commit wrote.
//!
//! A refused commit (no such case, a conflict, a corrupt record) returns an error and the
//! engine drops the transaction: nothing of it is written.

use super::commit::{
    Applied, AuditEntry, Commit, Committed, DedupeKey, Followups, GuestUpdate, NewCase, QueueKey,
    Ticket,
};
use super::erase::{self, ErasureFinds};
use super::records::{self, OutboxRow, SentRecord, Timer};
use super::{Result, StoreError};
use crate::cases::{Case, CaseEvent, CaseNumber, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use chrono::{DateTime, Utc};

/// A counter a commit advances: the case numbers of a service and year, and the numbers
/// issued and called in a walk-in queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    /// The last case number given to a service in a year.
    CaseNumbers { service: Service, year: i32 },
    /// The last number issued in a walk-in queue.
    QueueIssued(QueueKey),
    /// The last number called in a walk-in queue.
    QueueCalled(QueueKey),
}

/// One open transaction of an engine, with typed reads and writes per kind of record: all a
/// commit needs, and nothing it does not. Every write is seen by later reads of the same
/// transaction, and is kept only if the engine commits the transaction.
///
/// Reads return `Ok(None)` (or `false`, or 0) for what is not there; a stored record that
/// cannot be read is a [`StoreError::Corrupt`].
pub trait Tx {
    /// The engine's error inside a transaction (sled's also carries its retry signal); a
    /// refusal of the commit ([`StoreError::NoSuchCase`], [`StoreError::Conflict`]) becomes
    /// one.
    type Error: From<StoreError>;
    /// Where the engine keeps a visit or a rating an erasure found (see
    /// [`super::erase::ErasureScan`]): those records carry no key of their own.
    type Found;

    /// Whether a dedupe mark (of a message, or `timer:…` of a fired timer) exists.
    fn marked(&mut self, key: &str) -> Result<bool, Self::Error>;
    /// Records that the message (or timer) `key` was handled at `at`.
    fn mark(&mut self, key: &DedupeKey, at: DateTime<Utc>) -> Result<(), Self::Error>;
    /// Forgets a dedupe mark (an erasure of the person it names).
    fn unmark(&mut self, key: &DedupeKey) -> Result<(), Self::Error>;

    /// Stores the conversation of `who` as the message leaves it.
    fn put_session(&mut self, who: &Identity, session: &Conversation) -> Result<(), Self::Error>;
    /// Forgets the conversation of `who`.
    fn remove_session(&mut self, who: &Identity) -> Result<(), Self::Error>;

    /// The id of the guest registered from `who`.
    fn guest_id_of(&mut self, who: &Identity) -> Result<Option<String>, Self::Error>;
    /// A guest as stored (an engine may keep the consent text apart; whatever it returns here
    /// it takes back in [`Tx::put_guest`]).
    fn guest(&mut self, id: &str) -> Result<Option<Guest>, Self::Error>;
    /// Stores a guest and registers it as the guest of `who`.
    fn put_guest(&mut self, who: &Identity, guest: &Guest) -> Result<(), Self::Error>;
    /// Forgets which guest `who` is.
    fn unlink_guest(&mut self, who: &Identity) -> Result<(), Self::Error>;
    /// Removes a guest record (its identities' links go by [`Tx::unlink_guest`]).
    fn remove_guest(&mut self, id: &str) -> Result<(), Self::Error>;
    /// Adds a visit recorded by the commit `by` (one visit per commit).
    fn add_visit(&mut self, visit: &Visit, by: &DedupeKey) -> Result<(), Self::Error>;
    /// Rewrites a visit an erasure found.
    fn put_visit(&mut self, at: &Self::Found, visit: &Visit) -> Result<(), Self::Error>;
    /// Adds a rating given in the commit `by` (one rating per commit).
    fn add_rating(&mut self, rating: &Rating, by: &DedupeKey) -> Result<(), Self::Error>;
    /// Rewrites a rating an erasure found.
    fn put_rating(&mut self, at: &Self::Found, rating: &Rating) -> Result<(), Self::Error>;
    /// Adds a booked visit.
    fn add_appointment(&mut self, a: &Appointment) -> Result<(), Self::Error>;
    /// Removes a booked visit (found by its time and guest).
    fn remove_appointment(&mut self, a: &Appointment) -> Result<(), Self::Error>;
    /// Marks an address failing since `since`, or (`None`) working again. Addresses compare
    /// without case.
    fn set_failing(
        &mut self,
        who: &Identity,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), Self::Error>;

    /// A counter's value (0 before its first use).
    fn counter(&mut self, c: &Counter) -> Result<u64, Self::Error>;
    /// Sets a counter.
    fn set_counter(&mut self, c: &Counter, value: u64) -> Result<(), Self::Error>;
    /// A case as stored.
    fn case(&mut self, number: &CaseNumber) -> Result<Option<Case>, Self::Error>;
    /// Stores a new case, open, with every index that finds it (by guest, by creation time).
    fn create_case(&mut self, case: &Case) -> Result<(), Self::Error>;
    /// Rewrites a stored case (the caller checked its version).
    fn put_case(&mut self, case: &Case) -> Result<(), Self::Error>;
    /// Puts a case on the open list or takes it off.
    fn set_open(&mut self, number: &CaseNumber, open: bool) -> Result<(), Self::Error>;
    /// Forgets that a case belongs to a guest (an erasure; the case itself is rewritten
    /// anonymised by the same commit).
    fn unlink_case(&mut self, guest_id: &str, number: &CaseNumber) -> Result<(), Self::Error>;

    /// Keeps an accepted file under its content hash.
    fn put_blob(&mut self, hash: &str, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Removes a file no case holds any more.
    fn remove_blob(&mut self, hash: &str) -> Result<(), Self::Error>;

    /// A new outbox row id, above every earlier one.
    fn next_row_id(&mut self) -> Result<u64, Self::Error>;
    /// Queues a row for delivery.
    fn put_row(&mut self, row: &OutboxRow) -> Result<(), Self::Error>;
    /// Takes a row off the queue.
    fn remove_row(&mut self, id: u64) -> Result<(), Self::Error>;
    /// Rewrites a delivery record (its provider ids stay registered).
    fn put_sent(&mut self, rec: &SentRecord) -> Result<(), Self::Error>;
    /// Removes a delivery record and its provider ids.
    fn remove_sent(&mut self, rec: &SentRecord) -> Result<(), Self::Error>;
    /// Removes the record of a row given up on.
    fn remove_failed(&mut self, id: u64) -> Result<(), Self::Error>;

    /// Replaces every timer of `owner` by `timers`.
    fn replace_timers(&mut self, owner: &str, timers: &[&Timer]) -> Result<(), Self::Error>;
    /// Removes one timer (the one whose firing the commit is).
    fn remove_timer(&mut self, timer: &Timer) -> Result<(), Self::Error>;

    /// Adds an audit entry recorded by the commit `by`.
    fn add_audit(&mut self, entry: &AuditEntry, by: &DedupeKey) -> Result<(), Self::Error>;
}

/// Applies one commit in the engine's transaction `t`; `None` when it is a duplicate (then
/// nothing was written). `erase` is what [`erase::prepare`] found for the commit's erasure.
pub fn apply<T: Tx>(
    t: &mut T,
    c: &Commit,
    f: &dyn Followups,
    erase: Option<&ErasureFinds<T::Found>>,
) -> Result<Option<Applied>, T::Error> {
    if t.marked(&c.dedupe.0)? {
        return Ok(None);
    }
    t.mark(&c.dedupe, c.at)?;
    if let Some(session) = &c.session {
        t.put_session(&c.who, session)?;
    }
    let guest_id = save_guest(t, c)?;
    let mut written: Vec<Case> = Vec::new();
    let created = match &c.new_case {
        Some(new) => {
            let case = create_case(t, c, new, guest_id)?;
            let number = case.number.clone();
            written.push(case);
            Some(number)
        }
        None => None,
    };
    update_cases(t, &c.case_updates, &mut written)?;
    let ticket = match &c.ticket {
        Some(q) => Some(issue_ticket(t, q)?),
        None => None,
    };
    let called = match &c.call_next {
        Some(q) => call_next(t, q)?,
        None => None,
    };
    append_events(t, &c.case_events)?;
    record_visit_and_files(t, c)?;
    let mut applied = Applied {
        case: created,
        ticket,
        called,
        ..Applied::default()
    };
    queue_messages(t, c, f, &mut applied)?;
    for set in &c.timers {
        replace_unfired(t, &set.owner, &set.timers)?;
        applied.timers_changed = true;
    }
    for case in &written {
        replace_unfired(t, &records::case_owner(&case.number), &f.case_timers(case))?;
        applied.timers_changed = true;
    }
    if let Some(fired) = &c.fired {
        t.remove_timer(fired)?;
    }
    for a in &c.audit {
        t.add_audit(a, &c.dedupe)?;
    }
    match (&c.erase, erase) {
        (Some(e), Some(found)) => erase::apply(t, e, found)?,
        (Some(_), None) => {
            return Err(StoreError::Engine(
                "an erasure is applied only with what its scan found".into(),
            )
            .into());
        }
        (None, _) => {}
    }
    Ok(Some(applied))
}

/// Applies commits (no erasures) one after another in one transaction, each as if alone: a
/// duplicate (also of one earlier in `items`) changes nothing; any refusal refuses them all
/// (the caller then applies each alone, see [`each_as_if_alone`]).
pub fn apply_together<T: Tx>(
    t: &mut T,
    items: &[(&Commit, &dyn Followups)],
) -> Result<Vec<Committed>, T::Error> {
    let mut out = Vec::with_capacity(items.len());
    for (c, f) in items {
        out.push(match apply(t, c, *f, None)? {
            Some(applied) => Committed::Applied(applied),
            None => Committed::Duplicate,
        });
    }
    Ok(out)
}

/// [`CommitStore::commit_many`](super::CommitStore::commit_many) for an engine that can apply
/// several commits in one transaction (`together`, see [`apply_together`]): tried first when
/// there are several and none is an erasure (an erasure scans before its transaction); when
/// one of them is refused, or the write fails, each is applied `alone`, so the others still
/// apply and each gets its own answer.
pub fn each_as_if_alone<'f>(
    items: Vec<(Commit, &'f dyn Followups)>,
    together: impl FnOnce(&[(&Commit, &'f dyn Followups)]) -> Result<Vec<Committed>>,
    mut alone: impl FnMut(Commit, &'f dyn Followups) -> Result<Committed>,
) -> Vec<Result<Committed>> {
    if items.len() >= 2 && items.iter().all(|(c, _)| c.erase.is_none()) {
        let refs: Vec<(&Commit, &dyn Followups)> = items.iter().map(|(c, f)| (c, *f)).collect();
        if let Ok(done) = together(&refs) {
            return done.into_iter().map(Ok).collect();
        }
    }
    items.into_iter().map(|(c, f)| alone(c, f)).collect()
}

/// Writes the guest book save of a commit; returns the id of the sender's guest, if any.
fn save_guest<T: Tx>(t: &mut T, c: &Commit) -> Result<Option<String>, T::Error> {
    let guest_id = t.guest_id_of(&c.who)?;
    let Some(u) = &c.guest else {
        return Ok(guest_id);
    };
    let existing = match &guest_id {
        Some(id) => t.guest(id)?,
        None => None,
    };
    let g = merged_guest(existing, c, u);
    t.put_guest(&c.who, &g)?;
    Ok(Some(g.id))
}

/// Numbers and stores the case a commit creates.
fn create_case<T: Tx>(
    t: &mut T,
    c: &Commit,
    new: &NewCase,
    guest_id: Option<String>,
) -> Result<Case, T::Error> {
    let counter = Counter::CaseNumbers {
        service: new.service,
        year: new.year,
    };
    let seq = t.counter(&counter)? + 1;
    t.set_counter(&counter, seq)?;
    let number = CaseNumber {
        service: new.service,
        year: new.year,
        seq,
    };
    let gid = guest_id.unwrap_or_else(|| Guest::id_for(&c.who));
    let case = build_case(c, new, number, gid);
    t.create_case(&case)?;
    Ok(case)
}

/// Writes whole cases, each only over the version it was read at.
fn update_cases<T: Tx>(
    t: &mut T,
    updates: &[Case],
    written: &mut Vec<Case>,
) -> Result<(), T::Error> {
    for updated in updates {
        let Some(stored) = t.case(&updated.number)? else {
            return Err(StoreError::NoSuchCase(updated.number.to_string()).into());
        };
        if stored.version + 1 != updated.version {
            return Err(StoreError::Conflict(updated.number.to_string()).into());
        }
        t.put_case(updated)?;
        t.set_open(&updated.number, updated.open)?;
        written.push(updated.clone());
    }
    Ok(())
}

/// Appends events to cases as stored, bumping their versions.
fn append_events<T: Tx>(t: &mut T, events: &[(CaseNumber, CaseEvent)]) -> Result<(), T::Error> {
    for (number, event) in events {
        let Some(mut case) = t.case(number)? else {
            return Err(StoreError::NoSuchCase(number.to_string()).into());
        };
        case.history.push(event.clone());
        case.version += 1;
        t.put_case(&case)?;
    }
    Ok(())
}

/// Issues the next number of a walk-in queue.
fn issue_ticket<T: Tx>(t: &mut T, q: &QueueKey) -> Result<Ticket, T::Error> {
    let issued_at = Counter::QueueIssued(q.clone());
    let issued = t.counter(&issued_at)? + 1;
    let called = t.counter(&Counter::QueueCalled(q.clone()))?;
    t.set_counter(&issued_at, issued)?;
    Ok(Ticket {
        number: issued,
        ahead: issued.saturating_sub(called + 1),
    })
}

/// Calls the next waiting number of a walk-in queue, if anyone waits.
fn call_next<T: Tx>(t: &mut T, q: &QueueKey) -> Result<Option<u64>, T::Error> {
    let issued = t.counter(&Counter::QueueIssued(q.clone()))?;
    let called_at = Counter::QueueCalled(q.clone());
    let done = t.counter(&called_at)?;
    if done >= issued {
        return Ok(None);
    }
    t.set_counter(&called_at, done + 1)?;
    Ok(Some(done + 1))
}

/// The guest book records and files of a commit, and its failing-address mark.
fn record_visit_and_files<T: Tx>(t: &mut T, c: &Commit) -> Result<(), T::Error> {
    if let Some(v) = &c.visit {
        t.add_visit(v, &c.dedupe)?;
    }
    if let Some(r) = &c.rating {
        t.add_rating(r, &c.dedupe)?;
    }
    if let Some(a) = &c.appointment {
        t.add_appointment(a)?;
    }
    for (hash, bytes) in &c.blobs {
        t.put_blob(hash, bytes)?;
    }
    if let Some((who, failing)) = &c.address_failing {
        t.set_failing(who, failing.then_some(c.at))?;
    }
    Ok(())
}

/// Queues the commit's follow-up messages, worded with the numbers it was given. A message
/// to a person this commit erases keeps only a masked address once handled.
fn queue_messages<T: Tx>(
    t: &mut T,
    c: &Commit,
    f: &dyn Followups,
    applied: &mut Applied,
) -> Result<(), T::Error> {
    for (i, msg) in f.messages(applied).into_iter().enumerate() {
        let id = t.next_row_id()?;
        let mut row = OutboxRow::new(id, OutboxRow::key_for(&c.dedupe.0, i), c.at, msg);
        row.forget_recipient = c
            .erase
            .as_ref()
            .is_some_and(|e| e.identities.contains(&row.msg.to));
        t.put_row(&row)?;
        applied.queued.push(id);
        applied.rows.push(row);
    }
    Ok(())
}

/// Replaces all timers of an owner, leaving out those that already fired (their firing is a
/// dedupe mark), so recomputing a case's reminders never repeats one.
pub(crate) fn replace_unfired<T: Tx>(
    t: &mut T,
    owner: &str,
    timers: &[Timer],
) -> Result<(), T::Error> {
    let mut unfired = Vec::with_capacity(timers.len());
    for timer in timers {
        if !t.marked(&timer.dedupe_id())? {
            unfired.push(timer);
        }
    }
    t.replace_timers(owner, &unfired)
}

/// Builds the case a commit creates.
fn build_case(c: &Commit, new: &NewCase, number: CaseNumber, guest_id: String) -> Case {
    Case {
        number,
        guest_id,
        origin: c.who.clone(),
        lang: new.lang.clone(),
        title: new.title.clone(),
        created_at: c.at,
        workflow: new.workflow.clone(),
        stage: new.stage.clone(),
        stage_since: c.at,
        stage_due: new.stage_due,
        overall_start: new.overall_start,
        overall_due: new.overall_due,
        stops: Vec::new(),
        assignee: None,
        open: true,
        confidential: new.confidential,
        form: new.form.clone(),
        attachments: new.attachments.clone(),
        history: vec![CaseEvent {
            at: c.at,
            actor: crate::cases::Actor::Applicant,
            kind: "submitted".into(),
            note: None,
        }],
        version: 1,
    }
}

/// Creates or updates the guest of a commit: a newer consent version (or a first text) is
/// recorded with its time; the profile and language are the latest.
pub(crate) fn merged_guest(existing: Option<Guest>, c: &Commit, u: &GuestUpdate) -> Guest {
    match existing {
        Some(mut g) => {
            g.profile = u.profile.clone();
            if g.consent_version != u.consent_version || g.consent_text.is_empty() {
                g.consent_version = u.consent_version.clone();
                g.consent_text = u.consent_text.clone();
                g.consent_at = c.at;
            }
            g.lang = u.lang.clone();
            g.updated_at = c.at;
            if !g.identities.contains(&c.who) {
                g.identities.push(c.who.clone());
            }
            g
        }
        None => Guest {
            id: Guest::id_for(&c.who),
            identities: vec![c.who.clone()],
            profile: u.profile.clone(),
            consent_version: u.consent_version.clone(),
            consent_text: u.consent_text.clone(),
            consent_at: c.at,
            lang: u.lang.clone(),
            created_at: c.at,
            updated_at: c.at,
        },
    }
}
