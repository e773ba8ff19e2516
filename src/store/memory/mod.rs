//! An in-memory store for tests: the same contracts as the sled store, nothing on disk. A
//! commit is applied by the one [`super::apply`] to a copy of the state, which replaces the
//! state only when the whole commit applied: that is its transaction (`memory/tx.rs`).

mod reads;
mod tx;

use super::apply::{self, Counter};
use super::erase;
use super::records::{FailedRecord, OutboxRow, SentRecord, Timer, WebLogEntry, WebSession};
use super::{AuditEntry, Commit, CommitStore, Committed, DedupeKey, Followups, Result, StoreError};
use crate::cases::{Case, CaseNumber};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// Everything the store holds.
#[derive(Default, Clone)]
struct State {
    sessions: BTreeMap<Identity, Conversation>,
    guests: BTreeMap<String, Guest>,
    guest_ids: BTreeMap<Identity, String>,
    cases: BTreeMap<CaseNumber, Case>,
    open: BTreeSet<CaseNumber>,
    /// Case numbers and walk-in queue numbers.
    counters: BTreeMap<Counter, u64>,
    /// Dedupe key → when the message was handled.
    dedupe: BTreeMap<DedupeKey, DateTime<Utc>>,
    visits: Vec<Visit>,
    ratings: Vec<Rating>,
    appointments: Vec<Appointment>,
    blobs: BTreeMap<String, Vec<u8>>,
    outbox: BTreeMap<u64, OutboxRow>,
    next_row: u64,
    sent: BTreeMap<u64, SentRecord>,
    /// (channel, provider id) → outbox id of the sent record.
    sent_refs: BTreeMap<(ChannelKind, String), u64>,
    failed: BTreeMap<u64, FailedRecord>,
    /// (due, id) → timer.
    timers: BTreeMap<(DateTime<Utc>, String), Timer>,
    web_sessions: BTreeMap<String, WebSession>,
    /// (session, sequence) → entry, and (session, key) → sequence.
    web_log: BTreeMap<(String, u64), WebLogEntry>,
    web_log_keys: BTreeMap<(String, String), u64>,
    next_web_seq: u64,
    audit: Vec<AuditEntry>,
    /// Failing addresses, lower case.
    failing: BTreeSet<Identity>,
    secrets: BTreeMap<String, [u8; 32]>,
}

impl State {
    /// Queues a message outside a commit (the officers' notice of a row given up on).
    fn queue(&mut self, key: String, at: DateTime<Utc>, msg: OutboundMessage) -> u64 {
        self.next_row += 1;
        let id = self.next_row;
        self.outbox.insert(id, OutboxRow::new(id, key, at, msg));
        id
    }
}

/// One process holds a memory store: nothing to share with others.
impl super::Coordination for MemoryStore {}

/// A store held in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Engine("memory store poisoned".into()))
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T> {
        Ok(f(&*self.lock()?))
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T> {
        Ok(f(&mut *self.lock()?))
    }
}

impl CommitStore for MemoryStore {
    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed> {
        let mut state = self.lock()?;
        if state.dedupe.contains_key(&c.dedupe) {
            return Ok(Committed::Duplicate);
        }
        let found = match &c.erase {
            Some(e) => {
                let own: Vec<CaseNumber> =
                    c.case_updates.iter().map(|u| u.number.clone()).collect();
                Some(erase::prepare(&mut *state, e, &own)?)
            }
            None => None,
        };
        let mut copy = state.clone();
        match apply::apply(&mut copy, &c, f, found.as_ref())? {
            Some(applied) => {
                *state = copy;
                Ok(Committed::Applied(applied))
            }
            None => Ok(Committed::Duplicate),
        }
    }

    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        apply::each_as_if_alone(
            items,
            |together| {
                let mut state = self.lock()?;
                let mut copy = state.clone();
                let done = apply::apply_together(&mut copy, together)?;
                *state = copy;
                Ok(done)
            },
            |c, f| self.commit_with(c, f),
        )
    }
}

/// Addresses are compared without case (e-mail addresses are, in practice).
fn failing_key(who: &Identity) -> Identity {
    Identity::new(who.channel, who.address.to_lowercase())
}
