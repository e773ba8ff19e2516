//! Crash test: a child `pstbot serve` is SIGKILLed again and again while SMS webhooks stream
//! in and idle-conversation timers fall due. After the last restart it checks, at the fake SMS
//! gateway: every acknowledged message got its reply; no message was handled twice (a
//! reply's idempotency key never comes from two outbox rows); no timer fired twice; a reply
//! was repeated only as the one in-flight message per chat a kill can cut off; and the store
//! opened every time without repair.
//!
//! `PSTBOT_CRASH_ROUNDS` sets the number of kills (default 12; run 200 by hand). Conversations
//! close after 1 s idle, and phones pause now and then, so timers fall due throughout.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::gateway::{FakeGateway, Received};

const PHONES: [&str; 4] = [
    "+6281200000001",
    "+6281200000002",
    "+6281200000003",
    "+6281200000004",
];
const SCRIPT: [&str; 6] = [
    "halo",
    "1",
    "ya",
    "Budi Santoso",
    "budi@example.com",
    "menu",
];
const SECRET: &str = "crash-secret";

fn write_config(dir: &std::path::Path, port: u16, gateway: &str) -> std::path::PathBuf {
    let path = support::config_file(dir, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("idle_timeout = \"24h\"", "idle_timeout = \"1s\"");
    let text = format!(
        "{text}\n[sms]\ngateway_url = \"{gateway}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\n\
         [reminders]\nquiet_hours = \"00:00-00:00\"\n\n\
         [delivery]\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pstbot starts")
}

/// Waits until `/healthz` answers 200: the store opened (without repair) and serves.
async fn healthy(client: &reqwest::Client, port: u16) -> bool {
    for _ in 0..400 {
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

/// One simulated phone: sends its script in order; a message counts as acknowledged only
/// when the webhook answered 200; an unacknowledged one is sent again (same id), as a gateway
/// would.
async fn phone(
    client: reqwest::Client,
    port: u16,
    idx: usize,
    next: Arc<Mutex<Vec<u64>>>,
    acked: Arc<Mutex<Vec<String>>>,
    running: Arc<AtomicBool>,
) {
    while running.load(Ordering::Relaxed) {
        let seq = next.lock().unwrap()[idx];
        let id = format!("p{idx}-{seq}");
        let text = SCRIPT[seq as usize % SCRIPT.len()];
        let body = serde_json::json!({ "id": id, "from": PHONES[idx], "text": text });
        let r = client
            .post(format!("http://127.0.0.1:{port}/webhook/sms"))
            .header("x-sms-secret", SECRET)
            .json(&body)
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 200 => {
                acked.lock().unwrap().push(id);
                next.lock().unwrap()[idx] += 1;
                // Now and then a phone pauses long enough for its idle timer to fall due.
                let pause = if fastrand::u8(..8) == 0 {
                    fastrand::u64(1000..1400)
                } else {
                    fastrand::u64(5..40)
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Delivered requests grouped by idempotency reference.
fn by_reference(rs: &[Received]) -> BTreeMap<String, Vec<&Received>> {
    let mut m: BTreeMap<String, Vec<&Received>> = BTreeMap::new();
    for r in rs.iter().filter(|r| r.status == 200) {
        m.entry(r.reference.clone()).or_default().push(r);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_and_repeats_nothing() {
    let rounds: usize = std::env::var("PSTBOT_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let gw = FakeGateway::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next = Arc::new(Mutex::new(vec![0u64; PHONES.len()]));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut kills = 0usize;

    for _ in 0..rounds {
        let mut child = spawn(&config);
        assert!(
            healthy(&client, port).await,
            "pstbot did not come back after a kill"
        );
        let running = Arc::new(AtomicBool::new(true));
        let tasks: Vec<_> = (0..PHONES.len())
            .map(|i| {
                tokio::spawn(phone(
                    client.clone(),
                    port,
                    i,
                    next.clone(),
                    acked.clone(),
                    running.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(fastrand::u64(100..700))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        running.store(false, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
    }

    // The last start: everything acknowledged must now be delivered, and every open
    // conversation closed by its idle timer.
    let mut child = spawn(&config);
    assert!(healthy(&client, port).await);
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no message was acknowledged at all");
    let all_replied = |rs: &[Received]| {
        let refs = by_reference(rs);
        acked.iter().all(|id| {
            let prefix = format!("sms:{id}#");
            refs.keys().any(|k| k.starts_with(&prefix))
        })
    };
    let replied = gw.wait_for(Duration::from_secs(60), all_replied).await;
    // Idle conversations close 1 s after their last message: wait until the gateway has been
    // quiet for longer than that, then stop and look into the store.
    let mut quiet = false;
    for _ in 0..60 {
        let before = gw.received().len();
        tokio::time::sleep(Duration::from_millis(3500)).await;
        if gw.received().len() == before {
            quiet = true;
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(quiet, "deliveries never settled");
    let store = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 8)
        .expect("the store opens after SIGKILL without repair");
    use pstbot::store::Store;
    let overdue = store
        .timers_due(chrono::Utc::now() - chrono::Duration::seconds(1), 100)
        .unwrap();
    assert!(
        overdue.is_empty(),
        "timers due but never fired: {overdue:?}"
    );
    let still_open: Vec<&str> = PHONES
        .iter()
        .copied()
        .filter(|p| {
            let who = pstbot::message::Identity::new(pstbot::message::ChannelKind::Sms, *p);
            store
                .session(&who)
                .unwrap()
                .is_some_and(|c| c.active.is_some())
        })
        .collect();
    assert!(
        store.outbox_pending(None, 10).unwrap().is_empty(),
        "messages left undelivered"
    );

    let rs = gw.received();
    let refs = by_reference(&rs);
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| {
            let prefix = format!("sms:{id}#");
            !refs.keys().any(|k| k.starts_with(&prefix))
        })
        .collect();
    // Applied twice = the same idempotency key queued by two different outbox rows.
    let twice: Vec<&String> = refs
        .iter()
        .filter(|(_, v)| v.iter().map(|r| r.outbox_id).collect::<BTreeSet<_>>().len() > 1)
        .map(|(k, _)| k)
        .collect();
    // Repeated deliveries of the same row (counted by its first SMS part), per chat.
    let mut repeats: BTreeMap<String, usize> = BTreeMap::new();
    for v in refs
        .iter()
        .filter(|(k, _)| k.ends_with("/1"))
        .map(|(_, v)| v)
    {
        if v.len() > 1 {
            *repeats.entry(v[0].to.clone()).or_default() += v.len() - 1;
        }
    }
    let timers_fired: usize = refs.keys().filter(|k| k.starts_with("timer:")).count();
    println!(
        "crash campaign: {kills} SIGKILLs, {} acknowledged messages, {} deliveries, \
         {timers_fired} timer messages, {} repeated in-flight deliveries, {} missing, {} applied twice",
        acked.len(),
        rs.len(),
        repeats.values().sum::<usize>(),
        missing.len(),
        twice.len()
    );
    assert!(
        replied,
        "acknowledged messages without a reply: {missing:?}"
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    assert!(
        still_open.is_empty(),
        "conversations not closed by their idle timer: {still_open:?}"
    );
    for (chat, n) in &repeats {
        assert!(
            *n <= kills,
            "{chat}: {n} repeated deliveries for {kills} kills (at most one in flight per chat)"
        );
    }
}

/// Group commit under a kill: many phones write at once (their commits share flushes); the
/// moment the last of them is acknowledged the process is SIGKILLed. Every acknowledged message
/// must be in the store that opens afterwards (its dedupe mark, the conversation) with its reply
/// either delivered or still queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acknowledged_messages_survive_an_immediate_sigkill() {
    const MANY: usize = 48;
    let gw = FakeGateway::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut child = spawn(&config);
    assert!(healthy(&client, port).await);
    let phone = |i: usize| format!("+62813000{i:05}");
    let tasks: Vec<_> = (0..MANY)
        .map(|i| {
            let client = client.clone();
            let from = phone(i);
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for (n, text) in SCRIPT[..3].iter().enumerate() {
                    let id = format!("g{i}-{n}");
                    let body = serde_json::json!({ "id": id, "from": from, "text": text });
                    let r = client
                        .post(format!("http://127.0.0.1:{port}/webhook/sms"))
                        .header("x-sms-secret", SECRET)
                        .json(&body)
                        .send()
                        .await
                        .expect("the bot answers");
                    assert_eq!(r.status(), 200);
                    acked.push((from.clone(), id));
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    child.kill().unwrap(); // SIGKILL, right after the last acknowledgement
    child.wait().unwrap();

    let store = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 8)
        .expect("the store opens after SIGKILL");
    use pstbot::message::{ChannelKind, Identity};
    use pstbot::store::{DedupeKey, Store};
    let pending: Vec<String> = store
        .outbox_pending(None, 10_000)
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    let received = gw.received();
    let delivered = by_reference(&received);
    let lost: Vec<&String> = acked
        .iter()
        .filter(|(from, id)| {
            let who = Identity::new(ChannelKind::Sms, from.as_str());
            !store.is_handled(&DedupeKey::new(&who, id)).unwrap()
                || store.session(&who).unwrap().is_none()
        })
        .map(|(_, id)| id)
        .collect();
    let unreplied: Vec<&String> = acked
        .iter()
        .map(|(_, id)| id)
        .filter(|id| {
            let prefix = format!("sms:{id}#");
            !pending.iter().any(|k| k.starts_with(&prefix))
                && !delivered.keys().any(|k| k.starts_with(&prefix))
        })
        .collect();
    assert_eq!(acked.len(), MANY * 3);
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(
        unreplied.is_empty(),
        "acknowledged, but the reply is neither delivered nor queued: {unreplied:?}"
    );
}
