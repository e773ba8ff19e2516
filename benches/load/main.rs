//! `pstbot-load`: N simulated people talk to a bot through real provider webhooks (signed
//! WhatsApp Cloud API posts, Telegram `Update`s with the secret header), the bot's replies
//! come back to fake provider APIs served here, and the same load is played against two
//! floors in the same run: a trivial HTTP handler and a raw sled insert + flush loop.
//!
//! ```text
//! cargo bench --bench pstbot-load -- --people 200 --mode closed
//! cargo bench --bench pstbot-load -- --people 400 --mode open --rate 1000
//! ```
//!
//! Without `--target` it starts `pstbot serve` (the bench profile's build) on a temporary
//! config and store; with `--target URL` it drives a bot already running there, which must
//! point `whatsapp.graph_api_url` at `http://PROVIDER/v21.0` and `telegram.api_url` at
//! `http://PROVIDER` (`--provider-listen`), with this tool's secrets (see `people.rs`).
//! See BENCHMARKS.md.

#[path = "../../tests/support/example_config.rs"]
mod example_config;
#[path = "../shared/mod.rs"]
mod shared;
use shared::du;
mod floors;
mod people;
#[path = "../../tests/support/postgres.rs"]
mod pg_cluster;
mod provider;
mod scale;
mod switches;

use clap::{Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use people::{Channel, Person, SCRIPT};
use provider::Inboxes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Mode {
    /// Each person sends the next message as soon as the previous one is answered.
    Closed,
    /// Messages leave at a fixed rate (`--rate`), whoever is ready sends.
    Open,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Channels {
    Whatsapp,
    Telegram,
    /// Half the people on each.
    Both,
}

#[derive(Parser, Debug)]
#[command(
    name = "pstbot-load",
    about = "Load generator for pstbot's webhooks (BENCHMARKS.md)"
)]
struct Args {
    /// Simulated people; each plays the whole script (guest book, complaint, rating) once.
    #[arg(long, default_value_t = 200)]
    people: usize,
    #[arg(long, value_enum, default_value = "closed")]
    mode: Mode,
    /// Open loop: messages per second, all people together.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    #[arg(long, value_enum, default_value = "both")]
    channels: Channels,
    /// A bot already running (base URL, e.g. http://127.0.0.1:8080); default: start one.
    #[arg(long)]
    target: Option<String>,
    /// Where the fake Graph API / Bot API listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    provider_listen: String,
    /// sled page cache of the started bot, MiB.
    #[arg(long, default_value_t = 64)]
    cache_mb: u64,
    /// Skip the HTTP and storage floors.
    #[arg(long)]
    no_floors: bool,
    /// How long a person waits for the expected reply before counting an error.
    #[arg(long, default_value_t = 30)]
    reply_timeout: u64,
    /// Print the first two people's conversations.
    #[arg(long)]
    verbose: bool,
    /// Scale out (BENCHMARKS.md): the same load against one process on sled, then 1, 2 and 3
    /// processes on one PostgreSQL database (a cluster started here, fsync on), each message
    /// to the next process in turn; CPU per message of the bots and the database server.
    #[arg(long)]
    scale_out: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// (internal) The HTTP floor: answers 200 to every request; prints its address.
    FloorHttp {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
}

/// Latencies in microseconds.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("bounds")
}

/// What one run measured.
pub struct Stats {
    pub name: String,
    pub messages: u64,
    pub elapsed: Duration,
    pub ack: Histogram<u64>,
    pub reply: Histogram<u64>,
    /// Open loop: how late a message left after its slot (the generator or people lagging).
    pub lag: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
    pub people_done: u64,
    /// Storage floor: flushes run (each shared by every writer waiting when it started).
    pub flushes: Option<u64>,
}

impl Stats {
    pub fn new(name: &str) -> Stats {
        Stats {
            name: name.to_string(),
            messages: 0,
            elapsed: Duration::ZERO,
            ack: histogram(),
            reply: histogram(),
            lag: histogram(),
            errors: BTreeMap::new(),
            people_done: 0,
            flushes: None,
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.messages += o.messages;
        self.ack.add(&o.ack).expect("same bounds");
        self.reply.add(&o.reply).expect("same bounds");
        self.lag.add(&o.lag).expect("same bounds");
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.people_done += o.people_done;
    }

    pub fn error(&mut self, what: impl Into<String>) {
        *self.errors.entry(what.into()).or_default() += 1;
    }

    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().clamp(1, 120_000_000) as u64
}

fn ms(h: &Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        return "–".into();
    }
    let v = if q >= 1.0 {
        h.max()
    } else {
        h.value_at_quantile(q)
    };
    format!("{:.2}", v as f64 / 1000.0)
}

/// How the people play.
#[derive(Clone)]
struct Drive {
    /// The processes: a person's messages go to each in turn (a round-robin balancer).
    bases: Vec<String>,
    mode: Mode,
    rate: f64,
    /// Where replies arrive; `None` for the HTTP floor (nobody answers).
    inboxes: Option<Arc<Inboxes>>,
    verbose: bool,
    reply_timeout: Duration,
}

fn people(n: usize, channels: Channels) -> Vec<Person> {
    (0..n)
        .map(|index| Person {
            index,
            channel: match channels {
                Channels::Whatsapp => Channel::Whatsapp,
                Channels::Telegram => Channel::Telegram,
                Channels::Both if index % 2 == 0 => Channel::Whatsapp,
                Channels::Both => Channel::Telegram,
            },
        })
        .collect()
}

type Tokens = Arc<Mutex<UnboundedReceiver<Instant>>>;

/// Open loop: send slots at `drive.rate` until the `people` (counted down in the returned
/// counter) are done. Closed loop: none.
fn tokens(drive: &Drive, people: usize) -> (Option<Tokens>, Arc<AtomicUsize>) {
    let remaining = Arc::new(AtomicUsize::new(people));
    let tokens = (drive.mode == Mode::Open).then(|| {
        let (tx, rx) = unbounded_channel::<Instant>();
        let period = Duration::from_secs_f64(1.0 / drive.rate.max(0.001));
        let remaining = remaining.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(period);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                let t = iv.tick().await;
                if remaining.load(Ordering::Relaxed) == 0 || tx.send(t.into_std()).is_err() {
                    break;
                }
            }
        });
        Arc::new(Mutex::new(rx))
    });
    (tokens, remaining)
}

/// Plays everyone's script against `drive.base`; returns the merged stats.
async fn run(name: &str, drive: &Drive, everyone: &[Person]) -> Stats {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(everyone.len().max(1))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let (tokens, remaining) = tokens(drive, everyone.len());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(everyone.len());
    for p in everyone {
        let p = p.clone();
        let drive = drive.clone();
        let client = client.clone();
        let tokens = tokens.clone();
        let remaining = remaining.clone();
        tasks.push(tokio::spawn(async move {
            let s = person(&p, &drive, &client, tokens.as_ref()).await;
            remaining.fetch_sub(1, Ordering::Relaxed);
            s
        }));
    }
    let mut total = Stats::new(name);
    for t in tasks {
        match t.await {
            Ok(s) => total.merge(&s),
            Err(_) => total.error("person task panicked"),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// One person through the script.
async fn person(
    p: &Person,
    drive: &Drive,
    client: &reqwest::Client,
    tokens: Option<&Tokens>,
) -> Stats {
    let mut s = Stats::new("");
    let (tx, mut rx) = unbounded_channel();
    if let Some(ib) = &drive.inboxes {
        ib.register(p.inbox(), tx);
    }
    let show = drive.verbose && p.index < 2;
    for (seq, line) in SCRIPT.iter().enumerate() {
        let slot = match tokens {
            Some(t) => match t.lock().await.recv().await {
                Some(at) => Some(at),
                None => break,
            },
            None => None,
        };
        while rx.try_recv().is_ok() {}
        let (body, (header, value)) = p.payload(seq, line.say);
        let base = &drive.bases[(p.index + seq) % drive.bases.len().max(1)];
        let url = format!("{base}{}", p.path());
        let start = Instant::now();
        if let Some(at) = slot {
            s.lag
                .record(micros(start.saturating_duration_since(at)))
                .ok();
        }
        let res = client
            .post(&url)
            .header("content-type", "application/json")
            .header(header, value)
            .body(body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => {
                // The bot answers only once the message is stored: this is the ack.
                let _ = r.bytes().await;
                s.ack.record(micros(start.elapsed())).ok();
                s.messages += 1;
            }
            Ok(r) => {
                s.error(format!("HTTP {}", r.status().as_u16()));
                return s;
            }
            Err(e) => {
                s.error(if e.is_timeout() {
                    "request timed out".to_string()
                } else {
                    "connection failed".to_string()
                });
                return s;
            }
        }
        if show {
            println!("[{}] > {}", p.index, line.say);
        }
        if drive.inboxes.is_none() {
            continue;
        }
        let deadline = tokio::time::Instant::from_std(start + drive.reply_timeout);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(reply)) => {
                    if show {
                        println!("[{}] < {}", p.index, reply.text.replace('\n', "\n      "));
                    }
                    if reply.text.to_lowercase().contains(line.expect) {
                        s.reply
                            .record(micros(reply.at.saturating_duration_since(start)))
                            .ok();
                        break;
                    }
                }
                _ => {
                    s.error(format!(
                        "no reply with {:?} to {:?} within 30 s",
                        line.expect, line.say
                    ));
                    return s;
                }
            }
        }
    }
    s.people_done = 1;
    s
}

/// A `pstbot serve` started for this run, on a temporary store.
struct Managed {
    child: std::process::Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Drop for Managed {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Managed {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A process on a sled store of its own, or on the PostgreSQL database `store`.
    async fn start(
        provider: std::net::SocketAddr,
        cache_mb: u64,
        store: Option<&str>,
    ) -> anyhow::Result<Managed> {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut text = example_config::example_config(&repo, &dir.path().join("data"), &listen)
            .replace("cache_mb = 64", &format!("cache_mb = {cache_mb}"))
            // Every simulated person connects from 127.0.0.1: the per-address cap (256 open
            // connections) would refuse the load generator at 1,000/s, which is one client of
            // many addresses in reality (Meta's and Telegram's servers).
            .replacen("[http]\n", "[http]\nmax_connections_per_ip = 0\n", 1);
        if let Some(url) = store {
            text = text.replacen(
                "[store]\n",
                &format!("[store]\nbackend = \"postgres\"\nurl = \"{url}\"\n"),
                1,
            );
        }
        text.push_str(&format!(
            r#"
[whatsapp]
phone_number_id = "{pnid}"
access_token = "{token}"
app_secret = "{secret}"
verify_token = "bench-verify-token"
graph_api_url = "http://{provider}/v21.0"

[telegram]
token = "{bot}"
api_url = "http://{provider}"
mode = "webhook"
webhook_url = "http://{listen}/webhook/telegram"
webhook_secret = "{tg_secret}"

# The providers' own limits (Telegram 30/s, WhatsApp 80/s) would cap the replies: the
# benchmark measures the bot, so they are lifted.
[delivery.limits.telegram]
per_chat_per_minute = 100000
group_per_minute = 100000
per_second = 100000

[delivery.limits.whatsapp]
per_chat_per_minute = 100000
group_per_minute = 100000
per_second = 100000
"#,
            pnid = provider::PHONE_NUMBER_ID,
            token = provider::ACCESS_TOKEN,
            secret = people::APP_SECRET,
            bot = provider::BOT_TOKEN,
            tg_secret = people::TELEGRAM_SECRET,
        ));
        let config = dir.path().join("config.toml");
        std::fs::write(&config, text)?;
        let child = Self::spawn(dir.path())?;
        let mut m = Managed {
            child,
            dir,
            url: format!("http://{listen}"),
        };
        m.wait_serving().await?;
        Ok(m)
    }

    fn spawn(dir: &Path) -> anyhow::Result<std::process::Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))?;
        // PSTBOT_LOAD_BIN runs another build of pstbot (before/after comparisons).
        let bin = std::env::var_os("PSTBOT_LOAD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pstbot")));
        Ok(std::process::Command::new(bin)
            .arg("--config")
            .arg(dir.join("config.toml"))
            .arg("serve")
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?)
    }

    /// Waits until `/healthz` answers 200.
    async fn wait_serving(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline || self.child.try_wait()?.is_some() {
                anyhow::bail!(
                    "pstbot serve did not answer /healthz; its log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Starts the stopped bot again on its store: the time until it answers `/healthz`.
    async fn restart(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.child = Self::spawn(self.dir.path())?;
        self.wait_serving().await?;
        Ok(started.elapsed())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Peak resident memory of the bot so far (VmHWM), KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGTERM, then wait for the graceful shutdown.
    async fn stop(&mut self) -> anyhow::Result<()> {
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                anyhow::bail!("pstbot serve did not stop within 20 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

fn row(s: &Stats, people: usize, mode: &str) -> String {
    let errors: u64 = s.errors.values().sum();
    format!(
        "| {} | {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
        s.name,
        people,
        mode,
        s.messages,
        s.elapsed.as_secs_f64(),
        s.rate(),
        ms(&s.ack, 0.5),
        ms(&s.ack, 0.9),
        ms(&s.ack, 0.99),
        ms(&s.ack, 1.0),
        ms(&s.reply, 0.5),
        ms(&s.reply, 0.99),
        errors
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Sub::FloorHttp { listen }) = &args.command {
        return floors::serve_http_floor(listen);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(load(args))
}

async fn load(args: Args) -> anyhow::Result<()> {
    let inboxes = Arc::new(Inboxes::default());
    let provider = provider::start(&args.provider_listen, inboxes.clone()).await?;
    let mut managed = match &args.target {
        Some(_) => None,
        None if args.scale_out => None,
        None => Some(Managed::start(provider, args.cache_mb, None).await?),
    };
    let base = match (&args.target, &managed) {
        (Some(t), _) => t.trim_end_matches('/').to_string(),
        (None, Some(m)) => m.url.clone(),
        (None, None) => "(scale out)".to_string(),
    };
    let mode = match args.mode {
        Mode::Closed => "closed".to_string(),
        Mode::Open => format!("open {}/s", args.rate),
    };
    let everyone = people(args.people, args.channels);
    eprintln!(
        "pstbot-load: {} people × {} messages, {mode}, bot at {base}, providers at {provider}",
        args.people,
        SCRIPT.len()
    );
    let drive = Drive {
        bases: vec![base],
        mode: args.mode,
        rate: args.rate,
        inboxes: Some(inboxes.clone()),
        verbose: args.verbose,
        reply_timeout: Duration::from_secs(args.reply_timeout),
    };
    if args.scale_out {
        return scale::scale_out(&args, provider, &drive, &everyone).await;
    }
    let load_before = scale::loadavg();
    let cpu_before = managed
        .as_ref()
        .map(|m| scale::cpu_seconds(m.child.id(), false));
    let switches = managed
        .as_ref()
        .and_then(|m| switches::Switches::start(m.child.id(), m.dir.path()));
    let bot = run("pstbot", &drive, &everyone).await;
    // Give the last replies a moment, then read the bot's own numbers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut notes = vec![format!(
        "load average before / after: {load_before} / {}",
        scale::loadavg()
    )];
    let mut storage = None;
    if let Some(m) = managed.as_mut() {
        if let Some(before) = cpu_before {
            let cpu = scale::cpu_seconds(m.child.id(), false) - before;
            notes.push(format!(
                "bot CPU (user + system): {cpu:.2} s, {:.0} µs per message",
                1e6 * cpu / bot.messages.max(1) as f64
            ));
        }
        if let Some((switches, migrations)) = switches.and_then(|s| s.stop()) {
            notes.push(format!(
                "bot context switches: {switches} ({:.1} per message), {migrations} moves between cores",
                switches as f64 / bot.messages.max(1) as f64
            ));
        }
        let rss = m.peak_rss_kib();
        m.stop().await?;
        let data = m.data();
        let bytes = du(&data);
        let cases = bot.people_done.max(1);
        if let Some(kib) = rss {
            notes.push(format!(
                "bot peak RSS (VmHWM): {:.1} MiB",
                kib as f64 / 1024.0
            ));
        }
        notes.push(format!(
            "store on disk: {:.1} MiB for {} people ({} complaint cases): {:.1} KiB per case (all records of the person, sled log segments included)",
            bytes as f64 / 1048576.0,
            args.people,
            bot.people_done,
            bytes as f64 / 1024.0 / cases as f64
        ));
        let errors = m.log().lines().filter(|l| l.contains("ERROR")).count();
        notes.push(format!("ERROR lines in the bot's log: {errors}"));
        let restart = m.restart().await?;
        m.stop().await?;
        notes.push(format!(
            "restart on this store to serving (/healthz 200): {:.0} ms",
            restart.as_secs_f64() * 1000.0
        ));
        storage = Some(floors::measure_store(
            &data,
            bot.messages.max(1),
            inboxes.total.load(Ordering::Relaxed),
        )?);
    }
    notes.push(format!(
        "replies received: {} ({:.2} per message); unrouted: {}; provider requests refused: {}",
        inboxes.total.load(Ordering::Relaxed),
        inboxes.total.load(Ordering::Relaxed) as f64 / bot.messages.max(1) as f64,
        inboxes.unrouted.load(Ordering::Relaxed),
        inboxes.refused.load(Ordering::Relaxed)
    ));
    for (e, n) in &bot.errors {
        notes.push(format!("error ×{n}: {e}"));
    }
    let mut rows = vec![row(&bot, args.people, &mode)];
    let mut ratios = Vec::new();
    if !args.no_floors {
        // The HTTP floor: the same people and bodies, a handler that answers 200 at once.
        let (mut floor_child, floor_url) = floors::start_http_floor().await?;
        let floor_drive = Drive {
            bases: vec![floor_url],
            inboxes: None,
            verbose: false,
            ..drive.clone()
        };
        let http = run("HTTP floor", &floor_drive, &everyone).await;
        floor_child.kill().ok();
        floor_child.wait().ok();
        rows.push(row(&http, args.people, &mode));
        ratios.push(format!(
            "pstbot ÷ HTTP floor: throughput {:.1} %, ack p99 ×{:.1}",
            100.0 * bot.rate() / http.rate().max(1e-9),
            bot.ack.value_at_quantile(0.99) as f64 / http.ack.value_at_quantile(0.99).max(1) as f64
        ));
        if let Some(sizes) = &storage {
            notes.push(format!("storage floor records: {sizes}"));
            let per_person = (bot.messages as usize / args.people.max(1)).max(1);
            let floor = floors::storage_floor(
                sizes,
                args.people,
                per_person,
                args.mode == Mode::Open,
                args.rate,
            )
            .await?;
            rows.push(row(&floor, args.people, &mode));
            if let Some(f) = floor.flushes {
                notes.push(format!(
                    "storage floor: {f} flushes for {} messages and their delivery marks ({:.1} writes per flush)",
                    floor.messages,
                    2.0 * floor.messages as f64 / f.max(1) as f64
                ));
            }
            ratios.push(format!(
                "pstbot ÷ storage floor: throughput {:.1} %, ack p99 ×{:.1}",
                100.0 * bot.rate() / floor.rate().max(1e-9),
                bot.ack.value_at_quantile(0.99) as f64
                    / floor.ack.value_at_quantile(0.99).max(1) as f64
            ));
        }
    }
    if args.mode == Mode::Open && !bot.lag.is_empty() {
        notes.push(format!(
            "open loop: messages left p50 {} ms / p99 {} ms after their slot (people waiting on replies, or the generator itself)",
            ms(&bot.lag, 0.5),
            ms(&bot.lag, 0.99)
        ));
    }
    println!();
    println!(
        "| run | people | mode | messages | seconds | msgs/s | ack p50 ms | ack p90 ms | ack p99 ms | ack max ms | reply p50 ms | reply p99 ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    for r in ratios {
        println!("- {r}");
    }
    for n in notes {
        println!("- {n}");
    }
    if !bot.errors.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
