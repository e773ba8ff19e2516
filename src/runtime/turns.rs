//! Per-person order: a person's messages (and the timers that change their conversation) are
//! handled one at a time, so two quick messages cannot race. A turn is a lock in one of many
//! shards, chosen by the person's identity; on a store several processes share, it is also
//! held in the store ([`Runtime::shared_turn`]), so two processes never act for one person at
//! once.

use crate::message::Identity;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// Per-person lock shards. A person's turn is held until their commit is flushed (a group
/// flush, ~1 fsync), so two people sharing a shard take turns at that pace: plenty of shards
/// keep unrelated people apart.
const LOCK_SHARDS: usize = 1024;

/// The turns of everyone the runtime serves.
pub(crate) struct Turns {
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl Turns {
    pub(crate) fn new() -> Self {
        Turns {
            locks: (0..LOCK_SHARDS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// The lock that holds a person's turn.
    pub(crate) fn of(&self, who: &Identity) -> &tokio::sync::Mutex<()> {
        self.at(self.index(who))
    }

    /// Which lock shard holds a person's turn.
    pub(crate) fn index(&self, who: &Identity) -> usize {
        let mut h = DefaultHasher::new();
        who.hash(&mut h);
        (h.finish() as usize) % LOCK_SHARDS
    }

    /// The lock shard at `index` (from [`Turns::index`]).
    pub(crate) fn at(&self, index: usize) -> &tokio::sync::Mutex<()> {
        &self.locks[index]
    }
}

impl super::Runtime {
    /// The person's turn across processes, taken after the in-process one and held as long as
    /// the returned value lives (nothing on a store of one process). Waits, off the async
    /// workers, while another process holds it.
    pub(super) fn shared_turn(
        &self,
        who: &Identity,
    ) -> Result<Option<crate::store::SharedTurn>, super::RuntimeError> {
        // A store of one process has no such turn: nothing to wait for.
        if !self.store.shared() {
            return Ok(None);
        }
        Ok(super::commit::off_worker(|| self.store.turn(who))?)
    }
}
