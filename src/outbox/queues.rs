//! The rows the delivery worker holds, per chat in id order: which chats may send next
//! (round-robin, one row in flight per chat, none overtaking an older row still waiting for its
//! flush), and how rows move from staged to queued to in flight.

use crate::message::Identity;
use crate::store::OutboxRow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// The rows the worker holds: waiting per chat, staged for a flush, in flight.
#[derive(Default)]
pub(super) struct Queues {
    /// Per chat, rows waiting, in id order.
    pub(super) chats: BTreeMap<Identity, VecDeque<OutboxRow>>,
    /// Ids loaded and not finished.
    pub(super) known: HashSet<u64>,
    /// Ids read and waiting for their flush (not yet in `chats`), and the same by chat: a
    /// chat's row waits while an older row of that chat is still staged.
    pub(super) staged: HashSet<u64>,
    pub(super) staged_chats: HashMap<Identity, BTreeSet<u64>>,
    /// The highest id a store scan ever returned (not reset on reload): a row handed off
    /// with an id above it was never read, so it cannot have been sent already.
    pub(super) scanned: Option<u64>,
    /// Chats with a row in flight, and the ids in flight.
    pub(super) busy: HashSet<Identity>,
    pub(super) in_flight: HashSet<u64>,
    /// Ids sent whose delivery marks are being written (they are still in the store's queue).
    pub(super) marking: HashSet<u64>,
    pub(super) highest: Option<u64>,
    /// The chat whose row was started last: the next dispatch starts after it (round-robin),
    /// so a chat with many rows cannot keep the others waiting.
    pub(super) cursor: Option<Identity>,
}

impl Queues {
    /// Chats with a row waiting and none in flight, in round-robin order: those after the
    /// last chat served first, then from the start.
    pub(super) fn ready(&self) -> impl Iterator<Item = &Identity> + '_ {
        use std::ops::Bound::{Excluded, Unbounded};
        let (after, before) = match &self.cursor {
            None => (self.chats.range::<Identity, _>(..), None),
            Some(c) => (
                self.chats.range::<Identity, _>((Excluded(c), Unbounded)),
                Some(self.chats.range::<Identity, _>(..=c)),
            ),
        };
        after
            .chain(before.into_iter().flatten())
            .filter_map(|(who, rows)| {
                let front = rows.front()?;
                let older_staged = self
                    .staged_chats
                    .get(who)
                    .and_then(|ids| ids.first())
                    .is_some_and(|&id| id < front.id);
                (!self.busy.contains(who) && !older_staged).then_some(who)
            })
    }

    /// Notes a row read from the store, waiting for its flush.
    pub(super) fn stage(&mut self, row: &OutboxRow) {
        self.staged.insert(row.id);
        self.staged_chats
            .entry(row.msg.to.clone())
            .or_default()
            .insert(row.id);
    }

    /// Takes a row out of the staged ones; `false` if it was not staged (any more).
    pub(super) fn unstage(&mut self, row: &OutboxRow) -> bool {
        if !self.staged.remove(&row.id) {
            return false;
        }
        if let Some(ids) = self.staged_chats.get_mut(&row.msg.to) {
            ids.remove(&row.id);
            if ids.is_empty() {
                self.staged_chats.remove(&row.msg.to);
            }
        }
        true
    }

    /// Queues a row in its chat, in id order (once: a row already there is left as it is).
    pub(super) fn enqueue(&mut self, row: OutboxRow) {
        let chat = self.chats.entry(row.msg.to.clone()).or_default();
        let pos = chat.partition_point(|r| r.id < row.id);
        if chat.get(pos).is_some_and(|r| r.id == row.id) {
            return;
        }
        chat.insert(pos, row);
    }

    /// Takes the chat's next row to send: the chat is busy until it finishes, and the next
    /// round-robin pass starts after it. The chat must have a row waiting.
    pub(super) fn start(&mut self, who: Identity) -> OutboxRow {
        let row = self
            .chats
            .get_mut(&who)
            .and_then(|r| r.pop_front())
            .expect("the chat has a row waiting");
        self.busy.insert(who.clone());
        self.in_flight.insert(row.id);
        self.cursor = Some(who);
        row
    }

    /// Queues rows whose flush finished, each in its chat in id order; rows queued meanwhile
    /// by a hand-off (or forgotten by a reload) are not queued again.
    pub(super) fn queue_rows(&mut self, rows: Vec<OutboxRow>) {
        for row in rows {
            if self.unstage(&row) {
                self.enqueue(row);
            }
        }
    }

    /// Forgets rows whose flush failed (a reload reads them again), except those a hand-off
    /// queued meanwhile.
    pub(super) fn forget_staged(&mut self, rows: Vec<OutboxRow>) {
        for row in rows {
            if self.unstage(&row) {
                self.known.remove(&row.id);
            }
        }
    }

    /// Forgets the rows of `who` waiting here (its claim went to another process, which
    /// sends them now; a scan reads them again if it comes back).
    pub(super) fn forget_chat(&mut self, who: &Identity) {
        for row in self.chats.remove(who).unwrap_or_default() {
            self.known.remove(&row.id);
        }
    }

    /// `who`'s send finished: it may send again; with nothing left waiting, it is dropped.
    pub(super) fn free(&mut self, who: &Identity) {
        self.busy.remove(who);
        if self.chats.get(who).is_some_and(|rows| rows.is_empty()) {
            self.chats.remove(who);
        }
    }

    /// Forgets ids that are in none of the queues any more and chats with nothing waiting and
    /// nothing in flight. Every finished send forgets its own as it goes ([`Queues::free`]);
    /// this sweep (each claim renewal) catches whatever else left, in one pass over all.
    pub(super) fn sweep(&mut self) {
        let queued: HashSet<u64> = self
            .chats
            .values()
            .flat_map(|rows| rows.iter().map(|r| r.id))
            .collect();
        self.known.retain(|id| {
            queued.contains(id)
                || self.in_flight.contains(id)
                || self.staged.contains(id)
                || self.marking.contains(id)
        });
        let busy = &self.busy;
        self.chats
            .retain(|who, rows| !rows.is_empty() || busy.contains(who));
    }

    /// Whether `who` has nothing waiting, staged or in flight here.
    pub(super) fn idle(&self, who: &Identity) -> bool {
        !self.busy.contains(who)
            && self.chats.get(who).is_none_or(|r| r.is_empty())
            && !self.staged_chats.contains_key(who)
    }

    /// Forgets everything not in flight or being marked, for the store to be read again (after it was
    /// reopened: what it holds is the truth).
    pub(super) fn forget_unsent(&mut self) {
        self.chats.clear();
        self.known
            .retain(|id| self.in_flight.contains(id) || self.marking.contains(id));
        self.staged.clear();
        self.staged_chats.clear();
        self.highest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ChannelKind, OutboundMessage};

    fn row(id: u64, to: &Identity) -> OutboxRow {
        OutboxRow::new(
            id,
            format!("k#{id}"),
            chrono::Utc::now(),
            OutboundMessage::text(to.clone(), format!("pesan {id}")),
        )
    }

    #[test]
    fn a_chat_with_many_rows_does_not_starve_the_others() {
        // One send slot: "A" (first in key order) has 100 rows queued before "B"'s one row.
        let a = Identity::new(ChannelKind::Sms, "+6281100000001");
        let b = Identity::new(ChannelKind::Sms, "+6281100000002");
        let mut q = Queues::default();
        q.chats
            .insert(a.clone(), (1..=100).map(|id| row(id, &a)).collect());
        q.chats
            .insert(b.clone(), [row(101, &b)].into_iter().collect());
        let mut order = Vec::new();
        for _ in 0..4 {
            let who = q.ready().next().expect("a chat is ready").clone();
            let sent = q.start(who.clone());
            order.push(sent.id);
            // Delivered: the chat may send again.
            q.in_flight.remove(&sent.id);
            q.busy.remove(&who);
        }
        assert_eq!(
            order,
            vec![1, 101, 2, 3],
            "B is served right after A's first row"
        );
    }

    #[test]
    fn a_busy_chat_is_skipped_and_its_order_is_kept() {
        let a = Identity::new(ChannelKind::Sms, "+6281100000001");
        let b = Identity::new(ChannelKind::Sms, "+6281100000002");
        let c = Identity::new(ChannelKind::Sms, "+6281100000003");
        let mut q = Queues::default();
        for (who, ids) in [(&a, [1, 4]), (&b, [2, 5]), (&c, [3, 6])] {
            q.chats
                .insert(who.clone(), ids.iter().map(|id| row(*id, who)).collect());
        }
        let first = q.start(a.clone());
        assert_eq!(first.id, 1);
        // A is in flight: at most one row per chat, so only B and C are ready, B first.
        assert_eq!(q.ready().collect::<Vec<_>>(), [&b, &c]);
        let second = q.start(b.clone());
        assert_eq!(second.id, 2);
        q.busy.remove(&a);
        // After B: C, then A (wrapping round); A's next row is its second, in order.
        assert_eq!(q.ready().collect::<Vec<_>>(), [&c, &a]);
        assert_eq!(q.start(c).id, 3);
        assert_eq!(q.start(a).id, 4);
    }

    #[test]
    fn a_freed_chat_with_nothing_waiting_is_dropped_and_a_sweep_forgets_what_left() {
        let a = Identity::new(ChannelKind::Sms, "+6281100000001");
        let b = Identity::new(ChannelKind::Sms, "+6281100000002");
        let mut q = Queues::default();
        q.enqueue(row(1, &a));
        q.enqueue(row(2, &b));
        q.enqueue(row(3, &b));
        q.known.extend([1, 2, 3, 99]);
        let sent = q.start(a.clone());
        q.in_flight.remove(&sent.id);
        q.free(&a);
        assert!(!q.chats.contains_key(&a), "nothing left for A");
        assert!(q.idle(&a));
        let sent = q.start(b.clone());
        q.in_flight.remove(&sent.id);
        q.free(&b);
        assert_eq!(q.ready().collect::<Vec<_>>(), [&b], "B's second row waits");
        // 1 and 2 were sent, 99 is in no queue: a sweep forgets them; 3 is still queued.
        q.sweep();
        assert_eq!(q.known, HashSet::from([3]));
    }
}
