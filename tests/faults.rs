//! Provider faults: `pstbot serve` with Telegram (webhook mode), WhatsApp and SMS, each
//! provider behind a switchable fault proxy (`support/faults.rs`) in front of its fake on
//! 127.0.0.1. Every provider goes through the same faults in turn — down (port closed), slow
//! (longer than the send timeout, 1 s here standing in for 30 s), 429 with Retry-After, 5xx,
//! garbage (non-JSON, wrong JSON), connections dropped mid-answer — while people keep writing.
//! Checked: `/healthz` answers throughout, every inbound webhook is acknowledged, and when the
//! providers return every reply is delivered, each chat's in the order queued (checked in the
//! store: the provider ids of a chat's rows arrived at the fake in row order). Then permanent
//! refusals (Bot API 403, Graph API 400, gateway 400) reach the officers' chat.
//! `tests/email.rs` style mail servers behind the same proxy check SMTP and IMAP.

use crate::support;
use crate::support::faults as fault_proxy;

use fault_proxy::{FaultProxy, Mode};
use hmac::{Hmac, Mac};
use pstbot::channels::telegram::webhook::SECRET_HEADER;
use pstbot::config::Config;
use pstbot::store::prelude::*;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::Duration;
use support::gateway::FakeGateway;
use support::graph_api::{FakeGraph, PHONE_NUMBER_ID};
use support::telegram_api::FakeBotApi;

use support::telegram_api::TOKEN;
const TG_SECRET: &str = "faults-hook-secret";
const SMS_SECRET: &str = "faults-sms-secret";
const APP_SECRET: &str = "faults-app-secret";
const VERIFY_TOKEN: &str = "faults-verify";
const ADMIN: i64 = -1_001_234_567_890;
const TG_PEOPLE: [u64; 2] = [4101, 4102];
const WA_PEOPLE: [&str; 2] = ["6281234500001", "6281234500002"];
const SMS_PEOPLE: [&str; 2] = ["+6281300000011", "+6281300000012"];
const SCRIPT: [&str; 6] = ["halo", "1", "ya", "Budi Santoso", "menu", "2"];

/// The faults every provider goes through, in turn.
fn faults() -> Vec<Mode> {
    vec![
        Mode::Down,
        Mode::Slow(Duration::from_millis(2500)),
        Mode::http(
            429,
            Some(1),
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
        ),
        Mode::http(
            503,
            None,
            "<html><body>503 Service Unavailable</body></html>",
        ),
        Mode::http(500, None, r#"{"error":{"message":"boom","code":2}}"#),
        Mode::http(502, None, "\u{0}\u{1}not json at all"),
        Mode::Drop,
    ]
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn wa_message(from: &str, id: &str, text: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID },
                "contacts": [{ "profile": { "name": "Pengguna" }, "wa_id": from }],
                "messages": [{ "from": from, "id": id, "timestamp": "1763888400", "type": "text", "text": { "body": text } }]
            }}]
        }]
    })
}

struct Providers {
    api: FakeBotApi,
    graph: FakeGraph,
    gw: FakeGateway,
    tg: FaultProxy,
    wa: FaultProxy,
    sms: FaultProxy,
}

impl Providers {
    async fn start() -> Providers {
        let api = FakeBotApi::start().await;
        let graph = FakeGraph::start().await;
        let gw = FakeGateway::start(vec![]).await;
        let tg = FaultProxy::start(api.addr).await;
        let wa = FaultProxy::start(graph.addr).await;
        let sms = FaultProxy::start(gw.addr).await;
        Providers {
            api,
            graph,
            gw,
            tg,
            wa,
            sms,
        }
    }

    async fn set_all(&self, mode: Mode) {
        self.tg.set(mode.clone()).await;
        self.wa.set(mode.clone()).await;
        self.sms.set(mode).await;
    }
}

/// A running `pstbot serve` (in this process) and what is needed to talk to it.
struct Service {
    port: u16,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<pstbot::Result<()>>,
    dir: tempfile::TempDir,
    /// Inbound messages acknowledged (200), by dedupe-key prefix of their replies.
    acked: Vec<String>,
    seq: BTreeMap<String, usize>,
}

fn config(dir: &std::path::Path, port: u16, p: &Providers) -> Config {
    let path = support::config_file(dir, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let text = format!(
        "{text}\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{tg}\"\nadmin_chat_id = {ADMIN}\nmode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"{TG_SECRET}\"\n\n\
         [whatsapp]\nphone_number_id = \"{PHONE_NUMBER_ID}\"\naccess_token = \"{token}\"\napp_secret = \"{APP_SECRET}\"\nverify_token = \"{VERIFY_TOKEN}\"\ngraph_api_url = \"{wa}\"\n\n\
         [sms]\ngateway_url = \"{sms}\"\napi_key = \"k\"\nwebhook_secret = \"{SMS_SECRET}\"\n\n\
         [delivery]\nmax_attempts = 1000\nbackoff_initial = \"100ms\"\nbackoff_max = \"600ms\"\nsend_timeout = \"1s\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.telegram]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.whatsapp]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n\
         [delivery.limits.officers]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n",
        tg = p.tg.url("/"),
        wa = p.wa.url(&format!("/{}", support::graph_api::VERSION)),
        sms = p.sms.url("/send"),
        token = support::graph_api::ACCESS_TOKEN,
    );
    std::fs::write(&path, text).unwrap();
    let cfg = pstbot::app::load_config(&path).unwrap();
    assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
    cfg
}

impl Service {
    async fn start(p: &Providers) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let port = support::free_port();
        let cfg = config(dir.path(), port, p);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(pstbot::app::serve(cfg, async {
            let _ = rx.await;
        }));
        let s = Service {
            port,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            stop: Some(tx),
            task,
            dir,
            acked: Vec::new(),
            seq: BTreeMap::new(),
        };
        assert!(s.healthy().await, "pstbot did not start");
        s
    }

    async fn healthy(&self) -> bool {
        for _ in 0..200 {
            if let Ok(r) = self
                .client
                .get(format!("http://127.0.0.1:{}/healthz", self.port))
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

    fn next(&mut self, who: &str) -> (usize, &'static str) {
        let n = self.seq.entry(who.to_string()).or_default();
        *n += 1;
        (*n, SCRIPT[(*n - 1) % SCRIPT.len()])
    }

    async fn post(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
        let mut b = self
            .client
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .header("content-type", "application/json");
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        b.body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// One message from each person on each channel; each must be acknowledged.
    async fn everyone_writes(&mut self, p: &Providers) {
        for (i, who) in TG_PEOPLE.iter().enumerate() {
            let (n, text) = self.next(&format!("tg{who}"));
            let m = p.api.message(*who as i64, *who, json!({ "text": text }));
            let update = p.api.update_json("message", m);
            let uid = update["update_id"].clone();
            let status = self
                .post(
                    "/webhook/telegram",
                    &[(SECRET_HEADER, TG_SECRET.to_string())],
                    update.to_string().into_bytes(),
                )
                .await;
            assert_eq!(status, 200, "telegram update {i}/{n} not acknowledged");
            self.acked.push(format!("telegram:{uid}#"));
        }
        for who in WA_PEOPLE {
            let (n, text) = self.next(who);
            let id = format!("wamid.FAULTS{who}x{n:06}");
            let body = serde_json::to_vec(&wa_message(who, &id, text)).unwrap();
            let status = self
                .post(
                    "/webhook/whatsapp",
                    &[("x-hub-signature-256", sign(&body))],
                    body,
                )
                .await;
            assert_eq!(status, 200, "whatsapp message {id} not acknowledged");
            self.acked.push(format!("whatsapp:{id}#"));
        }
        for who in SMS_PEOPLE {
            let (n, text) = self.next(who);
            let id = format!("sms-{}-{n}", &who[1..]);
            let body = serde_json::to_vec(&json!({ "id": id, "from": who, "text": text })).unwrap();
            let status = self
                .post("/webhook/sms", &[("x-sms-secret", SMS_SECRET.into())], body)
                .await;
            assert_eq!(status, 200, "sms {id} not acknowledged");
            self.acked.push(format!("sms:{id}#"));
        }
    }

    /// Stops the service and opens its store.
    async fn stop(
        mut self,
    ) -> (
        pstbot::store::sled::SledStore,
        tempfile::TempDir,
        Vec<String>,
    ) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("serve stops")
            .unwrap()
            .unwrap();
        let store = pstbot::store::sled::SledStore::open(&self.dir.path().join("data"), 8).unwrap();
        (store, self.dir, self.acked)
    }
}

/// Waits until no provider has taken anything for `quiet`, at most `limit`.
async fn settle(p: &Providers, quiet: Duration, limit: Duration) -> bool {
    let count = || p.api.sent().len() + p.graph.sent().len() + p.gw.delivered().len();
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = count();
    loop {
        tokio::time::sleep(quiet).await;
        let now = count();
        if now == last {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_down_slow_refusing_or_garbled_then_back_lose_nothing_and_keep_order() {
    let p = Providers::start().await;
    if std::env::var("FAULTS_DEBUG").is_ok() {
        let filter = std::env::var("FAULTS_DEBUG").unwrap_or_default();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
        let r = reqwest::Client::new()
            .post(format!("{}bot{TOKEN}/getMe", p.tg.url("/")))
            .send()
            .await;
        println!("probe: {:?}", r.map(|r| r.status()));
    }
    let mut svc = Service::start(&p).await;
    assert!(
        p.api
            .wait_for(Duration::from_secs(20), |api| !api
                .calls("setWebhook")
                .is_empty())
            .await,
        "setWebhook at start"
    );
    svc.everyone_writes(&p).await;
    let mut tried = Vec::new();
    for mode in faults() {
        tried.push(mode.name());
        p.set_all(mode.clone()).await;
        // People keep writing while the providers misbehave; retries meet the fault.
        for _ in 0..2 {
            svc.everyone_writes(&p).await;
            assert!(
                svc.healthy().await,
                "/healthz failed during {}",
                mode.name()
            );
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    // 200 with garbage: Telegram's and Graph's answers are documented JSON (non-JSON, and JSON
    // without the message, must not count as sent). The generic SMS gateway documents no
    // answer body: any 2xx means it took the message, so it gets a garbled 502 meanwhile.
    for (tg, wa) in [
        (
            "<html>gateway timeout</html>",
            "<html>gateway timeout</html>",
        ),
        (
            r#"{"ok":true,"result":42}"#,
            r#"{"messaging_product":"whatsapp","messages":[]}"#,
        ),
    ] {
        tried.push(format!("200 with {tg} / {wa}"));
        p.tg.set(Mode::garbage(tg)).await;
        p.wa.set(Mode::garbage(wa)).await;
        p.sms.set(Mode::http(502, None, "garbled\u{fffd}")).await;
        for _ in 0..2 {
            svc.everyone_writes(&p).await;
            assert!(svc.healthy().await, "/healthz failed during garbage");
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    p.set_all(Mode::Pass).await;
    assert!(
        settle(&p, Duration::from_secs(3), Duration::from_secs(90)).await,
        "deliveries never settled"
    );
    let (store, _dir, acked) = svc.stop().await;
    let sent = store.sent_records().unwrap();
    assert!(
        store.outbox_pending(None, 10).unwrap().is_empty(),
        "messages left undelivered"
    );
    assert!(store.failed().unwrap().is_empty(), "nothing was given up");
    // Every acknowledged message was answered.
    let missing: Vec<&String> = acked
        .iter()
        .filter(|k| !sent.iter().any(|r| r.key.starts_with(k.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged, never answered: {missing:?}; answered: {:?}",
        sent.iter().map(|r| r.key.as_str()).collect::<Vec<_>>()
    );
    // Per chat, the rows reached the provider in row order: the provider id each row was
    // given arrived later than the previous row's.
    let arrival = |r: &pstbot::store::SentRecord| -> usize {
        let first = r
            .provider_ref
            .as_deref()
            .and_then(|s| s.split(' ').next())
            .unwrap_or("")
            .to_string();
        let pos = match r.to.channel {
            pstbot::message::ChannelKind::Telegram | pstbot::message::ChannelKind::Officers => p
                .api
                .sent()
                .iter()
                .position(|s| s.message_id.to_string() == first),
            pstbot::message::ChannelKind::Whatsapp => {
                p.graph.sent().iter().position(|s| s.wamid == first)
            }
            pstbot::message::ChannelKind::Sms => {
                p.gw.received()
                    .iter()
                    .position(|s| s.status == 200 && s.outbox_id == r.id)
            }
            _ => None,
        };
        pos.unwrap_or_else(|| panic!("row {} ({first}) not found at the provider", r.id))
    };
    let mut chats: BTreeMap<String, Vec<(u64, usize)>> = BTreeMap::new();
    for r in &sent {
        chats
            .entry(format!("{}:{}", r.to.channel.as_str(), r.to.address))
            .or_default()
            .push((r.id, arrival(r)));
    }
    for (chat, rows) in &chats {
        for w in rows.windows(2) {
            assert!(
                w[0].1 < w[1].1,
                "{chat}: row {} arrived after row {}",
                w[0].0,
                w[1].0
            );
        }
    }
    let repeats = p.gw.received().iter().filter(|r| r.status == 200).count()
        - p.gw
            .received()
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.reference.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    println!(
        "provider faults: {} faults ({}) on 3 providers; {} inbound acknowledged, {} replies delivered in order over {} chats; {} SMS parts repeated after a dropped answer",
        tried.len(),
        tried.join(", "),
        acked.len(),
        sent.len(),
        chats.len(),
        repeats
    );
}

/// A permanent refusal (Bot API 403 blocked, Graph API 400, gateway 400) is not retried; the
/// officers' chat is told, and the service goes on with everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusals_are_reported_to_the_officers() {
    let p = Providers::start().await;
    let mut svc = Service::start(&p).await;
    assert!(
        p.api
            .wait_for(Duration::from_secs(20), |api| !api
                .calls("setWebhook")
                .is_empty())
            .await
    );
    svc.everyone_writes(&p).await;
    assert!(settle(&p, Duration::from_secs(2), Duration::from_secs(60)).await);
    let before = p.api.sent_to(ADMIN).len();
    // Each provider refuses the next message for good.
    p.api
        .fail_next("sendMessage", support::telegram_api::Fail::Blocked);
    p.graph.fail_next(vec![support::graph_api::Fail {
        status: 400,
        code: 131026,
    }]);
    p.sms
        .set(Mode::http(400, None, r#"{"error":"invalid destination"}"#))
        .await;
    // One person per channel writes; the Telegram one first, alone, so the scripted 403 hits
    // that reply (not the officers' notice).
    let (_, text) = svc.next(&format!("tg{}", TG_PEOPLE[0]));
    let m = p
        .api
        .message(TG_PEOPLE[0] as i64, TG_PEOPLE[0], json!({ "text": text }));
    let update = p.api.update_json("message", m).to_string().into_bytes();
    assert_eq!(
        svc.post(
            "/webhook/telegram",
            &[(SECRET_HEADER, TG_SECRET.into())],
            update
        )
        .await,
        200
    );
    assert!(
        p.api
            .wait_for(Duration::from_secs(20), |api| api
                .calls("sendMessage")
                .iter()
                .any(|c| c.status == 403))
            .await
    );
    let (n, text) = svc.next(WA_PEOPLE[0]);
    let id = format!("wamid.PERM{n:06}");
    let body = serde_json::to_vec(&wa_message(WA_PEOPLE[0], &id, text)).unwrap();
    assert_eq!(
        svc.post(
            "/webhook/whatsapp",
            &[("x-hub-signature-256", sign(&body))],
            body
        )
        .await,
        200
    );
    let body =
        serde_json::to_vec(&json!({ "id": "perm-sms-1", "from": SMS_PEOPLE[0], "text": "halo" }))
            .unwrap();
    assert_eq!(
        svc.post("/webhook/sms", &[("x-sms-secret", SMS_SECRET.into())], body)
            .await,
        200
    );
    let told = p
        .api
        .wait_for(Duration::from_secs(30), |api| {
            api.sent_to(ADMIN).len() >= before + 3
        })
        .await;
    let notices: Vec<String> = p.api.sent_to(ADMIN)[before..]
        .iter()
        .map(|s| s.text.clone())
        .collect();
    assert!(
        told,
        "officers told of {} of 3 failures: {notices:?}",
        notices.len()
    );
    for (channel, who) in [
        ("telegram", TG_PEOPLE[0].to_string()),
        ("whatsapp", WA_PEOPLE[0].to_string()),
        ("sms", SMS_PEOPLE[0].to_string()),
    ] {
        let masked = pstbot::message::mask_shown(&who);
        assert!(
            notices
                .iter()
                .any(|t| t.contains("gagal terkirim") && t.contains(&format!("{channel}:{masked}"))),
            "no notice for {channel}: {notices:?}"
        );
        assert!(
            notices.iter().all(|t| !t.contains(&who)),
            "a notice shows a full address: {notices:?}"
        );
    }
    // A refusal is not retried.
    assert_eq!(
        p.api
            .calls("sendMessage")
            .iter()
            .filter(|c| c.status == 403)
            .count(),
        1
    );
    p.sms.set(Mode::Pass).await;
    assert!(svc.healthy().await);
    let (store, _dir, _) = svc.stop().await;
    assert_eq!(
        store.failed().unwrap().len(),
        3,
        "the three refused messages are kept as failed"
    );
}

/// SMTP and IMAP (real Dovecot and an aiosmtpd sink, as in `tests/email.rs`) behind the fault
/// proxy: the mailbox unreachable, slow or cut off, the SMTP server down, slow, answering
/// `421` or cutting the greeting — the service stays up, mail waiting in the inbox is handled
/// when IMAP returns, replies go out in order when SMTP returns; a `554` refusal reaches the
/// officers' chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_servers_down_slow_or_refusing() {
    use support::mail::{MailServers, USER};
    let servers = tokio::task::spawn_blocking(MailServers::start)
        .await
        .unwrap();
    let smtp = FaultProxy::start(([127, 0, 0, 1], servers.smtp_port).into()).await;
    let imap = FaultProxy::start(([127, 0, 0, 1], servers.imap_port).into()).await;
    smtp.set(Mode::Down).await;
    imap.set(Mode::Down).await;
    let p = Providers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut cfg_text = {
        config(dir.path(), port, &p);
        std::fs::read_to_string(dir.path().join("config.toml")).unwrap()
    };
    cfg_text.push_str(
        &servers
            .email_section()
            .replace(
                &format!("smtp_port = {}", servers.smtp_port),
                &format!("smtp_port = {}", smtp.addr.port()),
            )
            .replace(
                &format!("imap_port = {}", servers.imap_port),
                &format!("imap_port = {}", imap.addr.port()),
            ),
    );
    std::fs::write(dir.path().join("config.toml"), cfg_text).unwrap();
    let cfg = Config::load(&dir.path().join("config.toml")).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(pstbot::app::serve(cfg, async {
        let _ = rx.await;
    }));
    let svc = Service {
        port,
        client: reqwest::Client::new(),
        stop: Some(tx),
        task,
        dir,
        acked: Vec::new(),
        seq: BTreeMap::new(),
    };
    assert!(
        svc.healthy().await,
        "pstbot did not start with its mail servers down"
    );
    let people = ["rudi@example.org", "sari@example.org"];
    let mail = |from: &str, n: usize, text: &str| {
        format!("From: {from}\nTo: {USER}\nSubject: Halo {n}\nMessage-ID: <{n}-{from}>\n\n{text}\n")
    };
    for (i, who) in people.iter().enumerate() {
        servers.deliver(&mail(who, i, "halo")).await;
    }
    // IMAP down, slow, cut off: the mail waits in the inbox; the service stays up.
    for mode in [
        Mode::Down,
        Mode::Slow(Duration::from_millis(2500)),
        Mode::Drop,
        Mode::Answer(b"* BYE server shutting down\r\n".to_vec()),
    ] {
        imap.set(mode).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(svc.healthy().await);
    }
    assert!(servers.sent().is_empty(), "nothing could be sent yet");
    imap.set(Mode::Pass).await;
    // More mail while SMTP misbehaves; IMAP takes it now.
    for (round, mode) in [
        Mode::Down,
        Mode::Slow(Duration::from_millis(2500)),
        Mode::Answer(b"421 4.3.2 Service not available, closing channel\r\n".to_vec()),
        Mode::Drop,
    ]
    .into_iter()
    .enumerate()
    {
        smtp.set(mode).await;
        for (i, who) in people.iter().enumerate() {
            servers.deliver(&mail(who, 10 + i + 2 * round, "1")).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(svc.healthy().await);
    }
    smtp.set(Mode::Pass).await;
    servers
        .wait_for("every mail answered", async |s| {
            s.sent_to(people[0]).len() >= 5 && s.sent_to(people[1]).len() >= 5
        })
        .await;
    // A permanent refusal: the officers are told.
    let before = p.api.sent_to(ADMIN).len();
    smtp.set(Mode::Answer(b"554 5.3.2 No service here\r\n".to_vec()))
        .await;
    servers.deliver(&mail("tono@example.org", 99, "halo")).await;
    let told = p
        .api
        .wait_for(Duration::from_secs(30), |api| {
            api.sent_to(ADMIN)[before..]
                .iter()
                .any(|s| s.text.contains("gagal terkirim") && s.text.contains("•••@example.org"))
        })
        .await;
    assert!(told, "officers not told: {:?}", p.api.sent_to(ADMIN));
    smtp.set(Mode::Pass).await;
    assert!(settle(&p, Duration::from_secs(2), Duration::from_secs(30)).await);
    let (store, _dir, _) = svc.stop().await;
    assert!(store.outbox_pending(None, 10).unwrap().is_empty());
    assert_eq!(
        store.failed().unwrap().len(),
        1,
        "only the refused reply failed"
    );
    // In order per person: each row's Message-ID reached the sink after the previous row's.
    let sink = servers.sent();
    let mut checked = 0;
    for who in people {
        let rows: Vec<_> = store
            .sent_records()
            .unwrap()
            .into_iter()
            .filter(|r| r.to.address == who)
            .collect();
        assert!(rows.len() >= 5, "{who}: {} replies", rows.len());
        let pos: Vec<usize> = rows
            .iter()
            .map(|r| {
                let id = r.provider_ref.clone().unwrap_or_default();
                sink.iter()
                    .rposition(|m| m.header("Message-ID").contains(id.trim_matches(['<', '>'])))
                    .unwrap_or_else(|| panic!("{who}: row {} not at the sink", r.id))
            })
            .collect();
        assert!(
            pos.windows(2).all(|w| w[0] < w[1]),
            "{who}: out of order {pos:?}"
        );
        checked += rows.len();
    }
    println!(
        "mail faults: IMAP down/slow/cut/BYE, SMTP down/slow/421/cut then 554; {checked} replies delivered in order, 1 refusal reported"
    );
}
