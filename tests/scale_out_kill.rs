//! Kill campaign on PostgreSQL: three `pstbot serve` processes on one database (a throwaway
//! cluster this test starts and owns), SMS webhooks (fake gateway) and Telegram webhooks (fake
//! Bot API, webhook mode, so any process takes any update) spread over all three at random.
//! One process at a time is SIGKILLed at random moments and started again on its port; once,
//! in the middle, the database itself is restarted (`pg_ctl stop -m fast` and start, what
//! `pg_ctl restart -m fast` does). Four SMS senders go through the whole complaint dialog again
//! and again (guest book once, then a complaint per pass), so case numbers are taken by all
//! three processes; two Telegram senders pause now and then past the idle timeout, so idle
//! timers fall due throughout and across kills.
//!
//! Afterwards it checks, against the fakes' logs and the database: every acknowledged message
//! (webhook answered 200) has a delivered reply; no reply key comes from two outbox rows (no
//! step applied twice, no timer fired twice); repeated provider deliveries are at most one per
//! chat per interruption (kills + the database restart); case numbers are gap-free per service
//! and year and agree with their counters; no timer is overdue and every conversation was
//! closed by its idle timer; nothing is left queued or given up.
//!
//! `PSTBOT_PG_KILLS` sets the number of kills (default 4, for `cargo test`); the long form is
//! `PSTBOT_PG_KILLS=40 cargo test --test scale_out_kill -- --nocapture` (RELIABILITY.md).

mod support;

use pstbot::store::postgres::PgStore;
use pstbot::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::gateway::{FakeGateway, Received};
use support::postgres::PgCluster;
use support::telegram_api::{FakeBotApi, TOKEN};

const SECRET: &str = "kill-secret";
const TG_SECRET: &str = "kill-tg-secret";
const PROCESSES: usize = 3;
/// The two tests each load the 2 cores fully: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const SMS_PEOPLE: usize = 4;
const TG_PEOPLE: [u64; 2] = [6101, 6102];
/// A Telegram sender's script (as the sled crash campaign's): it starts the guest book and
/// leaves it idle now and then, so its idle timer fires.
const TG_SCRIPT: [&str; 6] = [
    "halo",
    "1",
    "ya",
    "Budi Santoso",
    "budi@example.com",
    "menu",
];
/// An SMS sender's first pass: the guest book, then a complaint (SMS has no attachment step).
const FIRST_PASS: [&str; 21] = [
    "halo",
    "3",
    "ya",
    "Rudi Hartono",
    "rudi@example.go.id",
    "0812-3456-7890",
    "1",
    "3",
    "4",
    "3",
    "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
    "pemerintah daerah",
    "2",
    "kirim",
    "2",
    "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak minggu lalu.",
    "16/11/2026",
    "tidak",
    "-",
    "kirim",
    "menu",
];
/// Every later pass: a returning guest's complaint.
const NEXT_PASS: [&str; 10] = [
    "3",
    "1",
    "kirim",
    "2",
    "Petugas loket tidak ada di tempat pada jam layanan hari Senin.",
    "23/11/2026",
    "tidak",
    "-",
    "kirim",
    "menu",
];

/// The text an SMS sender sends as its message `seq`.
fn sms_text(seq: u64) -> &'static str {
    let seq = seq as usize;
    if seq < FIRST_PASS.len() {
        FIRST_PASS[seq]
    } else {
        NEXT_PASS[(seq - FIRST_PASS.len()) % NEXT_PASS.len()]
    }
}

fn phone(i: usize) -> String {
    format!("+62812{:08}", 7000 + i)
}

/// A child `pstbot serve`, SIGKILLed however the test ends.
struct Serving(Option<Child>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Serving {
    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One process's config: its own folder and port, the shared database and fakes.
fn write_config(
    dir: &std::path::Path,
    port: u16,
    gateway: &str,
    bot_api: &str,
) -> std::path::PathBuf {
    let sub = dir.join(format!("p{port}"));
    std::fs::create_dir_all(&sub).unwrap();
    let path = support::config_file(&sub, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1)
        .replace("idle_timeout = \"24h\"", "idle_timeout = \"2s\"");
    let text = format!(
        "{text}\n[sms]\ngateway_url = \"{gateway}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\n\
         [telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{bot_api}\"\nmode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"{TG_SECRET}\"\n\n\
         [reminders]\nquiet_hours = \"00:00-00:00\"\n\n\
         [delivery]\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.telegram]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n",
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `pstbot serve`; its errors go to `serve.log` beside its config (a database restart
/// makes many, all expected).
fn spawn(config: &std::path::Path, url: &str) -> Serving {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name("serve.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("PSTBOT_STORE_URL", url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("pstbot starts");
    Serving(Some(child))
}

/// Waits until `/healthz` answers 200 (at most 15 s).
async fn healthy(client: &reqwest::Client, port: u16) -> bool {
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[derive(Clone, Copy, Debug)]
enum Sender {
    Sms(usize),
    Telegram(u64),
}

static SENT_AT: AtomicU64 = AtomicU64::new(1_763_888_400);

/// The request for message `seq` of `who` to the process on `port` (the same message on
/// every retry, as a provider resends), and the dedupe-key prefix its replies carry.
fn request(
    client: &reqwest::Client,
    port: u16,
    who: Sender,
    seq: u64,
) -> (reqwest::RequestBuilder, String) {
    let base = format!("http://127.0.0.1:{port}");
    match who {
        Sender::Sms(idx) => {
            let id = format!("k{idx}-{seq}");
            let body = serde_json::json!({ "id": id, "from": phone(idx), "text": sms_text(seq) });
            (
                client
                    .post(format!("{base}/webhook/sms"))
                    .header("x-sms-secret", SECRET)
                    .json(&body),
                format!("sms:{id}#"),
            )
        }
        Sender::Telegram(uid) => {
            let update_id = uid * 100_000 + seq;
            let body = serde_json::json!({
                "update_id": update_id,
                "message": {
                    "message_id": seq + 1,
                    "date": SENT_AT.fetch_add(1, Ordering::Relaxed),
                    "chat": support::telegram_api::chat(uid as i64),
                    "from": support::telegram_api::user(uid, "Budi"),
                    "text": TG_SCRIPT[seq as usize % TG_SCRIPT.len()],
                }
            });
            (
                client
                    .post(format!("{base}/webhook/telegram"))
                    .header(
                        pstbot::channels::telegram::webhook::SECRET_HEADER,
                        TG_SECRET,
                    )
                    .json(&body),
                format!("telegram:{update_id}#"),
            )
        }
    }
}

/// One simulated sender: each attempt goes to a process picked at random (a load balancer);
/// a message counts as acknowledged only on 200, and an unacknowledged one is sent again
/// (same id) to a process picked again.
async fn sender(
    client: reqwest::Client,
    ports: Arc<Vec<u16>>,
    who: Sender,
    acked: Arc<Mutex<Vec<String>>>,
    running: Arc<AtomicBool>,
) {
    let mut seq = 0u64;
    while running.load(Ordering::Relaxed) {
        let port = ports[fastrand::usize(..ports.len())];
        let (req, key) = request(&client, port, who, seq);
        match req.send().await {
            Ok(r) if r.status() == 200 => {
                acked.lock().unwrap().push(key);
                seq += 1;
                // Telegram senders now and then pause past the idle timeout (2 s).
                let pause = match who {
                    Sender::Telegram(_) if fastrand::u8(..6) == 0 => fastrand::u64(2200..2600),
                    _ => fastrand::u64(5..40),
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Rows queued for the channels the processes deliver on. (A filed case also queues an
/// e-mail receipt and a notice to the officers' chat, which this test does not configure:
/// those rows wait, as they would on one process.)
const QUEUED: &str = "SELECT count(*) FROM outbox WHERE channel IN ('sms', 'telegram')";

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Case numbers per (service, year): the numbers 1..=n without a gap, and the counter at n.
async fn case_numbers(db: &tokio_postgres::Client) -> BTreeMap<(String, i32), Vec<i64>> {
    let mut by: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
    for r in db
        .query("SELECT service, year, seq FROM cases ORDER BY 1, 2, 3", &[])
        .await
        .unwrap()
    {
        by.entry((r.get(0), r.get(1))).or_default().push(r.get(2));
    }
    for r in db
        .query("SELECT service, year, last FROM case_counters", &[])
        .await
        .unwrap()
    {
        let key: (String, i32) = (r.get(0), r.get(1));
        let last: i64 = r.get(2);
        let seqs = by.get(&key).cloned().unwrap_or_default();
        assert_eq!(
            seqs.last().copied().unwrap_or(0),
            last,
            "{key:?}: counter at {last}, numbers {seqs:?}"
        );
    }
    for (key, seqs) in &by {
        let want: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, &want, "{key:?}: case numbers with a gap");
    }
    by
}

/// What is stuck, when the test cannot settle: the rows left, the claims and the processes'
/// errors.
async fn diagnose(db: &tokio_postgres::Client, dir: &std::path::Path) {
    for r in db
        .query(
            "SELECT chat, count(*), min(id), max(attempts), min(not_before)::text, \
             min(last_error) FROM outbox WHERE channel IN ('sms', 'telegram') GROUP BY chat",
            &[],
        )
        .await
        .unwrap()
    {
        let (chat, n, id, attempts): (String, i64, i64, i32) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let (nb, err): (Option<String>, Option<String>) = (r.get(4), r.get(5));
        eprintln!(
            "left: {chat} {n} rows from {id}, attempts {attempts}, not before {nb:?}, {err:?}"
        );
    }
    for r in db
        .query(
            "SELECT chat, claimed_by, (claimed_until - now())::text FROM outbox_claims",
            &[],
        )
        .await
        .unwrap()
    {
        let (c, by, left): (String, String, Option<String>) = (r.get(0), r.get(1), r.get(2));
        eprintln!("claim: {c} by {by}, left {left:?}");
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let log = std::fs::read_to_string(e.path().join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!("{}: {} lines; last:", e.path().display(), lines.len());
        for l in lines.iter().rev().take(8) {
            eprintln!("  {l}");
        }
    }
}

fn by_reference(rs: &[Received]) -> BTreeMap<String, Vec<&Received>> {
    let mut m: BTreeMap<String, Vec<&Received>> = BTreeMap::new();
    for r in rs.iter().filter(|r| r.status == 200) {
        m.entry(r.reference.clone()).or_default().push(r);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_survive_kills_and_a_database_restart() {
    let _one_at_a_time = SERIAL.lock().await;
    let kills: usize = std::env::var("PSTBOT_PG_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let started = Instant::now();
    let mut cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let gw = FakeGateway::start(vec![]).await;
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ports: Arc<Vec<u16>> = Arc::new((0..PROCESSES).map(|_| support::free_port()).collect());
    let configs: Vec<_> = ports
        .iter()
        .map(|p| write_config(dir.path(), *p, &gw.url(), &api.url()))
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut procs: Vec<Serving> = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        procs.push(spawn(c, &url));
        assert!(healthy(&client, ports[i]).await, "process {i} started");
    }
    let mut who: Vec<Sender> = (0..SMS_PEOPLE).map(Sender::Sms).collect();
    who.extend(TG_PEOPLE.iter().map(|u| Sender::Telegram(*u)));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(true));
    let tasks: Vec<_> = who
        .iter()
        .map(|w| {
            tokio::spawn(sender(
                client.clone(),
                ports.clone(),
                *w,
                acked.clone(),
                running.clone(),
            ))
        })
        .collect();

    // The kills: a random process at a random moment, started again at once on its port.
    let mut db_restarted = None;
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(300..1500))).await;
        let victim = fastrand::usize(..PROCESSES);
        procs[victim].kill(); // SIGKILL
        if k == kills / 2 {
            // The database restarts too, while the load goes on (connections are cut).
            let at = Instant::now();
            tokio::task::block_in_place(|| cluster.restart());
            db_restarted = Some(at.elapsed());
        }
        procs[victim] = spawn(&configs[victim], &url);
        assert!(
            healthy(&client, ports[victim]).await,
            "process {victim} did not come back after kill {k}"
        );
    }
    // Load for a moment more with all three up, then stop the senders.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let load_time = started.elapsed();

    // Settle: outbox empty, no timer overdue, and the providers quiet for 3 s.
    let db = connect(&url).await;
    let delivered = || gw.received().len() + api.sent().len();
    let settling = Instant::now();
    loop {
        let before = delivered();
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let queued = count(&db, QUEUED).await;
        let overdue = count(
            &db,
            "SELECT count(*) FROM timers WHERE due < now() - interval '1 second'",
        )
        .await;
        if queued == 0 && overdue == 0 && delivered() == before {
            break;
        }
        if settling.elapsed() >= Duration::from_secs(90) {
            diagnose(&db, dir.path()).await;
        }
        assert!(
            settling.elapsed() < Duration::from_secs(90),
            "never settled: {queued} rows queued, {overdue} timers overdue"
        );
    }
    for p in &mut procs {
        p.kill();
    }

    let store = PgStore::open(&url, 2).unwrap();
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no message was acknowledged at all");
    let sent = store.sent_records().unwrap();
    let failed = store.failed().unwrap();
    assert_eq!(count(&db, QUEUED).await, 0, "messages left undelivered");
    let still_open: Vec<String> = who
        .iter()
        .map(|w| match w {
            Sender::Sms(i) => {
                pstbot::message::Identity::new(pstbot::message::ChannelKind::Sms, phone(*i))
            }
            Sender::Telegram(u) => pstbot::message::Identity::new(
                pstbot::message::ChannelKind::Telegram,
                u.to_string(),
            ),
        })
        .filter(|w| {
            store
                .session(w)
                .unwrap()
                .is_some_and(|c| c.active.is_some())
        })
        .map(|w| w.masked())
        .collect();

    // Lost: an acknowledged message without a delivered reply row.
    let missing: Vec<&String> = acked
        .iter()
        .filter(|k| !sent.iter().any(|r| r.key.starts_with(k.as_str())))
        .collect();
    // Applied twice: a reply key (or a timer's) from two rows, in the store or at the gateway.
    let mut keys: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &sent {
        *keys.entry(r.key.as_str()).or_default() += 1;
    }
    let rs = gw.received();
    let refs = by_reference(&rs);
    let mut twice: Vec<String> = keys
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k.to_string())
        .collect();
    twice.extend(
        refs.iter()
            .filter(|(_, v)| v.iter().map(|r| r.outbox_id).collect::<BTreeSet<_>>().len() > 1)
            .map(|(k, _)| k.clone()),
    );
    // Repeats: deliveries a provider took beyond the rows' own, per chat.
    let mut repeats: BTreeMap<String, usize> = BTreeMap::new();
    for v in refs
        .iter()
        .filter(|(k, _)| k.ends_with("/1"))
        .map(|(_, v)| v)
    {
        if v.len() > 1 {
            *repeats.entry(format!("sms:{}", v[0].to)).or_default() += v.len() - 1;
        }
    }
    let provider_refs: BTreeSet<&str> = sent
        .iter()
        .filter_map(|r| r.provider_ref.as_deref())
        .flat_map(|s| s.split(' '))
        .collect();
    for m in api.sent() {
        if !provider_refs.contains(m.message_id.to_string().as_str()) {
            *repeats.entry(format!("telegram:{}", m.chat)).or_default() += 1;
        }
    }
    let cases = case_numbers(&db).await;
    let case_count: usize = cases.values().map(|v| v.len()).sum();
    let timers_fired = sent.iter().filter(|r| r.key.starts_with("timer:")).count();
    println!(
        "pg kill campaign: {PROCESSES} processes, {kills} SIGKILLs, database restarted once \
         (down {:?}); load {:?}, settled in {:?}; {} messages acknowledged and checked ({} SMS, \
         {} Telegram); {} reply rows checked ({} provider deliveries); {case_count} cases \
         ({}), numbers gap-free; {timers_fired} idle-timer messages checked; {} repeated \
         in-flight deliveries (max {} in one chat); {} lost, {} applied twice, {} failed rows, \
         {} conversations left open",
        db_restarted.unwrap_or_default(),
        load_time,
        settling.elapsed(),
        acked.len(),
        acked.iter().filter(|k| k.starts_with("sms:")).count(),
        acked.iter().filter(|k| k.starts_with("telegram:")).count(),
        sent.len(),
        gw.delivered().len() + api.sent().len(),
        cases
            .iter()
            .map(|((s, y), v)| format!("{s}-{y}: {}", v.len()))
            .collect::<Vec<_>>()
            .join(", "),
        repeats.values().sum::<usize>(),
        repeats.values().max().copied().unwrap_or(0),
        missing.len(),
        twice.len(),
        failed.len(),
        still_open.len(),
    );
    assert!(
        db_restarted.is_some() || kills == 0,
        "the database restarted"
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    assert!(failed.is_empty(), "given up: {failed:?}");
    assert!(
        still_open.is_empty(),
        "conversations not closed by their idle timer: {still_open:?}"
    );
    assert!(case_count > 0, "no case was filed");
    assert!(timers_fired > 0, "no idle timer fired");
    for (chat, n) in &repeats {
        assert!(
            *n <= kills + 1,
            "{chat}: {n} repeated deliveries for {kills} kills and a database restart \
             (at most one in flight per chat per interruption)"
        );
    }
}

/// More people writing at once than a process has pooled connections: each person's turn
/// keeps a connection for its lock and needs another for the plan and the commit, so if every
/// connection held a turn nobody could go on (until the pool's 30 s timeout: 503 to everyone).
/// Found by `pstbot-load --scale-out` with 200 people on the default 16 connections; so was
/// the second stall: a pool wait blocking an async worker (`PgStore::conn`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_people_at_once_than_pooled_connections() {
    const PEOPLE: usize = 150;
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = PgCluster::start();
    let url = cluster.fresh_database();
    let gw = FakeGateway::start(vec![]).await;
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url(), &api.url());
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "backend = \"postgres\"\n",
        "backend = \"postgres\"\npool_size = 4\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let _serving = spawn(&config, &url);
    assert!(healthy(&client, port).await);
    let started = Instant::now();
    let sends = (0..PEOPLE).map(|i| {
        let client = client.clone();
        async move {
            let mut statuses = Vec::new();
            for (n, text) in ["halo", "3", "ya"].into_iter().enumerate() {
                let body = serde_json::json!({ "id": format!("c{i}-{n}"), "from": phone(100 + i), "text": text });
                statuses.push(
                    client
                        .post(format!("http://127.0.0.1:{port}/webhook/sms"))
                        .header("x-sms-secret", SECRET)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0),
                );
            }
            statuses
        }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect();
    let took = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{PEOPLE} people at once on 4 connections: {statuses:?} after {took:?}"
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
    // Every message answered (the replies leave through the same pool).
    let answered = |r: &[Received]| {
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for r in r
            .iter()
            .filter(|r| r.status == 200 && r.reference.ends_with("/1"))
        {
            *per.entry(r.to.clone()).or_default() += 1;
        }
        per.len() == PEOPLE && per.values().all(|n| *n >= 3)
    };
    assert!(
        gw.wait_for(Duration::from_secs(30), answered).await,
        "every message answered"
    );
}
