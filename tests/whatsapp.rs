//! The WhatsApp channel against a fake Cloud API on 127.0.0.1 (tests/support/graph_api.rs):
//! webhook bodies shaped as Meta documents them, signed with a test app secret and posted to
//! `pstbot serve`'s router; the outbox sending through the Graph API; the 24-hour window on
//! a fixed clock moved by hand.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hmac::{Hmac, Mac};
use pstbot::channels::whatsapp::{WhatsappConfig, WhatsappTemplate};
use pstbot::config::{Config, DeliveryConfig, Secret};
use pstbot::dialogs::Bot;
use pstbot::message::{ChannelKind, Identity, OutboundMessage, Topic};
use pstbot::outbox::Outbox;
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::sled::SledStore;
use pstbot::store::{DedupeKey, DeliveryStatus, Store};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::graph_api::{ACCESS_TOKEN, Fail, FakeGraph, PHONE_NUMBER_ID, SentMessage};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const APP_SECRET: &str = "test-app-secret-5f2c";
const VERIFY_TOKEN: &str = "verify-me-8d1e";
const BUDI: &str = "6281234567890";
/// Rina, petugas in the example config, works from WhatsApp in these tests.
const RINA: &str = "6281111111111";

fn delivery() -> DeliveryConfig {
    support::quick_delivery(&["whatsapp", "officers"])
}

struct Options {
    officers_on_whatsapp: bool,
    templates: bool,
    max_body: Option<usize>,
}

impl Options {
    /// The officers' chat is not on WhatsApp: their rows wait, and can be read in the outbox.
    fn officers_elsewhere() -> Self {
        Options {
            officers_on_whatsapp: false,
            ..Options::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            officers_on_whatsapp: true,
            templates: true,
            max_body: None,
        }
    }
}

fn config(dir: &std::path::Path, graph: &FakeGraph, o: &Options) -> Config {
    let mut cfg = support::config(dir);
    for off in &mut cfg.officers {
        if off.id == "rina" {
            off.whatsapp = Some(format!("+{RINA}"));
        }
    }
    let mut templates = std::collections::BTreeMap::new();
    if o.templates {
        templates.insert(
            "officer_reply".to_string(),
            WhatsappTemplate {
                name: "pst_balasan_petugas".into(),
                language: "id".into(),
                params: Some(vec![1, 2]),
            },
        );
        templates.insert(
            "reminder_rating".to_string(),
            WhatsappTemplate {
                name: "pst_minta_penilaian".into(),
                language: "id".into(),
                params: None,
            },
        );
    }
    cfg.channels.set(WhatsappConfig {
        phone_number_id: Some(PHONE_NUMBER_ID.into()),
        access_token: Some(Secret(ACCESS_TOKEN.into())),
        app_secret: Some(Secret(APP_SECRET.into())),
        verify_token: Some(Secret(VERIFY_TOKEN.into())),
        graph_api_url: Some(graph.url()),
        officer_numbers: if o.officers_on_whatsapp {
            vec![format!("+{RINA}")]
        } else {
            Vec::new()
        },
        max_body_bytes: o.max_body,
        templates,
    });
    cfg.delivery = delivery();
    cfg
}

/// pstbot's WhatsApp side: the runtime on sled at a fixed clock, the HTTP router, the outbox.
struct Service {
    rt: Arc<Runtime>,
    clock: Arc<FixedClock>,
    app: axum::Router,
    graph: FakeGraph,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

static IDS: AtomicU64 = AtomicU64::new(1);

fn wamid() -> String {
    format!(
        "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYIEIN{:012}",
        IDS.fetch_add(1, Ordering::Relaxed)
    )
}

fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook body as Meta posts it, for one change value.
fn webhook(value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{ "value": value, "field": "messages" }]
        }]
    })
}

fn metadata() -> Value {
    json!({ "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID })
}

/// One inbound message from `from` (the `type`-specific part in `content`).
fn message_body(from: &str, id: &str, kind: &str, content: Value, context: Option<&str>) -> Value {
    let mut m = json!({
        "from": from,
        "id": id,
        "timestamp": "1763888400",
        "type": kind,
    });
    m[kind] = content;
    if let Some(c) = context {
        m["context"] = json!({ "from": "15550783881", "id": c });
    }
    webhook(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "contacts": [{ "profile": { "name": "Pengguna" }, "wa_id": from }],
        "messages": [m]
    }))
}

fn status_body(wamid: &str, status: &str, to: &str, error: Option<i64>) -> Value {
    let mut s = json!({
        "id": wamid,
        "status": status,
        "timestamp": "1763888460",
        "recipient_id": to,
        "conversation": { "id": "CONVERSATION_ID", "origin": { "type": "service" } },
        "pricing": { "billable": true, "pricing_model": "PMP", "category": "service" }
    });
    if let Some(code) = error {
        s["errors"] = json!([{
            "code": code,
            "title": "scripted",
            "message": "scripted",
            "error_data": { "details": "scripted" }
        }]);
    }
    webhook(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "statuses": [s]
    }))
}

impl Service {
    async fn start(o: Options) -> Service {
        let graph = FakeGraph::start().await;
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &graph, &o);
        let clock = Arc::new(FixedClock::new(support::monday_morning()));
        let bot = Arc::new(Bot::load(&cfg).unwrap());
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16).unwrap());
        let rt = Arc::new(
            Runtime::new(RuntimeParts::new(
                bot,
                store,
                clock.clone(),
                cfg.officers.clone(),
                pstbot::channels::officers(&cfg),
            ))
            .unwrap(),
        );
        let app = pstbot::http::router(rt.clone(), &cfg).unwrap();
        let chans = pstbot::app::channels(&cfg, &rt, CancellationToken::new())
            .unwrap()
            .senders;
        let stop = CancellationToken::new();
        let task = tokio::spawn(
            Arc::new(Outbox::new(rt.outbox_feed(), chans, delivery())).run(stop.clone()),
        );
        Service {
            rt,
            clock,
            app,
            graph,
            stop,
            task,
            _dir: dir,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }

    async fn post_raw(&self, body: Vec<u8>, signature: Option<String>) -> StatusCode {
        let mut req = Request::post("/webhook/whatsapp").header("content-type", "application/json");
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        self.app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap()
            .status()
    }

    /// Posts a body signed with the app secret, as Meta does.
    async fn post(&self, body: &Value) -> StatusCode {
        let bytes = serde_json::to_vec(body).unwrap();
        let sig = sign(&bytes, APP_SECRET);
        self.post_raw(bytes, Some(sig)).await
    }

    async fn get(&self, query: &str) -> (StatusCode, String) {
        let resp = self
            .app
            .clone()
            .oneshot(
                Request::get(format!("/webhook/whatsapp?{query}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = resp.status();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Waits until no row to a WhatsApp number is waiting (officers' rows may wait for a
    /// channel that is not running).
    async fn settled(&self) {
        for _ in 0..2000 {
            let pending = self.rt.store.outbox_pending(None, 1000).unwrap();
            if pending
                .iter()
                .all(|r| r.msg.to.channel != ChannelKind::Whatsapp)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("WhatsApp rows stay queued");
    }

    fn sent_to(&self, wa_id: &str) -> Vec<SentMessage> {
        self.graph
            .sent()
            .into_iter()
            .filter(|m| m.to() == wa_id)
            .collect()
    }
}

/// A person on WhatsApp.
struct Phone<'a> {
    svc: &'a Service,
    wa_id: &'a str,
}

impl Phone<'_> {
    fn seen(&self) -> usize {
        self.svc.graph.sent().len()
    }

    /// Posts one message and waits for an answer containing `expect`; returns the last
    /// message of the answer (the one carrying its buttons or list).
    async fn send(
        &self,
        kind: &str,
        content: Value,
        context: Option<&str>,
        expect: &str,
    ) -> SentMessage {
        let n = self.seen();
        let body = message_body(self.wa_id, &wamid(), kind, content, context);
        assert_eq!(self.svc.post(&body).await, StatusCode::OK);
        let wa = self.wa_id.to_string();
        self.svc
            .graph
            .wait_for(n, &format!("to {wa} containing {expect:?}"), |m| {
                m.to() == wa && m.text().contains(expect)
            })
            .await;
        self.svc.settled().await;
        self.svc.sent_to(self.wa_id).pop().unwrap()
    }

    async fn say(&self, text: &str, expect: &str) -> SentMessage {
        self.send("text", json!({ "body": text }), None, expect)
            .await
    }

    /// Presses the reply button, or picks the list row, whose title contains `title`.
    async fn press(&self, on: &SentMessage, title: &str, expect: &str) -> SentMessage {
        let ids = on.choice_ids();
        let titles = on.choice_titles();
        let i = titles
            .iter()
            .position(|t| t.contains(title))
            .unwrap_or_else(|| panic!("no choice {title:?} in {titles:?} under {:?}", on.text()));
        let kind = on.body["interactive"]["type"].as_str().unwrap().to_string();
        let content = if kind == "button" {
            json!({ "type": "button_reply", "button_reply": { "id": ids[i], "title": titles[i] } })
        } else {
            json!({ "type": "list_reply", "list_reply": { "id": ids[i], "title": titles[i], "description": "" } })
        };
        self.send("interactive", content, None, expect).await
    }
}

fn interactive_kind(m: &SentMessage) -> &str {
    m.body["interactive"]["type"].as_str().unwrap_or("")
}

#[tokio::test]
async fn verification_handshake_answers_the_challenge_only_for_the_right_token() {
    let svc = Service::start(Options::default()).await;
    let (status, body) = svc
        .get(&format!(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "1158201444");
    let (status, body) = svc
        .get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("1158201444"));
    let (status, _) = svc
        .get(&format!(
            "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY_TOKEN}"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    svc.stop().await;
}

#[tokio::test]
async fn forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored() {
    let svc = Service::start(Options {
        max_body: Some(8 * 1024),
        ..Options::default()
    })
    .await;
    let id = wamid();
    let body = serde_json::to_vec(&message_body(
        BUDI,
        &id,
        "text",
        json!({ "body": "halo" }),
        None,
    ))
    .unwrap();
    // Unsigned, signed with another secret, and a signed body altered on the way.
    assert_eq!(
        svc.post_raw(body.clone(), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        svc.post_raw(body.clone(), Some(sign(&body, "not-the-secret")))
            .await,
        StatusCode::UNAUTHORIZED
    );
    let mut altered = body.clone();
    let at = altered.len() - 10;
    altered[at] = b' ';
    assert_eq!(
        svc.post_raw(altered, Some(sign(&body, APP_SECRET))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        svc.post_raw(body.clone(), Some("sha256=".into())).await,
        StatusCode::UNAUTHORIZED
    );
    // Signed but not a Cloud API payload.
    let junk = b"{\"object\": \"whatsapp_business_account\", \"entry\": 7}".to_vec();
    let sig = sign(&junk, APP_SECRET);
    assert_eq!(svc.post_raw(junk, Some(sig)).await, StatusCode::BAD_REQUEST);
    let junk = b"{not json".to_vec();
    let sig = sign(&junk, APP_SECRET);
    assert_eq!(svc.post_raw(junk, Some(sig)).await, StatusCode::BAD_REQUEST);
    // Larger than `max_body_bytes`, even when signed.
    let big = serde_json::to_vec(&message_body(
        BUDI,
        &wamid(),
        "text",
        json!({ "body": "a".repeat(9 * 1024) }),
        None,
    ))
    .unwrap();
    let sig = sign(&big, APP_SECRET);
    assert_eq!(
        svc.post_raw(big, Some(sig)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let budi = Identity::new(ChannelKind::Whatsapp, format!("+{BUDI}"));
    assert!(
        !svc.rt
            .store
            .is_handled(&DedupeKey::new(&budi, &id))
            .unwrap()
    );
    assert!(svc.rt.store.session(&budi).unwrap().is_none());
    assert!(svc.rt.store.outbox_pending(None, 10).unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(svc.graph.sent().is_empty());
    // The genuine post is taken.
    let sig = sign(&body, APP_SECRET);
    assert_eq!(svc.post_raw(body, Some(sig)).await, StatusCode::OK);
    assert!(
        svc.rt
            .store
            .is_handled(&DedupeKey::new(&budi, &id))
            .unwrap()
    );
    svc.stop().await;
}

#[tokio::test]
async fn the_same_wamid_delivered_three_times_is_handled_once() {
    let svc = Service::start(Options::default()).await;
    let id = wamid();
    let body = message_body(BUDI, &id, "text", json!({ "body": "halo" }), None);
    for _ in 0..3 {
        assert_eq!(svc.post(&body).await, StatusCode::OK);
    }
    svc.graph
        .wait_for(0, "a greeting", |m| m.text().contains("Selamat datang"))
        .await;
    svc.settled().await;
    let greetings = svc
        .sent_to(BUDI)
        .iter()
        .filter(|m| m.text().contains("Selamat datang"))
        .count();
    assert_eq!(
        greetings,
        1,
        "{:#?}",
        svc.sent_to(BUDI)
            .iter()
            .map(|m| m.text())
            .collect::<Vec<_>>()
    );
    // The greeting's menu is a list (more than three services), its ids are the choices' values.
    let menu = svc.sent_to(BUDI).pop().unwrap();
    assert_eq!(interactive_kind(&menu), "list");
    assert!(menu.choice_titles().iter().all(|t| t.chars().count() <= 24));
    // The route's own limit (1 MiB by default) applies, not the other webhooks' 256 KiB: a
    // 300 KiB post is taken (and its over-long text politely refused by the dialog).
    let long = message_body(
        BUDI,
        &wamid(),
        "text",
        json!({ "body": "a".repeat(300 * 1024) }),
        None,
    );
    assert_eq!(svc.post(&long).await, StatusCode::OK);
    svc.stop().await;
}

/// Budi walks the guest book and orders a paid product by buttons, lists and text; Rina,
/// an officer on WhatsApp, receives the new case and answers by quoting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_book_and_paid_product_through_buttons_and_lists() {
    let svc = Service::start(Options::default()).await;
    // Rina writes first (officers get posts only inside their 24-hour window).
    let rina = Phone {
        svc: &svc,
        wa_id: RINA,
    };
    rina.say("antrian", "").await;

    let budi = Phone {
        svc: &svc,
        wa_id: BUDI,
    };
    let menu = budi.say("halo", "Selamat datang").await;
    assert_eq!(interactive_kind(&menu), "list");
    let consent = budi
        .press(&menu, "Produk", "Pelindungan Data Pribadi")
        .await;
    assert_eq!(interactive_kind(&consent), "button");
    assert!(
        consent.body["interactive"]["body"]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 1024
    );
    budi.press(&consent, "Ya", "nama lengkap").await;
    budi.say("Ani Lestari", "e-mail").await;
    // The phone number is known from WhatsApp: Budi only confirms it.
    budi.say("ani.lestari@example.ac.id", "+6281234567890")
        .await;
    let gender = budi.say("ya", "Jenis kelamin").await;
    let age = budi.press(&gender, "Perempuan", "Kelompok umur").await;
    assert_eq!(interactive_kind(&age), "list");
    let edu = budi.press(&age, "20", "Pendidikan").await;
    let job = budi.press(&edu, "S2", "Pekerjaan").await;
    budi.press(&job, "Pelajar", "instansi").await;
    let cat = budi.say("Universitas Bengkulu", "Kategori instansi").await;
    let purpose = budi.press(&cat, "Lembaga penelitian", "tujuan").await;
    let summary = budi.press(&purpose, "Penelitian", "Mohon periksa").await;
    let cart = budi.press(&summary, "Kirim", "Pilih produk").await;
    // The catalog's nine products are a list; names longer than a row title are cut, and
    // whole in the row's description.
    let products = &svc.rt.bot.catalog.products;
    assert_eq!(products.len(), 9);
    assert_eq!(interactive_kind(&cart), "list");
    let titles = cart.choice_titles();
    assert_eq!(titles.len(), 9);
    let rows = cart.body["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .clone();
    for (row, p) in rows.iter().zip(products) {
        let title = row["title"].as_str().unwrap();
        assert!(title.chars().count() <= 24, "{title}");
        if title.ends_with('…') {
            assert!(row["description"].as_str().unwrap().chars().count() <= 72);
        }
        let _ = p;
    }
    budi.press(&cart, &titles[0], "Berapa jumlahnya").await;
    // With a product in the cart, "done" joins the list: ten rows.
    let more = budi.say("2", "Ditambahkan").await;
    assert_eq!(interactive_kind(&more), "list");
    assert_eq!(more.choice_titles().len(), 10);
    budi.press(&more, "Selesai memilih", "Data apa").await;
    budi.say("Susenas Maret 2024 modul konsumsi", "periode")
        .await;
    budi.say("2024", "wilayah").await;
    let format = budi.say("Provinsi Bengkulu", "format").await;
    budi.press(&format, "Excel/CSV", "akan digunakan").await;
    budi.say("Bahan tesis tentang kemiskinan daerah", "lewati")
        .await;
    let review = budi.say("lewati", "Mohon periksa").await;
    let done = budi.press(&review, "Kirim", "PRD-2026-").await;
    let case = support::case_number(&done.text())
        .or_else(|| {
            svc.sent_to(BUDI)
                .iter()
                .rev()
                .find_map(|m| support::case_number(&m.text()))
        })
        .expect("a case number");

    // Rina gets the new case on WhatsApp, and answers Budi by quoting it.
    let post = svc
        .graph
        .wait_for(0, "the new case post", |m| {
            m.to() == RINA && m.text().contains(&format!("Kasus baru / new case {case}"))
        })
        .await;
    let n = svc.sent_to(BUDI).len();
    rina.send(
        "text",
        json!({ "body": "Baik Bu Ani, kode billing kami kirim hari ini." }),
        Some(&post.wamid),
        "",
    )
    .await;
    let answer = svc
        .graph
        .wait_for(0, "Rina's answer to Budi", |m| {
            m.to() == BUDI && m.text().contains("kode billing kami kirim hari ini")
        })
        .await;
    assert!(answer.text().contains(&case), "{}", answer.text());
    assert!(svc.sent_to(BUDI).len() > n);

    // Rina's number receives the officers' chat: what she does there reaches her once, as the
    // post, not also as an answer (issue 20, item 4; as in the Telegram group).
    let before = svc.sent_to(RINA).len();
    rina.say(&format!("ambil {case}"), &case).await;
    rina.say(&format!("pindah {case} jelaskan"), &case).await;
    svc.settled().await;
    let to_rina: Vec<String> = svc
        .sent_to(RINA)
        .iter()
        .skip(before)
        .map(|m| m.text())
        .collect();
    let about = |fragment: &str| to_rina.iter().filter(|t| t.contains(fragment)).count();
    assert_eq!(
        about("diambil oleh") + about("ditangani"),
        1,
        "ambil reached her once: {to_rina:#?}"
    );
    assert_eq!(to_rina.len(), 2, "one message per command: {to_rina:#?}");
    assert_eq!(svc.graph.state.unauthorized.load(Ordering::Relaxed), 0);
    svc.stop().await;
}

/// Budi files a complaint with a document as evidence: the file is downloaded (media id ⇒ URL
/// ⇒ bytes, with the token) and kept with the case; a location gets a polite answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_from_the_applicant_is_attached_to_the_case() {
    let svc = Service::start(Options::default()).await;
    let case = complaint(&svc, true).await;
    assert_eq!(
        support::case_file(svc.rt.store.as_ref(), &case, "bukti-layar.pdf"),
        std::fs::read(support::repo().join("tests/fixtures/kuesioner.pdf")).unwrap()
    );
    assert_eq!(svc.graph.state.media_fetches.load(Ordering::Relaxed), 1);

    // A location is not needed: a polite answer through the outbox, once.
    let budi = Phone {
        svc: &svc,
        wa_id: BUDI,
    };
    let id = wamid();
    let loc = message_body(
        BUDI,
        &id,
        "location",
        json!({ "latitude": -3.7928, "longitude": 102.2608, "name": "BPS Provinsi Bengkulu" }),
        None,
    );
    let n = budi.seen();
    assert_eq!(svc.post(&loc).await, StatusCode::OK);
    assert_eq!(svc.post(&loc).await, StatusCode::OK);
    svc.graph
        .wait_for(n, "the location answer", |m| {
            m.text().contains("Lokasi tidak diperlukan")
        })
        .await;
    svc.settled().await;
    let answers = svc
        .sent_to(BUDI)
        .iter()
        .filter(|m| m.text().contains("Lokasi tidak diperlukan"))
        .count();
    assert_eq!(answers, 1);
    svc.stop().await;
}

/// Budi files a complaint by WhatsApp (evidence as a document when `evidence`). Returns its number.
async fn complaint(svc: &Service, evidence: bool) -> String {
    let budi = Phone { svc, wa_id: BUDI };
    let menu = budi.say("halo", "Selamat datang").await;
    let consent = budi
        .press(&menu, "Pengaduan", "Pelindungan Data Pribadi")
        .await;
    budi.press(&consent, "Ya", "nama lengkap").await;
    budi.say("Budi Santoso", "e-mail").await;
    budi.say("budi@example.go.id", "+6281234567890").await;
    let gender = budi.say("ya", "Jenis kelamin").await;
    let age = budi.press(&gender, "Laki-laki", "Kelompok umur").await;
    let edu = budi.press(&age, "30", "Pendidikan").await;
    let job = budi.press(&edu, "D4/S1", "Pekerjaan").await;
    budi.press(&job, "swasta", "instansi").await;
    let cat = budi.say("CV Data Statistik", "Kategori instansi").await;
    let purpose = budi.press(&cat, "Swasta", "tujuan").await;
    let summary = budi.press(&purpose, "Penelitian", "Mohon periksa").await;
    let topic = budi.press(&summary, "Kirim", "tentang apa").await;
    budi.press(&topic, "Data/publikasi", "Ceritakan").await;
    budi.say("Tabel kemiskinan kabupaten tidak bisa diunduh.", "Kapan")
        .await;
    budi.say("20/11/2026", "bukti").await;
    let confidential = if evidence {
        svc.graph.add_media(
            "1003383421387256",
            "application/pdf",
            std::fs::read(support::repo().join("tests/fixtures/kuesioner.pdf")).unwrap(),
        );
        budi.send(
            "document",
            json!({
                "caption": "tangkapan layar",
                "filename": "bukti-layar.pdf",
                "mime_type": "application/pdf",
                "sha256": "ignored",
                "id": "1003383421387256"
            }),
            None,
            "dirahasiakan",
        )
        .await
    } else {
        budi.say("lewati", "dirahasiakan").await
    };
    budi.press(&confidential, "Tidak", "LAPOR").await;
    let review = budi.say("-", "Mohon periksa").await;
    budi.press(&review, "Kirim", "ADU-").await;
    svc.sent_to(BUDI)
        .iter()
        .rev()
        .find_map(|m| support::case_number(&m.text()))
        .expect("a case number")
}

/// An officer's action as Rina at the terminal (the admin chat is not what is tested here).
/// An officer's command from the terminal; returns the outbox ids and messages it queued.
async fn officer(svc: &Service, text: &str) -> Vec<(u64, OutboundMessage)> {
    let msg = pstbot::message::InboundMessage {
        id: wamid(),
        from: Identity::new(ChannelKind::Terminal, "rina"),
        body: pstbot::message::InboundBody::Text(text.into()),
        reply_to: None,
        trust: pstbot::message::Trust::Proven,
    };
    svc.rt.handle_queued(msg).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_25_hours_notifications_go_as_templates_or_fall_back_to_e_mail() {
    let svc = Service::start(Options::officers_elsewhere()).await;
    let case = complaint(&svc, false).await;
    let before = svc.sent_to(BUDI).len();
    svc.clock.advance(chrono::Duration::hours(25));

    // An officer's reply has a template: it goes as one, with the case and the text.
    officer(
        &svc,
        &format!("balas {case} Tabel sudah kami perbaiki,\nsilakan dicoba lagi."),
    )
    .await;
    let tpl = svc
        .graph
        .wait_for(before, "a template to Budi", |m| {
            m.to() == BUDI && m.kind() == "template"
        })
        .await;
    assert_eq!(tpl.body["template"]["name"], "pst_balasan_petugas");
    assert_eq!(tpl.body["template"]["language"]["code"], "id");
    let params = &tpl.body["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], case.as_str());
    assert_eq!(
        params[1]["text"],
        "Tabel sudah kami perbaiki, silakan dicoba lagi."
    );
    svc.settled().await;
    assert!(
        svc.sent_to(BUDI)
            .iter()
            .skip(before)
            .all(|m| m.kind() == "template"),
        "nothing free-form outside the window"
    );

    // A stage change has no template here: it is not sent on WhatsApp; Budi gave an e-mail
    // address, so the e-mail copy carries it, and the row is recorded as withheld.
    let n = svc.sent_to(BUDI).len();
    // (Read from what the command queued: the worker may finish the row at once.)
    let (update_id, update) = officer(&svc, &format!("pindah {case} terima"))
        .await
        .into_iter()
        .find(|(_, m)| m.to.channel == ChannelKind::Whatsapp)
        .expect("a stage-change notification for Budi");
    assert!(update.text.contains("sedang ditelaah"), "{}", update.text);
    assert_eq!(update.topic.as_ref().unwrap().kind, "case_update");
    svc.settled().await;
    assert_eq!(
        svc.sent_to(BUDI).len(),
        n,
        "nothing more went to Budi on WhatsApp"
    );
    let rec = svc.rt.store.sent(update_id).unwrap().expect("finished");
    assert_eq!(rec.status, Some(DeliveryStatus::Withheld));
    assert!(
        svc.rt
            .store
            .failed()
            .unwrap()
            .iter()
            .all(|f| f.row.id != update_id)
    );

    // Someone with no e-mail address and no template: the officers are told (masked).
    let stranger = Identity::new(ChannelKind::Whatsapp, "+6285700000001");
    let msg = OutboundMessage::text(stranger.clone(), "Status berubah").about(Topic::case(
        "case_update",
        &case,
        &["Ditinjau".to_string()],
    ));
    svc.rt
        .record(DedupeKey("test:stranger".into()), &stranger, vec![msg])
        .await
        .unwrap();
    svc.settled().await;
    let failed = svc.rt.store.failed().unwrap();
    let f = failed
        .iter()
        .find(|f| f.row.msg.to == stranger)
        .expect("given up");
    assert!(f.reason.contains("24-hour window"), "{}", f.reason);
    let notices = svc.rt.store.outbox_pending(None, 1000).unwrap();
    let notice = notices
        .iter()
        .find(|r| {
            r.msg.to.channel == ChannelKind::Officers
                && r.msg.text.contains("tidak dapat dihubungi")
        })
        .expect("the officers are told");
    assert!(notice.msg.text.contains("•••001"), "{}", notice.msg.text);
    assert!(
        notice.msg.text.contains(&case),
        "names the case: {}",
        notice.msg.text
    );
    assert!(
        !notice.msg.text.contains("6285700000001"),
        "masked: {}",
        notice.msg.text
    );
    assert!(svc.sent_to("6285700000001").is_empty());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_are_recorded_and_failures_retried_or_reported() {
    let svc = Service::start(Options::officers_elsewhere()).await;
    let budi = Phone {
        svc: &svc,
        wa_id: BUDI,
    };
    let menu = budi.say("halo", "Selamat datang").await;
    let budi_id = Identity::new(ChannelKind::Whatsapp, format!("+{BUDI}"));
    let rec = svc
        .rt
        .store
        .sent_by_ref(ChannelKind::Whatsapp, &menu.wamid)
        .unwrap()
        .expect("the wamid is kept with the sent row");
    assert_eq!(rec.to, budi_id);
    assert_eq!(rec.status, None);

    // delivered, then read; a late `delivered` does not undo `read`.
    for s in ["sent", "delivered", "read", "delivered"] {
        assert_eq!(
            svc.post(&status_body(&menu.wamid, s, BUDI, None)).await,
            StatusCode::OK
        );
    }
    let rec = svc.rt.store.sent(rec.id).unwrap().unwrap();
    assert_eq!(rec.status, Some(DeliveryStatus::Read));
    assert!(rec.status_at.is_some());

    // A failure with a temporary code (rate limit) is sent again, once.
    let consent = budi
        .press(&menu, "Pengaduan", "Pelindungan Data Pribadi")
        .await;
    let n = svc.sent_to(BUDI).len();
    let failed = status_body(&consent.wamid, "failed", BUDI, Some(130429));
    assert_eq!(svc.post(&failed).await, StatusCode::OK);
    assert_eq!(
        svc.post(&failed).await,
        StatusCode::OK,
        "a repeated callback"
    );
    let again = svc
        .graph
        .wait_for(n, "the message sent again", |m| {
            m.to() == BUDI && m.text().contains("Pelindungan Data Pribadi")
        })
        .await;
    svc.settled().await;
    assert_eq!(svc.sent_to(BUDI).len(), n + 1, "sent again exactly once");
    assert_eq!(
        svc.rt
            .store
            .sent_by_ref(ChannelKind::Whatsapp, &consent.wamid)
            .unwrap()
            .unwrap()
            .status,
        Some(DeliveryStatus::Failed)
    );
    // If the resent message fails too, the officers are told instead of a third try.
    let failed = status_body(&again.wamid, "failed", BUDI, Some(130429));
    assert_eq!(svc.post(&failed).await, StatusCode::OK);
    svc.settled().await;
    assert_eq!(svc.sent_to(BUDI).len(), n + 1);
    let officers = || support::officers_pending(svc.rt.store.as_ref());
    assert!(
        officers()
            .iter()
            .any(|t| t.contains("WhatsApp error 130429") && t.contains("•••890")),
        "{:#?}",
        officers()
    );
    // A permanent failure (e.g. 131026, message undeliverable) is reported at once.
    let n_notes = officers().len();
    let failed = status_body(&menu.wamid, "failed", BUDI, Some(131026));
    assert_eq!(svc.post(&failed).await, StatusCode::OK);
    assert_eq!(officers().len(), n_notes + 1);
    // A status for a message pstbot never sent changes nothing.
    assert_eq!(
        svc.post(&status_body("wamid.UNKNOWN", "read", BUDI, None))
            .await,
        StatusCode::OK
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_errors_are_retried_or_reported_and_files_are_uploaded() {
    let svc = Service::start(Options::officers_elsewhere()).await;
    // A rate limit (130429) is retried: the greeting arrives after it.
    // (The outbox's backoff runs on the runtime's fixed clock: moved on once the failure is in.)
    svc.graph.fail_next(vec![Fail {
        status: 400,
        code: 130429,
    }]);
    let body = message_body(BUDI, &wamid(), "text", json!({ "body": "halo" }), None);
    assert_eq!(svc.post(&body).await, StatusCode::OK);
    while !svc
        .rt
        .store
        .outbox_pending(None, 100)
        .unwrap()
        .iter()
        .any(|r| {
            r.attempts == 1
                && r.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("130429"))
        })
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    svc.clock.advance(chrono::Duration::minutes(1));
    svc.graph
        .wait_for(0, "the greeting after a retry", |m| {
            m.text().contains("Selamat datang")
        })
        .await;
    svc.settled().await;

    // A file for Budi is uploaded through /media and sent as a document by its id.
    let who = Identity::new(ChannelKind::Whatsapp, format!("+{BUDI}"));
    let letter = std::fs::read(support::repo().join("tests/fixtures/surat-pengantar.pdf")).unwrap();
    let (file, bytes) = pstbot::runtime::attachment_ref(&pstbot::message::Attachment {
        filename: "surat-jawaban.pdf".into(),
        mime: "application/pdf".into(),
        bytes: letter.clone(),
    });
    let mut c = pstbot::store::Commit::new(
        DedupeKey("test:file".into()),
        pstbot::runtime::Clock::now(svc.clock.as_ref()),
        who.clone(),
        Default::default(),
    );
    c.session = None;
    c.blobs.push((file.blob.clone(), bytes));
    svc.rt.store.commit(c).unwrap();
    let mut m = OutboundMessage::text(who.clone(), "Berikut surat jawaban untuk Anda.");
    m.files.push(file);
    let n = svc.sent_to(BUDI).len();
    svc.rt
        .record(DedupeKey("test:letter".into()), &who, vec![m])
        .await
        .unwrap();
    let doc = svc
        .graph
        .wait_for(n, "the document", |m| {
            m.to() == BUDI && m.kind() == "document"
        })
        .await;
    let up = svc.graph.uploads().pop().expect("uploaded");
    assert_eq!(up.bytes, letter);
    assert_eq!(up.filename, "surat-jawaban.pdf");
    assert_eq!(up.mime, "application/pdf");
    assert_eq!(doc.body["document"]["id"], up.id.as_str());
    assert_eq!(doc.body["document"]["filename"], "surat-jawaban.pdf");

    // Inside pstbot's reckoning of the window, but the API answers 131047 (re-engagement):
    // a notification with a template goes as the template.
    svc.graph.fail_next(vec![Fail {
        status: 400,
        code: 131047,
    }]);
    let n = svc.sent_to(BUDI).len();
    let reply = OutboundMessage::text(who.clone(), "Balasan petugas: data sudah diperbarui.")
        .about(Topic::case(
            "officer_reply",
            "ADU-2026-000007",
            &["Data sudah diperbarui.".to_string()],
        ));
    svc.rt
        .record(DedupeKey("test:reengage".into()), &who, vec![reply])
        .await
        .unwrap();
    let tpl = svc
        .graph
        .wait_for(n, "the template after 131047", |m| {
            m.to() == BUDI && m.kind() == "template"
        })
        .await;
    assert_eq!(tpl.body["template"]["name"], "pst_balasan_petugas");
    assert_eq!(
        tpl.body["template"]["components"][0]["parameters"][1]["text"],
        "Data sudah diperbarui."
    );

    // An expired token (190) is permanent: no retry, and the officers are told what to renew.
    svc.graph.fail_next(vec![Fail {
        status: 401,
        code: 190,
    }]);
    let calls = svc.graph.sent().len();
    let note = OutboundMessage::text(who.clone(), "Kasus Anda sedang ditinjau.");
    svc.rt
        .record(DedupeKey("test:token".into()), &who, vec![note])
        .await
        .unwrap();
    svc.settled().await;
    assert_eq!(svc.graph.sent().len(), calls, "nothing more was taken");
    let failed = svc.rt.store.failed().unwrap();
    let f = failed
        .iter()
        .find(|f| f.row.msg.text == "Kasus Anda sedang ditinjau.")
        .expect("given up at once");
    assert_eq!(f.row.attempts, 0, "not retried");
    let notices = support::officers_pending(svc.rt.store.as_ref());
    assert!(
        notices
            .iter()
            .any(|t| t.contains("access token") && t.contains("PSTBOT_WHATSAPP_ACCESS_TOKEN")),
        "{notices:#?}"
    );
    svc.stop().await;
}

/// `pstbot serve` from a config file with `[whatsapp]` (secrets from the file here; the
/// environment works too): `/webhook/whatsapp` on its HTTP server, replies through the
/// Graph API at `graph_api_url`, and the officers' chat on the officer numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_whatsapp_from_the_config() {
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let path = support::config_file(dir.path(), &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "# whatsapp = \"+6281234567890\"",
        &format!("whatsapp = \"+{RINA}\""),
    );
    let text = format!(
        "{text}\n[whatsapp]\nphone_number_id = \"{PHONE_NUMBER_ID}\"\naccess_token = \"{ACCESS_TOKEN}\"\napp_secret = \"{APP_SECRET}\"\nverify_token = \"{VERIFY_TOKEN}\"\ngraph_api_url = \"{}\"\nofficer_numbers = [\"+{RINA}\"]\n\n[whatsapp.templates.case_update]\nname = \"pst_status_berubah\"\nlanguage = \"id\"\nparams = [1, 2]\n",
        graph.url()
    );
    std::fs::write(&path, text).unwrap();
    let cfg = pstbot::app::load_config(&path).unwrap();
    assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/webhook/whatsapp");
    let verify =
        format!("{url}?hub.mode=subscribe&hub.challenge=424242&hub.verify_token={VERIFY_TOKEN}");
    let mut answer = None;
    for _ in 0..100 {
        match client.get(&verify).send().await {
            Ok(r) => {
                answer = Some((r.status().as_u16(), r.text().await.unwrap()));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(answer, Some((200, "424242".to_string())));
    let body = serde_json::to_vec(&message_body(
        RINA,
        &wamid(),
        "text",
        json!({ "body": "antrian" }),
        None,
    ))
    .unwrap();
    let unsigned = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let signed = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&body, APP_SECRET))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 200);
    // Rina is recognised as an officer: she gets the queue, not the applicants' menu.
    let reply = graph
        .wait_for(0, "an answer to Rina", |m| m.to() == RINA)
        .await;
    assert!(!reply.text().contains("Selamat datang"), "{}", reply.text());
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .expect("serve stops")
        .unwrap()
        .unwrap();
}

/// Issue 20, item 6: 25 hours after Budi's last message and with no template for replies, the
/// officer is not told "sent": the answer says the reply is queued, that WhatsApp takes only
/// templates now, and how (or whether) it reaches Budi: by e-mail, or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_outside_the_window_tells_the_officer_how_it_will_arrive() {
    let svc = Service::start(Options {
        templates: false,
        ..Options::officers_elsewhere()
    })
    .await;
    let case = complaint(&svc, false).await;
    svc.clock.advance(chrono::Duration::hours(25));
    let answer = |out: Vec<(u64, OutboundMessage)>| {
        out.into_iter()
            .find(|(_, m)| m.to == Identity::new(ChannelKind::Terminal, "rina"))
            .expect("an answer to the officer")
            .1
            .text
    };

    // Budi gave an e-mail address: the reply reaches him there only.
    let said = answer(officer(&svc, &format!("balas {case} Tabel sudah diperbaiki.")).await);
    assert!(!said.contains("terkirim"), "{said}");
    assert!(said.contains("25 jam"), "{said}");
    assert!(said.contains("e-mail b•••@example.go.id saja"), "{said}");
    assert!(!said.contains("budi@"), "masked: {said}");

    // Mail to that address bounces: nothing carries the reply, and the officer is told so.
    let mut bounce = pstbot::store::Commit::new(
        DedupeKey("test:bounce".into()),
        pstbot::runtime::Clock::now(svc.clock.as_ref()),
        Identity::new(ChannelKind::Desk, "test"),
        Default::default(),
    );
    bounce.session = None;
    bounce.address_failing = Some((
        Identity::new(ChannelKind::Email, "budi@example.go.id"),
        true,
    ));
    svc.rt.store.commit(bounce).unwrap();
    let said = answer(officer(&svc, &format!("balas {case} Mohon dicek lagi.")).await);
    assert!(said.contains("TIDAK sampai"), "{said}");
    assert!(said.contains(&format!("lihat {case}")), "{said}");
    svc.stop().await;
}
