//! `--scale-out`: the same people and script against one `pstbot serve` on sled, then against
//! 1, 2 and 3 processes on one PostgreSQL database (a throwaway cluster started here with
//! `fsync` on, a fresh database per run), each person's messages going to the processes in
//! turn, as a round-robin load balancer sends them. Besides throughput and latencies it reads
//! the CPU time the bot processes and the database server used during the run (from
//! `/proc`), and the load average before and after, since this machine is shared.

use super::pg_cluster::PgCluster;
use super::{Drive, Managed, Stats, ms, run};
use crate::people::Person;
use std::time::Duration;

/// CPU seconds (user + system) of process `pid`; with `children`, also of its children it
/// waited for (how the postmaster accounts for its backends once they exit).
pub fn cpu_seconds(pid: u32, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces), from field 3 (state).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14–17: indexes 11–14 here.
    let mut ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    if children {
        ticks += f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0);
    }
    ticks as f64 / 100.0 // USER_HZ
}

/// The parent pid of `pid`.
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds of the whole database server: the postmaster with the backends it reaped,
/// and the processes alive under it now.
fn server_cpu(postmaster: u32) -> f64 {
    let mut total = cpu_seconds(postmaster, true);
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())
            && ppid(pid) == Some(postmaster)
        {
            total += cpu_seconds(pid, false);
        }
    }
    total
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

/// One run's figures beside the load generator's own.
struct Measured {
    stats: Stats,
    processes: usize,
    bot_cpu: f64,
    db_cpu: Option<f64>,
    load: (String, String),
}

fn row(m: &Measured) -> String {
    let s = &m.stats;
    let per = |cpu: f64| format!("{:.2}", 1000.0 * cpu / s.messages.max(1) as f64);
    format!(
        "| {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} | {} → {} | {} |",
        s.name,
        m.processes,
        s.messages,
        s.elapsed.as_secs_f64(),
        s.rate(),
        ms(&s.ack, 0.5),
        ms(&s.ack, 0.99),
        ms(&s.reply, 0.5),
        ms(&s.reply, 0.99),
        per(m.bot_cpu),
        m.db_cpu.map(per).unwrap_or_else(|| "–".into()),
        m.load.0,
        m.load.1,
        s.errors.values().sum::<u64>(),
    )
}

/// One run: `processes` bots on sled (`store` none, one process) or on the database `store`.
async fn measure(
    name: &str,
    args: &super::Args,
    provider: std::net::SocketAddr,
    template: &Drive,
    everyone: &[Person],
    store: Option<(&str, u32)>,
    processes: usize,
) -> anyhow::Result<Measured> {
    let mut bots = Vec::new();
    for _ in 0..processes {
        bots.push(Managed::start(provider, args.cache_mb, store.map(|s| s.0)).await?);
    }
    let drive = Drive {
        bases: bots.iter().map(|b| b.url.clone()).collect(),
        ..template.clone()
    };
    let load_before = loadavg();
    let bot_before: Vec<f64> = bots
        .iter()
        .map(|b| cpu_seconds(b.child.id(), false))
        .collect();
    let db_before = store.map(|s| server_cpu(s.1));
    eprintln!("{name}: {processes} process(es) serving; load average {load_before}");
    let stats = run(name, &drive, everyone).await;
    eprintln!(
        "{name}: {} messages in {:.1} s",
        stats.messages,
        stats.elapsed.as_secs_f64()
    );
    // The last replies' delivery marks: a moment, as the single run gives them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bot_cpu: f64 = bots
        .iter()
        .zip(&bot_before)
        .map(|(b, before)| cpu_seconds(b.child.id(), false) - before)
        .sum();
    let db_cpu = store.zip(db_before).map(|(s, b)| server_cpu(s.1) - b);
    let load_after = loadavg();
    for b in &mut bots {
        let errors = b.log().lines().filter(|l| l.contains("ERROR")).count();
        if errors > 0 {
            eprintln!("{name}: {errors} ERROR lines in a bot's log");
        }
        let stopping = std::time::Instant::now();
        if let Err(e) = b.stop().await {
            eprintln!("{name}: {e}; its log ends:");
            for l in b.log().lines().rev().take(10) {
                eprintln!("  {l}");
            }
        } else {
            eprintln!("{name}: stopped in {:?}", stopping.elapsed());
        }
    }
    Ok(Measured {
        stats,
        processes,
        bot_cpu,
        db_cpu,
        load: (load_before, load_after),
    })
}

/// The scale-out table: sled, then PostgreSQL with 1, 2 and 3 processes.
pub async fn scale_out(
    args: &super::Args,
    provider: std::net::SocketAddr,
    template: &Drive,
    everyone: &[Person],
) -> anyhow::Result<()> {
    let cluster = tokio::task::spawn_blocking(|| PgCluster::start_with(true)).await?;
    let pid_file = cluster.dir.path().join("data").join("postmaster.pid");
    let postmaster: u32 = std::fs::read_to_string(&pid_file)?
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .parse()?;
    let mut all = vec![measure("sled", args, provider, template, everyone, None, 1).await?];
    for n in 1..=3 {
        let url = cluster.fresh_database();
        all.push(
            measure(
                &format!("postgres ×{n}"),
                args,
                provider,
                template,
                everyone,
                Some((&url, postmaster)),
                n,
            )
            .await?,
        );
    }
    println!();
    println!(
        "| store | processes | messages | seconds | msgs/s | ack p50 ms | ack p99 ms | reply p50 ms | reply p99 ms | bot CPU ms/msg | database CPU ms/msg | load avg (1 min) before → after | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in &all {
        println!("{}", row(m));
    }
    let mut failed = false;
    for m in &all {
        for (e, n) in &m.stats.errors {
            println!("- {}: error ×{n}: {e}", m.stats.name);
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
