//! Rewriting the store after an erasure (issue 17.9): sled is a log, so an erased record's old
//! versions stay in its files (the name dozens of times, the uploaded file's bytes) until the
//! log's space is reused. After a commit with an erasure, `meta` holds `rewrite_due`; then
//! [`SledStore::rewrite_if_erased`] copies every live record into a fresh database in
//! `STORE/.rewrite`, marks it complete (`READY`), and swaps its files in for the old ones,
//! which are deleted. A crash in the middle is finished (or the half copy dropped) at the next
//! open ([`finish_swap`]).

use super::files::{open_waiting, sled_config, stored_compression};
use super::{Engine, SledStore};
use crate::store::{Result, StoreError, StoreMaintenance};
use std::path::Path;
use std::sync::Arc;

/// The `meta` key set by a commit with an erasure.
pub(super) const REWRITE_DUE: &str = "rewrite_due";
const FRESH: &str = ".rewrite";
const READY: &str = "READY";

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Engine(format!("rewriting the store: {}: {e}", path.display()))
}

/// sled's own files in a store folder (the control socket and probes are not).
fn is_sled_file(name: &str) -> bool {
    name == "db" || name == "conf" || name == "blobs" || name.starts_with("snap.")
}

/// Finishes a swap a crash interrupted: a complete fresh copy replaces the old files; an
/// incomplete one is dropped. Called before the store is opened.
pub(super) fn finish_swap(dir: &Path) -> Result<()> {
    let fresh = dir.join(FRESH);
    if !fresh.exists() {
        return Ok(());
    }
    if !fresh.join(READY).exists() {
        return std::fs::remove_dir_all(&fresh).map_err(|e| io(&fresh, e));
    }
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_sled_file(&name) {
            let p = entry.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p).map_err(|e| io(&p, e))?;
            } else {
                std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
    }
    for entry in std::fs::read_dir(&fresh).map_err(|e| io(&fresh, e))? {
        let entry = entry.map_err(|e| io(&fresh, e))?;
        if entry.file_name() != READY {
            std::fs::rename(entry.path(), dir.join(entry.file_name()))
                .map_err(|e| io(&entry.path(), e))?;
        }
    }
    std::fs::remove_dir_all(&fresh).map_err(|e| io(&fresh, e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

impl SledStore {
    /// Whether an erasure happened since the last rewrite.
    pub fn rewrite_due(&self) -> Result<bool> {
        Ok(self.e()?.db.open_tree("meta")?.get(REWRITE_DUE)?.is_some())
    }

    /// Rewrites the store when an erasure happened since the last rewrite, so that erased
    /// bytes are in no file under the store folder any more. Reads and writes wait meanwhile
    /// (about a second per 100 MiB). Returns whether it rewrote.
    pub fn rewrite_if_erased(&self) -> Result<bool> {
        if !self.rewrite_due()? {
            return Ok(false);
        }
        let _alone = self.gate.alone();
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let Some(engine) = live.take() else {
            return Err(StoreError::Engine(
                self.trouble()
                    .unwrap_or_else(|| "the store is closed".into()),
            ));
        };
        let copied = self.copy_fresh(&engine);
        // As in a checkpoint: reads that took the database before finish first.
        let waited = std::time::Instant::now();
        while Arc::strong_count(&engine) > 1
            && waited.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(engine);
        let r = copied
            .and_then(|_| finish_swap(&self.path))
            .and_then(|_| self.open_engine());
        match r {
            Ok(engine) => {
                *live = Some(Arc::new(engine));
                tracing::info!(store = %self.path.display(), "store rewritten after an erasure: erased data is in no file any more");
                Ok(true)
            }
            Err(e) => {
                drop(live);
                self.noted(Err(e))
            }
        }
    }

    /// Copies every live record of `engine` into `STORE/.rewrite` and marks the copy complete.
    fn copy_fresh(&self, engine: &Engine) -> Result<()> {
        engine.db.flush()?;
        let fresh = self.path.join(FRESH);
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh).map_err(|e| io(&fresh, e))?;
        }
        std::fs::create_dir_all(&fresh).map_err(|e| io(&fresh, e))?;
        // The fresh copy keeps the compression the store was made with.
        let level = match stored_compression(&self.path) {
            Some(true) if self.compression > 0 => self.compression,
            Some(true) => 3,
            Some(false) => 0,
            None => self.compression,
        };
        let db = open_waiting(&sled_config(&fresh, level), &fresh)?;
        for name in engine.db.tree_names() {
            let from = engine.db.open_tree(&name)?;
            let to = db.open_tree(&name)?;
            for kv in from.iter() {
                let (k, v) = kv?;
                if name.as_ref() == b"meta" && k.as_ref() == REWRITE_DUE.as_bytes() {
                    continue;
                }
                to.insert(k, v)?;
            }
        }
        // Outbox rows and web log entries take their numbers from sled's id generator.
        let highest = engine.db.generate_id()?;
        while db.generate_id()? <= highest {}
        db.flush()?;
        drop(db);
        // Opened once more, the copy writes down its page table (no replay at the next start).
        drop(open_waiting(&sled_config(&fresh, level), &fresh)?);
        let ready = fresh.join(READY);
        std::fs::File::create(&ready)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&ready, e))?;
        std::fs::File::open(&fresh)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&fresh, e))
    }
}
