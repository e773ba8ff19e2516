//! Every record of a store, engine-neutral: what `pstbot migrate` copies from one engine to
//! another (sled ⇄ PostgreSQL) and checks record by record, and what a PostgreSQL backup
//! holds. An engine lists its records ([`Transfer::export`]) and writes them into an empty
//! store of its own ([`Transfer::import`]); its indexes (open cases, a guest's cases, timers by
//! owner, provider ids) are rebuilt from the records.

use super::commit::AuditEntry;
use super::records::{FailedRecord, OutboxRow, SentRecord, Timer, WebLogEntry, WebSession};
use super::{Result, StoreError};
use crate::cases::Case;
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One record of a store. Times and texts are as stored; `ref` is the 16 hex digits that order
/// records of the same instant (the message that recorded them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A secret of the store (hex).
    Secret {
        name: String,
        secret: String,
    },
    Session {
        who: Identity,
        conversation: Conversation,
    },
    /// A dedupe mark: a message or a fired timer handled at `at` (to the millisecond: what
    /// the sled store keeps, and all that pruning needs).
    Mark {
        key: String,
        at: DateTime<Utc>,
    },
    /// A guest, with the consent text it agreed to.
    Guest {
        guest: Guest,
    },
    /// The guest an identity is registered as.
    GuestLink {
        who: Identity,
        guest_id: String,
    },
    Case {
        case: Case,
    },
    /// A counter, named as `REK/2026` (case numbers) or `Q/R/2026-11-23/issued` (walk-ins).
    Counter {
        name: String,
        value: u64,
    },
    Visit {
        #[serde(rename = "ref")]
        reference: String,
        visit: Visit,
    },
    Rating {
        #[serde(rename = "ref")]
        reference: String,
        rating: Rating,
    },
    Appointment {
        appointment: Appointment,
    },
    /// A kept file (hex bytes).
    File {
        hash: String,
        bytes: String,
    },
    Outbox {
        row: OutboxRow,
    },
    Sent {
        record: SentRecord,
    },
    Failed {
        record: FailedRecord,
    },
    /// An address mail cannot reach (`CHANNEL:lower-case address`), since when (to the
    /// millisecond).
    Failing {
        address: String,
        since: DateTime<Utc>,
    },
    Timer {
        timer: Timer,
    },
    Audit {
        #[serde(rename = "ref")]
        reference: String,
        entry: AuditEntry,
    },
    WebSession {
        session: WebSession,
    },
    WebLog {
        session: String,
        seq: u64,
        key: String,
        entry: WebLogEntry,
    },
}

impl Record {
    /// The kind's name, as counts are reported.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Secret { .. } => "secret",
            Record::Session { .. } => "session",
            Record::Mark { .. } => "mark",
            Record::Guest { .. } => "guest",
            Record::GuestLink { .. } => "guest_link",
            Record::Case { .. } => "case",
            Record::Counter { .. } => "counter",
            Record::Visit { .. } => "visit",
            Record::Rating { .. } => "rating",
            Record::Appointment { .. } => "appointment",
            Record::File { .. } => "file",
            Record::Outbox { .. } => "outbox",
            Record::Sent { .. } => "sent",
            Record::Failed { .. } => "failed",
            Record::Failing { .. } => "failing",
            Record::Timer { .. } => "timer",
            Record::Audit { .. } => "audit",
            Record::WebSession { .. } => "web_session",
            Record::WebLog { .. } => "web_log",
        }
    }
}

/// What an engine offers to move its records.
pub trait Transfer: Sync {
    /// Hands every record to `sink`, kind by kind, from one consistent view where the engine
    /// has one.
    fn export(&self, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()>;
    /// Writes records into this store, which must be empty; returns how many.
    fn import(&self, records: &mut dyn Iterator<Item = Record>) -> Result<u64>;
    /// Whether the store holds no record.
    fn is_empty(&self) -> Result<bool>;
}

/// How many records of each kind a store holds, and a digest of each kind's records (in any
/// order): two stores with the same digests hold the same records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub kinds: BTreeMap<&'static str, (u64, [u8; 32])>,
}

impl Inventory {
    /// The inventory of a store, record by record.
    pub fn of(store: &dyn Transfer) -> Result<Inventory> {
        let mut hashes: BTreeMap<&'static str, Vec<[u8; 32]>> = BTreeMap::new();
        store.export(&mut |r| {
            let json = serde_json::to_vec(&r)
                .map_err(|e| StoreError::Engine(format!("a record cannot be written: {e}")))?;
            hashes
                .entry(r.kind())
                .or_default()
                .push(Sha256::digest(&json).into());
            Ok(())
        })?;
        let kinds = hashes
            .into_iter()
            .map(|(kind, mut hs)| {
                hs.sort_unstable();
                let mut all = Sha256::new();
                for h in &hs {
                    all.update(h);
                }
                (kind, (hs.len() as u64, all.finalize().into()))
            })
            .collect();
        Ok(Inventory { kinds })
    }

    /// The kinds whose counts or records differ from `other`'s, as lines to show.
    pub fn differences(&self, other: &Inventory) -> Vec<String> {
        let mut kinds: Vec<&&str> = self.kinds.keys().chain(other.kinds.keys()).collect();
        kinds.sort();
        kinds.dedup();
        kinds
            .into_iter()
            .filter_map(|k| {
                let a = self.kinds.get(*k);
                let b = other.kinds.get(*k);
                (a != b).then(|| {
                    format!(
                        "{k}: {} here, {} there{}",
                        a.map_or(0, |x| x.0),
                        b.map_or(0, |x| x.0),
                        if a.map(|x| x.0) == b.map(|x| x.0) {
                            " (same count, different records)"
                        } else {
                            ""
                        }
                    )
                })
            })
            .collect()
    }

    /// Records in all.
    pub fn total(&self) -> u64 {
        self.kinds.values().map(|(n, _)| n).sum()
    }
}

/// Copies every record of `from` into `to` (which must be empty), then checks that both
/// hold the same records. Returns the inventory they share.
pub fn copy_verified(from: &dyn Transfer, to: &dyn Transfer) -> Result<Inventory> {
    if !to.is_empty()? {
        return Err(StoreError::Engine(
            "the target store already holds data: migrate only into an empty one".into(),
        ));
    }
    // Streamed: one thread reads, this one writes; a bounded queue keeps memory flat.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Record>(1024);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            from.export(&mut |r| {
                tx.send(r)
                    .map_err(|_| StoreError::Engine("the target stopped taking records".into()))
            })
        });
        let written = to.import(&mut rx.into_iter());
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(StoreError::Engine("the export failed".into())));
        read.and(written)
    })?;
    let (a, b) = (Inventory::of(from)?, Inventory::of(to)?);
    let diff = a.differences(&b);
    if !diff.is_empty() {
        return Err(StoreError::Engine(format!(
            "the copy differs from the original: {}",
            diff.join("; ")
        )));
    }
    Ok(a)
}

/// The one tree of a backup of records (a PostgreSQL store's): each entry is a record's kind
/// and its JSON. A sled store's backup holds its trees instead.
pub const RECORDS_TREE: &[u8] = b"pstbot-records";

/// Writes every record of `from` as a backup (the format of [`super::backup`]).
pub fn backup_records(
    from: &dyn Transfer,
    out: impl std::io::Write,
) -> Result<super::backup::BackupStats> {
    let mut w = super::backup::BackupWriter::new(out)?;
    w.tree(RECORDS_TREE)?;
    from.export(&mut |r| {
        let json = serde_json::to_vec(&r)
            .map_err(|e| StoreError::Engine(format!("a record cannot be written: {e}")))?;
        w.entry(r.kind().as_bytes(), &json)
    })?;
    w.finish()
}

/// Whether a backup file holds records (rather than a sled store's trees).
pub fn is_records_backup(file: &std::path::Path) -> Result<bool> {
    let f = std::fs::File::open(file)
        .map_err(|e| StoreError::Engine(format!("{}: {e}", file.display())))?;
    let mut r = super::backup::BackupReader::new(std::io::BufReader::new(f))?;
    Ok(matches!(r.next_item()?, Some(super::backup::Item::Tree(t)) if t == RECORDS_TREE))
}

/// Restores a backup of records into `to`, which must be empty; the file is checked whole
/// first.
pub fn restore_records(
    file: &std::path::Path,
    to: &dyn Transfer,
) -> Result<super::backup::BackupStats> {
    use super::backup::{BackupReader, Item, verify};
    let open = || {
        std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .map_err(|e| StoreError::Engine(format!("{}: {e}", file.display())))
    };
    // First the whole file: its checksum, and that every entry is a record.
    let stats = verify(open()?)?;
    let mut check = BackupReader::new(open()?)?;
    while let Some(item) = check.next_item()? {
        if let Item::Entry(_, json) = item {
            serde_json::from_slice::<Record>(&json)
                .map_err(|e| StoreError::Engine(format!("a record in the backup: {e}")))?;
        }
    }
    if !to.is_empty()? {
        return Err(StoreError::Engine(
            "the store already holds data: restore only into an empty one".into(),
        ));
    }
    let mut r = BackupReader::new(open()?)?;
    let mut failed = None;
    let mut records = std::iter::from_fn(|| {
        loop {
            match r.next_item() {
                Ok(Some(Item::Tree(_))) => continue,
                Ok(Some(Item::Entry(_, json))) => match serde_json::from_slice::<Record>(&json) {
                    Ok(rec) => return Some(rec),
                    Err(e) => {
                        failed = Some(StoreError::Engine(format!("a record in the backup: {e}")));
                        return None;
                    }
                },
                Ok(None) => return None,
                Err(e) => {
                    failed = Some(e);
                    return None;
                }
            }
        }
    });
    to.import(&mut records)?;
    match failed {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}
