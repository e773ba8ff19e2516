//! Opening a store by its engine: the configured one (`[store] backend`), or one named on the
//! command line as `sled:PATH` or `postgres:URL` (`pstbot migrate --from … --to …`).

use super::postgres::PgStore;
use super::sled::SledStore;
use super::transfer::Transfer;
use super::{Result, Store, StoreError};
use crate::config::{StoreBackend, StoreConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open store and its engine.
#[derive(Clone)]
pub enum OpenStore {
    /// The embedded store: one process at a time.
    Sled(Arc<SledStore>),
    /// A PostgreSQL database: any number of processes at once.
    Postgres(Arc<PgStore>),
}

/// A store named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreName {
    Sled(PathBuf),
    Postgres(String),
}

impl StoreName {
    /// Reads `sled:PATH` or `postgres:URL` (the URL as in `store.url`).
    pub fn parse(s: &str) -> std::result::Result<StoreName, String> {
        match s.split_once(':') {
            Some(("sled", path)) if !path.is_empty() => Ok(StoreName::Sled(PathBuf::from(path))),
            Some(("postgres", url)) if !url.is_empty() => Ok(StoreName::Postgres(url.to_string())),
            _ => Err(format!(
                "`{}`: name a store as sled:PATH or postgres:postgresql://user:password@host/db",
                super::postgres::masked_url(s)
            )),
        }
    }

    /// The name as messages show it (a URL's password masked).
    pub fn shown(&self) -> String {
        match self {
            StoreName::Sled(p) => format!("sled:{}", p.display()),
            StoreName::Postgres(url) => format!("postgres:{}", super::postgres::masked_url(url)),
        }
    }
}

impl OpenStore {
    /// Opens (or creates) the configured store; PostgreSQL gets the migrations it lacks.
    pub fn open(config: &StoreConfig) -> Result<OpenStore> {
        match config.backend {
            StoreBackend::Sled => {
                Self::open_sled(&config.path, config.cache_mb, config.compression)
            }
            StoreBackend::Postgres => {
                let url = config
                    .url
                    .as_ref()
                    .ok_or_else(|| StoreError::Engine("`store.url` is not set".into()))?;
                Ok(OpenStore::Postgres(Arc::new(PgStore::open(
                    url.expose(),
                    config.pool_size,
                )?)))
            }
        }
    }

    /// Opens (or creates) a store named on the command line.
    pub fn open_named(name: &StoreName, config: &StoreConfig) -> Result<OpenStore> {
        match name {
            StoreName::Sled(path) => Self::open_sled(path, config.cache_mb, config.compression),
            StoreName::Postgres(url) => Ok(OpenStore::Postgres(Arc::new(PgStore::open(
                url,
                config.pool_size,
            )?))),
        }
    }

    fn open_sled(path: &Path, cache_mb: u64, compression: u8) -> Result<OpenStore> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Engine(format!("{}: {e}", path.display())))?;
        Ok(OpenStore::Sled(Arc::new(SledStore::open_with(
            path,
            cache_mb,
            compression,
        )?)))
    }

    /// The store, as the rest of pstbot uses it.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sled(s) => s.clone(),
            OpenStore::Postgres(s) => s.clone(),
        }
    }

    /// Its records, to copy or back up.
    pub fn transfer(&self) -> &dyn Transfer {
        match self {
            OpenStore::Sled(s) => s.as_ref(),
            OpenStore::Postgres(s) => s.as_ref(),
        }
    }

    /// Whether other processes may use the store at the same time (then the command-line
    /// verbs open it themselves rather than asking a running service).
    pub fn is_shared(&self) -> bool {
        match self {
            OpenStore::Sled(_) => false,
            OpenStore::Postgres(_) => true,
        }
    }

    /// Reopens a store that cannot write after a disk error, once it can (sled); a database
    /// recovers on its own (the pool opens new connections). Returns whether it is healthy.
    pub fn heal(&self) -> bool {
        match self {
            OpenStore::Sled(s) => s.heal(),
            OpenStore::Postgres(_) => true,
        }
    }
}
