//! The floors the bot is measured against in the same run:
//!
//! - HTTP: a child process of this binary serving a trivial axum handler that reads the body
//!   and answers 200, driven by the same people with the same signed bodies.
//! - Storage: raw sled, with the record sizes measured in the bot's store after its run and
//!   the bot's flush grouping (group commit, [`pstbot::store::group::GroupFlush`]): per
//!   message one transaction (session overwritten, dedupe mark, the outbox rows, the
//!   message's share of the domain records), then a wait for a flush that started after it
//!   before the "ack"; and per message one delivery transaction (outbox rows → sent records)
//!   then another such wait. Concurrent writers share flushes exactly as in the bot.

use super::{Mode, Stats, micros};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Runs the HTTP floor server (the `floor-http` subcommand): prints `listening ADDR`.
pub fn serve_http_floor(listen: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
            std::hint::black_box(body.len());
            axum::http::StatusCode::OK
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("listening {}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// Starts this binary as the HTTP floor; returns the child and its base URL.
pub async fn start_http_floor() -> anyhow::Result<(std::process::Child, String)> {
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("floor-http")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().expect("piped");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).map(|_| line)
    })
    .await??;
    let line = line.trim().to_string();
    let addr = line
        .strip_prefix("listening ")
        .ok_or_else(|| anyhow::anyhow!("HTTP floor said {line:?}"))?
        .to_string();
    Ok((child, format!("http://{addr}")))
}

/// Record sizes of the bot's store, per message it handled.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// A conversation record (overwritten on every message).
    pub session: usize,
    /// A dedupe mark (key + value).
    pub dedupe: usize,
    /// An outbox row / sent record.
    pub outbox_row: usize,
    /// Outbox rows per message (replies per message, rounded, at least one).
    pub replies: usize,
    /// Everything else the bot keeps (guests, visits, cases, indexes, ratings, timers,
    /// audit…), divided by the messages: written as one record per message.
    pub other_per_message: usize,
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "session {} B overwritten, dedupe {} B, {} outbox row(s) of {} B moved to sent, {} B of other records per message",
            self.session, self.dedupe, self.replies, self.outbox_row, self.other_per_message
        )
    }
}

/// Reads the bot's (stopped) store: mean record sizes per tree.
pub fn measure_store(data: &Path, messages: u64, replies: u64) -> anyhow::Result<Sizes> {
    let db = sled::Config::new().path(data).open()?;
    let mut per_tree = std::collections::BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        let (mut n, mut bytes) = (0u64, 0u64);
        for kv in tree.iter() {
            let (k, v) = kv?;
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        per_tree.insert(String::from_utf8_lossy(&name).to_string(), (n, bytes));
    }
    let mean = |t: &str, default: usize| match per_tree.get(t) {
        Some((n, b)) if *n > 0 => (*b / *n) as usize,
        _ => default,
    };
    let taken: u64 = ["sessions", "dedupe", "outbox", "outbox_sent", "sent_refs"]
        .iter()
        .filter_map(|t| per_tree.get(*t).map(|(_, b)| *b))
        .sum();
    let all: u64 = per_tree.values().map(|(_, b)| *b).sum();
    Ok(Sizes {
        session: mean("sessions", 512),
        dedupe: mean("dedupe", 64),
        outbox_row: mean("outbox_sent", 512).max(mean("outbox", 0)),
        replies: (replies as f64 / messages.max(1) as f64).round().max(1.0) as usize,
        other_per_message: ((all - taken) / messages.max(1)) as usize,
    })
}

fn key(prefix: &str, a: usize, b: usize, len: usize) -> Vec<u8> {
    let mut k = format!("{prefix}:{a:08}:{b:06}").into_bytes();
    k.resize(len.max(k.len()), b'.');
    k
}

/// The storage floor: `people` writers, `per_person` messages each, the same record sizes
/// and flushes as the bot (see the module doc).
pub async fn storage_floor(
    sizes: &Sizes,
    people: usize,
    per_person: usize,
    open: bool,
    rate: f64,
) -> anyhow::Result<Stats> {
    let dir = tempfile::tempdir()?;
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 * 1024 * 1024)
        .open()?;
    let trees = Arc::new([
        db.open_tree("sessions")?,
        db.open_tree("dedupe")?,
        db.open_tree("outbox")?,
        db.open_tree("outbox_sent")?,
        db.open_tree("other")?,
    ]);
    // The bot's flush grouping: one flusher thread; a writer waits for a flush that started
    // after its transaction, and everyone waiting meanwhile shares it.
    let flusher = db.clone();
    let group = Arc::new(pstbot::store::group::GroupFlush::new(Box::new(
        move || flusher.flush().map(|_| ()).map_err(|e| e.to_string()),
    ))?);
    let sizes = Arc::new(sizes.clone());
    let drive = super::Drive {
        bases: Vec::new(),
        mode: if open { Mode::Open } else { Mode::Closed },
        rate,
        inboxes: None,
        verbose: false,
        reply_timeout: std::time::Duration::ZERO,
    };
    let (tokens, remaining) = super::tokens(&drive, people);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..people {
        let (group, trees, sizes, tokens, remaining) = (
            group.clone(),
            trees.clone(),
            sizes.clone(),
            tokens.clone(),
            remaining.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut s = Stats::new("");
            for m in 0..per_person {
                let slot = match &tokens {
                    Some(t) => t.lock().await.recv().await,
                    None => None,
                };
                let start = Instant::now();
                if let Some(at) = slot {
                    s.lag
                        .record(micros(start.saturating_duration_since(at)))
                        .ok();
                }
                let r = grouped(&group, inbound(&trees, &sizes, p, m)).await;
                if r.is_err() {
                    s.error("storage floor: commit or flush failed");
                    break;
                }
                s.ack.record(micros(start.elapsed())).ok();
                s.messages += 1;
                let r = grouped(&group, delivered(&trees, &sizes, p, m)).await;
                if r.is_err() {
                    s.error("storage floor: delivery mark failed");
                    break;
                }
                s.reply.record(micros(start.elapsed())).ok();
            }
            remaining.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            s.people_done = 1;
            s
        }));
    }
    let mut total = Stats::new("storage floor");
    for t in tasks {
        match t.await {
            Ok(s) => total.merge(&s),
            Err(_) => total.error("storage floor task panicked"),
        }
    }
    total.elapsed = started.elapsed();
    total.flushes = Some(group.flushes());
    Ok(total)
}

type Trees = [sled::Tree; 5];

fn inbound(t: &Trees, s: &Sizes, p: usize, m: usize) -> anyhow::Result<()> {
    use sled::Transactional;
    let res: sled::transaction::TransactionResult<(), ()> = (&t[0], &t[1], &t[2], &t[4])
        .transaction(|(sessions, dedupe, outbox, other)| {
            sessions.insert(key("s", p, 0, 24), vec![b's'; s.session])?;
            dedupe.insert(key("d", p, m, s.dedupe / 2), vec![b'd'; s.dedupe / 2])?;
            for r in 0..s.replies {
                outbox.insert(key("o", p, m * 16 + r, 32), vec![b'o'; s.outbox_row])?;
            }
            if s.other_per_message > 0 {
                other.insert(key("x", p, m, 24), vec![b'x'; s.other_per_message])?;
            }
            Ok(())
        });
    res.map_err(|e| anyhow::anyhow!("{e:?}"))
}

fn delivered(t: &Trees, s: &Sizes, p: usize, m: usize) -> anyhow::Result<()> {
    use sled::Transactional;
    let res: sled::transaction::TransactionResult<(), ()> =
        (&t[2], &t[3]).transaction(|(outbox, sent)| {
            for r in 0..s.replies {
                let k = key("o", p, m * 16 + r, 32);
                outbox.remove(k.clone())?;
                sent.insert(k, vec![b'r'; s.outbox_row])?;
            }
            Ok(())
        });
    res.map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// The write's own result, then a wait for a grouped flush that covers it (as the bot waits).
async fn grouped(
    group: &pstbot::store::group::GroupFlush,
    written: anyhow::Result<()>,
) -> anyhow::Result<()> {
    written?;
    group
        .wait(group.request())
        .await
        .map_err(anyhow::Error::msg)
}
