//! Checking a sled store for damage and saving what can still be read (issue 17.10).
//!
//! sled checks a page's CRC only when it reads the page, so a damaged `db` file (flipped bits,
//! a zeroed range, a cut-off end) opens, serves and goes unnoticed until a read touches the
//! damaged page. [`SledStore::verify`] walks every tree and decodes every record; a bounded
//! walk ([`Budget`]) runs at start, a full one in daily housekeeping and `pstbot verify`.
//! [`SledStore::salvage_dir`] writes every record that can still be read as a backup.
//!
//! sled's iterator repeats an error at the same place, so a walk cannot step over a damaged
//! page: each tree is walked forward until the first error, then backward from its end until
//! the next one. What lies between the two is lost (and reported as a range of keys). sled
//! also panics on some damage (a `db` cut to half panics while it is opened): opening and
//! walking run under `catch_unwind`, and a panic becomes an error that names the folder.

use super::keys::{TREE_NAMES, WEB_TREE_NAMES, dec};
use super::{Engine, SledStore};
use crate::store::backup::{BackupStats, BackupWriter};
use crate::store::verify::{Budget, Problem, VerifyReport};
use crate::store::{Result, StoreError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A panic's message.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The error of a store sled cannot open because it is damaged: names the folder and what to
/// do.
pub(super) fn damaged(path: &Path, what: &str) -> StoreError {
    StoreError::Engine(format!(
        "the store at {} is damaged and cannot be opened ({what}). Stop pstbot, move the folder \
         aside, and restore the last good backup into an empty folder (`pstbot restore FILE`); \
         `pstbot backup --salvage FILE` saves what can still be read of the damaged one",
        path.display()
    ))
}

/// Runs `f`, turning a panic inside sled into an error naming `path`.
pub(super) fn unpanicked<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(damaged(
            path,
            &format!("sled panicked: {}", panic_text(&*p)),
        ))
    })
}

/// Checks that a stored value decodes as what its tree holds.
fn decodes(tree: &str, key: &[u8], v: &[u8]) -> Result<()> {
    use crate::store::records::{FailedRecord, OutboxRow, SentRecord, Timer, WebLogEntry};
    match tree {
        "sessions" => dec::<crate::dialogs::Conversation>(key, v).map(drop),
        "guests" => dec::<crate::guestbook::Guest>(key, v).map(drop),
        "cases" => dec::<crate::cases::Case>(key, v).map(drop),
        "visits" => dec::<crate::guestbook::Visit>(key, v).map(drop),
        "ratings" => dec::<crate::guestbook::Rating>(key, v).map(drop),
        "appointments" => dec::<crate::guestbook::Appointment>(key, v).map(drop),
        "outbox" => dec::<OutboxRow>(key, v).map(drop),
        "outbox_sent" => dec::<SentRecord>(key, v).map(drop),
        "outbox_failed" => dec::<FailedRecord>(key, v).map(drop),
        "timers" => dec::<Timer>(key, v).map(drop),
        "timer_owners" => dec::<Vec<Vec<u8>>>(key, v).map(drop),
        "audit" => dec::<crate::store::AuditEntry>(key, v).map(drop),
        "web_sessions" => dec::<crate::store::WebSession>(key, v).map(drop),
        "web_log" => dec::<WebLogEntry>(key, v).map(drop),
        // Raw bytes: counters, marks, indexes, files, consent texts.
        _ => Ok(()),
    }
}

/// A key as a report shows it: text where it is text, else hex.
fn shown(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => hex::encode(key),
    }
}

/// What a walk hands each readable record to: (tree, key, value).
type Keep<'a> = dyn FnMut(&[u8], &[u8], &[u8]) -> Result<()> + 'a;

/// Walks every tree of `db`: each record that reads and decodes goes to `keep(tree, key,
/// value)`; what does not is reported. Stops early when `budget` is spent.
fn walk(db: &::sled::Db, budget: Option<Budget>, keep: &mut Keep<'_>) -> Result<VerifyReport> {
    let started = Instant::now();
    let mut report = VerifyReport {
        complete: true,
        ..Default::default()
    };
    let names = tree_names(db, &mut report);
    // A bounded walk shares its records over the trees, half from each end.
    let limits = Limits {
        per_end: budget.map(|b| (b.records / names.len() as u64 / 2).max(1)),
        budget,
        started,
    };
    for name in names {
        if limits.spent(&report) {
            report.complete = false;
            break;
        }
        let label = String::from_utf8_lossy(&name).into_owned();
        let opened = catch_unwind(AssertUnwindSafe(|| db.open_tree(&name)));
        let tree = match opened {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                report.problems.push(Problem {
                    tree: label,
                    place: "the tree".into(),
                    what: e.to_string(),
                });
                continue;
            }
            Err(p) => {
                report.problems.push(Problem {
                    tree: label,
                    place: "the tree".into(),
                    what: panic_text(&*p),
                });
                continue;
            }
        };
        report.trees += 1;
        walk_tree(&tree, &name, &label, &limits, &mut report, keep)?;
    }
    Ok(report)
}

/// The names of the trees sled knows, and ours even if its list of trees is damaged.
fn tree_names(db: &::sled::Db, report: &mut VerifyReport) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = match catch_unwind(AssertUnwindSafe(|| db.tree_names())) {
        Ok(n) => n.into_iter().map(|n| n.to_vec()).collect(),
        Err(p) => {
            report.problems.push(Problem {
                tree: "-".into(),
                place: "the list of trees".into(),
                what: panic_text(&*p),
            });
            Vec::new()
        }
    };
    for n in ["meta"]
        .iter()
        .chain(TREE_NAMES.iter())
        .chain(WEB_TREE_NAMES.iter())
    {
        if !names.iter().any(|x| x == n.as_bytes()) {
            names.push(n.as_bytes().to_vec());
        }
    }
    names
}

/// How far a walk may go: records from each end of a tree, and the whole budget.
struct Limits {
    per_end: Option<u64>,
    budget: Option<Budget>,
    started: Instant,
}

impl Limits {
    fn spent(&self, report: &VerifyReport) -> bool {
        self.budget
            .is_some_and(|b| report.records >= b.records || self.started.elapsed() >= b.time)
    }
}

/// What a tree's walk does with each record read: counts and keeps it, or reports it.
type OneRecord<'a> = dyn FnMut(&[u8], &[u8], &mut VerifyReport) -> Result<()> + 'a;

/// What reading from one end of a tree came to: how many records, the last key read, and the
/// error it stopped at.
struct EndRead {
    n: u64,
    last: Option<Vec<u8>>,
    error: Option<String>,
}

/// Reads one tree forward to its first error, then backward from its end down to what the
/// forward read reached; the unreadable stretch between is reported by its bounding keys.
fn walk_tree(
    tree: &::sled::Tree,
    name: &[u8],
    label: &str,
    limits: &Limits,
    report: &mut VerifyReport,
    keep: &mut Keep<'_>,
) -> Result<()> {
    let mut one = |k: &[u8], v: &[u8], report: &mut VerifyReport| -> Result<()> {
        match decodes(label, k, v) {
            Ok(()) => {
                report.records += 1;
                keep(name, k, v)
            }
            Err(e) => {
                report.problems.push(Problem {
                    tree: label.to_string(),
                    place: format!("record {}", shown(k)),
                    what: e.to_string(),
                });
                Ok(())
            }
        }
    };
    let mut iter = tree.iter();
    let forward = read_end(|| iter.next(), limits, report, &mut one)?;
    let finished = forward.error.is_none() && limits.per_end.is_none_or(|p| forward.n < p);
    if finished {
        return Ok(());
    }
    let mut iter = match &forward.last {
        Some(l) => tree.range::<&[u8], _>((
            std::ops::Bound::Excluded(l.as_slice()),
            std::ops::Bound::Unbounded,
        )),
        None => tree.iter(),
    };
    let backward = read_end(|| iter.next_back(), limits, report, &mut one)?;
    if let Some(what) = forward.error.or(backward.error) {
        let place = match (&forward.last, &backward.last) {
            (None, None) => "every record".to_string(),
            (Some(a), None) => format!("the records after {}", shown(a)),
            (None, Some(b)) => format!("the records before {}", shown(b)),
            (Some(a), Some(b)) => {
                format!("the records between {} and {}", shown(a), shown(b))
            }
        };
        report.problems.push(Problem {
            tree: label.to_string(),
            place,
            what,
        });
    }
    Ok(())
}

/// Reads records with `next` (from either end) until there are none, one fails to read (or
/// sled panics), or the limits are reached; each one read goes to `one`.
fn read_end(
    mut next: impl FnMut() -> Option<::sled::Result<(::sled::IVec, ::sled::IVec)>>,
    limits: &Limits,
    report: &mut VerifyReport,
    one: &mut OneRecord<'_>,
) -> Result<EndRead> {
    let mut read = EndRead {
        n: 0,
        last: None,
        error: None,
    };
    loop {
        if limits.per_end.is_some_and(|p| read.n >= p) || limits.spent(report) {
            report.complete = false;
            break;
        }
        match catch_unwind(AssertUnwindSafe(&mut next)) {
            Ok(None) => break,
            Ok(Some(Ok((k, v)))) => {
                read.n += 1;
                one(&k, &v, report)?;
                read.last = Some(k.to_vec());
            }
            Ok(Some(Err(e))) => {
                read.error = Some(e.to_string());
                break;
            }
            Err(p) => {
                read.error = Some(format!("sled panicked: {}", panic_text(&*p)));
                break;
            }
        }
    }
    Ok(read)
}

impl SledStore {
    /// Checks the open store: every record of every tree, or (`budget`) a bounded walk from
    /// both ends of each tree. Writes go on meanwhile.
    pub fn verify(&self, budget: Option<Budget>) -> Result<VerifyReport> {
        let e = self.e()?;
        unpanicked(&self.path, || walk(&e.db, budget, &mut |_, _, _| Ok(())))
    }

    /// Checks the store in `dir` with no service running. A store sled cannot open is
    /// reported as one problem (not an error), so `pstbot verify` says what is wrong.
    pub fn verify_dir(dir: &Path) -> Result<VerifyReport> {
        let db = match unpanicked(dir, || Self::raw(dir)) {
            Ok(db) => db,
            Err(e) => {
                return Ok(VerifyReport {
                    problems: vec![Problem {
                        tree: "-".into(),
                        place: "opening the store".into(),
                        what: e.to_string(),
                    }],
                    ..Default::default()
                });
            }
        };
        unpanicked(dir, || walk(&db, None, &mut |_, _, _| Ok(())))
    }

    /// Writes every record of the store in `dir` that can still be read to `out`, in the
    /// backup format (it restores like any backup); returns what was written and what was
    /// lost. Needs a store sled can open.
    pub fn salvage_dir(
        dir: &Path,
        out: impl std::io::Write,
    ) -> Result<(BackupStats, VerifyReport)> {
        let db = unpanicked(dir, || Self::raw(dir))?;
        salvage(&db, dir, out)
    }

    /// [`SledStore::salvage_dir`] of the open store (the service's, through its control
    /// socket). Writes wait meanwhile.
    pub fn salvage_to(&self, out: impl std::io::Write) -> Result<(BackupStats, VerifyReport)> {
        let _alone = self.gate.alone();
        salvage(&self.e()?.db, &self.path, out)
    }
}

/// Writes every readable record of `db` to `out` as a backup.
fn salvage(
    db: &::sled::Db,
    path: &Path,
    out: impl std::io::Write,
) -> Result<(BackupStats, VerifyReport)> {
    let mut w = BackupWriter::new(out)?;
    let mut current: Option<Vec<u8>> = None;
    let report = unpanicked(path, || {
        walk(db, None, &mut |tree, k, v| {
            if current.as_deref() != Some(tree) {
                w.tree(tree)?;
                current = Some(tree.to_vec());
            }
            w.entry(k, v)
        })
    })?;
    Ok((w.finish()?, report))
}

impl Engine {
    /// Opens the database in `path`, turning a panic inside sled into an error that names the
    /// folder and says to restore.
    pub(super) fn open_checked(
        path: &Path,
        cache_mb: u64,
        compression: u8,
        gate: &Arc<super::Gate>,
    ) -> Result<Engine> {
        unpanicked(path, || Engine::open(path, cache_mb, compression, gate))
    }
}
