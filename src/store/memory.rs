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
    /// Dedupe key → when the message was handled.
    dedupe: BTreeMap<DedupeKey, DateTime<Utc>>,
    visits: Vec<Visit>,
    ratings: Vec<Rating>,
    appointments: Vec<Appointment>,
    blobs: BTreeMap<String, Vec<u8>>,
    queues: BTreeMap<String, u64>,
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
    failing: BTreeSet<Identity>,
    secrets: BTreeMap<String, [u8; 32]>,
}

impl State {
    fn queue(&mut self, key: String, at: DateTime<Utc>, msg: OutboundMessage) -> u64 {
        self.next_row += 1;
        let id = self.next_row;
        self.outbox.insert(id, OutboxRow::new(id, key, at, msg));
        id
    }

    fn replace_timers(&mut self, set: &TimerSet) {
        self.timers.retain(|_, t| t.owner != set.owner);
        for t in &set.timers {
            if !self.dedupe.contains_key(&DedupeKey(t.dedupe_id())) {
                self.timers.insert((t.due, t.id.clone()), t.clone());
            }
        }
    }
}

impl State {
    /// Applies an erasure (see [`Erasure`]); rows queued by the same commit (`fresh`) stay,
    /// marked to keep only a masked recipient.
    fn erase(&mut self, e: &Erasure, fresh: &[u64]) {
        let mine = |who: &Identity| e.identities.contains(who);
        self.guests.remove(&e.guest_id);
        self.guest_ids
            .retain(|who, gid| !mine(who) && *gid != e.guest_id);
        self.sessions.retain(|who, _| !mine(who));
        for who in &e.identities {
            self.failing.remove(&failing_key(who));
        }
        // The web chat log of their sessions (what they typed and what they were told).
        let web: Vec<&str> = e
            .identities
            .iter()
            .filter(|i| i.channel == ChannelKind::Web)
            .map(|i| i.address.as_str())
            .collect();
        self.web_log
            .retain(|(session, _), _| !web.contains(&session.as_str()));
        self.web_log_keys
            .retain(|(session, _), _| !web.contains(&session.as_str()));
        for v in self.visits.iter_mut().filter(|v| v.guest_id == e.guest_id) {
            *v = e.visit(v);
        }
        for r in self
            .ratings
            .iter_mut()
            .filter(|r| r.guest_id.as_deref() == Some(e.guest_id.as_str()))
        {
            *r = e.rating(r);
        }
        self.appointments.retain(|a| a.guest_id != e.guest_id);
        self.outbox
            .retain(|id, r| !mine(&r.msg.to) || fresh.contains(id));
        for id in fresh {
            if let Some(r) = self.outbox.get_mut(id)
                && mine(&r.msg.to)
            {
                r.forget_recipient = true;
            }
        }
        self.sent.retain(|_, r| !mine(&r.to));
        for r in self.sent.values_mut() {
            if r.msg.as_ref().is_some_and(|m| e.quotes_case(&m.text)) {
                r.msg = None;
            }
        }
        let sent = &self.sent;
        self.sent_refs.retain(|_, id| sent.contains_key(id));
        self.failed
            .retain(|_, r| !mine(&r.row.msg.to) && !e.quotes_case(&r.row.msg.text));
        self.timers.retain(|_, t| !e.owns_timer(&t.owner));
        self.dedupe.retain(|k, _| !e.names(&k.0));
        for h in &e.blobs {
            let held = self
                .cases
                .values()
                .any(|c| c.attachments.iter().any(|a| a.blob == *h));
            if !held {
                self.blobs.remove(h);
            }
        }
    }
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

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| StoreError::Engine("memory store poisoned".into()))?;
        Ok(f(&mut s))
    }
}

impl Store for MemoryStore {
    fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let fresh = super::random_secret()?;
        self.write(|s| *s.secrets.entry(name.to_string()).or_insert(fresh))
    }

    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        self.read(|s| s.dedupe.contains_key(key))
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

    fn guests(&self) -> Result<Vec<Guest>> {
        self.read(|s| s.guests.values().cloned().collect())
    }

    fn guests_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Guest>> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
        self.read(|s| {
            s.guests
                .range((from, Bound::Unbounded))
                .take(limit)
                .map(|(_, g)| g.clone())
                .collect()
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

    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.read(|s| {
            let mut v = s.audit.clone();
            v.sort_by_key(|x| x.at);
            v
        })
    }

    fn address_failing(&self, who: &Identity) -> Result<bool> {
        self.read(|s| s.failing.contains(&failing_key(who)))
    }

    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| StoreError::Engine("memory store poisoned".into()))?;
        if guard.dedupe.contains_key(&c.dedupe) {
            return Ok(Committed::Duplicate);
        }
        let mut s = guard.clone();
        s.dedupe.insert(c.dedupe.clone(), c.at);
        if let Some(session) = &c.session {
            s.sessions.insert(c.who.clone(), session.clone());
        }
        let mut guest_id = s.guest_ids.get(&c.who).cloned();
        if let Some(u) = &c.guest {
            let existing = guest_id.as_ref().and_then(|id| s.guests.get(id)).cloned();
            let g = merged_guest(existing, &c, u);
            s.guest_ids.insert(c.who.clone(), g.id.clone());
            guest_id = Some(g.id.clone());
            s.guests.insert(g.id.clone(), g);
        }
        let mut created = None;
        let mut written: Vec<Case> = Vec::new();
        if let Some(new) = &c.new_case {
            let seq = s.counters.entry((new.service, new.year)).or_insert(0);
            *seq += 1;
            let number = CaseNumber {
                service: new.service,
                year: new.year,
                seq: *seq,
            };
            let gid = guest_id.clone().unwrap_or_else(|| Guest::id_for(&c.who));
            let case = build_case(&c, new, number.clone(), gid);
            written.push(case.clone());
            s.cases.insert(number.clone(), case);
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
            written.push(updated.clone());
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
        if let Some((who, failing)) = &c.address_failing {
            if *failing {
                s.failing.insert(failing_key(who));
            } else {
                s.failing.remove(&failing_key(who));
            }
        }
        let mut applied = Applied {
            case: created,
            ticket,
            called,
            ..Applied::default()
        };
        for (i, msg) in f.messages(&applied).into_iter().enumerate() {
            let id = s.queue(OutboxRow::key_for(&c.dedupe.0, i), c.at, msg);
            applied.queued.push(id);
        }
        for case in &written {
            let set = TimerSet {
                owner: records::case_owner(&case.number),
                timers: f.case_timers(case),
            };
            s.replace_timers(&set);
            applied.timers_changed = true;
        }
        for set in &c.timers {
            s.replace_timers(set);
            applied.timers_changed = true;
        }
        if let Some(t) = &c.fired {
            s.timers.remove(&(t.due, t.id.clone()));
        }
        s.audit.extend(c.audit.iter().cloned());
        if let Some(e) = &c.erase {
            s.erase(e, &applied.queued);
            s.dedupe.insert(c.dedupe.clone(), c.at);
        }
        applied.rows = applied
            .queued
            .iter()
            .filter_map(|id| s.outbox.get(id).cloned())
            .collect();
        *guard = s;
        Ok(Committed::Applied(applied))
    }

    fn prune_dedupe(
        &self,
        after: Option<&str>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<String>> {
        self.write(|s| {
            let from = match after {
                Some(a) => std::ops::Bound::Excluded(DedupeKey(a.to_string())),
                None => std::ops::Bound::Unbounded,
            };
            let page: Vec<(DedupeKey, DateTime<Utc>)> = s
                .dedupe
                .range((from, std::ops::Bound::Unbounded))
                .take(limit)
                .map(|(k, at)| (k.clone(), *at))
                .collect();
            let mut pruned = 0;
            for (k, at) in &page {
                if at < &before && !k.0.starts_with(TIMER_MARK) {
                    s.dedupe.remove(k);
                    pruned += 1;
                }
            }
            PrunePage {
                next: (page.len() == limit)
                    .then(|| page.last().map(|(k, _)| k.0.clone()))
                    .flatten(),
                pruned,
            }
        })
    }

    fn prune_sent(
        &self,
        after: Option<u64>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<u64>> {
        self.write(|s| {
            let from = after.map_or(0, |a| a.saturating_add(1));
            let mut seen = 0;
            let mut last = None;
            let mut pruned = 0;
            for (id, rec) in s.sent.range_mut(from..).take(limit) {
                if rec.at >= before {
                    return PrunePage { next: None, pruned };
                }
                seen += 1;
                last = Some(*id);
                if rec.msg.is_some() {
                    rec.msg = None;
                    pruned += 1;
                }
            }
            PrunePage {
                next: if seen == limit { last } else { None },
                pruned,
            }
        })
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>> {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        self.read(|s| {
            s.outbox
                .range(start..)
                .take(limit)
                .map(|(_, r)| r.clone())
                .collect()
        })
    }

    fn outbox_retry(&self, row: &OutboxRow) -> Result<()> {
        self.write(|s| {
            if let Some(r) = s.outbox.get_mut(&row.id) {
                *r = row.clone();
            }
        })
    }

    fn outbox_sent(&self, rec: SentRecord) -> Result<()> {
        self.write(|s| {
            s.outbox.remove(&rec.id);
            let channel = rec.to.channel;
            for r in rec.refs() {
                s.sent_refs.insert((channel, r.to_string()), rec.id);
            }
            s.sent.insert(rec.id, rec);
        })
    }

    fn outbox_failed(&self, rec: FailedRecord, notice: Option<OutboundMessage>) -> Result<()> {
        self.write(|s| {
            s.outbox.remove(&rec.row.id);
            if let Some(msg) = notice {
                s.queue(OutboxRow::failure_key(rec.row.id), rec.at, msg);
            }
            s.failed.insert(rec.row.id, rec);
        })
    }

    fn sent(&self, id: u64) -> Result<Option<SentRecord>> {
        self.read(|s| s.sent.get(&id).cloned())
    }

    fn sent_by_ref(&self, channel: ChannelKind, provider_ref: &str) -> Result<Option<SentRecord>> {
        self.read(|s| {
            s.sent_refs
                .get(&(channel, provider_ref.to_string()))
                .and_then(|id| s.sent.get(id).cloned())
        })
    }

    fn outbox_status(&self, id: u64, status: DeliveryStatus, at: DateTime<Utc>) -> Result<bool> {
        self.write(|s| match s.sent.get_mut(&id) {
            Some(rec) if status.advances(rec.status) => {
                rec.status = Some(status);
                rec.status_at = Some(at);
                true
            }
            _ => false,
        })
    }

    fn failed(&self) -> Result<Vec<FailedRecord>> {
        self.read(|s| s.failed.values().cloned().collect())
    }

    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>> {
        self.read(|s| {
            s.timers
                .values()
                .take_while(|t| t.due <= until)
                .take(limit)
                .cloned()
                .collect()
        })
    }

    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|s| s.timers.keys().next().map(|(d, _)| *d))
    }

    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>> {
        self.read(|s| {
            s.timers
                .values()
                .filter(|t| t.owner == owner)
                .cloned()
                .collect()
        })
    }

    fn drop_timer(&self, t: &Timer) -> Result<()> {
        self.write(|s| {
            s.timers.remove(&(t.due, t.id.clone()));
        })
    }

    fn web_session(&self, id: &str) -> Result<Option<WebSession>> {
        self.read(|s| s.web_sessions.get(id).cloned())
    }

    fn put_web_session(&self, session: &WebSession) -> Result<()> {
        self.write(|s| {
            s.web_sessions.insert(session.id.clone(), session.clone());
        })
    }

    fn web_log_append(&self, session: &str, key: &str, entry: &WebLogEntry) -> Result<(u64, bool)> {
        self.write(|s| {
            let k = (session.to_string(), key.to_string());
            if let Some(seq) = s.web_log_keys.get(&k) {
                return (*seq, false);
            }
            s.next_web_seq += 1;
            let seq = s.next_web_seq;
            s.web_log_keys.insert(k, seq);
            s.web_log.insert((session.to_string(), seq), entry.clone());
            (seq, true)
        })
    }

    fn web_log(&self, session: &str, after: u64, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        self.read(|s| {
            s.web_log
                .range(
                    (session.to_string(), after.saturating_add(1))
                        ..=(session.to_string(), u64::MAX),
                )
                .take(limit)
                .map(|((_, seq), e)| (*seq, e.clone()))
                .collect()
        })
    }

    fn web_log_tail(&self, session: &str, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        self.read(|s| {
            let mut v: Vec<_> = s
                .web_log
                .range((session.to_string(), 0)..=(session.to_string(), u64::MAX))
                .rev()
                .take(limit)
                .map(|((_, seq), e)| (*seq, e.clone()))
                .collect();
            v.reverse();
            v
        })
    }
}

/// Addresses are compared without case (e-mail addresses are, in practice).
fn failing_key(who: &Identity) -> Identity {
    Identity::new(who.channel, who.address.to_lowercase())
}
