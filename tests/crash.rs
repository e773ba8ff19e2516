//! Crash campaign: a child `pstbot serve` is SIGKILLed at random moments, again and again,
//! while a mixed stream comes in — signed WhatsApp Cloud API webhooks (fake Graph API), Telegram
//! updates in webhook mode with the secret header (fake Bot API) and SMS webhooks (fake
//! gateway) — and idle-conversation timers fall due. After the last restart it checks, against
//! the fakes' logs, the store and the senders' acknowledged lists: every acknowledged message
//! got its reply; no conversation step was applied twice (a reply key never comes from two
//! outbox rows); a reply was repeated only as the one in-flight message per chat a kill can
//! cut off; every due timer fired; and the store opened every time without repair.
//!
//! `PSTBOT_CRASH_ROUNDS` sets the number of kills (default 12, for CI; the full run is
//! `PSTBOT_CRASH_ROUNDS=200 cargo test --release --test integration crash:: -- --nocapture`). Conversations
//! close after 1 s idle, and senders pause now and then, so timers fall due throughout.

use crate::support;

use hmac::{Hmac, Mac};
use pstbot::store::prelude::*;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::gateway::{FakeGateway, Received};
use support::graph_api::{FakeGraph, PHONE_NUMBER_ID};
use support::telegram_api::{FakeBotApi, TOKEN};

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
const TG_SECRET: &str = "crash-tg-secret";
const APP_SECRET: &str = "crash-app-secret";
const TG_PEOPLE: [u64; 2] = [5101, 5102];
const WA_PEOPLE: [&str; 2] = ["6281234560001", "6281234560002"];

/// The child process, killed however the test ends.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Serving {
    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

fn write_config(
    dir: &std::path::Path,
    port: u16,
    gateway: &str,
    bot_api: &str,
    graph: &str,
) -> std::path::PathBuf {
    let path = support::config_file(dir, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("idle_timeout = \"24h\"", "idle_timeout = \"1s\"");
    let text = format!(
        "{text}\n[sms]\ngateway_url = \"{gateway}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\n\
         [telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{bot_api}\"\nmode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"{TG_SECRET}\"\n\n\
         [whatsapp]\nphone_number_id = \"{PHONE_NUMBER_ID}\"\naccess_token = \"{token}\"\napp_secret = \"{APP_SECRET}\"\nverify_token = \"v\"\ngraph_api_url = \"{graph}\"\n\n\
         [reminders]\nquiet_hours = \"00:00-00:00\"\n\n\
         [delivery]\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.telegram]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.whatsapp]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n",
        token = support::graph_api::ACCESS_TOKEN,
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &std::path::Path) -> Serving {
    let child = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pstbot starts");
    Serving(child)
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

/// Who sends: an SMS phone, a Telegram user (private chat) or a WhatsApp number.
#[derive(Clone, Copy, Debug)]
enum Sender {
    Sms(usize),
    Telegram(u64),
    Whatsapp(&'static str),
}

fn senders() -> Vec<Sender> {
    let mut v: Vec<Sender> = (0..PHONES.len()).map(Sender::Sms).collect();
    v.extend(TG_PEOPLE.iter().map(|u| Sender::Telegram(*u)));
    v.extend(WA_PEOPLE.iter().map(|n| Sender::Whatsapp(n)));
    v
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

static SENT_AT: AtomicU64 = AtomicU64::new(1_763_888_400);

/// The request for message `seq` of `who` (the same on every retry, as a provider resends),
/// and the dedupe key prefix its replies carry.
fn request(
    client: &reqwest::Client,
    port: u16,
    who: Sender,
    seq: u64,
) -> (reqwest::RequestBuilder, String) {
    let text = SCRIPT[seq as usize % SCRIPT.len()];
    let base = format!("http://127.0.0.1:{port}");
    match who {
        Sender::Sms(idx) => {
            let id = format!("p{idx}-{seq}");
            let body = serde_json::json!({ "id": id, "from": PHONES[idx], "text": text });
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
                    "text": text,
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
        Sender::Whatsapp(num) => {
            let id = format!("wamid.CRASH{num}x{seq:08}");
            let body = serde_json::to_vec(&serde_json::json!({
                "object": "whatsapp_business_account",
                "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID },
                    "contacts": [{ "profile": { "name": "Pengguna" }, "wa_id": num }],
                    "messages": [{ "from": num, "id": id, "timestamp": "1763888400", "type": "text", "text": { "body": text } }]
                }}]}]
            }))
            .unwrap();
            (
                client
                    .post(format!("{base}/webhook/whatsapp"))
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sign(&body))
                    .body(body),
                format!("whatsapp:{id}#"),
            )
        }
    }
}

/// One simulated sender: sends its script in order; a message counts as acknowledged only
/// when the webhook answered 200; an unacknowledged one is sent again (same id), as a
/// provider would.
async fn sender(
    client: reqwest::Client,
    port: u16,
    idx: usize,
    who: Sender,
    next: Arc<Mutex<Vec<u64>>>,
    acked: Arc<Mutex<Vec<String>>>,
    running: Arc<AtomicBool>,
) {
    while running.load(Ordering::Relaxed) {
        let seq = next.lock().unwrap()[idx];
        let (req, key) = request(&client, port, who, seq);
        match req.send().await {
            Ok(r) if r.status() == 200 => {
                acked.lock().unwrap().push(key);
                next.lock().unwrap()[idx] += 1;
                // Now and then a sender pauses long enough for its idle timer to fall due.
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
    let api = FakeBotApi::start().await;
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url(), &api.url(), &graph.url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let who = senders();
    let next = Arc::new(Mutex::new(vec![0u64; who.len()]));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut kills = 0usize;

    for _ in 0..rounds {
        let child = spawn(&config);
        assert!(
            healthy(&client, port).await,
            "pstbot did not come back after a kill"
        );
        let running = Arc::new(AtomicBool::new(true));
        let tasks: Vec<_> = who
            .iter()
            .enumerate()
            .map(|(i, w)| {
                tokio::spawn(sender(
                    client.clone(),
                    port,
                    i,
                    *w,
                    next.clone(),
                    acked.clone(),
                    running.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(fastrand::u64(100..700))).await;
        child.kill(); // SIGKILL
        kills += 1;
        running.store(false, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
    }

    // The last start: everything acknowledged must now be delivered, and every open
    // conversation closed by its idle timer. Wait until no provider has taken anything for
    // longer than the idle timeout.
    let child = spawn(&config);
    assert!(healthy(&client, port).await);
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no message was acknowledged at all");
    let count = || gw.received().len() + api.sent().len() + graph.sent().len();
    let mut quiet = false;
    for _ in 0..60 {
        let before = count();
        tokio::time::sleep(Duration::from_millis(3500)).await;
        if count() == before {
            quiet = true;
            break;
        }
    }
    child.kill();
    assert!(quiet, "deliveries never settled");
    let store = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 8)
        .expect("the store opens after SIGKILL without repair");
    let overdue = store
        .timers_due(chrono::Utc::now() - chrono::Duration::seconds(1), 100)
        .unwrap();
    assert!(
        overdue.is_empty(),
        "timers due but never fired: {overdue:?}"
    );
    let identities: Vec<pstbot::message::Identity> = who
        .iter()
        .map(|w| match w {
            Sender::Sms(i) => {
                pstbot::message::Identity::new(pstbot::message::ChannelKind::Sms, PHONES[*i])
            }
            Sender::Telegram(u) => pstbot::message::Identity::new(
                pstbot::message::ChannelKind::Telegram,
                u.to_string(),
            ),
            Sender::Whatsapp(n) => {
                pstbot::message::Identity::new(pstbot::message::ChannelKind::Whatsapp, *n)
            }
        })
        .collect();
    let still_open: Vec<String> = identities
        .iter()
        .filter(|w| {
            store
                .session(w)
                .unwrap()
                .is_some_and(|c| c.active.is_some())
        })
        .map(|w| w.masked())
        .collect();
    assert!(
        store.outbox_pending(None, 10).unwrap().is_empty(),
        "messages left undelivered"
    );
    let failed = store.failed().unwrap();
    let sent = store.sent_records().unwrap();

    // Lost: an acknowledged message without a delivered reply row.
    let missing: Vec<&String> = acked
        .iter()
        .filter(|k| !sent.iter().any(|r| r.key.starts_with(k.as_str())))
        .collect();
    // Applied twice: the same reply key from two rows (in the store, or at the gateway).
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
    // Repeats: deliveries a provider took beyond the rows' own (a row in flight when the
    // process was killed goes again), per chat.
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
    for m in graph.sent() {
        if !provider_refs.contains(m.wamid.as_str()) {
            *repeats.entry(format!("whatsapp:{}", m.to())).or_default() += 1;
        }
    }
    let timers_fired = sent.iter().filter(|r| r.key.starts_with("timer:")).count();
    let replies = gw.delivered().len() + api.sent().len() + graph.sent().len();
    println!(
        "crash campaign: {kills} SIGKILLs; {} messages acknowledged and checked ({} SMS, {} Telegram, {} WhatsApp); \
         {} reply rows checked ({replies} provider deliveries); {timers_fired} idle-timer messages checked; \
         {} repeated in-flight deliveries (max {} in one chat); {} lost, {} applied twice, {} failed rows, {} conversations left open",
        acked.len(),
        acked.iter().filter(|k| k.starts_with("sms:")).count(),
        acked.iter().filter(|k| k.starts_with("telegram:")).count(),
        acked.iter().filter(|k| k.starts_with("whatsapp:")).count(),
        sent.len(),
        repeats.values().sum::<usize>(),
        repeats.values().max().copied().unwrap_or(0),
        missing.len(),
        twice.len(),
        failed.len(),
        still_open.len(),
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    assert!(failed.is_empty(), "given up: {failed:?}");
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
    let api = FakeBotApi::start().await;
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url(), &api.url(), &graph.url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let child = spawn(&config);
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
    child.kill(); // SIGKILL, right after the last acknowledgement

    let store = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 8)
        .expect("the store opens after SIGKILL");
    use pstbot::message::{ChannelKind, Identity};
    use pstbot::store::DedupeKey;
    use pstbot::store::prelude::*;
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
