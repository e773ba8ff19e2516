//! The sled store: the only file that knows sled trees and key bytes.
//!
//! Trees: `meta` (schema version), `sessions` (identity → conversation), `guests` (guest id →
//! guest), `guest_ids` (identity → guest id), `cases` (case number → case), `guest_cases`
//! (guest id, NUL, case number → ()), `open_cases` (case number → ()), `counters`
//! (`PREFIX/YEAR` → big-endian u64), `dedupe` (channel:message id → handled-at millis),
//! `visits`/`ratings` (big-endian millis + 8 bytes of the dedupe key's hash → record),
//! `appointments` (big-endian millis of the visit + guest id → record), `blobs` (sha256 → bytes),
//! `cases_by_time` (big-endian millis of creation + case number → ()). Walk-in queue counters
//! live in `counters` as `Q/LETTER/DAY/issued` and `…/called`.
//! Delivery: `outbox` (big-endian row id → row waiting to be sent), `outbox_sent` (row id →
//! what was delivered), `sent_refs` (channel, NUL, provider message id → big-endian row id: status
//! callbacks and quoted replies find the row), `outbox_failed` (row id → row given up on). Time: `timers` (big-endian
//! millis of the due time + timer id → timer), `timer_owners` (owner → the `timers` keys it
//! holds, so a commit can replace an owner's timers inside a transaction, where sled cannot scan).
//! Web chat: `web_sessions` (hash of a session token → session), `web_log` (session, NUL,
//! big-endian sequence → log entry), `web_log_keys` (session, NUL, entry key → sequence, so an
//! entry delivered twice is logged once).
//! `audit` (big-endian millis + 8 bytes of a hash → officers' accesses to personal data).
//! `consent_texts` (SHA-256 hex of a consent text → the text): a guest record refers to the
//! text it agreed to instead of holding a copy (see `CONSENT_REF`).
//! Values are JSON, so a stored record can be read by hand when something goes wrong.

use super::*;
use ::sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use ::sled::{Db, Transactional, Tree};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

const T_SESSIONS: usize = 0;
const T_GUESTS: usize = 1;
const T_GUEST_IDS: usize = 2;
const T_CASES: usize = 3;
const T_GUEST_CASES: usize = 4;
const T_OPEN: usize = 5;
const T_COUNTERS: usize = 6;
const T_DEDUPE: usize = 7;
const T_VISITS: usize = 8;
const T_RATINGS: usize = 9;
const T_APPOINTMENTS: usize = 10;
const T_BLOBS: usize = 11;
const T_CASES_BY_TIME: usize = 12;
const T_OUTBOX: usize = 13;
const T_SENT: usize = 14;
const T_FAILED: usize = 15;
const T_TIMERS: usize = 16;
const T_TIMER_OWNERS: usize = 17;
const T_AUDIT: usize = 18;
const T_SENT_REFS: usize = 19;
const T_FAILING: usize = 20;
const T_CONSENTS: usize = 21;
const TREE_NAMES: [&str; 22] = [
    "sessions",
    "guests",
    "guest_ids",
    "cases",
    "guest_cases",
    "open_cases",
    "counters",
    "dedupe",
    "visits",
    "ratings",
    "appointments",
    "blobs",
    "cases_by_time",
    "outbox",
    "outbox_sent",
    "outbox_failed",
    "timers",
    "timer_owners",
    "audit",
    "sent_refs",
    "failing_addresses",
    "consent_texts",
];

/// Marks a guest's `consent_text` stored as a reference: the SHA-256 (hex) of the text, which
/// is kept once in `consent_texts`. Every guest agreed to one of a few texts (~1 KiB each).
const CONSENT_REF: &str = "\u{1}sha256:";

/// A guest as stored: its consent text replaced by a reference, and the text to keep under it
/// (`None`: nothing to add).
fn stored_guest(g: &Guest) -> (Guest, Option<(String, String)>) {
    if g.consent_text.is_empty() || g.consent_text.starts_with(CONSENT_REF) {
        return (g.clone(), None);
    }
    let hash = hex::encode(Sha256::digest(g.consent_text.as_bytes()));
    let stored = Guest {
        consent_text: format!("{CONSENT_REF}{hash}"),
        ..g.clone()
    };
    (stored, Some((hash, g.consent_text.clone())))
}

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
    /// Writers hold it shared; a backup holds it alone, so its snapshot is consistent.
    gate: std::sync::RwLock<()>,
}

/// One open sled database and its trees.
struct Engine {
    db: Db,
    trees: Vec<Tree>,
    /// `web_sessions`, `web_log`, `web_log_keys`.
    web: [Tree; 3],
    /// The flusher thread: commits are applied without a flush, then wait for one that
    /// started after them (see [`super::group`]). One per open database, so a reopen after a
    /// disk error gets its own.
    group: super::group::GroupFlush,
}

/// The web chat trees, apart from the commit's trees (a commit never writes them).
const WEB_TREE_NAMES: [&str; 3] = ["web_sessions", "web_log", "web_log_keys"];

/// A key under a web session: the session id, NUL, then `rest`.
fn web_key(session: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(session.len() + 1 + rest.len());
    k.extend_from_slice(session.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

/// The sequence number at the end of a `web_log` key.
fn web_seq(key: &[u8]) -> Result<u64> {
    key.len()
        .checked_sub(8)
        .and_then(|i| <[u8; 8]>::try_from(&key[i..]).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "a web log key ends with an 8-byte sequence number".into(),
        })
}

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Engine(e.to_string())
    }
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("domain records always serialize")
}

fn dec<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn identity_key(who: &Identity) -> Vec<u8> {
    who.to_string().into_bytes()
}

fn sent_ref_key(channel: ChannelKind, provider_ref: &str) -> Vec<u8> {
    let mut k = channel.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(provider_ref.as_bytes());
    k
}

fn case_key(n: &CaseNumber) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// Big-endian milliseconds, so byte order is time order (negative times clamp to zero).
fn time_key(at: DateTime<Utc>) -> [u8; 8] {
    (at.timestamp_millis().max(0) as u64).to_be_bytes()
}

/// The `timers` key: due time first, so key order is due order.
fn timer_key(t: &Timer) -> Vec<u8> {
    let mut k = time_key(t.due).to_vec();
    k.extend_from_slice(t.id.as_bytes());
    k
}

fn event_key(at: DateTime<Utc>, salt: &str) -> Vec<u8> {
    let mut k = time_key(at).to_vec();
    k.extend_from_slice(&Sha256::digest(salt.as_bytes())[..8]);
    k
}

/// Why a transaction stopped on purpose.
#[derive(Debug)]
enum Abort {
    Duplicate,
    NoSuchCase(String),
    Conflict(String),
    Corrupt(String, String),
}

/// The stored keys an [`Erasure`] touches, found by scanning before the transaction (sled
/// transactions cannot scan).
#[derive(Default)]
struct EraseKeys {
    visits: Vec<(Vec<u8>, Visit)>,
    ratings: Vec<(Vec<u8>, Rating)>,
    /// Delivery records of messages to others about the person's cases, without their text.
    sent: Vec<(Vec<u8>, SentRecord)>,
    /// Whole keys to remove, per tree.
    remove: Vec<(usize, Vec<u8>)>,
    /// Timer owners whose timers go.
    owners: Vec<Vec<u8>>,
}

impl SledStore {
    /// Finds what an erasure must change. `own_cases` are the person's cases (rewritten by the
    /// same commit without their files), not counted as still holding a file.
    fn erase_keys(&self, e: &Erasure, own_cases: &[CaseNumber]) -> Result<EraseKeys> {
        let mut k = EraseKeys::default();
        for kv in self.e()?.trees[T_VISITS].iter() {
            let (key, v) = kv?;
            let visit: Visit = dec(&key, &v)?;
            if visit.guest_id == e.guest_id {
                k.visits.push((key.to_vec(), e.visit(&visit)));
            }
        }
        for kv in self.e()?.trees[T_RATINGS].iter() {
            let (key, v) = kv?;
            let r: Rating = dec(&key, &v)?;
            if r.guest_id.as_deref() == Some(e.guest_id.as_str()) {
                k.ratings.push((key.to_vec(), e.rating(&r)));
            }
        }
        for kv in self.e()?.trees[T_APPOINTMENTS].iter() {
            let (key, v) = kv?;
            let a: Appointment = dec(&key, &v)?;
            if a.guest_id == e.guest_id {
                k.remove.push((T_APPOINTMENTS, key.to_vec()));
            }
        }
        let mine = |who: &Identity| e.identities.contains(who);
        for kv in self.e()?.trees[T_OUTBOX].iter() {
            let (key, v) = kv?;
            let row: OutboxRow = dec(&key, &v)?;
            if mine(&row.msg.to) {
                k.remove.push((T_OUTBOX, key.to_vec()));
            }
        }
        for kv in self.e()?.trees[T_SENT].iter() {
            let (key, v) = kv?;
            let mut rec: SentRecord = dec(&key, &v)?;
            if !mine(&rec.to) {
                if rec.msg.as_ref().is_some_and(|m| e.quotes_case(&m.text)) {
                    rec.msg = None;
                    k.sent.push((key.to_vec(), rec));
                }
            } else {
                k.remove.push((T_SENT, key.to_vec()));
                for r in rec.refs() {
                    k.remove
                        .push((T_SENT_REFS, sent_ref_key(rec.to.channel, r)));
                }
            }
        }
        for kv in self.e()?.trees[T_FAILED].iter() {
            let (key, v) = kv?;
            let rec: FailedRecord = dec(&key, &v)?;
            if mine(&rec.row.msg.to) || e.quotes_case(&rec.row.msg.text) {
                k.remove.push((T_FAILED, key.to_vec()));
            }
        }
        for kv in self.e()?.trees[T_TIMER_OWNERS].iter() {
            let (key, _) = kv?;
            if e.owns_timer(&String::from_utf8_lossy(&key)) {
                k.owners.push(key.to_vec());
            }
        }
        for kv in self.e()?.trees[T_DEDUPE].iter() {
            let (key, _) = kv?;
            if e.names(&String::from_utf8_lossy(&key)) {
                k.remove.push((T_DEDUPE, key.to_vec()));
            }
        }
        for kv in self.e()?.trees[T_GUEST_IDS].iter() {
            let (key, v) = kv?;
            if v.as_ref() == e.guest_id.as_bytes() {
                k.remove.push((T_GUEST_IDS, key.to_vec()));
            }
        }
        let mut prefix = e.guest_id.clone().into_bytes();
        prefix.push(0);
        for kv in self.e()?.trees[T_GUEST_CASES].scan_prefix(&prefix) {
            k.remove.push((T_GUEST_CASES, kv?.0.to_vec()));
        }
        let own: Vec<Vec<u8>> = own_cases.iter().map(case_key).collect();
        let mut held = vec![false; e.blobs.len()];
        let finders: Vec<memchr::memmem::Finder> = e
            .blobs
            .iter()
            .map(|h| memchr::memmem::Finder::new(h.as_bytes()))
            .collect();
        for kv in self.e()?.trees[T_CASES].iter() {
            let (key, v) = kv?;
            if own.iter().any(|o| o.as_slice() == key.as_ref()) {
                continue;
            }
            for (i, f) in finders.iter().enumerate() {
                held[i] |= f.find(&v).is_some();
            }
        }
        for (h, held) in e.blobs.iter().zip(held) {
            if !held {
                k.remove.push((T_BLOBS, h.as_bytes().to_vec()));
            }
        }
        Ok(k)
    }

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
        let engine = Engine::open(path, cache_mb, compression)?;
        Ok(SledStore {
            path: path.to_path_buf(),
            cache_mb,
            compression,
            live: std::sync::RwLock::new(Some(Arc::new(engine))),
            trouble: std::sync::Mutex::new(None),
            gate: std::sync::RwLock::new(()),
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
        let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        // Close the poisoned database (sled keeps refusing writes once one failed).
        live.take();
        let reopened = Engine::open(&self.path, self.cache_mb, self.compression).and_then(|e| {
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

/// Writes, syncs and removes a small file in `dir`.
fn disk_takes_writes(dir: &Path) -> std::io::Result<()> {
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
fn lock_busy(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().starts_with("could not acquire lock")
}

/// Opens a sled database, waiting for a just-closed handle to let go of the file lock: sled
/// releases it from a background thread (and our group flusher may still be finishing) after the
/// previous handle is dropped. A lock still held after two seconds is another process.
fn open_waiting(config: &::sled::Config, path: &Path) -> Result<::sled::Db> {
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
fn stored_compression(path: &Path) -> Option<bool> {
    let bytes = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|l| l.strip_prefix("use_compression: "))
        .and_then(|v| v.trim().parse().ok())
}

/// The sled configuration of the store in `path`: compressed at level `compression` (0: not),
/// unless the store exists already, which keeps its own setting.
fn sled_config(path: &Path, compression: u8) -> ::sled::Config {
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

impl Engine {
    fn open(path: &Path, cache_mb: u64, compression: u8) -> Result<Engine> {
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
        let flusher = db.clone();
        let group = super::group::GroupFlush::new(Box::new(move || {
            flusher.flush().map(|_| ()).map_err(|e| e.to_string())
        }))
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

    /// Removes a web session's log (UU PDP erasure); the session itself stays, empty.
    fn erase_web_log(&self, session: &str) -> Result<()> {
        let prefix = web_key(session, &[]);
        for tree in [&self.e()?.web[1], &self.e()?.web[2]] {
            let mut batch = ::sled::Batch::default();
            for kv in tree.scan_prefix(&prefix) {
                batch.remove(kv?.0);
            }
            tree.apply_batch(batch)?;
        }
        Ok(())
    }

    /// Shared access for a write (see `gate`).
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every tree to `out` as one consistent snapshot: writes wait while it runs
    /// (reads do not). The service keeps running; see `pstbot backup`.
    pub fn backup_to(&self, out: impl std::io::Write) -> Result<super::backup::BackupStats> {
        let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut w = super::backup::BackupWriter::new(out)?;
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

    /// Restores a backup file into `dir`, which must hold no store yet (or an empty one).
    /// The file is checked whole before anything is written.
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

    pub fn restore_from(dir: &Path, file: &Path) -> Result<super::backup::BackupStats> {
        Self::restore_from_with(dir, file, crate::config::DEFAULT_COMPRESSION)
    }

    /// [`SledStore::restore_from`] into a new store compressed at level `compression` (0: not
    /// compressed): restoring a backup is how an existing store changes its compression.
    pub fn restore_from_with(
        dir: &Path,
        file: &Path,
        compression: u8,
    ) -> Result<super::backup::BackupStats> {
        use super::backup::{BackupReader, Item, verify};
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
        let mut stats = super::backup::BackupStats::default();
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

    /// Every delivered row's record, in row order (for checks after a crash campaign, and by
    /// hand when something goes wrong: row ids are not contiguous after a restart).
    pub fn sent_records(&self) -> Result<Vec<SentRecord>> {
        self.e()?.trees[T_SENT]
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
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

    /// Applies many commits (none of them an erasure) in one transaction: all or none. A
    /// commit whose dedupe mark exists (also one earlier in `commits`) is a duplicate and
    /// changes nothing. For bulk loads (the scale benchmark seeds its stores with it); the
    /// service commits one message at a time through [`Store::commit_with`].
    pub fn commit_batch(&self, commits: &[Commit], f: &dyn Followups) -> Result<Vec<Committed>> {
        if commits.iter().any(|c| c.erase.is_some()) {
            return Err(StoreError::Engine(
                "an erasure cannot be part of a batch".into(),
            ));
        }
        let items: Vec<(&Commit, &dyn Followups)> = commits.iter().map(|c| (c, f)).collect();
        self.apply_together(&items)
    }

    /// Applies commits (no erasures) in one transaction: all or none, except that a commit
    /// whose dedupe mark exists is a duplicate and changes nothing (it is refused before it
    /// writes anything).
    fn apply_together(&self, items: &[(&Commit, &dyn Followups)]) -> Result<Vec<Committed>> {
        let _writing = self.writing();
        let engine = self.e()?;
        let result = engine.trees.as_slice().transaction(|t| {
            let mut out = Vec::with_capacity(items.len());
            for (c, f) in items {
                match tx_apply(t, c, *f, None) {
                    Ok(applied) => out.push(Committed::Applied(applied)),
                    Err(ConflictableTransactionError::Abort(Abort::Duplicate)) => {
                        out.push(Committed::Duplicate)
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        });
        result.map_err(tx_error)
    }

    /// [`Store::outbox_sent`] for many rows in one transaction (bulk loads).
    pub fn outbox_sent_batch(&self, recs: &[SentRecord]) -> Result<()> {
        let _writing = self.writing();
        let engine = self.e()?;
        let trees = [
            &engine.trees[T_OUTBOX],
            &engine.trees[T_SENT],
            &engine.trees[T_SENT_REFS],
        ];
        tx_done(trees.transaction(|t| {
            for rec in recs {
                let key = rec.id.to_be_bytes();
                t[0].remove(&key)?;
                t[1].insert(&key, enc(rec))?;
                for r in rec.refs() {
                    t[2].insert(sent_ref_key(rec.to.channel, r), &key)?;
                }
            }
            Ok(())
        }))
    }

    /// A consent text kept once for all guests who agreed to it (see [`CONSENT_REF`]).
    fn consent_text(&self, hash: &str) -> Result<String> {
        match self.e()?.trees[T_CONSENTS].get(hash.as_bytes())? {
            Some(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
            None => Err(StoreError::Corrupt {
                key: hash.to_string(),
                reason: "a guest refers to a consent text the store does not have".into(),
            }),
        }
    }

    /// A stored guest with its consent text in place of the reference.
    fn with_consent_text(&self, mut g: Guest) -> Result<Guest> {
        if let Some(hash) = g.consent_text.strip_prefix(CONSENT_REF) {
            g.consent_text = self.consent_text(hash)?;
        }
        Ok(g)
    }

    /// Stored guests with their consent texts in place of the references, each text read once.
    fn with_consent_texts(&self, mut guests: Vec<Guest>) -> Result<Vec<Guest>> {
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for g in &mut guests {
            if let Some(hash) = g.consent_text.strip_prefix(CONSENT_REF) {
                if !texts.contains_key(hash) {
                    let text = self.consent_text(hash)?;
                    texts.insert(hash.to_string(), text);
                }
                g.consent_text = texts[hash].clone();
            }
        }
        Ok(guests)
    }

    /// Bytes on disk, for benchmarks and reports.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.e()?.db.size_on_disk()?)
    }
}

fn tx_get<T: DeserializeOwned>(
    t: &TransactionalTree,
    key: &[u8],
) -> std::result::Result<Option<T>, ConflictableTransactionError<Abort>> {
    match t.get(key)? {
        Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| {
            ConflictableTransactionError::Abort(Abort::Corrupt(
                String::from_utf8_lossy(key).into_owned(),
                e.to_string(),
            ))
        }),
        None => Ok(None),
    }
}

/// A stored counter (big-endian u64); absent counts as zero.
fn counter_value(v: Option<::sled::IVec>) -> u64 {
    v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

fn tx_counter(
    t: &TransactionalTree,
    key: &str,
) -> std::result::Result<u64, ConflictableTransactionError<Abort>> {
    Ok(counter_value(t.get(key.as_bytes())?))
}

fn tx_set_counter(
    t: &TransactionalTree,
    key: &str,
    v: u64,
) -> std::result::Result<(), ConflictableTransactionError<Abort>> {
    t.insert(key.as_bytes(), &v.to_be_bytes())?;
    Ok(())
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Abort>>;

/// Replaces all timers of an owner, leaving out those that already fired (their firing is in
/// `dedupe`), so recomputing a case's reminders never repeats one.
fn tx_replace_timers(t: &[TransactionalTree], set: &TimerSet) -> TxResult<()> {
    let owner = set.owner.as_bytes();
    let old: Vec<Vec<u8>> = tx_get(&t[T_TIMER_OWNERS], owner)?.unwrap_or_default();
    for k in &old {
        t[T_TIMERS].remove(k.as_slice())?;
    }
    let mut keys = Vec::new();
    for timer in &set.timers {
        if t[T_DEDUPE].get(timer.dedupe_id().as_bytes())?.is_some() {
            continue;
        }
        let k = timer_key(timer);
        t[T_TIMERS].insert(k.as_slice(), enc(timer))?;
        keys.push(k);
    }
    if keys.is_empty() {
        t[T_TIMER_OWNERS].remove(owner)?;
    } else {
        t[T_TIMER_OWNERS].insert(owner, enc(&keys))?;
    }
    Ok(())
}

/// Applies an erasure inside the commit's transaction (see [`Erasure`]).
fn tx_erase(t: &[TransactionalTree], e: &Erasure, keys: &EraseKeys) -> TxResult<()> {
    t[T_GUESTS].remove(e.guest_id.as_bytes())?;
    for who in &e.identities {
        let k = identity_key(who);
        t[T_SESSIONS].remove(k.as_slice())?;
        t[T_GUEST_IDS].remove(k.as_slice())?;
        t[T_FAILING].remove(failing_key(who))?;
    }
    for (k, v) in &keys.visits {
        t[T_VISITS].insert(k.as_slice(), enc(v))?;
    }
    for (k, r) in &keys.ratings {
        t[T_RATINGS].insert(k.as_slice(), enc(r))?;
    }
    for (k, r) in &keys.sent {
        t[T_SENT].insert(k.as_slice(), enc(r))?;
    }
    for (tree, k) in &keys.remove {
        t[*tree].remove(k.as_slice())?;
    }
    for owner in &keys.owners {
        tx_replace_timers(
            t,
            &TimerSet {
                owner: String::from_utf8_lossy(owner).into_owned(),
                timers: Vec::new(),
            },
        )?;
    }
    Ok(())
}

/// Removes one timer from the due index and from its owner's list.
fn tx_remove_timer(
    timers: &TransactionalTree,
    owners: &TransactionalTree,
    timer: &Timer,
) -> TxResult<()> {
    let k = timer_key(timer);
    timers.remove(k.as_slice())?;
    let owner = timer.owner.as_bytes();
    if let Some(mut keys) = tx_get::<Vec<Vec<u8>>>(owners, owner)? {
        keys.retain(|x| *x != k);
        if keys.is_empty() {
            owners.remove(owner)?;
        } else {
            owners.insert(owner, enc(&keys))?;
        }
    }
    Ok(())
}

/// Maps a transaction's outcome for the delivery and timer writes (which abort only on
/// corrupt records).
fn tx_done(r: std::result::Result<(), TransactionError<Abort>>) -> Result<()> {
    r.map_err(tx_error)
}

/// The store error for a failed transaction (a duplicate, where it is an outcome rather than
/// an error, is matched by the caller first).
fn tx_error(e: TransactionError<Abort>) -> StoreError {
    match e {
        TransactionError::Abort(Abort::NoSuchCase(n)) => StoreError::NoSuchCase(n),
        TransactionError::Abort(Abort::Conflict(n)) => StoreError::Conflict(n),
        TransactionError::Abort(Abort::Corrupt(key, reason)) => StoreError::Corrupt { key, reason },
        TransactionError::Abort(other) => StoreError::Engine(format!("{other:?}")),
        TransactionError::Storage(e) => e.into(),
    }
}

/// Applies one commit inside a transaction over all the commit trees (see [`Store::commit_with`]).
fn tx_apply(
    t: &[TransactionalTree],
    c: &Commit,
    f: &dyn Followups,
    erase: Option<&(&Erasure, EraseKeys)>,
) -> TxResult<Applied> {
    let dedupe_key = c.dedupe.0.as_bytes();
    if t[T_DEDUPE].get(dedupe_key)?.is_some() {
        return Err(ConflictableTransactionError::Abort(Abort::Duplicate));
    }
    t[T_DEDUPE].insert(dedupe_key, &time_key(c.at))?;
    let who = identity_key(&c.who);
    if let Some(session) = &c.session {
        t[T_SESSIONS].insert(who.as_slice(), enc(session))?;
    }
    let existing_id = t[T_GUEST_IDS].get(who.as_slice())?;
    let mut guest_id = existing_id
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    if let Some(u) = &c.guest {
        let existing: Option<Guest> = match &guest_id {
            Some(id) => tx_get(&t[T_GUESTS], id.as_bytes())?,
            None => None,
        };
        let g = merged_guest(existing, c, u);
        let (stored, text) = stored_guest(&g);
        if let Some((hash, text)) = text
            && t[T_CONSENTS].get(hash.as_bytes())?.is_none()
        {
            t[T_CONSENTS].insert(hash.as_bytes(), text.as_bytes())?;
        }
        t[T_GUESTS].insert(g.id.as_bytes(), enc(&stored))?;
        t[T_GUEST_IDS].insert(who.as_slice(), g.id.as_bytes())?;
        guest_id = Some(g.id);
    }
    let mut created = None;
    let mut written: Vec<Case> = Vec::new();
    if let Some(new) = &c.new_case {
        let gid = guest_id.clone().unwrap_or_else(|| Guest::id_for(&c.who));
        let counter_key = format!("{}/{}", new.service.prefix(), new.year);
        let last = tx_counter(&t[T_COUNTERS], &counter_key)?;
        let number = CaseNumber {
            service: new.service,
            year: new.year,
            seq: last + 1,
        };
        tx_set_counter(&t[T_COUNTERS], &counter_key, last + 1)?;
        let case = build_case(c, new, number.clone(), gid.clone());
        let ck = case_key(&number);
        t[T_CASES].insert(ck.as_slice(), enc(&case))?;
        t[T_OPEN].insert(ck.as_slice(), &[])?;
        let mut gk = gid.into_bytes();
        gk.push(0);
        gk.extend_from_slice(&ck);
        t[T_GUEST_CASES].insert(gk, &[])?;
        let mut tk = time_key(c.at).to_vec();
        tk.extend_from_slice(&ck);
        t[T_CASES_BY_TIME].insert(tk, &[])?;
        written.push(case);
        created = Some(number);
    }
    for updated in &c.case_updates {
        let ck = case_key(&updated.number);
        let Some(stored): Option<Case> = tx_get(&t[T_CASES], &ck)? else {
            return Err(ConflictableTransactionError::Abort(Abort::NoSuchCase(
                updated.number.to_string(),
            )));
        };
        if stored.version + 1 != updated.version {
            return Err(ConflictableTransactionError::Abort(Abort::Conflict(
                updated.number.to_string(),
            )));
        }
        t[T_CASES].insert(ck.as_slice(), enc(updated))?;
        written.push(updated.clone());
        if updated.open {
            t[T_OPEN].insert(ck.as_slice(), &[])?;
        } else {
            t[T_OPEN].remove(ck.as_slice())?;
        }
    }
    let mut ticket = None;
    if let Some(q) = &c.ticket {
        let issued = tx_counter(&t[T_COUNTERS], &q.issued_key())? + 1;
        let called = tx_counter(&t[T_COUNTERS], &q.called_key())?;
        tx_set_counter(&t[T_COUNTERS], &q.issued_key(), issued)?;
        ticket = Some(Ticket {
            number: issued,
            ahead: issued.saturating_sub(called + 1),
        });
    }
    let mut called = None;
    if let Some(q) = &c.call_next {
        let issued = tx_counter(&t[T_COUNTERS], &q.issued_key())?;
        let done = tx_counter(&t[T_COUNTERS], &q.called_key())?;
        if done < issued {
            tx_set_counter(&t[T_COUNTERS], &q.called_key(), done + 1)?;
            called = Some(done + 1);
        }
    }
    for (number, event) in &c.case_events {
        let ck = case_key(number);
        let Some(mut case): Option<Case> = tx_get(&t[T_CASES], &ck)? else {
            return Err(ConflictableTransactionError::Abort(Abort::NoSuchCase(
                number.to_string(),
            )));
        };
        case.history.push(event.clone());
        case.version += 1;
        t[T_CASES].insert(ck.as_slice(), enc(&case))?;
    }
    if let Some(v) = &c.visit {
        t[T_VISITS].insert(event_key(v.at, &c.dedupe.0), enc(v))?;
    }
    if let Some(r) = &c.rating {
        t[T_RATINGS].insert(event_key(r.at, &c.dedupe.0), enc(r))?;
    }
    if let Some(a) = &c.appointment {
        let mut k = time_key(a.at).to_vec();
        k.extend_from_slice(a.guest_id.as_bytes());
        t[T_APPOINTMENTS].insert(k, enc(a))?;
    }
    for (hash, bytes) in &c.blobs {
        t[T_BLOBS].insert(hash.as_bytes(), bytes.as_slice())?;
    }
    if let Some((who, failing)) = &c.address_failing {
        if *failing {
            t[T_FAILING].insert(failing_key(who), &time_key(c.at))?;
        } else {
            t[T_FAILING].remove(failing_key(who))?;
        }
    }
    let mut applied = Applied {
        case: created,
        ticket,
        called,
        ..Applied::default()
    };
    for (i, msg) in f.messages(&applied).into_iter().enumerate() {
        let id = t[T_OUTBOX].generate_id()?;
        let mut row = OutboxRow::new(id, OutboxRow::key_for(&c.dedupe.0, i), c.at, msg);
        row.forget_recipient = c
            .erase
            .as_ref()
            .is_some_and(|e| e.identities.contains(&row.msg.to));
        t[T_OUTBOX].insert(&id.to_be_bytes(), enc(&row))?;
        applied.queued.push(id);
        applied.rows.push(row);
    }
    let case_sets = written.iter().map(|case| TimerSet {
        owner: records::case_owner(&case.number),
        timers: f.case_timers(case),
    });
    for set in c.timers.iter().cloned().chain(case_sets) {
        tx_replace_timers(t, &set)?;
        applied.timers_changed = true;
    }
    if let Some(fired) = &c.fired {
        tx_remove_timer(&t[T_TIMERS], &t[T_TIMER_OWNERS], fired)?;
    }
    for a in &c.audit {
        let salt = format!("{}/{}/{}/{}", c.dedupe.0, a.officer, a.action, a.subject);
        t[T_AUDIT].insert(event_key(a.at, &salt), enc(a))?;
    }
    if let Some((e, keys)) = erase {
        tx_erase(t, e, keys)?;
    }
    Ok(applied)
}

impl Store for SledStore {
    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        Ok(self.e()?.trees[T_DEDUPE].contains_key(key.0.as_bytes())?)
    }

    fn session(&self, who: &Identity) -> Result<Option<Conversation>> {
        self.get(T_SESSIONS, &identity_key(who))
    }

    fn guest_of(&self, who: &Identity) -> Result<Option<Guest>> {
        match self.e()?.trees[T_GUEST_IDS].get(identity_key(who))? {
            Some(id) => match self.get(T_GUESTS, &id)? {
                Some(g) => Ok(Some(self.with_consent_text(g)?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    fn email_of(&self, who: &Identity) -> Result<Option<String>> {
        // Every notification asks this: only the profile is decoded, the consent not read.
        #[derive(serde::Deserialize)]
        struct Profile {
            profile: BTreeMap<String, crate::cases::Answer>,
        }
        let Some(id) = self.e()?.trees[T_GUEST_IDS].get(identity_key(who))? else {
            return Ok(None);
        };
        let p: Option<Profile> = self.get(T_GUESTS, &id)?;
        Ok(p.and_then(|p| crate::guestbook::email_in(&p.profile).map(str::to_string)))
    }

    fn guests(&self) -> Result<Vec<Guest>> {
        self.with_consent_texts(self.all(T_GUESTS)?)
    }

    fn guests_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Guest>> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
        let page = self.e()?.trees[T_GUESTS]
            .range::<Vec<u8>, _>((from, Bound::Unbounded))
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect::<Result<Vec<Guest>>>()?;
        self.with_consent_texts(page)
    }

    fn case(&self, number: &CaseNumber) -> Result<Option<Case>> {
        self.get(T_CASES, &case_key(number))
    }

    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>> {
        let mut prefix = guest_id.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_GUEST_CASES].scan_prefix(&prefix) {
            let (k, _) = kv?;
            let number = &k[prefix.len()..];
            match self.e()?.trees[T_CASES].get(number)? {
                Some(v) => out.push(dec::<Case>(number, &v)?),
                None => {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: "index names a missing case".into(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.number.cmp(&a.number))
        });
        Ok(out)
    }

    fn open_cases(&self) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_OPEN].iter() {
            let (k, _) = kv?;
            match self.get::<Case>(T_CASES, &k)? {
                Some(c) => out.push(c),
                None => {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: "open-case index names a missing case".into(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.number.cmp(&b.number))
        });
        Ok(out)
    }

    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in
            self.e()?.trees[T_CASES_BY_TIME].range(time_key(from).to_vec()..time_key(to).to_vec())
        {
            let (k, _) = kv?;
            let number = &k[8..];
            match self.get::<Case>(T_CASES, number)? {
                Some(c) => out.push(c),
                None => {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(number).into_owned(),
                        reason: "time index names a missing case".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)> {
        let read = |k: String| -> Result<u64> {
            Ok(counter_value(
                self.e()?.trees[T_COUNTERS].get(k.as_bytes())?,
            ))
        };
        Ok((read(key.issued_key())?, read(key.called_key())?))
    }

    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_CASES].scan_prefix(Service::Rek.prefix().as_bytes()) {
            let (k, v) = kv?;
            let c: Case = dec(&k, &v)?;
            if stages.contains(&c.stage.as_str()) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn visits(&self) -> Result<Vec<Visit>> {
        self.all(T_VISITS)
    }

    fn ratings(&self) -> Result<Vec<Rating>> {
        self.all(T_RATINGS)
    }

    fn appointments(&self) -> Result<Vec<Appointment>> {
        self.all(T_APPOINTMENTS)
    }

    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.e()?.trees[T_BLOBS]
            .get(hash.as_bytes())?
            .map(|v| v.to_vec()))
    }

    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.all(T_AUDIT)
    }

    fn address_failing(&self, who: &Identity) -> Result<bool> {
        Ok(self.e()?.trees[T_FAILING].get(failing_key(who))?.is_some())
    }

    fn commit_with(&self, c: Commit, f: &dyn Followups) -> Result<Committed> {
        let r = (move || -> Result<Committed> {
            let _writing = self.writing();
            let erase = match &c.erase {
                Some(e) => {
                    let own: Vec<CaseNumber> =
                        c.case_updates.iter().map(|u| u.number.clone()).collect();
                    Some((e, self.erase_keys(e, &own)?))
                }
                None => None,
            };
            if let Some((e, _)) = &erase {
                // The web chat log of their sessions goes first: should the commit fail, the
                // conversation copy is gone and the erasure is asked again, never the reverse.
                for who in e
                    .identities
                    .iter()
                    .filter(|i| i.channel == ChannelKind::Web)
                {
                    self.erase_web_log(&who.address)?;
                }
            }
            let result = self
                .e()?
                .trees
                .as_slice()
                .transaction(|t| tx_apply(t, &c, f, erase.as_ref()));
            match result {
                Ok(applied) => Ok(Committed::Applied(applied)),
                Err(TransactionError::Abort(Abort::Duplicate)) => Ok(Committed::Duplicate),
                Err(e) => Err(tx_error(e)),
            }
        })();
        self.noted(r)
    }

    fn commit_many(&self, items: Vec<(Commit, &dyn Followups)>) -> Vec<Result<Committed>> {
        // Erasures scan before their transaction: they go one at a time.
        if items.len() < 2 || items.iter().any(|(c, _)| c.erase.is_some()) {
            return items
                .into_iter()
                .map(|(c, f)| self.commit_with(c, f))
                .collect();
        }
        let together = {
            let refs: Vec<(&Commit, &dyn Followups)> = items.iter().map(|(c, f)| (c, *f)).collect();
            self.apply_together(&refs)
        };
        match together {
            Ok(done) => done.into_iter().map(Ok).collect(),
            // One of them cannot apply (a case changed meanwhile, …), or the write failed:
            // each on its own, so the others still apply and each gets its own answer.
            Err(_) => items
                .into_iter()
                .map(|(c, f)| self.commit_with(c, f))
                .collect(),
        }
    }

    fn flush(&self) -> Result<()> {
        let r = self
            .e()
            .and_then(|e| e.group.flush_blocking().map_err(StoreError::Engine));
        self.noted(r)
    }

    fn flushed(&self) -> super::FlushFuture<'_> {
        // The request is made now, before the future is polled.
        let asked = self.e().map(|e| {
            let t = e.group.request();
            (e, t)
        });
        Box::pin(async move {
            let r = match asked {
                Ok((e, t)) => e.group.wait(t).await.map_err(StoreError::Engine),
                Err(e) => Err(e),
            };
            self.noted(r)
        })
    }

    fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let e = self.e()?;
        let meta = e.db.open_tree("meta")?;
        let key = format!("secret:{name}");
        let fresh = super::random_secret()?;
        // The first process to store one wins; everyone reads what is there.
        let _ = meta.compare_and_swap(&key, None as Option<&[u8]>, Some(&fresh[..]))?;
        let stored = meta
            .get(&key)?
            .ok_or_else(|| StoreError::Engine(format!("secret {name} vanished")))?;
        e.db.flush()?;
        <[u8; 32]>::try_from(stored.as_ref())
            .map_err(|_| StoreError::Engine(format!("secret {name} is damaged")))
    }

    fn trouble(&self) -> Option<String> {
        self.trouble
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn outbox_pending(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxRow>> {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        self.e()?.trees[T_OUTBOX]
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    fn outbox_pending_except(
        &self,
        after: Option<u64>,
        limit: usize,
        skip: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<OutboxRow>> {
        let start = after.map(|a| a.saturating_add(1)).unwrap_or(0);
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_OUTBOX].range(start.to_be_bytes()..) {
            let (k, v) = kv?;
            let id = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes);
            if id.is_ok_and(skip) {
                continue;
            }
            out.push(dec(&k, &v)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn outbox_retry(&self, row: &OutboxRow) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            // Only a row still waiting is written back (never resurrect one marked sent).
            let key = row.id.to_be_bytes();
            let tree = &self.e()?.trees[T_OUTBOX];
            if let Some(old) = tree.get(key)? {
                let _ = tree.compare_and_swap(key, Some(old), Some(enc(row)))?;
            }
            Ok(())
        })();
        self.noted(r)
    }

    fn outbox_sent(&self, rec: SentRecord) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            let key = rec.id.to_be_bytes();
            let trees = [
                &self.e()?.trees[T_OUTBOX],
                &self.e()?.trees[T_SENT],
                &self.e()?.trees[T_SENT_REFS],
            ];
            tx_done(trees.transaction(|t| {
                t[0].remove(&key)?;
                t[1].insert(&key, enc(&rec))?;
                for r in rec.refs() {
                    t[2].insert(sent_ref_key(rec.to.channel, r), &key)?;
                }
                Ok(())
            }))
        })();
        self.noted(r)
    }

    fn outbox_failed(&self, rec: FailedRecord, notice: Option<OutboundMessage>) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            let key = rec.row.id.to_be_bytes();
            let trees = [&self.e()?.trees[T_OUTBOX], &self.e()?.trees[T_FAILED]];
            tx_done(trees.transaction(|t| {
                t[0].remove(&key)?;
                t[1].insert(&key, enc(&rec))?;
                if let Some(msg) = &notice {
                    let id = t[0].generate_id()?;
                    let row =
                        OutboxRow::new(id, OutboxRow::failure_key(rec.row.id), rec.at, msg.clone());
                    t[0].insert(&id.to_be_bytes(), enc(&row))?;
                }
                Ok(())
            }))
        })();
        self.noted(r)
    }

    fn sent(&self, id: u64) -> Result<Option<SentRecord>> {
        self.get(T_SENT, &id.to_be_bytes())
    }

    fn sent_by_ref(&self, channel: ChannelKind, provider_ref: &str) -> Result<Option<SentRecord>> {
        match self.e()?.trees[T_SENT_REFS].get(sent_ref_key(channel, provider_ref))? {
            Some(id) => self.get(T_SENT, &id),
            None => Ok(None),
        }
    }

    fn outbox_status(&self, id: u64, status: DeliveryStatus, at: DateTime<Utc>) -> Result<bool> {
        let r = (move || -> Result<bool> {
            let key = id.to_be_bytes();
            let tree = &self.e()?.trees[T_SENT];
            // Compare-and-swap: two callbacks for one message may race.
            loop {
                let Some(old) = tree.get(key)? else {
                    return Ok(false);
                };
                let mut rec: SentRecord = dec(&key, &old)?;
                if !status.advances(rec.status) {
                    return Ok(false);
                }
                rec.status = Some(status);
                rec.status_at = Some(at);
                if tree
                    .compare_and_swap(key, Some(old), Some(enc(&rec)))?
                    .is_ok()
                {
                    return Ok(true);
                }
            }
        })();
        self.noted(r)
    }

    fn failed(&self) -> Result<Vec<FailedRecord>> {
        self.all(T_FAILED)
    }

    fn prune_dedupe(
        &self,
        after: Option<&str>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<String>> {
        let r = (move || -> Result<PrunePage<String>> {
            let _writing = self.writing();
            let tree = &self.e()?.trees[T_DEDUPE];
            let from = match after {
                Some(a) => std::ops::Bound::Excluded(a.as_bytes().to_vec()),
                None => std::ops::Bound::Unbounded,
            };
            let cutoff = time_key(before);
            let mut batch = ::sled::Batch::default();
            let (mut seen, mut pruned, mut last) = (0, 0, None);
            for kv in tree.range::<Vec<u8>, _>((from, std::ops::Bound::Unbounded)) {
                let (k, at) = kv?;
                seen += 1;
                // The value is the big-endian millis it was handled at: byte order is time order.
                if !k.starts_with(TIMER_MARK.as_bytes()) && at.as_ref() < cutoff.as_slice() {
                    batch.remove(k.clone());
                    pruned += 1;
                }
                last = Some(k);
                if seen == limit {
                    break;
                }
            }
            tree.apply_batch(batch)?;
            Ok(PrunePage {
                next: if seen == limit {
                    last.map(|k| String::from_utf8_lossy(&k).into_owned())
                } else {
                    None
                },
                pruned,
            })
        })();
        self.noted(r)
    }

    fn prune_sent(
        &self,
        after: Option<u64>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<PrunePage<u64>> {
        let r = (move || -> Result<PrunePage<u64>> {
            let _writing = self.writing();
            let tree = &self.e()?.trees[T_SENT];
            let from = after.map_or(0, |a| a.saturating_add(1)).to_be_bytes();
            let (mut seen, mut pruned, mut last) = (0, 0, None);
            for kv in tree.range(from..) {
                let (k, old) = kv?;
                seen += 1;
                let mut rec: SentRecord = dec(&k, &old)?;
                if rec.at >= before {
                    return Ok(PrunePage { next: None, pruned });
                }
                last = Some(rec.id);
                if rec.msg.is_some() {
                    rec.msg = None;
                    // Compare-and-swap: a status callback may change the record meanwhile;
                    // then it is left for the next pass.
                    if tree
                        .compare_and_swap(&k, Some(old), Some(enc(&rec)))?
                        .is_ok()
                    {
                        pruned += 1;
                    }
                }
                if seen == limit {
                    break;
                }
            }
            Ok(PrunePage {
                next: if seen == limit { last } else { None },
                pruned,
            })
        })();
        self.noted(r)
    }

    /// sled 0.34 writes down its page table only when a database is opened, and replays
    /// everything logged since at the next open: so the store is closed and opened again here.
    /// Writes (and reads) wait meanwhile; everything applied is flushed first.
    fn checkpoint(&self) -> Result<()> {
        let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let Some(engine) = live.take() else {
            return Err(StoreError::Engine(
                self.trouble()
                    .unwrap_or_else(|| "the store is closed".into()),
            ));
        };
        let flushed = engine.db.flush();
        // Reads that took the database before hold it open (and its file lock): new ones wait
        // on `live`, so these end soon.
        let waited = std::time::Instant::now();
        while Arc::strong_count(&engine) > 1
            && waited.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(engine);
        let r = flushed
            .map_err(StoreError::from)
            .and_then(|_| Engine::open(&self.path, self.cache_mb, self.compression));
        match r {
            Ok(engine) => {
                *live = Some(Arc::new(engine));
                Ok(())
            }
            // Closed: the store reports trouble and `heal` opens it again.
            Err(e) => {
                drop(live);
                self.noted(Err(e))
            }
        }
    }

    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>> {
        let mut end = time_key(until).to_vec();
        end.push(0xff);
        self.e()?.trees[T_TIMERS]
            .range(..end)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        match self.e()?.trees[T_TIMERS].first()? {
            Some((k, v)) => Ok(Some(dec::<Timer>(&k, &v)?.due)),
            None => Ok(None),
        }
    }

    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>> {
        let keys: Vec<Vec<u8>> = self
            .get(T_TIMER_OWNERS, owner.as_bytes())?
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            if let Some(t) = self.get::<Timer>(T_TIMERS, &k)? {
                out.push(t);
            }
        }
        out.sort_by(|a, b| a.due.cmp(&b.due).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn drop_timer(&self, timer: &Timer) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            let trees = [&self.e()?.trees[T_TIMERS], &self.e()?.trees[T_TIMER_OWNERS]];
            tx_done(trees.transaction(|t| tx_remove_timer(&t[0], &t[1], timer)))
        })();
        self.noted(r)
    }

    fn web_session(&self, id: &str) -> Result<Option<WebSession>> {
        match self.e()?.web[0].get(id.as_bytes())? {
            Some(v) => Ok(Some(dec(id.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    fn put_web_session(&self, session: &WebSession) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            self.e()?.web[0].insert(session.id.as_bytes(), enc(session))?;
            Ok(())
        })();
        self.noted(r)
    }

    fn web_log_append(&self, session: &str, key: &str, entry: &WebLogEntry) -> Result<(u64, bool)> {
        let r = (move || -> Result<(u64, bool)> {
            let _writing = self.writing();
            let kkey = web_key(session, key.as_bytes());
            let value = enc(entry);
            let trees = [&self.e()?.web[1], &self.e()?.web[2]];
            let r = trees.transaction(|t| -> TxResult<(u64, bool)> {
                if let Some(v) = t[1].get(&kkey)? {
                    return Ok((counter_value(Some(v)), false));
                }
                let seq = t[0].generate_id()? + 1;
                t[0].insert(web_key(session, &seq.to_be_bytes()), value.clone())?;
                t[1].insert(kkey.as_slice(), &seq.to_be_bytes())?;
                Ok((seq, true))
            });
            match r {
                Ok(v) => Ok(v),
                Err(TransactionError::Abort(a)) => Err(StoreError::Engine(format!("{a:?}"))),
                Err(TransactionError::Storage(e)) => Err(e.into()),
            }
        })();
        self.noted(r)
    }

    fn web_log(&self, session: &str, after: u64, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        let start = web_key(session, &after.saturating_add(1).to_be_bytes());
        let end = web_key(session, &u64::MAX.to_be_bytes());
        self.e()?.web[1]
            .range(start..=end)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((web_seq(&k)?, dec(&k, &v)?))
            })
            .collect()
    }

    fn web_log_tail(&self, session: &str, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        let start = web_key(session, &0u64.to_be_bytes());
        let end = web_key(session, &u64::MAX.to_be_bytes());
        let mut v = self.e()?.web[1]
            .range(start..=end)
            .rev()
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((web_seq(&k)?, dec(&k, &v)?))
            })
            .collect::<Result<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }
}

/// Addresses are compared without case (e-mail addresses are, in practice).
fn failing_key(who: &Identity) -> Vec<u8> {
    format!("{}:{}", who.channel.as_str(), who.address.to_lowercase()).into_bytes()
}
