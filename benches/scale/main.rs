//! `pstbot-scale`: a sled store seeded with many cases and open conversations, then the numbers
//! that depend on the store's size: restart to serving, an empty scheduler tick, many
//! reminders falling due at once, peak memory and disk per case.
//!
//! ```text
//! cargo bench --bench pstbot-scale -- --cases 1000000 --conversations 100000
//! cargo bench --bench pstbot-scale -- --cases 20000 --conversations 2000      # quick check
//! ```
//!
//! The records are the real runtime's: one person plays a whole complaint through
//! `Runtime::handle` (guest book, complaint, rating) on a memory store, and the guest, visit,
//! case (with its history), rating, conversation and timers it left are committed again for
//! every seeded person through the `Store` trait, with a new identity, guest id, case number
//! and times. See BENCHMARKS.md ("Scale").

#[path = "../../tests/support/example_config.rs"]
mod example_config;
#[path = "../shared/mod.rs"]
mod shared;
use shared::du;
mod seed;

use clap::Parser;
use hdrhistogram::Histogram;
use pstbot::runtime::{Runtime, RuntimeParts, SystemClock};
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "pstbot-scale",
    about = "pstbot on a store with many cases (BENCHMARKS.md, Scale)"
)]
struct Args {
    /// Cases to seed (one person each).
    #[arg(long, default_value_t = 1_000_000)]
    cases: usize,
    /// Of them, people in the middle of a dialog, with their case open (the newest ones).
    #[arg(long, default_value_t = 100_000)]
    conversations: usize,
    /// Reminders set due at the same instant.
    #[arg(long, default_value_t = 10_000)]
    due: usize,
    /// `store.cache_mb` of the store (seeding, the in-process measures and `pstbot serve`).
    #[arg(long, default_value_t = 256)]
    cache_mb: u64,
    /// Empty scheduler ticks to time.
    #[arg(long, default_value_t = 10_000)]
    ticks: usize,
    /// zstd level of the seeded store (`store.compression`; 0: not compressed).
    #[arg(long, default_value_t = pstbot::config::DEFAULT_COMPRESSION)]
    compression: u8,
    /// Leave out the checkpoint after seeding (to see what the first start costs without it).
    #[arg(long)]
    no_checkpoint: bool,
    /// Work in this folder (kept afterwards) instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.conversations <= args.cases && args.due <= args.conversations,
        "need --due ≤ --conversations ≤ --cases"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(scale(args))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A `pstbot serve` child on the seeded store.
struct Serve {
    child: std::process::Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn proc_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU ticks (user + system) the process used so far.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

impl Serve {
    /// Starts `pstbot serve` and times it until `/healthz` answers 200.
    async fn start(dir: &Path) -> anyhow::Result<(Serve, Duration)> {
        let started = Instant::now();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_pstbot"))
            .arg("--config")
            .arg(dir.join("config.toml"))
            .arg("serve")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("serve.log"))?)
            .spawn()?;
        let listen = std::fs::read_to_string(dir.join("listen"))?;
        let mut s = Serve {
            child,
            url: format!("http://{listen}"),
        };
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", s.url)).send().await
                && r.status().is_success()
            {
                return Ok((s, started.elapsed()));
            }
            if started.elapsed() > Duration::from_secs(600) || s.child.try_wait()?.is_some() {
                anyhow::bail!(
                    "pstbot serve did not answer /healthz; its log:\n{}",
                    std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until the process has used no CPU for `quiet` (its start-up work is done), at
    /// most `limit`; returns how long it was busy.
    async fn settle(&self, quiet: Duration, limit: Duration) -> Duration {
        let pid = self.child.id();
        let started = Instant::now();
        let mut last = cpu_ticks(pid);
        let mut last_change = Instant::now();
        while started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = cpu_ticks(pid);
            if now != last {
                last = now;
                last_change = Instant::now();
            } else if last_change.elapsed() >= quiet {
                break;
            }
        }
        last_change - started
    }

    fn peak_rss_kib(&self) -> u64 {
        proc_field(self.child.id(), "VmHWM:").unwrap_or(0)
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait()?.is_none() {
            anyhow::ensure!(Instant::now() < deadline, "pstbot serve did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

fn pct(h: &Histogram<u64>, q: f64) -> String {
    format!("{:.1}", h.value_at_quantile(q) as f64 / 1000.0)
}

async fn scale(args: Args) -> anyhow::Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let data = dir.join("data");
    anyhow::ensure!(
        !data.exists(),
        "{} exists: give an empty --dir",
        data.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    std::fs::write(dir.join("listen"), &listen)?;
    let text = example_config::example_config(&repo, &data, &listen)
        .replace("cache_mb = 64", &format!("cache_mb = {}", args.cache_mb))
        .replace(
            "compression = 0",
            &format!("compression = {}", args.compression),
        );
    std::fs::write(dir.join("config.toml"), &text)?;
    let config = pstbot::config::Config::parse(&dir.join("config.toml"), &text, |_| None)?;

    eprintln!(
        "pstbot-scale: {} cases, {} open conversations, {} due at once, cache {} MiB, compression {}, in {}",
        args.cases,
        args.conversations,
        args.due,
        args.cache_mb,
        args.compression,
        dir.display()
    );

    // Seeding (not measured against a target).
    let template = seed::Template::record(&config).await?;
    let started = Instant::now();
    let seeded = {
        let store = Arc::new(SledStore::open_with(
            &data,
            args.cache_mb,
            args.compression,
        )?);
        let plan = seed::Plan {
            cases: args.cases,
            conversations: args.conversations,
            now: chrono::Utc::now(),
        };
        let seeded = seed::seed(&template, &store, &plan)?;
        store.flush()?;
        seeded
    };
    let seed_time = started.elapsed();
    // A bulk load ends with a checkpoint (as `pstbot restore` does): sled 0.34 writes down its
    // page table only when a database is opened, so without it the first start replays the
    // whole load. Its time is what that first start (or one after a crash now) would take.
    let checkpoint_time = if args.no_checkpoint {
        None
    } else {
        let t = Instant::now();
        SledStore::open(&data, args.cache_mb)?;
        Some(t.elapsed())
    };
    let disk_seeded = du(&data);
    eprintln!(
        "seeded in {:.1} s: {} records committed; store {:.1} MiB",
        seed_time.as_secs_f64(),
        seeded.commits,
        mib(disk_seeded)
    );

    // 1. Restart to serving, and the serve process's memory while it starts.
    let (serve, restart) = Serve::start(&dir).await?;
    let busy = serve
        .settle(Duration::from_secs(2), Duration::from_secs(300))
        .await;
    let rss_start = serve.peak_rss_kib();
    serve.stop().await?;
    eprintln!(
        "restart to /healthz 200: {:.0} ms; busy after start {:.1} s; peak RSS {:.0} MiB",
        restart.as_secs_f64() * 1000.0,
        busy.as_secs_f64(),
        rss_start as f64 / 1024.0
    );

    // 2. and 3. In this process, on the same store.
    let (tick, fired, fire_time, queued) = {
        let store = Arc::new(SledStore::open(&data, args.cache_mb)?);
        let bot = Arc::new(pstbot::dialogs::Bot::load(&config)?);
        let rt = Runtime::new(RuntimeParts::new(
            bot,
            store.clone(),
            Arc::new(SystemClock),
            config.officers.clone(),
            pstbot::channels::officers(&config),
        ))?;
        let first = store.next_timer_due()?;
        anyhow::ensure!(
            first.is_some_and(|t| t > chrono::Utc::now()),
            "a seeded timer is due already: {first:?}"
        );
        let mut tick = Histogram::<u64>::new(3)?;
        for _ in 0..args.ticks {
            let t = Instant::now();
            let n = pstbot::scheduler::tick(&rt).await?;
            tick.record(t.elapsed().as_nanos() as u64)?;
            anyhow::ensure!(n == 0, "an empty tick fired {n} timers");
        }
        let before = count_outbox(store.as_ref())?;
        let due_at = seed::set_due(&template, store.as_ref(), &seeded, args.due)?;
        store.flush()?;
        anyhow::ensure!(
            store.timers_due(due_at, args.due + 1)?.len() == args.due,
            "the due timers were not set"
        );
        let t = Instant::now();
        let fired = pstbot::scheduler::tick(&rt).await?;
        let fire_time = t.elapsed();
        let queued = count_outbox(store.as_ref())? - before;
        (tick, fired, fire_time, queued)
    };
    let rate = fired as f64 / fire_time.as_secs_f64();
    eprintln!(
        "empty tick p50 {} µs p99 {} µs max {} µs; {} due reminders fired in {:.2} s ({:.0}/s), {} outbox rows",
        pct(&tick, 0.5),
        pct(&tick, 0.99),
        pct(&tick, 1.0),
        fired,
        fire_time.as_secs_f64(),
        rate,
        queued
    );
    anyhow::ensure!(fired == args.due, "{fired} of {} fired", args.due);

    // 4. The serve process firing another batch of due reminders, from start.
    let due_at = {
        let store = SledStore::open(&data, args.cache_mb)?;
        let at = seed::set_due_from(&template, &store, &seeded, args.due, args.due)?;
        store.flush()?;
        at
    };
    let (serve, restart2) = Serve::start(&dir).await?;
    let busy2 = serve
        .settle(Duration::from_secs(2), Duration::from_secs(300))
        .await;
    let rss_fire = serve.peak_rss_kib();
    serve.stop().await?;
    let left_due = {
        let store = SledStore::open(&data, args.cache_mb)?;
        store.timers_due(due_at, args.due)?.len()
    };
    eprintln!(
        "restart with {} reminders due: {:.0} ms to serving, busy {:.1} s, peak RSS {:.0} MiB, {} still due",
        args.due,
        restart2.as_secs_f64() * 1000.0,
        busy2.as_secs_f64(),
        rss_fire as f64 / 1024.0,
        left_due
    );
    let disk_after = du(&data);

    // 5. Housekeeping a month on: every dedupe mark and sent text of the open conversations is
    // then past its 30 days (`store.dedupe_kept`, `store.sent_text_kept`), as in a store that
    // has run for months. The same store calls as `housekeeping::run_from`, then a checkpoint.
    let (housekept, housekeep_time) = {
        let store = SledStore::open(&data, args.cache_mb)?;
        let before = chrono::Utc::now() + chrono::Duration::days(1);
        let t = Instant::now();
        let (mut marks, mut texts) = (0, 0);
        let mut after: Option<String> = None;
        loop {
            let page = store.prune_dedupe(after.as_deref(), before, 1_000)?;
            marks += page.pruned;
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut after: Option<u64> = None;
        loop {
            let page = store.prune_sent(after, before, 1_000)?;
            texts += page.pruned;
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        store.checkpoint()?;
        ((marks, texts), t.elapsed())
    };
    let disk_housekept = du(&data);
    eprintln!(
        "housekeeping a month on: {} dedupe marks, {} sent texts in {:.1} s",
        housekept.0,
        housekept.1,
        housekeep_time.as_secs_f64()
    );
    let live = tree_sizes(&data, args.cases)?;

    let per_case = |b: u64| b as f64 / args.cases as f64 / 1024.0;
    println!();
    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!(
        "| seeding ({} cases, {} open conversations) | {:.0} s ({:.0} cases/s) | – |",
        args.cases,
        args.conversations,
        seed_time.as_secs_f64(),
        args.cases as f64 / seed_time.as_secs_f64()
    );
    if let Some(t) = checkpoint_time {
        println!(
            "| checkpoint after seeding (reopen: replay of the load) | {:.0} ms | – |",
            t.as_secs_f64() * 1000.0
        );
    }
    println!(
        "| restart to serving (`/healthz` 200) | {:.0} ms; again with {} due: {:.0} ms | ≤ 5 s |",
        restart.as_secs_f64() * 1000.0,
        args.due,
        restart2.as_secs_f64() * 1000.0
    );
    println!(
        "| scheduler tick, nothing due ({} ticks) | p50 {} µs, p99 {} µs, max {} µs | ≤ 1 ms |",
        args.ticks,
        pct(&tick, 0.5),
        pct(&tick, 0.99),
        pct(&tick, 1.0)
    );
    println!(
        "| {} reminders due at once, handed to the outbox | {:.0}/s ({:.2} s, {} rows queued) | ≥ 10,000/s |",
        fired,
        rate,
        fire_time.as_secs_f64(),
        queued
    );
    println!(
        "| peak RSS of `pstbot serve`, cache {} MiB | {:.0} MiB at start; {:.0} MiB firing {} due | ≤ 512 MiB |",
        args.cache_mb,
        rss_start as f64 / 1024.0,
        rss_fire as f64 / 1024.0,
        args.due
    );
    println!(
        "| disk per case | {:.2} KiB seeded ({:.0} MiB); {:.2} KiB after the runs ({:.0} MiB) | ≤ 4 KiB |",
        per_case(disk_seeded),
        mib(disk_seeded),
        per_case(disk_after),
        mib(disk_after)
    );
    println!(
        "| housekeeping a month on (then per-tree table) | {} dedupe marks and {} sent texts in {:.1} s; disk {:.2} KiB per case ({:.0} MiB) | – |",
        housekept.0,
        housekept.1,
        housekeep_time.as_secs_f64(),
        per_case(disk_housekept),
        mib(disk_housekept)
    );
    println!(
        "| busy after start (CPU until 2 s quiet) | {:.1} s; {:.1} s with {} due | – |",
        busy.as_secs_f64(),
        busy2.as_secs_f64(),
        args.due
    );
    println!();
    println!("{live}");
    Ok(())
}

/// What the store holds, per tree: entries and bytes of keys and values (the live data, without
/// sled's log overhead), per case.
fn tree_sizes(data: &Path, cases: usize) -> anyhow::Result<String> {
    let db = SledStore::raw(data)?;
    let mut out =
        String::from("| tree | entries | key+value bytes | bytes per case |\n|---|---|---|---|\n");
    let mut total = 0u64;
    let mut names: Vec<_> = db.tree_names();
    names.sort();
    for name in names {
        let tree = db.open_tree(&name)?;
        let (mut n, mut bytes) = (0u64, 0u64);
        for kv in tree.iter() {
            let (k, v) = kv?;
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        if n == 0 {
            continue;
        }
        total += bytes;
        out.push_str(&format!(
            "| {} | {n} | {bytes} | {:.0} |\n",
            String::from_utf8_lossy(&name),
            bytes as f64 / cases as f64
        ));
    }
    out.push_str(&format!(
        "| **all** | | {total} | {:.0} |",
        total as f64 / cases as f64
    ));
    Ok(out)
}

fn count_outbox(store: &dyn Store) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut after = None;
    loop {
        let rows = store.outbox_pending(after, 1024)?;
        let Some(last) = rows.last() else {
            return Ok(n);
        };
        after = Some(last.id);
        n += rows.len();
    }
}
