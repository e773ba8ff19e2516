//! The chats this process may send for: its outbox claims ([`Coordination::outbox_claim`]).
//!
//! On a store of one process every claim is granted and nothing changes. On a database that
//! several `pstbot serve` processes share, a chat's rows are sent only by the process that
//! holds the chat's claim: it takes the claim before it queues the chat's rows (and reads
//! them again after taking it), renews it every [`CLAIM_RENEW`] while it holds it, lets go
//! of it as soon as the chat has nothing left to send, and starts a send only while the
//! claim has at least [`START_MARGIN`] left by its own clock (counted from before the
//! request that renewed it). A process that dies leaves its chats when their claims lapse,
//! [`CLAIM_TTL`] after its last renewal; the others look at the queue every [`CLAIM_RENEW`],
//! so they take over within `CLAIM_TTL + CLAIM_RENEW` (8 s).
//!
//! A row another process queues for a chat held here is announced
//! ([`Coordination::watch_outbox`]): the holder reads that chat's rows at once (renewing its
//! claim, [`Claims::tagged`]) rather than at its next read of the queue; the read every
//! [`CLAIM_RENEW`] stays, for notices lost with a listening connection.
//!
//! [`Coordination::watch_outbox`]: crate::store::Coordination::watch_outbox
//!
//! [`Coordination::outbox_claim`]: crate::store::Coordination::outbox_claim

use crate::message::Identity;
use crate::store::{OutboxRow, Store};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a claim lasts unless renewed.
pub(super) const CLAIM_TTL: Duration = Duration::from_millis(6000);
/// How often claims are renewed (and, on a shared store, the queue read again).
pub(super) const CLAIM_RENEW: Duration = Duration::from_millis(1500);
/// How long a chat let go of is still matched against the notices of rows queued elsewhere:
/// such a notice comes within milliseconds of the commit it announces.
const RELEASED_KEPT: Duration = Duration::from_millis(1000);
/// A send starts only while its chat's claim has at least this long left.
const START_MARGIN: Duration = Duration::from_millis(2000);

/// The claims this process holds, each with the time it lasts until by this process's clock.
#[derive(Default)]
pub(super) struct Claims {
    held: HashMap<Identity, Instant>,
    /// Chats let go of lately, and when: another process may have queued a row for one while
    /// this one still held it (and so could not take it), and announced it only now.
    released: HashMap<Identity, Instant>,
}

/// Chats taken now, and their rows read after taking them (`None`: the store serves one
/// process, the rows the worker holds are current).
pub(super) struct Taken {
    pub(super) chats: HashSet<Identity>,
    pub(super) rows: Option<Vec<OutboxRow>>,
}

impl Claims {
    /// Whether this process holds `who`'s claim.
    pub(super) fn holds(&self, who: &Identity) -> bool {
        self.held.contains_key(who)
    }

    /// Whether a send to `who` may start now: its claim is held with enough time left.
    pub(super) fn may_send(&self, who: &Identity) -> bool {
        self.held
            .get(who)
            .is_some_and(|until| *until > Instant::now() + START_MARGIN)
    }

    /// Every chat held.
    pub(super) fn chats(&self) -> Vec<Identity> {
        self.held.keys().cloned().collect()
    }

    /// The chats held or let go of lately whose [`chat_tag`] is among `tags` (another process
    /// queued rows for them: see [`crate::store::Coordination::watch_outbox`]).
    ///
    /// [`chat_tag`]: crate::store::chat_tag
    pub(super) fn tagged(&mut self, tags: &HashSet<u32>) -> Vec<Identity> {
        let now = Instant::now();
        self.released
            .retain(|_, at| now.duration_since(*at) < RELEASED_KEPT);
        self.held
            .keys()
            .chain(self.released.keys())
            .filter(|w| tags.contains(&crate::store::chat_tag(w)))
            .cloned()
            .collect()
    }

    /// Takes the claims of `chats` (renews those held already).
    pub(super) fn take(
        &mut self,
        store: &Arc<dyn Store>,
        chats: Vec<Identity>,
    ) -> crate::store::Result<Taken> {
        let asked = Instant::now();
        let got = store.outbox_claim(&[], &chats, CLAIM_TTL)?;
        for who in &got.held {
            self.held.insert(who.clone(), asked + CLAIM_TTL);
            self.released.remove(who);
        }
        Ok(Taken {
            chats: got.held.into_iter().collect(),
            rows: got.rows,
        })
    }

    /// Renews every claim held; returns the chats whose claim is lost (another process took
    /// it, or it lapsed while the store could not be reached).
    pub(super) fn renew(&mut self, store: &Arc<dyn Store>) -> Vec<Identity> {
        let chats = self.chats();
        if chats.is_empty() {
            return Vec::new();
        }
        let asked = Instant::now();
        let mut lost = Vec::new();
        match store.outbox_claim(&chats, &[], CLAIM_TTL) {
            Ok(got) => {
                let kept: HashSet<Identity> = got.held.into_iter().collect();
                for who in chats {
                    if kept.contains(&who) {
                        self.held.insert(who, asked + CLAIM_TTL);
                    } else {
                        self.held.remove(&who);
                        lost.push(who);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot renew the claims on chats; trying again");
                // Lost only once they lapsed by our own clock.
                let now = Instant::now();
                self.held.retain(|who, until| {
                    let keep = *until > now;
                    if !keep {
                        lost.push(who.clone());
                    }
                    keep
                });
            }
        }
        lost
    }

    /// Lets go of the claims of `chats` (they have nothing left to send here).
    pub(super) fn release(&mut self, store: &Arc<dyn Store>, chats: Vec<Identity>) {
        if chats.is_empty() {
            return;
        }
        let now = Instant::now();
        for who in &chats {
            self.held.remove(who);
            self.released.insert(who.clone(), now);
        }
        if let Err(e) = store.outbox_unclaim(&chats) {
            // They lapse on their own.
            tracing::warn!(error = %e, "outbox: cannot let go of the claims on chats");
        }
    }
}
