//! The PostgreSQL store: the same boundaries as sled on a database that several `pstbot serve`
//! processes share. The only code that knows SQL, all in this folder: `schema.rs` (the
//! numbered migrations), `tx.rs` (the one commit's [`crate::store::apply::Tx`] over one
//! transaction), `scan.rs` (what an erasure finds), `commit.rs` (commits and their retry rule),
//! one file per boundary for the reads and the writes outside commits, `coord.rs` (what
//! several processes share: turns, leases, outbox claims, the flood limit), `notify.rs` (web
//! chat live events across processes: `NOTIFY` and the `LISTEN` connection), `transfer.rs`
//! (every record out and in, for `pstbot migrate` and backups).
//!
//! **Connections.** tokio-postgres, pooled by deadpool-postgres: the pool recycles broken
//! connections (a database restart) and bounds how many a process opens (`store.pool_size`).
//! The connections' I/O runs on a small runtime of the store's own, on its own thread, so the
//! store's methods are plain blocking calls like sled's, callable from any thread (a request
//! is a message to the connection's task; the caller waits for its answer).
//!
//! **Durability.** A commit is acknowledged when PostgreSQL's `COMMIT` returned: durable by
//! the server's own rules (`synchronous_commit`, on by default). [`StoreMaintenance::flush`]
//! has nothing left to do.

mod commit;
mod coord;
mod maintenance;
mod notify;
mod outbox;
mod reads;
mod rows;
mod scan;
mod schema;
mod timers;
mod transfer;
mod tx;
mod web;
mod writes;

use super::{Result, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// A parameter of a statement.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// A pstbot store on a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// The store's runtime: it drives the connections' I/O.
    io: tokio::runtime::Handle,
    _io_thread: IoThread,
    /// The database as the log may show it (no password).
    shown: String,
    /// This process among the others on the database (leases name their holder).
    holder: String,
    /// How to connect: the web chat's listening connection is made outside the pool.
    config: tokio_postgres::Config,
    /// Turns held at once (`coord.rs`): half the pool, so a turn's holder always finds a
    /// connection for its reads and commit (each turn keeps one connection for its lock).
    turns: Arc<tokio::sync::Semaphore>,
}

/// The thread that runs the store's runtime; stopped (and the runtime dropped there) when
/// the store is dropped, wherever that happens.
struct IoThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for IoThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs `f` to completion on the calling thread. The futures of tokio-postgres's client only
/// talk to the connection's task (on the store's runtime), so they need no runtime of their
/// own here: this works from a plain thread and from a tokio worker alike.
pub(super) fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Engine(describe(&e))
    }
}

/// A database error as the log shows it: the server's message and SQLSTATE when it sent one.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    }
}

/// The database URL without its password, for logs and messages.
pub fn masked_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_string(),
        },
        // key=value form: hide password=…
        None => url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgresql://user:password@host:port/db`, or
    /// libpq's `key=value` form) with at most `pool_size` connections, and applies the
    /// migrations it lacks. A database of a newer schema than this pstbot knows is refused.
    pub fn open(url: &str, pool_size: usize) -> Result<PgStore> {
        let store = Self::connect(url, pool_size)?;
        store.migrate()?;
        Ok(store)
    }

    /// Connects without touching the schema (`pstbot check`).
    pub fn connect(url: &str, pool_size: usize) -> Result<PgStore> {
        let shown = masked_url(url);
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Engine(format!("store.url {shown}: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("pstbot");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.keepalives_idle(Duration::from_secs(30));
        let (io, io_thread) = start_io_thread()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Engine(format!("store pool: {e}")))?;
        let holder = format!(
            "{}-{}-{:08x}",
            hostname(),
            std::process::id(),
            fastrand::u32(..)
        );
        let store = PgStore {
            pool,
            io,
            _io_thread: io_thread,
            shown,
            holder,
            config,
            turns: Arc::new(tokio::sync::Semaphore::new((pool_size.max(2) / 2).max(1))),
        };
        // Reach the database now: a wrong URL or password is said at start.
        store.conn()?;
        Ok(store)
    }

    /// The database as logs show it (the password masked).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// This process's name in the leases it holds.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// A pooled connection.
    ///
    /// Waiting for one depends on other tasks giving theirs back, so on an async worker of a
    /// multi-thread runtime the wait is `block_in_place`: the worker's queued tasks (one of
    /// them may hold a connection) move to another thread meanwhile, instead of waiting behind
    /// a blocked worker until the pool's timeout.
    pub(super) fn conn(&self) -> Result<Conn> {
        let pool = self.pool.clone();
        let get = || wait(self.io.spawn(async move { pool.get().await }));
        let got = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(get)
            }
            _ => get(),
        }
        .map_err(|e| StoreError::Engine(format!("store pool: {e}")))?;
        got.map(Conn).map_err(|e| {
            StoreError::Engine(format!("cannot reach the database {}: {e}", self.shown))
        })
    }

    /// A place among the turns held at once; waits as long as the pool would (30 s).
    pub(super) fn turn_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let turns = self.turns.clone();
        wait(self.io.spawn(async move {
            tokio::time::timeout(Duration::from_secs(30), turns.acquire_owned()).await
        }))
        .map_err(|e| StoreError::Engine(format!("store turns: {e}")))?
        .map_err(|_| StoreError::Engine("store turns: none free for 30 s".into()))?
        .map_err(|e| StoreError::Engine(format!("store turns: {e}")))
    }

    /// Applies the migrations the database lacks, each in its own transaction, while holding
    /// an advisory lock (processes starting together apply each once). Returns the versions
    /// applied now.
    pub fn migrate(&self) -> Result<Vec<i32>> {
        let c = self.conn()?;
        c.batch(schema::MIGRATIONS_TABLE)?;
        // Session lock: released below, or by the server if this process dies.
        c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let r = (|| {
            let found: i32 = c
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM schema_migrations",
                    &[],
                )?
                .get(0);
            let expected = schema::current_version();
            if found > expected {
                return Err(StoreError::Schema {
                    found: found as u32,
                    expected: expected as u32,
                });
            }
            let mut applied = Vec::new();
            for m in schema::MIGRATIONS.iter().filter(|m| m.version > found) {
                c.batch("BEGIN")?;
                let done = c.batch(m.sql).and_then(|_| {
                    c.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        &[&m.version, &m.name],
                    )
                });
                match done {
                    Ok(_) => c.batch("COMMIT")?,
                    Err(e) => {
                        let _ = c.batch("ROLLBACK");
                        return Err(StoreError::Engine(format!(
                            "migration {} ({}) failed: {e}",
                            m.version, m.name
                        )));
                    }
                }
                tracing::info!(
                    version = m.version,
                    name = m.name,
                    "store: migration applied"
                );
                applied.push(m.version);
            }
            Ok(applied)
        })();
        let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
        r
    }

    /// The schema version of the database (the highest migration applied; 0 for none).
    pub fn schema_version(&self) -> Result<i32> {
        let c = self.conn()?;
        c.batch(schema::MIGRATIONS_TABLE)?;
        Ok(c.query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0))
    }

    /// Runs SQL statements on the database as they are (tests set up states with it).
    #[doc(hidden)]
    pub fn run_sql(&self, sql: &str) -> Result<()> {
        Ok(self.conn()?.batch(sql)?)
    }

    /// The schema version this pstbot reads and writes.
    pub fn expected_schema_version() -> i32 {
        schema::current_version()
    }
}

/// The advisory lock key of the migrations ("pstbot" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x7073_7462_6f74_0001;

/// The machine's name, for naming this process in leases.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "pstbot".into())
}

/// Starts the store's runtime on a thread of its own.
fn start_io_thread() -> Result<(tokio::runtime::Handle, IoThread)> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pstbot-postgres".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pstbot-postgres-io")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = handle_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(rt.handle().clone()));
            rt.block_on(async {
                let _ = stop_rx.await;
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| StoreError::Engine(format!("cannot start the store's thread: {e}")))?;
    let handle = handle_rx
        .recv()
        .map_err(|e| StoreError::Engine(format!("the store's thread: {e}")))?
        .map_err(|e| StoreError::Engine(format!("the store's runtime: {e}")))?;
    Ok((
        handle,
        IoThread {
            stop: Some(stop_tx),
        },
    ))
}

/// One pooled connection, with blocking calls over cached prepared statements.
pub(super) struct Conn(deadpool_postgres::Object);

impl Conn {
    /// Rows of a statement.
    pub(super) fn query(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        wait(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.query(&st, params).await
        })
    }

    /// The one row of a statement.
    pub(super) fn query_one(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Row, tokio_postgres::Error> {
        wait(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.query_one(&st, params).await
        })
    }

    /// The row of a statement, if any.
    pub(super) fn query_opt(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        wait(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.query_opt(&st, params).await
        })
    }

    /// How many rows a statement changed.
    pub(super) fn execute(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64, tokio_postgres::Error> {
        wait(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.execute(&st, params).await
        })
    }

    /// Statements without parameters (transaction control, migrations).
    pub(super) fn batch(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        wait(self.0.batch_execute(sql))
    }
}
