//! `pstbot backup FILE` and `pstbot restore FILE`.
//!
//! sled allows one process per store, so while `pstbot serve` runs, `pstbot backup` asks the
//! service for the snapshot over its control socket ([`control`]). The service writes the file
//! (to `FILE.part`, then renamed, so a file named FILE is always complete). With no service
//! running, the command opens the store itself. Restore goes into an empty store folder only,
//! with the service stopped.
//!
//! A PostgreSQL store is shared: the command opens it itself, also while services run, and
//! writes every record from one snapshot (the services go on writing meanwhile). Its backup
//! holds records rather than sled's trees, and restores into an empty store of either engine.

pub mod control;

pub use control::{Control, ask_service, serve_socket, socket_path};

use crate::config::Config;
use crate::config::StoreBackend;
use crate::store::backup::BackupStats;
use crate::store::open::OpenStore;
use crate::store::sled::SledStore;
use std::path::{Path, PathBuf};

/// Writes a snapshot of a sled store to `file` (through `FILE.part`, renamed when complete).
pub fn write_backup(store: &SledStore, file: &Path) -> crate::Result<BackupStats> {
    write_through_part(file, |w| Ok(store.backup_to(w)?))
}

/// Writes a snapshot of `store`, whichever its engine, to `file` (see [`write_backup`]).
pub fn write_backup_of(store: &OpenStore, file: &Path) -> crate::Result<BackupStats> {
    match store {
        OpenStore::Sled(s) => write_backup(s, file),
        OpenStore::Postgres(s) => write_through_part(file, |w| {
            Ok(crate::store::transfer::backup_records(s.as_ref(), w)?)
        }),
    }
}

/// Writes `file` through `FILE.part`, synced and renamed when complete.
fn write_through_part(
    file: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> crate::Result<BackupStats>,
) -> crate::Result<BackupStats> {
    let mut part = file.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let out = std::fs::File::create(&part)?;
    let mut w = std::io::BufWriter::new(out);
    let stats = write(&mut w)?;
    let out = w.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    std::fs::rename(&part, file)?;
    Ok(stats)
}

/// `pstbot backup FILE`: through the running service if there is one, else directly.
pub fn backup(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    let file = std::path::absolute(file)?;
    if config.store.backend == StoreBackend::Postgres {
        return write_backup_of(&OpenStore::open(&config.store)?, &file);
    }
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

/// Checks an open store for damage: whether it is sound, and the lines to show.
pub fn verify_open(store: &OpenStore) -> crate::Result<(bool, Vec<String>)> {
    match store {
        OpenStore::Sled(s) => {
            let r = s.verify(None)?;
            Ok((r.is_sound(), r.lines()))
        }
        OpenStore::Postgres(s) => {
            // PostgreSQL checks its own pages; what is left is that every record decodes.
            let mut n = 0u64;
            match crate::store::transfer::Transfer::export(s.as_ref(), &mut |_| {
                n += 1;
                Ok(())
            }) {
                Ok(()) => Ok((true, vec![format!("{n} records read: no damage found")])),
                Err(e) => Ok((false, vec![format!("{n} records read, then: {e}")])),
            }
        }
    }
}

/// Writes every readable record of an open sled store to `file` (a salvage backup).
pub fn salvage_open(store: &OpenStore, file: &Path) -> crate::Result<(BackupStats, Vec<String>)> {
    match store {
        OpenStore::Sled(s) => {
            let mut lines = Vec::new();
            let stats = write_through_part(file, |w| {
                let (stats, report) = s.salvage_to(w)?;
                lines = report.lines();
                Ok(stats)
            })?;
            Ok((stats, lines))
        }
        OpenStore::Postgres(_) => Err(crate::Error::msg(
            "--salvage is for a sled store; a PostgreSQL database is saved with pg_dump or `pstbot backup`",
        )),
    }
}

/// `pstbot verify`: walks every tree of the store and decodes every record (through the
/// running service if there is one). Returns whether the store is sound, and the lines to
/// print.
pub fn verify(config: &Config) -> crate::Result<(bool, Vec<String>)> {
    if config.store.backend == StoreBackend::Postgres {
        return verify_open(&OpenStore::open(&config.store)?);
    }
    if let Some((head, body)) = ask_service(config, "verify")? {
        let lines = String::from_utf8_lossy(&body)
            .lines()
            .map(str::to_string)
            .collect();
        return Ok((head == "sound", lines));
    }
    if !config.store.path.join("db").exists() {
        return Err(crate::Error::msg(format!(
            "no store at {}",
            config.store.path.display()
        )));
    }
    let r = SledStore::verify_dir(&config.store.path)?;
    Ok((r.is_sound(), r.lines()))
}

/// `pstbot backup --salvage FILE`: every record of a damaged sled store that can still be
/// read, as a backup (through the running service if there is one). Returns what was written
/// and the lines saying what was lost.
pub fn salvage(config: &Config, file: &Path) -> crate::Result<(BackupStats, Vec<String>)> {
    let file = std::path::absolute(file)?;
    if config.store.backend == StoreBackend::Postgres {
        return salvage_open(&OpenStore::open(&config.store)?, &file);
    }
    if let Some((head, body)) = ask_service(config, &format!("salvage {}", file.display()))? {
        let nums: Vec<u64> = head.split(' ').filter_map(|n| n.parse().ok()).collect();
        let lines = String::from_utf8_lossy(&body)
            .lines()
            .map(str::to_string)
            .collect();
        return match nums[..] {
            [trees, entries, bytes] => Ok((
                BackupStats {
                    trees,
                    entries,
                    bytes,
                },
                lines,
            )),
            _ => Err(crate::Error::msg(format!(
                "unexpected answer from the running service: {head:?}"
            ))),
        };
    }
    let mut lines = Vec::new();
    let stats = write_through_part(&file, |w| {
        let (stats, report) = SledStore::salvage_dir(&config.store.path, w)?;
        lines = report.lines();
        Ok(stats)
    })?;
    Ok((stats, lines))
}

/// `pstbot restore FILE`: into the configured store, which must be empty. A backup of records
/// (a PostgreSQL store's) goes into either engine; a sled store's trees only into sled.
pub fn restore(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    if crate::store::transfer::is_records_backup(file)? {
        let store = OpenStore::open(&config.store)?;
        return Ok(crate::store::transfer::restore_records(
            file,
            store.transfer(),
        )?);
    }
    if config.store.backend == StoreBackend::Postgres {
        return Err(crate::Error::msg(
            "this is a backup of a sled store: restore it with `store.backend = \"sled\"`, then `pstbot migrate --from sled:PATH --to postgres:URL`",
        ));
    }
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

/// `pstbot migrate`: with no stores named, applies the configured PostgreSQL database's
/// migrations; with `from` and `to` (`sled:PATH`, `postgres:URL`), copies every record of one
/// store into the other (which must be empty, and no service may run on a sled store) and
/// checks that both hold the same records. Returns what to print.
pub fn migrate(config: &Config, from: Option<&str>, to: Option<&str>) -> crate::Result<String> {
    use crate::store::open::StoreName;
    use crate::store::postgres::PgStore;
    let (Some(from), Some(to)) = (from, to) else {
        let Some(url) = config
            .store
            .url
            .as_ref()
            .filter(|_| config.store.backend == StoreBackend::Postgres)
        else {
            return Err(crate::Error::msg(
                "nothing to migrate: the configured store is sled (name two stores with --from and --to to copy one into the other)",
            ));
        };
        let pg = PgStore::connect(url.expose(), 2)?;
        let applied = pg.migrate()?;
        return Ok(format!(
            "{}: schema {} ({})",
            pg.shown(),
            pg.schema_version()?,
            if applied.is_empty() {
                "up to date".to_string()
            } else {
                format!("applied {applied:?}")
            }
        ));
    };
    let (from, to) = (
        StoreName::parse(from).map_err(crate::Error::msg)?,
        StoreName::parse(to).map_err(crate::Error::msg)?,
    );
    if from == to {
        return Err(crate::Error::msg("--from and --to name the same store"));
    }
    let source = OpenStore::open_named(&from, &config.store)?;
    let target = OpenStore::open_named(&to, &config.store)?;
    let inventory = crate::store::transfer::copy_verified(source.transfer(), target.transfer())?;
    let mut out = format!(
        "copied {} records from {} to {}, checked record by record:",
        inventory.total(),
        from.shown(),
        to.shown()
    );
    for (kind, (n, _)) in &inventory.kinds {
        out.push_str(&format!("\n  {kind}: {n}"));
    }
    Ok(out)
}
