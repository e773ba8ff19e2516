//! `pstbot backup FILE` and `pstbot restore FILE`.
//!
//! sled allows one process per store, so while `pstbot serve` runs, `pstbot backup` asks the
//! service for the snapshot over its control socket ([`control`]). The service writes the file
//! (to `FILE.part`, then renamed, so a file named FILE is always complete). With no service
//! running, the command opens the store itself. Restore goes into an empty store folder only,
//! with the service stopped.

pub mod control;

pub use control::{Control, ask_service, serve_socket, socket_path};

use crate::config::Config;
use crate::store::backup::BackupStats;
use crate::store::sled::SledStore;
use std::path::{Path, PathBuf};

/// Writes a snapshot of `store` to `file` (through `FILE.part`, renamed when complete).
pub fn write_backup(store: &SledStore, file: &Path) -> crate::Result<BackupStats> {
    let mut part = file.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let out = std::fs::File::create(&part)?;
    let mut w = std::io::BufWriter::new(out);
    let stats = store.backup_to(&mut w)?;
    let out = w.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    std::fs::rename(&part, file)?;
    Ok(stats)
}

/// `pstbot backup FILE`: through the running service if there is one, else directly.
pub fn backup(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    let file = std::path::absolute(file)?;
    match ask_service(config, &format!("backup {}", file.display()))? {
        Some((head, _)) => {
            let nums: Vec<u64> = head.split(' ').filter_map(|n| n.parse().ok()).collect();
            match nums[..] {
                [trees, entries, bytes] => Ok(BackupStats {
                    trees,
                    entries,
                    bytes,
                }),
                _ => Err(crate::Error::msg(format!(
                    "unexpected answer from the running service: {head:?}"
                ))),
            }
        }
        None => {
            let store = SledStore::open_with(
                &config.store.path,
                config.store.cache_mb,
                config.store.compression,
            )?;
            write_backup(&store, &file)
        }
    }
}

/// `pstbot restore FILE`: into the configured store folder, which must be empty.
pub fn restore(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    std::fs::create_dir_all(&config.store.path)?;
    let stats = SledStore::restore_from_with(&config.store.path, file, config.store.compression)?;
    // Opening checks the schema version of what was restored.
    SledStore::open_with(
        &config.store.path,
        config.store.cache_mb,
        config.store.compression,
    )?;
    Ok(stats)
}
