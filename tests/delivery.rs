//! The outbox against a fake SMS gateway on 127.0.0.1 that fails in scripted ways: retries
//! with backoff, `retry_after` honoured, timeouts, permanent failures reported to the officers,
//! per-chat order, rate limits, and a restart that resends only what was not confirmed. Also
//! the SMS webhook: secret, malformed and oversized bodies, repeated ids.

use crate::support;

use pstbot::cases::Case;
use pstbot::config::{DeliveryConfig, RateLimit};
use pstbot::dialogs::{Bot, Conversation};
use pstbot::message::{ChannelKind, Identity, OutboundMessage};
use pstbot::outbox::{Channels, Outbox};
use pstbot::runtime::{Runtime, RuntimeParts, SystemClock};
use pstbot::store::{Applied, Commit, DedupeKey, Followups, Store, Timer};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::gateway::{FakeGateway, Received, Reply};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn runtime(store: Arc<dyn Store>) -> Arc<Runtime> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(dir.path());
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    Arc::new(
        Runtime::new(RuntimeParts::new(
            bot,
            store,
            Arc::new(SystemClock),
            cfg.officers.clone(),
            pstbot::channels::officers(&cfg),
        ))
        .unwrap(),
    )
}

fn delivery(max_attempts: u32) -> DeliveryConfig {
    DeliveryConfig {
        max_attempts,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        send_timeout: Duration::from_millis(500),
        limits: Default::default(),
    }
}

/// Delivery with SMS limited to `per_chat` a minute per chat and `per_second` overall.
fn limited(per_chat: u32, per_second: u32) -> DeliveryConfig {
    let mut cfg = delivery(3);
    cfg.limits.insert(
        "sms".into(),
        RateLimit {
            per_chat_per_minute: per_chat,
            group_per_minute: per_chat,
            per_second,
        },
    );
    cfg
}

/// Messages queued by a test commit.
struct Fixed(Vec<OutboundMessage>);

impl Followups for Fixed {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        self.0.clone()
    }
    fn case_timers(&self, _: &Case) -> Vec<Timer> {
        Vec::new()
    }
}

static SEQ: AtomicU64 = AtomicU64::new(1);

/// Queues messages the way a handled message does: in one commit.
fn queue(rt: &Runtime, msgs: Vec<OutboundMessage>) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let c = Commit::new(
        DedupeKey(format!("test:{n}")),
        chrono::Utc::now(),
        Identity::new(ChannelKind::Desk, "test"),
        Conversation::default(),
    );
    rt.store.commit_with(c, &Fixed(msgs)).unwrap();
    rt.store.flush().unwrap();
    rt.outbox_wake.notify_one();
}

fn sms(phone: &str, text: &str) -> OutboundMessage {
    OutboundMessage::text(Identity::new(ChannelKind::Sms, phone), text)
}

/// A running delivery worker; stopping it waits until it has finished.
struct Worker {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

/// Waits until the worker has recorded every queued row (sent or failed).
async fn settled(rt: &Runtime) {
    for _ in 0..500 {
        let left = rt.store.outbox_pending(None, 1000).unwrap();
        if left
            .iter()
            .all(|r| r.msg.to.channel == ChannelKind::Officers)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox did not settle");
}

fn start(rt: &Arc<Runtime>, gw: &FakeGateway, cfg: DeliveryConfig) -> Worker {
    let mut ch = Channels::new();
    ch.add(
        ChannelKind::Sms,
        Arc::new(pstbot::channels::sms::SmsChannel::new(
            gw.url(),
            "test-key".into(),
            Some("BPS".into()),
            cfg.send_timeout,
        )),
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(Arc::new(Outbox::new(rt.outbox_feed(), ch, cfg)).run(stop.clone()));
    Worker { stop, task }
}

fn texts_to(rs: &[Received], phone: &str) -> Vec<String> {
    rs.iter()
        .filter(|r| r.to == phone && r.status == 200)
        .map(|r| r.text.clone())
        .collect()
}

fn officers_rows(rt: &Runtime) -> Vec<String> {
    support::officers_pending(rt.store.as_ref())
}

#[tokio::test]
async fn transient_failures_are_retried_and_each_chat_keeps_its_order() {
    let gw = FakeGateway::start(vec![Reply::Status(500), Reply::Status(503)]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(5));
    queue(
        &rt,
        vec![
            sms("+6281111111111", "satu"),
            sms("+6281111111111", "dua"),
            sms("+6281111111111", "tiga"),
        ],
    );
    let ok = gw
        .wait_for(WAIT, |rs| texts_to(rs, "+6281111111111").len() == 3)
        .await;
    assert!(ok, "not delivered: {:?}", gw.received());
    assert_eq!(
        texts_to(&gw.received(), "+6281111111111"),
        ["satu", "dua", "tiga"]
    );
    // Two failed attempts, then three deliveries; every request carried the API key.
    let all = gw.received();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|r| r.authorization == "Bearer test-key"));
    settled(&rt).await;
    assert!(rt.store.outbox_pending(None, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_chat_does_not_hold_up_the_others() {
    let gw = FakeGateway::start(vec![Reply::RetryAfter(2)]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(5));
    queue(&rt, vec![sms("+6281111111111", "pertama")]);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 1).await);
    queue(&rt, vec![sms("+6282222222222", "lain")]);
    assert!(
        gw.wait_for(WAIT, |rs| texts_to(rs, "+6282222222222").len() == 1)
            .await
    );
    // The other chat got its message while the first still waits out its Retry-After.
    assert!(texts_to(&gw.received(), "+6281111111111").is_empty());
    assert!(
        gw.wait_for(WAIT, |rs| texts_to(rs, "+6281111111111").len() == 1)
            .await
    );
}

#[tokio::test]
async fn retry_after_is_waited_out_before_the_next_attempt() {
    let gw = FakeGateway::start(vec![Reply::RetryAfter(1)]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(5));
    queue(&rt, vec![sms("+6281111111111", "halo")]);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 2).await);
    let rs = gw.received();
    assert_eq!(rs[0].status, 429);
    assert_eq!(rs[1].status, 200);
    // The backoff alone would retry after ~50 ms; the provider asked for a second.
    assert!(
        rs[1].at.duration_since(rs[0].at) >= Duration::from_millis(950),
        "retried after {:?}",
        rs[1].at.duration_since(rs[0].at)
    );
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_tried_again() {
    let gw = FakeGateway::start(vec![Reply::Slow(Duration::from_secs(3))]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(5));
    queue(&rt, vec![sms("+6281111111111", "halo")]);
    assert!(
        gw.wait_for(WAIT, |rs| texts_to(rs, "+6281111111111").len() == 1)
            .await
    );
    assert_eq!(gw.received().len(), 2);
    settled(&rt).await;
    assert!(rt.store.outbox_pending(None, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_is_not_retried_and_the_officers_are_told() {
    let gw = FakeGateway::start(vec![Reply::Status(400)]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(5));
    queue(
        &rt,
        vec![
            sms("+6281111111111", "nomor tidak aktif"),
            sms("+6281111111111", "berikutnya"),
        ],
    );
    assert!(
        gw.wait_for(WAIT, |rs| texts_to(rs, "+6281111111111").len() == 1)
            .await
    );
    let rs = gw.received();
    assert_eq!(rs.len(), 2, "the refused message is not tried again");
    assert_eq!(texts_to(&rs, "+6281111111111"), ["berikutnya"]);
    let failed = rt.store.failed().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].row.msg.text, "nomor tidak aktif");
    let told = officers_rows(&rt);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("gagal terkirim"), "{}", told[0]);
    assert!(
        told[0].contains("sms:•••111"),
        "masked recipient: {}",
        told[0]
    );
    assert!(!told[0].contains("+6281111111111"));
}

#[tokio::test]
async fn after_the_last_attempt_the_message_is_given_up_and_reported() {
    let gw = FakeGateway::start(vec![Reply::Status(500); 3]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(3));
    queue(&rt, vec![sms("+6281111111111", "halo")]);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 3).await);
    settled(&rt).await;
    assert_eq!(rt.store.failed().unwrap().len(), 1);
    assert!(officers_rows(&rt)[0].contains("gagal terkirim"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(gw.received().len(), 3, "no fourth attempt");
}

#[tokio::test]
async fn messages_to_one_chat_respect_its_rate_limit() {
    let gw = FakeGateway::start(vec![]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, limited(600, 1000));
    let msgs = (1..=8)
        .map(|i| sms("+6281111111111", &format!("m{i}")))
        .collect();
    queue(&rt, msgs);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 8).await);
    let rs = gw.received();
    // A burst of three, then one every 100 ms: the last five take at least ~0.5 s.
    let span = rs[7].at.duration_since(rs[2].at);
    assert!(span >= Duration::from_millis(400), "span {span:?}");
    let order: Vec<String> = rs.iter().map(|r| r.text.clone()).collect();
    assert_eq!(order, (1..=8).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_channel_keeps_its_overall_rate_across_chats() {
    let gw = FakeGateway::start(vec![]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, limited(600, 5));
    let msgs = (0..10)
        .map(|i| sms(&format!("+62812000000{i:02}"), "halo"))
        .collect();
    queue(&rt, msgs);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 10).await);
    let rs = gw.received();
    // Five at once, then five per second: the last five need about a second.
    let span = rs[9].at.duration_since(rs[4].at);
    assert!(span >= Duration::from_millis(800), "span {span:?}");
}

#[tokio::test]
async fn a_restart_resends_what_was_not_confirmed_and_nothing_that_was() {
    let dir = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(vec![]).await;
    {
        let store = Arc::new(pstbot::store::sled::SledStore::open(dir.path(), 8).unwrap());
        let rt = runtime(store);
        let worker = start(&rt, &gw, delivery(3));
        queue(&rt, vec![sms("+6281111111111", "terkirim")]);
        assert!(gw.wait_for(WAIT, |rs| rs.len() == 1).await);
        // Let the worker record the delivery, then stop it and queue one more.
        settled(&rt).await;
        worker.stop().await;
        queue(&rt, vec![sms("+6281111111111", "belum terkirim")]);
        rt.store.flush().unwrap();
    }
    let store = Arc::new(pstbot::store::sled::SledStore::open(dir.path(), 8).unwrap());
    let rt = runtime(store);
    let _stop = start(&rt, &gw, delivery(3));
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 2).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        texts_to(&gw.received(), "+6281111111111"),
        ["terkirim", "belum terkirim"]
    );
}

#[tokio::test]
async fn long_sms_replies_are_split_with_part_markers() {
    let gw = FakeGateway::start(vec![]).await;
    let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
    let _stop = start(&rt, &gw, delivery(3));
    let long =
        "Persyaratan rekomendasi kegiatan statistik: surat pengantar, kuesioner, dan jadwal. "
            .repeat(4);
    queue(&rt, vec![sms("+6281111111111", &long)]);
    assert!(gw.wait_for(WAIT, |rs| rs.len() == 3).await);
    let rs = gw.received();
    assert!(rs[0].text.starts_with("(1/3) "), "{}", rs[0].text);
    assert!(rs[2].text.starts_with("(3/3) "));
    assert!(rs.iter().all(|r| r.text.chars().count() <= 153));
    assert!(rs[0].reference.ends_with("#0/1"), "{}", rs[0].reference);
}

mod webhook {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn app(rt: Arc<Runtime>) -> axum::Router {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = support::config(dir.path());
        cfg.channels.set(pstbot::channels::sms::SmsConfig {
            gateway_url: Some("http://127.0.0.1:9/send".into()),
            api_key: None,
            sender: None,
            webhook_secret: Some(pstbot::config::Secret("s3cret".into())),
        });
        pstbot::http::router(rt, &cfg).unwrap()
    }

    async fn post(
        app: &axum::Router,
        secret: Option<&str>,
        ctype: &str,
        body: String,
    ) -> StatusCode {
        let mut req = Request::post("/webhook/sms").header("content-type", ctype);
        if let Some(s) = secret {
            req = req.header("x-sms-secret", s);
        }
        app.clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap()
            .status()
    }

    fn json(id: &str, text: &str) -> String {
        serde_json::json!({ "id": id, "from": "0812-1111-2222", "text": text }).to_string()
    }

    fn queued(rt: &Runtime) -> usize {
        rt.store.outbox_pending(None, 1000).unwrap().len()
    }

    #[tokio::test]
    async fn a_wrong_or_missing_secret_is_refused_and_nothing_is_stored() {
        let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
        let app = app(rt.clone());
        let j = "application/json";
        assert_eq!(
            post(&app, None, j, json("1", "halo")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&app, Some("nope"), j, json("1", "halo")).await,
            StatusCode::UNAUTHORIZED
        );
        let who = Identity::new(ChannelKind::Sms, "+6281211112222");
        assert!(rt.store.session(&who).unwrap().is_none());
        assert_eq!(queued(&rt), 0);
    }

    #[tokio::test]
    async fn malformed_and_oversized_bodies_are_refused() {
        let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
        let app = app(rt.clone());
        let j = "application/json";
        assert_eq!(
            post(&app, Some("s3cret"), j, "{not json".into()).await,
            StatusCode::BAD_REQUEST
        );
        let bad_phone = serde_json::json!({ "id": "2", "from": "hello", "text": "x" }).to_string();
        assert_eq!(
            post(&app, Some("s3cret"), j, bad_phone).await,
            StatusCode::BAD_REQUEST
        );
        let huge = json("3", &"a".repeat(400 * 1024));
        assert_eq!(
            post(&app, Some("s3cret"), j, huge).await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let long = json("4", &"a".repeat(2000));
        assert_eq!(
            post(&app, Some("s3cret"), j, long).await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(queued(&rt), 0);
    }

    #[tokio::test]
    async fn an_sms_is_answered_once_even_when_the_gateway_repeats_it() {
        let rt = runtime(Arc::new(pstbot::store::memory::MemoryStore::new()));
        let app = app(rt.clone());
        let j = "application/json";
        for _ in 0..3 {
            assert_eq!(
                post(&app, Some("s3cret"), j, json("77", "halo")).await,
                StatusCode::OK
            );
        }
        let rows = rt.store.outbox_pending(None, 1000).unwrap();
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|r| r.key.starts_with("sms:77#")),
            "{rows:?}"
        );
        let to = &rows[0].msg.to;
        assert_eq!(to, &Identity::new(ChannelKind::Sms, "+6281211112222"));
        // Form-encoded posts work too.
        let form = "id=78&from=%2B6281211112222&text=menu".to_string();
        let ctype = "application/x-www-form-urlencoded";
        assert_eq!(
            post(&app, Some("s3cret"), ctype, form).await,
            StatusCode::OK
        );
        assert!(queued(&rt) > rows.len());
    }
}
