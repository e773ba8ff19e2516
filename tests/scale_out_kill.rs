//! Kill campaign on PostgreSQL: three `pstbot serve` processes on one database (a throwaway
//! cluster this test starts and owns), SMS webhooks (fake gateway) and Telegram webhooks (fake
//! Bot API, webhook mode, so any process takes any update) spread over all three at random.
//! One process at a time is SIGKILLed at random moments and started again on its port; once,
//! in the middle, the database itself is restarted (`pg_ctl stop -m fast` and start, what
//! `pg_ctl restart -m fast` does). Four SMS senders go through the whole complaint dialog again
//! and again (guest book once, then a complaint per pass), so case numbers are taken by all
//! three processes; two Telegram senders pause now and then past the idle timeout, so idle
//! timers fall due throughout and across kills. Three web chat visitors (`support::web_visitor`,
//! as the chat page) each start a session on one process and post to any, the SMS script with
//! the web dialog's attachment step; the first one's page keeps its event stream open
//! throughout, connecting again (to a process picked again, with `Last-Event-ID`) when a kill or
//! the restart breaks it.
//!
//! Afterwards it checks, against the fakes' logs and the database: every acknowledged message
//! (webhook or web post answered 200) has a delivered reply; no reply key comes from two outbox rows (no
//! step applied twice, no timer fired twice); repeated provider deliveries are at most one per
//! chat per interruption (kills + the database restart); case numbers are gap-free per service
//! and year and agree with their counters; no timer is overdue and every conversation was
//! closed by its idle timer; nothing is left queued or given up. For the web visitors, each
//! session's log read back through the API (from a process picked at random) is numbered
//! `1..n` without a gap or a repeat; the visitor's own messages are in it once each, in order;
//! every entry an answer showed is in it as shown; each reply in it has exactly one delivery
//! record (written by the request or by the outbox worker, with the row's key) and every
//! acknowledged message has one; the page with its stream open got the whole log, each entry
//! once, in order; and the web chat filed cases too.
//!
//! `PSTBOT_PG_KILLS` sets the number of kills (default 30, the floor, in `cargo test`:
//! about 60 s on 2 cores, ~3,000 messages acknowledged, ~1,000 of them web chat); the long form
//! is `PSTBOT_PG_KILLS=40 cargo test --test integration scale_out_kill:: -- --nocapture` (RELIABILITY.md).

use crate::support;

use pstbot::channels::web::session_id;
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::SentRecord;
use pstbot::store::postgres::PgStore;
use pstbot::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::gateway::{FakeGateway, Received};
use support::postgres::PgCluster;
use support::telegram_api::{FakeBotApi, TOKEN};
use support::web_visitor;

const SECRET: &str = "kill-secret";
const TG_SECRET: &str = "kill-tg-secret";
const PROCESSES: usize = 3;
/// The two tests each load the 2 cores fully: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const SMS_PEOPLE: usize = 4;
const TG_PEOPLE: [u64; 2] = [6101, 6102];
/// Web chat visitors: a session each, started on one process, posts to any.
const WEB_PEOPLE: usize = 3;
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

/// The text a web visitor posts as its message `seq`: the SMS script, with the attachment
/// step the web dialog asks after the date (SMS has none) skipped with "-".
fn web_text(seq: u64) -> &'static str {
    let with_skip = |pass: &[&'static str], date: usize, i: usize| match i {
        i if i <= date => pass[i],
        i if i == date + 1 => "-",
        i => pass[i - 1],
    };
    let (seq, first) = (seq as usize, FIRST_PASS.len() + 1);
    if seq < first {
        with_skip(&FIRST_PASS, 16, seq)
    } else {
        with_skip(&NEXT_PASS, 5, (seq - first) % (NEXT_PASS.len() + 1))
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
        .replace("idle_timeout = \"24h\"", "idle_timeout = \"2s\"")
        // All visitors come from 127.0.0.1.
        .replace(
            "_per_minute_per_session = 30",
            "_per_minute_per_session = 100000",
        )
        .replace("_per_minute_per_ip = 120", "_per_minute_per_ip = 100000");
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

fn identity(who: &Sender) -> Identity {
    match who {
        Sender::Sms(i) => Identity::new(ChannelKind::Sms, phone(*i)),
        Sender::Telegram(u) => Identity::new(ChannelKind::Telegram, u.to_string()),
        Sender::Web(_, token) => pstbot::channels::web::identity(&session_id(token)),
    }
}

#[derive(Clone, Copy, Debug)]
enum Sender {
    Sms(usize),
    Telegram(u64),
    /// A web visitor and its session token.
    Web(usize, &'static str),
}

/// A web message acknowledged (2xx): whose, which, and the entries its answer showed.
struct WebAck {
    visitor: usize,
    seq: u64,
    shown: Vec<web_visitor::Entry>,
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
        Sender::Web(_, token) => {
            let id = format!("w{seq}");
            let session = session_id(token);
            (
                web_visitor::post(client, port, "/api/web/messages", Some(token))
                    .json(&serde_json::json!({ "id": id, "text": web_text(seq) })),
                format!("web:{session}/{id}#"),
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
    web_acks: Arc<Mutex<Vec<WebAck>>>,
    running: Arc<AtomicBool>,
) {
    let mut seq = 0u64;
    while running.load(Ordering::Relaxed) {
        let port = ports[fastrand::usize(..ports.len())];
        let (req, key) = request(&client, port, who, seq);
        let answer = match req.send().await {
            Ok(r) if r.status() == 200 => match who {
                // The page reads the answer; one cut off is not taken (and sent again).
                Sender::Web(visitor, _) => r.json::<serde_json::Value>().await.ok().map(|v| {
                    web_acks.lock().unwrap().push(WebAck {
                        visitor,
                        seq,
                        shown: web_visitor::entries(&v),
                    })
                }),
                _ => Some(()),
            },
            _ => None,
        };
        match answer {
            Some(()) => {
                acked.lock().unwrap().push(key);
                seq += 1;
                // Telegram senders now and then pause past the idle timeout (2 s).
                let pause = match who {
                    Sender::Telegram(_) if fastrand::u8(..6) == 0 => fastrand::u64(2200..2600),
                    _ => fastrand::u64(5..40),
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Rows queued for the channels the processes deliver on. (A filed case also queues an
/// e-mail receipt and a notice to the officers' chat, which this test does not configure:
/// those rows wait, as they would on one process.)
const QUEUED: &str = "SELECT count(*) FROM outbox WHERE channel IN ('sms', 'telegram', 'web')";

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
             min(last_error) FROM outbox WHERE channel IN ('sms', 'telegram', 'web') GROUP BY chat",
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

/// What the web visitors' logs (read back through the API) show, against what the answers to
/// their posts showed and the delivery records; the problems found.
/// - each log is numbered 1..=n, without a gap or a repeat;
/// - the visitor's own messages are in it once each, in the order sent: the acknowledged ones,
///   and at most one more (posted when the load stopped, its answer not read);
/// - every entry an answer showed is in the log as shown;
/// - every entry delivered to the visitor comes from exactly one delivery record, and every
///   web delivery record is such an entry: a reply is in the log once;
/// - every acknowledged message has a delivery record (a reply) in the log.
fn check_web(
    tokens: &[&str],
    logs: &[Vec<web_visitor::Entry>],
    acks: &[WebAck],
    sent: &[SentRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, (token, log)) in tokens.iter().zip(logs).enumerate() {
        let session = session_id(token);
        let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
        if seqs != (1..=log.len() as u64).collect::<Vec<_>>() {
            problems.push(format!("web {i}: log numbered {seqs:?}"));
        }
        let mine: Vec<&WebAck> = acks.iter().filter(|a| a.visitor == i).collect();
        let acked = mine.len() as u64;
        let said: Vec<&str> = log
            .iter()
            .filter(|e| e.visitor)
            .map(|e| e.text.as_str())
            .collect();
        let sent_texts: Vec<&str> = (0..=acked).map(web_text).collect();
        if said != sent_texts[..acked as usize] && said != sent_texts {
            problems.push(format!(
                "web {i}: {acked} messages acknowledged, the log has {said:?}"
            ));
        }
        for a in &mine {
            for e in &a.shown {
                if log.get(e.seq as usize - 1) != Some(e) {
                    problems.push(format!("web {i}: answered {e:?}, not so in the log"));
                }
            }
        }
        // The log's entries to the visitor, each from one delivery record.
        let me = pstbot::channels::web::identity(&session);
        let mut records: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for r in sent.iter().filter(|r| r.to == me) {
            let seq = r.provider_ref.as_deref().and_then(|s| s.parse().ok());
            records.entry(seq.unwrap_or(0)).or_default().push(&r.key);
        }
        let replies: Vec<u64> = log.iter().filter(|e| !e.visitor).map(|e| e.seq).collect();
        let from_records: Vec<u64> = records.keys().copied().collect();
        if replies != from_records || records.values().any(|k| k.len() > 1) {
            problems.push(format!(
                "web {i}: replies at {replies:?}, delivery records at {records:?}"
            ));
        }
        for a in &mine {
            let key = format!("web:{session}/w{}#", a.seq);
            if !records.values().flatten().any(|k| k.starts_with(&key)) {
                problems.push(format!(
                    "web {i}: message {} has no reply in the log",
                    a.seq
                ));
            }
        }
    }
    problems
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
        .unwrap_or(30);
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
    // Each web visitor's session starts on one process; its posts go to any.
    let mut tokens: Vec<&'static str> = Vec::new();
    for i in 0..WEB_PEOPLE {
        let on = ports[i % PROCESSES];
        let token = web_visitor::start_session(&client, on).await;
        tokens.push(token.expect("a web session").leak());
        who.push(Sender::Web(i, tokens[i]));
    }
    // The first visitor's page keeps its event stream open throughout.
    let followed = Arc::new(Mutex::new(Vec::new()));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let follower = tokio::spawn(web_visitor::follow(
        ports.clone(),
        tokens[0].to_string(),
        followed.clone(),
        reconnects.clone(),
    ));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let web_acks = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(true));
    let tasks: Vec<_> = who
        .iter()
        .map(|w| {
            tokio::spawn(sender(
                client.clone(),
                ports.clone(),
                *w,
                acked.clone(),
                web_acks.clone(),
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
    // Each web visitor's log, read back from a process picked at random.
    let mut logs = Vec::new();
    for t in &tokens {
        let port = ports[fastrand::usize(..PROCESSES)];
        logs.push(web_visitor::read_log(&client, port, t).await);
    }
    // The page with the stream open has seen the whole log by now (or soon; 2 busy cores).
    let last = logs[0].last().map_or(0, |e| e.seq);
    for _ in 0..600 {
        if followed.lock().unwrap().last().map_or(0, |e| e.seq) >= last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    follower.abort();
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
        .map(identity)
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
    let web_problems = check_web(&tokens, &logs, &web_acks.lock().unwrap(), &sent);
    let followed = followed.lock().unwrap().clone();
    let by_channel: Vec<String> = db
        .query(
            "SELECT channel, count(*) FROM cases GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.get::<_, i64>(1), r.get::<_, String>(0)))
        .collect();
    println!(
        "pg kill campaign, web chat: {WEB_PEOPLE} visitors, {} log entries read back through \
         the API, numbered without a gap; the page with its event stream open got {} entries \
         over {} reconnections (Last-Event-ID); cases by channel: {}; {} problems",
        logs.iter().map(Vec::len).sum::<usize>(),
        followed.len(),
        reconnects.load(Ordering::Relaxed),
        by_channel.join(", "),
        web_problems.len(),
    );
    // In the long form the followed page's process is surely killed at least once: its
    // stream must have been made again, or the check above proved nothing about it.
    if kills >= 20 {
        assert!(
            reconnects.load(Ordering::Relaxed) >= 1,
            "the page's event stream was never broken in {kills} kills"
        );
    }
    println!(
        "pg kill campaign: {PROCESSES} processes, {kills} SIGKILLs, database restarted once \
         (down {:?}); load {:?}, settled in {:?}; {} messages acknowledged and checked ({} SMS, \
         {} Telegram, {} web chat); {} reply rows checked ({} provider deliveries); {case_count} cases \
         ({}), numbers gap-free; {timers_fired} idle-timer messages checked; {} repeated \
         in-flight deliveries (max {} in one chat); {} lost, {} applied twice, {} failed rows, \
         {} conversations left open",
        db_restarted.unwrap_or_default(),
        load_time,
        settling.elapsed(),
        acked.len(),
        acked.iter().filter(|k| k.starts_with("sms:")).count(),
        acked.iter().filter(|k| k.starts_with("telegram:")).count(),
        acked.iter().filter(|k| k.starts_with("web:")).count(),
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
    assert!(web_problems.is_empty(), "web chat: {web_problems:#?}");
    // What the page got is the log as read back, each entry once and in order; it may have
    // got more, written after the read (an idle timer falling due meanwhile).
    let seqs: Vec<u64> = followed.iter().map(|e| e.seq).collect();
    assert!(
        followed.len() >= logs[0].len()
            && followed[..logs[0].len()] == logs[0][..]
            && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "the page with its stream open got each entry once, in order: {} entries \
         ({seqs:?}) against {} read back",
        followed.len(),
        logs[0].len()
    );
    assert!(
        by_channel.iter().any(|c| c.ends_with(" web")),
        "no case was filed from the web chat: {by_channel:?}"
    );
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
