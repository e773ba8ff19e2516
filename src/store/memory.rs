//! An in-memory store for tests: the same contract as the sled store, nothing on disk.

use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Default, Clone)]
struct State {
    sessions: BTreeMap<Identity, Conversation>,
    guests: BTreeMap<String, Guest>,
    guest_ids: BTreeMap<Identity, String>,
    cases: BTreeMap<CaseNumber, Case>,
    open: BTreeSet<CaseNumber>,
    counters: BTreeMap<(Service, i32), u64>,
    dedupe: BTreeSet<DedupeKey>,
    visits: Vec<Visit>,
    ratings: Vec<Rating>,
    appointments: Vec<Appointment>,
    blobs: BTreeMap<String, Vec<u8>>,
    queues: BTreeMap<String, u64>,
}

/// Cases sorted oldest first (then by number), as the store contract lists them.
fn oldest_first(mut v: Vec<Case>) -> Vec<Case> {
    v.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.number.cmp(&b.number))
    });
    v
}

/// A store held in memory; a commit is applied to a copy and swapped in, so it is atomic.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T> {
        let s = self
            .state
            .lock()
            .map_err(|_| StoreError::Engine("memory store poisoned".into()))?;
        Ok(f(&s))
    }
}

impl Store for MemoryStore {
    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        self.read(|s| s.dedupe.contains(key))
    }

    fn session(&self, who: &Identity) -> Result<Option<Conversation>> {
        self.read(|s| s.sessions.get(who).cloned())
    }

    fn guest_of(&self, who: &Identity) -> Result<Option<Guest>> {
        self.read(|s| {
            s.guest_ids
                .get(who)
                .and_then(|id| s.guests.get(id))
                .cloned()
        })
    }

    fn case(&self, number: &CaseNumber) -> Result<Option<Case>> {
        self.read(|s| s.cases.get(number).cloned())
    }

    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>> {
        self.read(|s| {
            let mut v: Vec<Case> = s
                .cases
                .values()
                .filter(|c| c.guest_id == guest_id)
                .cloned()
                .collect();
            v.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then(b.number.cmp(&a.number))
            });
            v
        })
    }

    fn open_cases(&self) -> Result<Vec<Case>> {
        self.read(|s| {
            oldest_first(
                s.open
                    .iter()
                    .filter_map(|n| s.cases.get(n))
                    .cloned()
                    .collect(),
            )
        })
    }

    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>> {
        self.read(|s| {
            oldest_first(
                s.cases
                    .values()
                    .filter(|c| c.created_at >= from && c.created_at < to)
                    .cloned()
                    .collect(),
            )
        })
    }

    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)> {
        self.read(|s| {
            (
                s.queues.get(&key.issued_key()).copied().unwrap_or(0),
                s.queues.get(&key.called_key()).copied().unwrap_or(0),
            )
        })
    }

    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>> {
        self.read(|s| {
            s.cases
                .values()
                .filter(|c| c.number.service == Service::Rek && stages.contains(&c.stage.as_str()))
                .cloned()
                .collect()
        })
    }

    fn visits(&self) -> Result<Vec<Visit>> {
        self.read(|s| {
            let mut v = s.visits.clone();
            v.sort_by_key(|x| x.at);
            v
        })
    }

    fn ratings(&self) -> Result<Vec<Rating>> {
        self.read(|s| {
            let mut v = s.ratings.clone();
            v.sort_by_key(|x| x.at);
            v
        })
    }

    fn appointments(&self) -> Result<Vec<Appointment>> {
        self.read(|s| {
            let mut v = s.appointments.clone();
            v.sort_by_key(|x| x.at);
            v
        })
    }

    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.read(|s| s.blobs.get(hash).cloned())
    }

    fn commit(&self, c: Commit) -> Result<Committed> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| StoreError::Engine("memory store poisoned".into()))?;
        if guard.dedupe.contains(&c.dedupe) {
            return Ok(Committed::Duplicate);
        }
        let mut s = guard.clone();
        s.dedupe.insert(c.dedupe.clone());
        s.sessions.insert(c.who.clone(), c.session.clone());
        let mut guest_id = s.guest_ids.get(&c.who).cloned();
        if let Some(u) = &c.guest {
            let existing = guest_id.as_ref().and_then(|id| s.guests.get(id)).cloned();
            let g = merged_guest(existing, &c, u);
            s.guest_ids.insert(c.who.clone(), g.id.clone());
            guest_id = Some(g.id.clone());
            s.guests.insert(g.id.clone(), g);
        }
        let mut created = None;
        if let Some(new) = &c.new_case {
            let seq = s.counters.entry((new.service, new.year)).or_insert(0);
            *seq += 1;
            let number = CaseNumber {
                service: new.service,
                year: new.year,
                seq: *seq,
            };
            let gid = guest_id.clone().unwrap_or_else(|| Guest::id_for(&c.who));
            s.cases
                .insert(number.clone(), build_case(&c, new, number.clone(), gid));
            s.open.insert(number.clone());
            created = Some(number);
        }
        for (number, event) in &c.case_events {
            let case = s
                .cases
                .get_mut(number)
                .ok_or_else(|| StoreError::NoSuchCase(number.to_string()))?;
            case.history.push(event.clone());
            case.version += 1;
        }
        for updated in &c.case_updates {
            let stored = s
                .cases
                .get(&updated.number)
                .ok_or_else(|| StoreError::NoSuchCase(updated.number.to_string()))?;
            if stored.version + 1 != updated.version {
                return Err(StoreError::Conflict(updated.number.to_string()));
            }
            if updated.open {
                s.open.insert(updated.number.clone());
            } else {
                s.open.remove(&updated.number);
            }
            s.cases.insert(updated.number.clone(), updated.clone());
        }
        let mut ticket = None;
        if let Some(q) = &c.ticket {
            let called = s.queues.get(&q.called_key()).copied().unwrap_or(0);
            let issued = s.queues.entry(q.issued_key()).or_insert(0);
            *issued += 1;
            ticket = Some(Ticket {
                number: *issued,
                ahead: issued.saturating_sub(called + 1),
            });
        }
        let mut called = None;
        if let Some(q) = &c.call_next {
            let issued = s.queues.get(&q.issued_key()).copied().unwrap_or(0);
            let done = s.queues.entry(q.called_key()).or_insert(0);
            if *done < issued {
                *done += 1;
                called = Some(*done);
            }
        }
        s.visits.extend(c.visit.clone());
        s.ratings.extend(c.rating.clone());
        s.appointments.extend(c.appointment.clone());
        for (h, b) in &c.blobs {
            s.blobs.insert(h.clone(), b.clone());
        }
        *guard = s;
        Ok(Committed::Applied(Applied {
            case: created,
            ticket,
            called,
        }))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}
