//! The sled store: the only code that knows sled trees and key bytes, all in this folder.
//! `keys.rs` names the trees and spells the keys; `tx.rs` is the one commit's transactional
//! interface over them ([`crate::store::apply::Tx`]); `scan.rs` finds what an erasure changes;
//! one file per boundary answers the reads and the writes outside commits; `files.rs` opens
//! the database on disk, backs it up and restores it.
//!
//! Writes are applied without a flush and then wait for a shared one ([`super::group`]): one
//! fsync covers every commit that asked before it started.

mod commit;
mod files;
mod keys;
mod maintenance;
mod outbox;
mod reads;
mod rewrite;
mod scan;
mod timers;
mod transfer;
mod tx;
mod verify;
mod web;

use super::{Result, SCHEMA_VERSION, StoreError, StoreMaintenance};
use ::sled::{Db, Tree};
use chrono::Utc;
use files::{disk_takes_writes, open_waiting, sled_config};
use keys::{TREE_NAMES, WEB_TREE_NAMES, dec};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;

/// One process holds a sled store: nothing to share with others.
impl super::Coordination for SledStore {}

/// A store on a sled directory.
pub struct SledStore {
    path: std::path::PathBuf,
    cache_mb: u64,
    /// The zstd level of a new store (0: none); an existing store keeps what it was made with.
    compression: u8,
    /// The open database; `None` while it is closed to be reopened after a disk error.
    live: std::sync::RwLock<Option<Arc<Engine>>>,
    /// Why the store cannot write now (a disk error), until [`SledStore::heal`] succeeds.
    trouble: std::sync::Mutex<Option<String>>,
    /// Writers hold it shared; a backup holds it alone, so its snapshot is consistent. The
    /// flusher thread, which applies the commits handed to it, holds it too.
    gate: Arc<Gate>,
}

/// Writers hold it shared; a backup, a rewrite or a reopen holds it alone. It counts those that
/// hold it alone or wait to, so a writer can tell beforehand that it may wait
/// ([`StoreMaintenance::may_wait`](crate::store::StoreMaintenance::may_wait)).
#[derive(Default)]
struct Gate {
    lock: std::sync::RwLock<()>,
    alone: std::sync::atomic::AtomicUsize,
}

impl Gate {
    fn shared(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(|e| e.into_inner())
    }

    fn alone(&self) -> Alone<'_> {
        // Counted before the wait, so writers arriving meanwhile already see it.
        self.alone.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Alone {
            _held: self.lock.write().unwrap_or_else(|e| e.into_inner()),
            count: &self.alone,
        }
    }

    /// Whether someone holds the gate alone or waits to.
    fn held(&self) -> bool {
        self.alone.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Shared access now, or `None` when someone holds the gate alone or waits to (the
    /// flusher never waits for it: a reopen holds it alone while it stops the flusher).
    fn try_shared(&self) -> Option<std::sync::RwLockReadGuard<'_, ()>> {
        if self.held() {
            return None;
        }
        match self.lock.try_read() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// The gate held alone, until dropped.
struct Alone<'g> {
    _held: std::sync::RwLockWriteGuard<'g, ()>,
    count: &'g std::sync::atomic::AtomicUsize,
}

impl Drop for Alone<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One open sled database and its trees.
struct Engine {
    db: Db,
    trees: Vec<Tree>,
    /// `web_sessions`, `web_log`, `web_log_keys`.
    web: [Tree; 3],
    /// The flusher thread: commits are applied without a flush, then wait for one that
    /// started after them (see [`super::group`]); commits handed to it are applied there, many
    /// in one transaction ([`commit::Queued`]). One per open database, so a reopen after a
    /// disk error gets its own.
    group: super::group::GroupFlush<commit::Queued>,
}

impl SledStore {
    /// Opens (or creates) the store in `path` with a page cache of `cache_mb` MiB; a new store
    /// compresses its pages at [`crate::config::DEFAULT_COMPRESSION`].
    pub fn open(path: &Path, cache_mb: u64) -> Result<SledStore> {
        Self::open_with(path, cache_mb, crate::config::DEFAULT_COMPRESSION)
    }

    /// Opens (or creates) the store in `path` with a page cache of `cache_mb` MiB. A new store
    /// compresses its pages with zstd at level `compression` (1–22; 0: not compressed). sled
    /// cannot read a store with another setting than the one it was created with, so an
    /// existing store keeps its own (said in the log when the configuration differs; `pstbot
    /// backup` and a restore into a new folder change it).
    pub fn open_with(path: &Path, cache_mb: u64, compression: u8) -> Result<SledStore> {
        if compression > 22 {
            return Err(StoreError::Engine(format!(
                "store compression {compression} is not a zstd level: use 0 (none) to 22"
            )));
        }
        // A rewrite after an erasure that a crash interrupted is finished first.
        rewrite::finish_swap(path)?;
        let gate = Arc::new(Gate::default());
        let engine = Engine::open_checked(path, cache_mb, compression, &gate)?;
        Ok(SledStore {
            path: path.to_path_buf(),
            cache_mb,
            compression,
            live: std::sync::RwLock::new(Some(Arc::new(engine))),
            trouble: std::sync::Mutex::new(None),
            gate,
        })
    }

    /// The open database, or an error while it is closed after a disk error.
    fn e(&self) -> Result<Arc<Engine>> {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                StoreError::Engine(
                    self.trouble()
                        .unwrap_or_else(|| "the store is closed".into()),
                )
            })
    }

    /// Opens the database in the store's folder again (after a rewrite, a checkpoint, a disk
    /// error).
    fn open_engine(&self) -> Result<Engine> {
        Engine::open_checked(&self.path, self.cache_mb, self.compression, &self.gate)
    }

    /// Passes `r` on; a storage error is remembered as the store's trouble (logged once, when
    /// it starts): sled stops writing after a failed write to disk until it is reopened.
    fn noted<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(StoreError::Engine(e)) = &r {
            let mut t = self.trouble.lock().unwrap_or_else(|e| e.into_inner());
            if t.is_none() {
                tracing::error!(store = %self.path.display(), error = %e, "the store cannot write (disk full or read-only?): refusing new work until it can");
                *t = Some(format!("the store cannot write: {e}"));
            }
        }
        r
    }

    /// Reopens the store after a disk error, once the disk takes writes again: first a small
    /// file is written and synced beside the store (cheap, and it fails while the disk is still
    /// full or read-only), then sled is closed and opened again and a write is flushed. Returns
    /// whether the store is healthy. Does nothing while the store is healthy.
    pub fn heal(&self) -> bool {
        if self.trouble().is_none() {
            return true;
        }
        if let Err(e) = disk_takes_writes(&self.path) {
            tracing::debug!(error = %e, "store: the disk does not take writes yet");
            return false;
        }
        let _alone = self.gate.alone();
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        // Close the poisoned database (sled keeps refusing writes once one failed).
        live.take();
        let reopened = self.open_engine().and_then(|e| {
            let meta = e.db.open_tree("meta")?;
            meta.insert("healthy_at", &Utc::now().timestamp_millis().to_be_bytes())?;
            e.db.flush()?;
            Ok(e)
        });
        match reopened {
            Ok(engine) => {
                *live = Some(Arc::new(engine));
                *self.trouble.lock().unwrap_or_else(|e| e.into_inner()) = None;
                tracing::warn!(store = %self.path.display(), "the store takes writes again: new work accepted");
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "store: reopening failed; trying again");
                false
            }
        }
    }
}

impl Engine {
    fn open(path: &Path, cache_mb: u64, compression: u8, gate: &Arc<Gate>) -> Result<Engine> {
        let config =
            sled_config(path, compression).cache_capacity(cache_mb.saturating_mul(1024 * 1024));
        let db = open_waiting(&config, path)?;
        let meta = db.open_tree("meta")?;
        match meta.get("schema_version")? {
            None => {
                meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
        }
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let web = [
            db.open_tree(WEB_TREE_NAMES[0])?,
            db.open_tree(WEB_TREE_NAMES[1])?,
            db.open_tree(WEB_TREE_NAMES[2])?,
        ];
        let group = super::group::GroupFlush::with_jobs(commit::round(
            db.clone(),
            trees.clone(),
            gate.clone(),
        ))
        .map_err(|e| StoreError::Engine(format!("cannot start the flusher thread: {e}")))?;
        Ok(Engine {
            db,
            trees,
            web,
            group,
        })
    }
}

impl SledStore {
    fn get<T: DeserializeOwned>(&self, tree: usize, key: &[u8]) -> Result<Option<T>> {
        match self.e()?.trees[tree].get(key)? {
            Some(v) => Ok(Some(dec(key, &v)?)),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(&self, tree: usize) -> Result<Vec<T>> {
        self.e()?.trees[tree]
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    /// Shared access for a write (see `gate`).
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate.shared()
    }

    /// How many flushes ran since the store was (re)opened (each covers every commit that
    /// asked for one before it started).
    pub fn flushes(&self) -> u64 {
        self.e().map(|e| e.group.flushes()).unwrap_or(0)
    }

    /// How many flushes were asked for since the store was (re)opened (tests see with it
    /// that a waiter has asked while the flusher is held).
    #[doc(hidden)]
    pub fn flush_requests(&self) -> u64 {
        self.e().map(|e| e.group.requests()).unwrap_or(0)
    }

    /// Runs `hook` on the flusher thread before each flush; tests hold flushes back with it.
    #[doc(hidden)]
    pub fn set_flush_hook(&self, hook: Option<super::group::FlushHook>) {
        if let Ok(e) = self.e() {
            e.group.set_hook(hook);
        }
    }

    /// Bytes on disk, for benchmarks and reports.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.e()?.db.size_on_disk()?)
    }
}
