//! The sled database on disk: opening it (waiting for a just-closed handle's file lock, keeping
//! the compression it was created with), checking the disk takes writes again, backing it up
//! and restoring it.

use super::SledStore;
use crate::store::{Result, StoreError};
use ::sled::Tree;
use std::path::Path;

/// Writes, syncs and removes a small file in `dir`.
pub(super) fn disk_takes_writes(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let probe = dir.join(".pstbot-write-probe");
    let r = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(&[0u8; 64 * 1024])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    r
}

/// Whether opening failed because another handle holds the store's file lock. sled reports it
/// as an `Other` error with the OS error in its text ("could not acquire lock on …").
pub(super) fn lock_busy(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().starts_with("could not acquire lock")
}

/// Opens a sled database, waiting for a just-closed handle to let go of the file lock: sled
/// releases it from a background thread (and our group flusher may still be finishing) after the
/// previous handle is dropped. A lock still held after two seconds is another process.
pub(super) fn open_waiting(config: &::sled::Config, path: &Path) -> Result<::sled::Db> {
    let mut tries = 0;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(::sled::Error::Io(e)) if lock_busy(&e) && tries < 40 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(::sled::Error::Io(e)) if lock_busy(&e) => {
                return Err(StoreError::Engine(format!(
                    "cannot open the store at {} (is another pstbot using it?): {e}",
                    path.display()
                )));
            }
            Err(e @ ::sled::Error::Corruption { .. }) => {
                return Err(super::verify::damaged(path, &e.to_string()));
            }
            Err(e) => {
                return Err(StoreError::Engine(format!(
                    "cannot open the store at {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// Whether the sled database in `path` was created with compression: sled writes its storage
/// parameters (`use_compression: true`, …) to the `conf` file and refuses to open the database
/// with another setting. `None`: no database there yet (or a `conf` it cannot have written).
pub(super) fn stored_compression(path: &Path) -> Option<bool> {
    let bytes = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|l| l.strip_prefix("use_compression: "))
        .and_then(|v| v.trim().parse().ok())
}

/// The sled configuration of the store in `path`: compressed at level `compression` (0: not),
/// unless the store exists already, which keeps its own setting.
pub(super) fn sled_config(path: &Path, compression: u8) -> ::sled::Config {
    let wanted = compression > 0;
    let compress = match stored_compression(path) {
        Some(stored) => {
            if stored != wanted {
                tracing::warn!(
                    store = %path.display(),
                    stored = stored,
                    configured = compression,
                    "store.compression differs from what this store was created with; \
                     the store keeps its own (to change it: pstbot backup, then restore into a new folder)"
                );
            }
            stored
        }
        None => wanted,
    };
    let config = ::sled::Config::new().path(path).use_compression(compress);
    if compress {
        // A compressed store opened with compression configured off writes at level 3.
        config.compression_factor(i32::from(if wanted { compression } else { 3 }))
    } else {
        config
    }
}

impl SledStore {
    /// Writes every tree to `out` as one consistent snapshot: writes wait while it runs
    /// (reads do not). The service keeps running; see `pstbot backup`.
    pub fn backup_to(&self, out: impl std::io::Write) -> Result<crate::store::backup::BackupStats> {
        let _alone = self.gate.alone();
        let mut w = crate::store::backup::BackupWriter::new(out)?;
        for name in self.e()?.db.tree_names() {
            let tree = self.e()?.db.open_tree(&name)?;
            w.tree(&name)?;
            for kv in tree.iter() {
                let (k, v) = kv?;
                w.entry(&k, &v)?;
            }
        }
        w.finish()
    }

    /// The raw sled database under a store folder, for looking inside it (tests, the scale
    /// bench's per-tree sizes). Waits for a just-closed store to let go of its lock.
    pub fn raw(dir: &Path) -> Result<::sled::Db> {
        // Whatever the store was created with (nothing to warn about here).
        let level = match stored_compression(dir) {
            Some(true) => 3,
            Some(false) => 0,
            None => crate::config::DEFAULT_COMPRESSION,
        };
        open_waiting(&sled_config(dir, level), dir)
    }

    /// Restores a backup file into `dir`, which must hold no store yet (or an empty one).
    /// The file is checked whole before anything is written.
    pub fn restore_from(dir: &Path, file: &Path) -> Result<crate::store::backup::BackupStats> {
        Self::restore_from_with(dir, file, crate::config::DEFAULT_COMPRESSION)
    }

    /// [`SledStore::restore_from`] into a new store compressed at level `compression` (0: not
    /// compressed): restoring a backup is how an existing store changes its compression.
    pub fn restore_from_with(
        dir: &Path,
        file: &Path,
        compression: u8,
    ) -> Result<crate::store::backup::BackupStats> {
        use crate::store::backup::{BackupReader, Item, verify};
        let open = |p: &Path| {
            std::fs::File::open(p)
                .map(std::io::BufReader::new)
                .map_err(|e| StoreError::Engine(format!("{}: {e}", p.display())))
        };
        verify(open(file)?)?;
        let db = open_waiting(&sled_config(dir, compression), dir)?;
        for name in db.tree_names() {
            if !db.open_tree(&name)?.is_empty() {
                return Err(StoreError::Engine(format!(
                    "{} already holds data: restore only into an empty store folder",
                    dir.display()
                )));
            }
        }
        let mut r = BackupReader::new(open(file)?)?;
        let mut stats = crate::store::backup::BackupStats::default();
        let mut tree: Option<Tree> = None;
        while let Some(item) = r.next_item()? {
            match item {
                Item::Tree(name) => {
                    stats.trees += 1;
                    tree = Some(db.open_tree(name)?);
                }
                Item::Entry(k, v) => {
                    let t = tree.as_ref().ok_or_else(|| {
                        StoreError::Engine("not a valid pstbot backup: entry before tree".into())
                    })?;
                    t.insert(k, v)?;
                    stats.entries += 1;
                }
            }
        }
        db.flush()?;
        // A checkpoint: opened again, sled writes down its page table now rather than
        // replaying the whole restore at the service's first start. (A tree handle holds the
        // database open too.)
        drop(tree);
        drop(db);
        drop(open_waiting(&sled_config(dir, compression), dir)?);
        Ok(stats)
    }
}
