//! Storage behind domain traits, one per boundary ([`boundaries`]): conversations, guests,
//! cases, outbox, timers, web chat, audit, files, maintenance, and the commit that writes them
//! all. [`Store`] is every boundary at once.
//!
//! Every inbound message is applied as one [`Commit`]: the dedupe mark, the conversation, the
//! guest, the new case with its number, ratings, appointments and kept files — all or nothing.
//! A commit whose dedupe mark already exists changes nothing and reports a duplicate. How a
//! commit is applied is written once ([`apply`], with the erasure in [`erase`]) over a narrow
//! transactional interface ([`apply::Tx`]) each engine implements.
//!
//! Engines: [`sled::SledStore`] (the service's; the only code that knows sled trees and key
//! bytes, all under `store/sled/`) and [`memory::MemoryStore`] (tests). Both pass the contract
//! suites of `tests/store_contract/`. `docs/architecture.md` ("The store") says how to add one.

pub mod apply;
pub mod backup;
pub mod boundaries;
pub mod commit;
pub mod erase;
pub mod group;
pub mod memory;
pub mod open;
pub mod postgres;
pub mod records;
pub mod sled;
pub mod transfer;
pub mod verify;

pub(crate) use apply::merged_guest;
pub use boundaries::{
    AuditStore, BlobStore, CaseStore, Claimed, CommitStore, ConversationStore, Coordination,
    GuestStore, OutboxNotice, OutboxStore, SharedTurn, Store, StoreMaintenance, TimerStore,
    WebChatStore, WebLogNotice, chat_tag,
};
pub use commit::{
    Applied, AuditEntry, Commit, Committed, DedupeKey, Durable, DurableFuture, Erasure, Followups,
    GuestUpdate, NewCase, NoFollowups, QueueKey, Ticket,
};

/// Every store trait at once, to call any boundary on a concrete store (`SledStore`,
/// `MemoryStore`): `use pstbot::store::prelude::*;`. Code that holds a `&dyn Store` needs only
/// `Store`.
pub mod prelude {
    pub use super::boundaries::{
        AuditStore, BlobStore, CaseStore, CommitStore, ConversationStore, Coordination, GuestStore,
        OutboxStore, Store, StoreMaintenance, TimerStore, WebChatStore,
    };
}
pub use records::{
    DeliveryStatus, FailedRecord, OutboxRow, Reminder, SentRecord, Timer, TimerSet, WebLogEntry,
    WebSession,
};

/// The version of the stored format; a store of another version is refused at open.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a store operation failed; a refused commit (`NoSuchCase`, `Conflict`) changed nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage engine: {0}")]
    Engine(String),
    #[error("stored record `{key}` cannot be read: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the store has schema version {found}; this pstbot reads version {expected}")]
    Schema { found: u32, expected: u32 },
    #[error("case {0} does not exist")]
    NoSuchCase(String),
    /// The case changed since it was read; the caller reads it again and retries.
    #[error("case {0} was changed by someone else meanwhile")]
    Conflict(String),
}

/// The store's result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The prefix of the dedupe marks of fired timers ([`Timer::dedupe_id`]): kept for good, unlike
/// the marks of inbound messages (see [`StoreMaintenance::prune_dedupe`]).
pub const TIMER_MARK: &str = "timer:";

/// What [`StoreMaintenance::flushed`] returns.
pub type FlushFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// One page of a housekeeping pass: where to go on from (`None`: the pass reached the end) and
/// how many records it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunePage<K> {
    pub next: Option<K>,
    pub pruned: usize,
}

/// 32 bytes from the operating system's generator, for a new [`StoreMaintenance::secret`].
pub(crate) fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Engine(format!("no random bytes for a secret: {e}")))?;
    Ok(bytes)
}
