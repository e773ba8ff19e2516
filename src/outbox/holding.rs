//! What the outbox worker does with its claims ([`super::claims`]): takes them (reading the
//! chats' rows again), follows the notices of rows other processes queued, renews them on
//! each tick and lets go of the idle ones.

use super::Outbox;
use super::claims::Claims;
use super::queues::Queues;
use crate::message::Identity;
use crate::store::OutboxNotice;
use std::collections::{BTreeSet, HashSet};

impl Outbox {
    /// Takes the claims of the chats among `chats` not held yet (`all`: renews those held
    /// too). On a shared store the rows of the chats taken are read again after taking them
    /// (what was read before may have been sent by the process that held them, and another
    /// process may have queued more) and those not held yet are queued at once (a
    /// database's commit is durable); returns those chats, whose rows read before the claim
    /// the caller drops.
    pub(super) fn take_claims<'a>(
        &self,
        q: &mut Queues,
        claims: &mut Claims,
        chats: impl Iterator<Item = &'a Identity>,
        all: bool,
    ) -> crate::store::Result<HashSet<Identity>> {
        let want: BTreeSet<&Identity> = chats.filter(|w| all || !claims.holds(w)).collect();
        if want.is_empty() {
            return Ok(HashSet::new());
        }
        let taken = claims.take(&self.feed.store, want.into_iter().cloned().collect())?;
        let Some(rows) = taken.rows else {
            return Ok(HashSet::new());
        };
        for row in rows {
            if !taken.chats.contains(&row.msg.to) || q.known.contains(&row.id) {
                continue;
            }
            q.scanned = Some(q.scanned.map_or(row.id, |h| h.max(row.id)));
            q.known.insert(row.id);
            q.enqueue(row);
        }
        Ok(taken.chats)
    }

    /// Rows another process queued (`first` and the notices waiting behind it, taken
    /// together): the chats among them held here, or let go of lately, are read at once (their
    /// claims taken or renewed, which reads their rows). Returns `false` when the whole queue
    /// must be read again (notices were missed, or the read failed).
    pub(super) fn noticed(
        &self,
        q: &mut Queues,
        claims: &mut Claims,
        first: OutboxNotice,
        rx: &mut tokio::sync::mpsc::Receiver<OutboxNotice>,
    ) -> bool {
        let mut tags = HashSet::new();
        let mut next = Some(first);
        while let Some(n) = next {
            match n {
                OutboxNotice::Queued(t) => tags.extend(t),
                OutboxNotice::Missed => return false,
            }
            next = rx.try_recv().ok();
        }
        let chats = claims.tagged(&tags);
        if chats.is_empty() {
            return true;
        }
        match self.take_claims(q, claims, chats.iter(), true) {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read the rows queued elsewhere; reading the store again");
                false
            }
        }
    }

    /// Every [`CLAIM_RENEW`](super::claims::CLAIM_RENEW): renews the claims held, forgets the
    /// rows of chats whose claim was lost (a scan reads them again if it comes back), lets go
    /// of chats with nothing left to send. Returns whether to read the store again: on a shared store, always.
    pub(super) fn claims_tick(&self, q: &mut Queues, claims: &mut Claims) -> bool {
        claims.renew(&self.feed.store);
        let unheld: Vec<Identity> = q
            .chats
            .keys()
            .filter(|w| !claims.holds(w))
            .cloned()
            .collect();
        for who in &unheld {
            q.forget_chat(who);
        }
        self.release_idle(q, claims, claims.chats());
        self.feed.store.shared()
    }

    /// Lets go of the claims of those of `chats` with nothing left to send, so that another
    /// process queueing a row for them sends it at once.
    pub(super) fn release_idle(&self, q: &Queues, claims: &mut Claims, chats: Vec<Identity>) {
        let idle = chats
            .into_iter()
            .filter(|w| claims.holds(w) && q.idle(w))
            .collect();
        claims.release(&self.feed.store, idle);
    }
}
