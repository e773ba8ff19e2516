//! What the memory store answers, boundary by boundary, and its writes outside commits.

use super::{MemoryStore, failing_key};
use crate::cases::{Case, CaseNumber, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::store::apply::Counter;
use crate::store::records::{
    DeliveryStatus, FailedRecord, OutboxRow, SentRecord, Timer, WebLogEntry, WebSession,
};
use crate::store::{
    AuditEntry, AuditStore, BlobStore, CaseStore, ConversationStore, DedupeKey, GuestStore,
    OutboxStore, PrunePage, QueueKey, Result, StoreMaintenance, TIMER_MARK, TimerStore,
    WebChatStore,
};
use chrono::{DateTime, Utc};

impl ConversationStore for MemoryStore {
    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        self.read(|s| s.dedupe.contains_key(key))
    }

    fn session(&self, who: &Identity) -> Result<Option<Conversation>> {
        self.read(|s| s.sessions.get(who).cloned())
    }
}

impl GuestStore for MemoryStore {
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
}

impl CaseStore for MemoryStore {
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

    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>> {
        self.read(|s| {
            s.cases
                .values()
                .filter(|c| c.number.service == Service::Rek && stages.contains(&c.stage.as_str()))
                .cloned()
                .collect()
        })
    }

    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)> {
        self.read(|s| {
            let count = |c: Counter| s.counters.get(&c).copied().unwrap_or(0);
            (
                count(Counter::QueueIssued(key.clone())),
                count(Counter::QueueCalled(key.clone())),
            )
        })
    }
}

impl OutboxStore for MemoryStore {
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

    fn address_failing(&self, who: &Identity) -> Result<bool> {
        self.read(|s| s.failing.contains(&failing_key(who)))
    }
}

impl TimerStore for MemoryStore {
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
}

impl WebChatStore for MemoryStore {
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

impl AuditStore for MemoryStore {
    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.read(|s| {
            let mut v = s.audit.clone();
            v.sort_by_key(|x| x.at);
            v
        })
    }
}

impl BlobStore for MemoryStore {
    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.read(|s| s.blobs.get(hash).cloned())
    }
}

impl StoreMaintenance for MemoryStore {
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn may_wait(&self) -> bool {
        false
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

    fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let fresh = crate::store::random_secret()?;
        self.write(|s| *s.secrets.entry(name.to_string()).or_insert(fresh))
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
