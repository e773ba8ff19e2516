//! The web chat's HTTP API, through the router `pstbot serve` mounts (tower `oneshot`): a whole
//! guest book and recommendation request with attachments, coming back with the cookie, refused
//! sessions, the limits, cross-site posts, and an officer's answer reaching the visitor's log and
//! event stream.

use crate::support;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use pstbot::channels::web::WebchatConfig;
use pstbot::channels::web::{Hub, WebChannel, WebChat};
use pstbot::dialogs::Bot;
use pstbot::message::ChannelKind;
use pstbot::outbox::{Channels, Outbox};
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::memory::MemoryStore;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use support::*;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";
const ORIGIN: &str = "http://127.0.0.1:8080";

struct Service {
    app: Router,
    rt: Arc<Runtime>,
    hub: Arc<Hub>,
    stop: CancellationToken,
}

/// The web chat routes on an in-memory store, Monday morning, with `web` limits and
/// `max_attachment_bytes`.
fn service(web: WebchatConfig, max_attachment_bytes: Option<u64>) -> Service {
    service_on(Arc::new(MemoryStore::new()), web, max_attachment_bytes)
}

fn service_on(
    store: Arc<dyn pstbot::store::Store>,
    web: WebchatConfig,
    max_attachment_bytes: Option<u64>,
) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    if let Some(max) = max_attachment_bytes {
        cfg.conversation.max_attachment_bytes = max;
    }
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let rt = Arc::new(
        Runtime::new(RuntimeParts::new(
            bot,
            store,
            clock,
            cfg.officers.clone(),
            pstbot::channels::officers(&cfg),
        ))
        .unwrap(),
    );
    let hub = Arc::new(Hub::default());
    let stop = CancellationToken::new();
    let chat = WebChat::new(rt.clone(), web, hub.clone(), stop.clone());
    Service {
        app: pstbot::channels::web::routes(Arc::new(chat)),
        rt,
        hub,
        stop,
    }
}

fn roomy() -> WebchatConfig {
    WebchatConfig {
        messages_per_minute_per_session: 1000,
        messages_per_minute_per_ip: 1000,
        ..WebchatConfig::default()
    }
}

static IDS: AtomicU64 = AtomicU64::new(1);

/// One browser: its cookie and its address.
struct Visitor<'a> {
    svc: &'a Service,
    cookie: Option<String>,
    /// The cookie's name: `pstbot_session`, or `__Host-pstbot_session` over https.
    cookie_name: String,
    ip: [u8; 4],
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

impl Reply {
    /// The bot's texts in a post's answer, joined.
    fn bot_text(&self) -> String {
        texts(&self.json["messages"], false)
    }
    /// The refusal text in a language.
    fn message(&self, lang: &str) -> String {
        self.json["message"][lang]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

fn texts(list: &Value, visitor: bool) -> String {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["visitor"].as_bool() == Some(visitor))
                .map(|m| m["text"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn new_id() -> String {
    format!("t{}", IDS.fetch_add(1, Ordering::Relaxed))
}

impl<'a> Visitor<'a> {
    fn new(svc: &'a Service) -> Self {
        Visitor {
            svc,
            cookie: None,
            cookie_name: "pstbot_session".into(),
            ip: [192, 0, 2, 10],
        }
    }

    /// A request as the chat page sends it (same origin, the page's header).
    fn request(&self, method: &str, uri: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, HOST)
            .extension(ConnectInfo(SocketAddr::from((self.ip, 40000))));
        if method == "POST" {
            b = b
                .header(header::ORIGIN, ORIGIN)
                .header("sec-fetch-site", "same-origin")
                .header("x-pstbot-chat", "1");
        }
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, format!("{}={c}", self.cookie_name));
        }
        b
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.svc.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
        }
    }

    /// Starts or resumes the session; keeps a new cookie.
    async fn start(&mut self) -> Reply {
        let req = self
            .request("POST", "/api/web/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let r = self.send(req).await;
        if let Some(c) = r.headers.get(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            let (name, token) = c.split(';').next().unwrap().split_once('=').unwrap();
            self.cookie_name = name.to_string();
            self.cookie = Some(token.to_string());
        }
        r
    }

    async fn post_json(&self, body: Value) -> Reply {
        let req = self
            .request("POST", "/api/web/messages")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    async fn say(&self, text: &str) -> Reply {
        self.post_json(serde_json::json!({"id": new_id(), "text": text}))
            .await
    }

    /// Opens the menu, picks `service` and fills in Budi's guest book up to its summary.
    async fn fill_guest_book(&self, service: &str) {
        let menu = self.say("menu").await;
        let consent = self.press(&menu, service).await;
        let _ = self.press(&consent, "Ya").await;
        self.expect("Budi Santoso", &["e-mail"]).await;
        self.expect("budi.santoso@example.go.id", &["Nomor HP"])
            .await;
        self.expect("0812-3456-7890", &["Jenis kelamin"]).await;
        for a in ["1", "1", "3", "4"] {
            self.say(a).await;
        }
        self.expect("Dinas Kominfo", &["Kategori instansi"]).await;
        self.expect("pemerintah daerah", &["tujuan"]).await;
        self.expect("2", &["Mohon periksa"]).await;
    }

    /// Says `text` and checks the bot's answer contains every fragment.
    async fn expect(&self, text: &str, fragments: &[&str]) -> String {
        let r = self.say(text).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        let out = r.bot_text();
        for f in fragments {
            assert!(out.contains(f), "after {text:?} expected {f:?} in:\n{out}");
        }
        out
    }

    /// Presses the button with this label in the last bot message of `reply`.
    async fn press(&self, reply: &Reply, label: &str) -> Reply {
        let choice = reply.json["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .flat_map(|m| m["choices"].as_array().cloned().unwrap_or_default())
            .find(|c| c["label"].as_str().unwrap().contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", reply.json));
        let r = self
            .post_json(serde_json::json!({
                "id": new_id(),
                "choice": choice["value"],
                "label": choice["label"],
            }))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        r
    }

    async fn upload(&self, name: &str, bytes: Vec<u8>) -> Reply {
        let boundary = "XpstbotBoundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{}\r\n",
                new_id()
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .request("POST", "/api/web/files")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn history(&self) -> Reply {
        let req = self
            .request("GET", "/api/web/history")
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures").join(name)).unwrap()
}

#[tokio::test]
async fn guest_book_and_recommendation_request_with_attachments() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    assert_eq!(v.start().await.json["resumed"], false);
    let menu = v
        .post_json(serde_json::json!({"id": new_id(), "text": "menu", "silent": true}))
        .await;
    assert!(
        menu.bot_text().contains("Selamat datang"),
        "{:?}",
        menu.json
    );
    // Silent: the page opened the menu; the visitor did not type it.
    assert_eq!(texts(&menu.json["messages"], true), "");
    let consent = v.press(&menu, "Rekomendasi").await;
    assert!(consent.bot_text().contains("Pelindungan Data Pribadi"));
    let name = v.press(&consent, "Ya").await;
    assert!(name.bot_text().contains("nama lengkap"));
    v.expect("Budi Santoso", &["e-mail"]).await;
    v.expect("budi.santoso@example.go.id", &["Nomor HP"]).await;
    let gender = v.say("0812-3456-7890").await;
    assert!(gender.bot_text().contains("Jenis kelamin"));
    let age = v.press(&gender, "Laki").await;
    assert!(age.bot_text().contains("Kelompok umur"));
    v.expect("1", &["Pendidikan"]).await;
    v.expect("3", &["Pekerjaan"]).await;
    v.expect("4", &["instansi"]).await;
    v.expect(
        "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
        &["Kategori instansi"],
    )
    .await;
    v.expect("pemerintah daerah", &["tujuan"]).await;
    v.expect("2", &["Mohon periksa", "+6281234567890"]).await;
    v.expect(
        "kirim",
        &["Data buku tamu Bapak/Ibu sudah tersimpan", "Cari kegiatan"],
    )
    .await;
    v.expect("tidak", &["judul kegiatan"]).await;
    for (answer, next) in [
        (
            "Survei Kepuasan Masyarakat terhadap Layanan Perizinan 2027",
            "instansi penyelenggara",
        ),
        (
            "Dinas Penanaman Modal dan PTSP Provinsi Bengkulu",
            "unit kerja",
        ),
        ("Bidang Pengaduan dan Kebijakan", "penanggung jawab"),
        ("Siti Aminah", "telepon"),
        ("0736 21234", "dasar hukum"),
        ("Permendagri 18/2020 dan DPA Dinas PMPTSP 2027", "tujuan"),
        (
            "Mengukur kepuasan masyarakat atas layanan perizinan untuk perbaikan layanan.",
            "Jenis kegiatan",
        ),
        ("1", "Cakupan wilayah"),
        (
            "Seluruh kabupaten/kota di Provinsi Bengkulu",
            "pengumpulan data",
        ),
        ("1, 3", "sensus"),
        ("2", "Metode penarikan sampel"),
        ("Acak sederhana dari daftar pemohon izin", "jumlah sampel"),
        ("400", "mulai"),
        ("01/03/2027", "Tanggal selesai"),
        ("30/04/2027", "Frekuensi"),
        ("tahunan", "variabel"),
        (
            "Karakteristik responden, jenis izin, kepuasan per unsur pelayanan",
            "publikasi",
        ),
        ("Laporan IKM Dinas PMPTSP 2027 di situs resmi", "kuesioner"),
    ] {
        v.expect(answer, &[next]).await;
    }
    let q = v.upload("kuesioner.pdf", fixture("kuesioner.pdf")).await;
    assert_eq!(q.status, StatusCode::OK, "{:?}", q.json);
    assert!(
        texts(&q.json["messages"], true).contains("kuesioner.pdf"),
        "the visitor's file is in the log: {:?}",
        q.json
    );
    assert!(
        q.bot_text().contains("kuesioner.pdf diterima"),
        "{}",
        q.bot_text()
    );
    let summary = v
        .upload("surat-pengantar.pdf", fixture("surat-pengantar.pdf"))
        .await;
    let text = summary.bot_text();
    assert!(
        text.contains("Jumlah sampel: 400") && text.contains("surat-pengantar.pdf"),
        "{text}"
    );
    let done = v.press(&summary, "Kirim").await;
    let n = case_number(&done.bot_text()).expect("a case number");
    assert!(n.starts_with("REK-2026-"), "{n}");
    let case = svc
        .rt
        .store
        .case(&pstbot::cases::CaseNumber::parse(&n).unwrap())
        .unwrap()
        .expect("the case is stored");
    assert_eq!(case.attachments.len(), 2);
    assert_eq!(case.origin.channel, ChannelKind::Web);
    // The whole conversation is in the history, in order, visitor and bot.
    let h = v.history().await;
    let all = h.json["messages"].as_array().unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(texts(&h.json["messages"], true).contains("Budi Santoso"));
    assert!(texts(&h.json["messages"], false).contains(&n));
}

#[tokio::test]
async fn coming_back_with_the_cookie_resumes_the_conversation() {
    let svc = service(roomy(), None);
    let mut first = Visitor::new(&svc);
    first.start().await;
    let menu = first.say("halo").await;
    let consent = first.press(&menu, "Pengaduan").await;
    assert!(consent.bot_text().contains("setuju"));
    // The same browser later: the cookie resumes the session and its history.
    let mut again = Visitor::new(&svc);
    again.cookie = first.cookie.clone();
    assert_eq!(again.start().await.json["resumed"], true);
    let h = again.history().await;
    assert_eq!(h.status, StatusCode::OK);
    let shown = texts(&h.json["messages"], true);
    assert!(
        shown.contains("halo") && shown.contains("Pengaduan"),
        "{shown}"
    );
    assert!(texts(&h.json["messages"], false).contains("Pelindungan Data Pribadi"));
    // … and the conversation goes on where it stopped.
    again.expect("ya", &["nama lengkap"]).await;
    // Another browser gets its own, empty conversation.
    let mut other = Visitor::new(&svc);
    assert_eq!(other.start().await.json["resumed"], false);
    assert_ne!(other.cookie, first.cookie);
    assert_eq!(
        other.history().await.json["messages"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn missing_or_forged_sessions_are_refused_and_change_nothing() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    let no_cookie = v.say("halo").await;
    assert_eq!(no_cookie.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_cookie.json["error"], "session");
    assert!(no_cookie.message("id").contains("muat ulang halaman"));
    assert!(no_cookie.message("en").contains("reload the page"));
    for forged in ["0".repeat(64), "not-a-token".to_string(), "f".repeat(65)] {
        v.cookie = Some(forged.clone());
        assert_eq!(v.say("halo").await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(v.history().await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            v.upload("a.pdf", b"%PDF-1.4".to_vec()).await.status,
            StatusCode::UNAUTHORIZED
        );
        let events = v
            .send(
                v.request("GET", "/api/web/events")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(events.status, StatusCode::UNAUTHORIZED);
    }
    // A forged token's would-be session holds nothing, and nothing was handled.
    let forged_session = pstbot::channels::web::session_id(&"0".repeat(64));
    assert!(svc.rt.store.web_session(&forged_session).unwrap().is_none());
    assert!(
        svc.rt
            .store
            .web_log_tail(&forged_session, 10)
            .unwrap()
            .is_empty()
    );
    assert!(svc.rt.store.outbox_pending(None, 10).unwrap().is_empty());
    // A real session cannot read another session's files.
    let mut real = Visitor::new(&svc);
    real.start().await;
    let r = real
        .send(
            real.request("GET", &format!("/api/web/files/{}", "ab".repeat(32)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn limits_give_a_clear_answer_in_both_languages() {
    let web = WebchatConfig {
        messages_per_minute_per_session: 5,
        messages_per_minute_per_ip: 8,
        ..WebchatConfig::default()
    };
    let svc = service(web, Some(1024));
    let mut v = Visitor::new(&svc);
    v.ip = [192, 0, 2, 1];
    v.start().await;
    // Too long a message: 413, nothing logged.
    let long = v.say(&"a".repeat(4097)).await;
    assert_eq!(long.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(long.json["error"], "too_long");
    assert!(
        long.message("id").contains("4096 karakter"),
        "{:?}",
        long.json
    );
    assert!(long.message("en").contains("4096 characters"));
    // A body far over any message (64 KiB): the same answer, not a bare error page.
    let huge = v
        .post_json(serde_json::json!({"id": new_id(), "text": "a".repeat(100_000)}))
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.json["error"], "too_long");
    // Too large a file: 413.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(2048, b'x');
    let r = v.upload("besar.pdf", big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.json);
    assert_eq!(r.json["error"], "too_big");
    assert!(r.message("id").contains("1 MB"), "{:?}", r.json);
    // A program, named or renamed: 415.
    for name in ["setup.exe", "kuesioner.pdf"] {
        let r = v.upload(name, b"MZ\x90\x00\x03".to_vec()).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}");
        assert_eq!(r.json["error"], "file_type");
        assert!(r.message("en").contains("PDF"), "{:?}", r.json);
    }
    assert!(
        svc.rt
            .store
            .web_log_tail(&v_session(&v), 10)
            .unwrap()
            .is_empty(),
        "refused requests are not logged"
    );
    // Messages per minute per session: the sixth is refused with Retry-After.
    let mut s = Visitor::new(&svc);
    s.start().await;
    for i in 0..5 {
        assert_eq!(s.say(&format!("halo {i}")).await.status, StatusCode::OK);
    }
    let r = s.say("halo lagi").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json["error"], "rate");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert!(r.message("id").contains("Mohon tunggu"), "{:?}", r.json);
    // Per IP: another session from the same address has three left of its eight.
    let mut w = Visitor::new(&svc);
    w.start().await;
    for _ in 0..2 {
        assert_eq!(w.say("halo").await.status, StatusCode::OK);
    }
    assert_eq!(w.say("halo").await.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back by them.
    let mut x = Visitor::new(&svc);
    x.ip = [192, 0, 2, 99];
    x.start().await;
    assert_eq!(x.say("halo").await.status, StatusCode::OK);
}

fn v_session(v: &Visitor) -> String {
    pstbot::channels::web::session_id(v.cookie.as_deref().unwrap())
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    let cookie = format!("pstbot_session={}", v.cookie.clone().unwrap());
    let post = |extra: &[(&str, &str)], content_type: &str| {
        let mut b = Request::builder()
            .method("POST")
            .uri("/api/web/messages")
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, content_type);
        for (k, val) in extra {
            b = b.header(*k, *val);
        }
        b.body(Body::from(
            serde_json::json!({"id": new_id(), "text": "halo"}).to_string(),
        ))
        .unwrap()
    };
    // Another site's page posting with the visitor's cookie (a browser sends these headers).
    let evil = v
        .send(post(
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
                ("x-pstbot-chat", "1"),
            ],
            "application/json",
        ))
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert_eq!(evil.json["error"], "cross_site");
    // A plain form post cannot set the page's header.
    let form = v
        .send(post(
            &[("origin", ORIGIN)],
            "application/x-www-form-urlencoded",
        ))
        .await;
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    // Same site but not JSON: refused too.
    let not_json = v
        .send(post(
            &[("origin", ORIGIN), ("x-pstbot-chat", "1")],
            "text/plain",
        ))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    // Starting a session from another site is refused as well.
    let r = v
        .send(
            Request::builder()
                .method("POST")
                .uri("/api/web/session")
                .header(header::HOST, HOST)
                .header("origin", "https://evil.example")
                .header("x-pstbot-chat", "1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        svc.rt
            .store
            .web_log_tail(&v_session(&v), 10)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_officers_reply_reaches_the_visitor_live_and_in_the_history() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    // File a complaint from the web.
    v.fill_guest_book("Pengaduan").await;
    v.expect("kirim", &["tentang apa"]).await;
    v.expect("2", &["Ceritakan"]).await;
    v.expect("Tabel kemiskinan tidak bisa diunduh.", &["Kapan"])
        .await;
    v.expect("20/11/2026", &["bukti"]).await;
    v.expect("lewati", &["dirahasiakan"]).await;
    v.expect("tidak", &["LAPOR"]).await;
    v.expect("-", &["Mohon periksa"]).await;
    let done = v.expect("kirim", &["ADU-2026-"]).await;
    let n = case_number(&done).unwrap();
    // The page listens for messages after the last one it shows.
    let last = v.history().await.json["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    let events = svc
        .app
        .clone()
        .oneshot(
            v.request("GET", &format!("/api/web/events?after={last}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = events.into_body();
    // The outbox delivers to web visitors through the web channel.
    let mut chans = Channels::new();
    chans.add(
        ChannelKind::Web,
        Arc::new(WebChannel {
            hub: svc.hub.clone(),
        }),
    );
    let outbox = Arc::new(Outbox::new(
        svc.rt.outbox_feed(),
        chans,
        pstbot::config::DeliveryConfig::default(),
    ));
    let stop = CancellationToken::new();
    let worker = tokio::spawn(outbox.run(stop.clone()));
    // An officer answers from the admin chat.
    let mut officer = Chat::with_store(
        svc.rt.store.clone(),
        Arc::new(FixedClock::new(monday_morning())),
    );
    officer.rt = svc.rt.clone();
    officer.as_terminal("rina");
    officer
        .expect(
            &format!("balas {n} Tabelnya sudah kami perbaiki, silakan coba lagi."),
            &["diteruskan ke pemohon"],
        )
        .await;
    // It arrives on the open event stream …
    let mut seen = String::new();
    while !seen.contains("sudah kami perbaiki") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(30), body.frame())
            .await
            .expect("the reply arrives on the stream")
            .expect("the stream stays open")
            .unwrap();
        if let Some(d) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(d));
        }
    }
    assert!(
        seen.contains("event: message") && seen.contains(&n),
        "{seen}"
    );
    // … and is in the history of a later visit.
    let h = v.history().await;
    assert!(texts(&h.json["messages"], false).contains("Tabelnya sudah kami perbaiki"));
    // A file from the officer: downloadable from the conversation, by this visitor only.
    officer.say(&format!("kirim {n}")).await;
    let sent = officer.fixture("surat-pengantar.pdf").await;
    assert!(sent.contains("surat-pengantar.pdf"), "{sent}");
    let mut url = None;
    while url.is_none() {
        let h = v.history().await;
        url = h.json["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["visitor"] == false)
            .flat_map(|m| m["files"].as_array().cloned().unwrap_or_default())
            .find(|f| f["name"] == "surat-pengantar.pdf")
            .map(|f| f["url"].as_str().unwrap().to_string());
        if url.is_none() {
            tokio::time::timeout(std::time::Duration::from_secs(30), body.frame())
                .await
                .expect("the file message arrives");
        }
    }
    let url = url.unwrap();
    let resp = svc
        .app
        .clone()
        .oneshot(v.request("GET", &url).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/pdf");
    assert!(
        resp.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("surat-pengantar.pdf")
    );
    let got = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(got.as_ref(), fixture("surat-pengantar.pdf").as_slice());
    let mut stranger = Visitor::new(&svc);
    stranger.start().await;
    let r = stranger
        .send(stranger.request("GET", &url).body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Stopping the service ends the stream (the server can shut down).
    svc.stop.cancel();
    while let Some(f) = body.frame().await {
        f.unwrap();
    }
    stop.cancel();
    worker.await.unwrap();
}

#[tokio::test]
async fn pages_and_widget_are_served_from_the_binary() {
    let svc = service(roomy(), None);
    let v = Visitor::new(&svc);
    for (path, ty, needle) in [
        ("/", "text/html", "/assets/chat.js"),
        ("/chat", "text/html", "role=\"log\""),
        ("/assets/chat.js", "text/javascript", "X-PSTBot-Session"),
        ("/assets/chat.css", "text/css", "360"),
        ("/widget.js", "text/javascript", "/chat?embed=1"),
        ("/privacy?lang=en", "text/html", "Personal Data Protection"),
        ("/privacy", "text/html", "Pelindungan Data Pribadi"),
    ] {
        let resp = svc
            .app
            .clone()
            .oneshot(v.request("GET", path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let ct = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(ct.starts_with(ty), "{path}: {ct}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(needle), "{path} lacks {needle:?}");
        assert!(
            !body.contains("https://"),
            "{path} loads nothing from outside"
        );
    }
    let widget = v
        .send(
            v.request("GET", "/config-not-here")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(widget.status, StatusCode::NOT_FOUND);
}

/// `hapusdata` from the web chat erases the conversation log too (what the person typed and
/// what they were told), on both stores.
async fn erasure_clears_the_log(svc: Service) {
    let mut v = Visitor::new(&svc);
    v.start().await;
    v.fill_guest_book("Buku tamu").await;
    v.expect("kirim", &["tersimpan"]).await;
    let h = v.history().await;
    assert!(texts(&h.json["messages"], true).contains("budi.santoso@example.go.id"));
    v.expect("hapusdata", &["Lanjutkan?"]).await;
    v.expect("ya", &["sudah kami hapus"]).await;
    let h = v.history().await;
    let all = format!(
        "{}\n{}",
        texts(&h.json["messages"], true),
        texts(&h.json["messages"], false)
    );
    assert!(
        !all.contains("Budi Santoso") && !all.contains("budi.santoso@example.go.id"),
        "{all}"
    );
    assert!(
        all.contains("sudah kami hapus"),
        "the answer is shown: {all}"
    );
}

#[tokio::test]
async fn erasing_personal_data_erases_the_web_conversation_in_memory() {
    erasure_clears_the_log(service(roomy(), None)).await;
}

#[tokio::test]
async fn erasing_personal_data_erases_the_web_conversation_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(pstbot::store::sled::SledStore::open(dir.path(), 8).unwrap());
    erasure_clears_the_log(service_on(store, roomy(), None)).await;
}

/// Issue 17, item 12: an event stream from the start of a long log sends every entry (pages of
/// 300 one after another), then the new ones.
#[tokio::test]
async fn the_event_stream_of_a_long_log_sends_every_entry_in_order() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    let session = v_session(&v);
    let entry = |i: usize| pstbot::store::WebLogEntry {
        at: monday_morning(),
        visitor: i.is_multiple_of(2),
        text: format!("pesan {i}"),
        choices: Vec::new(),
        files: Vec::new(),
        officer: false,
    };
    for i in 1..=700 {
        svc.rt
            .store
            .web_log_append(&session, &format!("k{i}"), &entry(i))
            .unwrap();
    }
    let events = svc
        .app
        .clone()
        .oneshot(
            v.request("GET", "/api/web/events?after=0")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut body = events.into_body();
    let mut seen = String::new();
    let ids = |s: &str| -> Vec<u64> {
        s.lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .map(|n| n.trim().parse().unwrap())
            .collect()
    };
    while ids(&seen).len() < 700 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .unwrap_or_else(|_| panic!("the stream stopped after {} entries", ids(&seen).len()))
            .expect("the stream stays open")
            .unwrap();
        if let Some(d) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(d));
        }
    }
    let got = ids(&seen);
    let want: Vec<u64> = (1..=700).collect();
    assert_eq!(got, want);
    // A new entry still arrives live after the backlog.
    svc.rt
        .store
        .web_log_append(&session, "k701", &entry(701))
        .unwrap();
    svc.hub.publish(&session, 701, &entry(701));
    while !seen.contains("pesan 701") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("the new entry arrives")
            .unwrap()
            .unwrap();
        if let Some(d) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(d));
        }
    }
    svc.stop.cancel();
}

/// Issue 17, item 11: over https the session cookie is `__Host-pstbot_session` (Secure, Path=/,
/// no Domain), and a plain `pstbot_session` cookie planted by a sibling subdomain is not
/// adopted: its conversation is not shown and the visitor gets a session of their own.
#[tokio::test]
async fn over_https_the_cookie_has_the_host_prefix_and_a_planted_one_is_not_adopted() {
    let web = WebchatConfig {
        public_url: Some("https://pst.example.go.id".into()),
        ..roomy()
    };
    let svc = service(web, None);
    // Requests as a browser sends them to https://pst.example.go.id (through the proxy).
    let https = |v: &Visitor, method: &str, uri: &str| {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "pst.example.go.id")
            .extension(ConnectInfo(SocketAddr::from((v.ip, 40000))));
        if method == "POST" {
            b = b
                .header(header::ORIGIN, "https://pst.example.go.id")
                .header("sec-fetch-site", "same-origin")
                .header("x-pstbot-chat", "1");
        }
        if let Some(c) = &v.cookie {
            b = b.header(header::COOKIE, format!("{}={c}", v.cookie_name));
        }
        b
    };
    // The planter starts a session of their own and says something in it.
    let start = |v: &Visitor| {
        https(v, "POST", "/api/web/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    let mut planter = Visitor::new(&svc);
    let r = planter.send(start(&planter)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.starts_with("__Host-pstbot_session="), "{set}");
    for part in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1;
    planter.cookie = Some(token.to_string());
    planter.cookie_name = "__Host-pstbot_session".into();
    let said = planter
        .send(
            https(&planter, "POST", "/api/web/messages")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::json!({"id": new_id(), "text": "halo dari penanam"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(said.status, StatusCode::OK, "{:?}", said.json);
    // The victim's browser carries the planted token under the plain name (a sibling
    // subdomain can set that one for the parent domain).
    let mut victim = Visitor::new(&svc);
    victim.cookie = Some(token.to_string());
    victim.cookie_name = "pstbot_session".into();
    let r = victim.send(start(&victim)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["resumed"], false, "a planted cookie is adopted");
    let history = victim
        .send(
            https(&victim, "GET", "/api/web/history")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(history.status, StatusCode::UNAUTHORIZED);
    // Under its own __Host- cookie the visitor's session works.
    let own = r.headers[header::SET_COOKIE].to_str().unwrap();
    victim.cookie = Some(
        own.split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string(),
    );
    victim.cookie_name = "__Host-pstbot_session".into();
    let history = victim
        .send(
            https(&victim, "GET", "/api/web/history")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(!texts(&history.json["messages"], true).contains("penanam"));
}

/// Goes through the complaint up to its evidence and sends a file there; returns the file's
/// download address.
async fn evidence(v: &Visitor<'_>) -> String {
    v.fill_guest_book("Pengaduan").await;
    v.expect("kirim", &["tentang apa"]).await;
    v.expect("2", &["Ceritakan"]).await;
    v.expect("Tabel kemiskinan tidak bisa diunduh.", &["Kapan"])
        .await;
    v.expect("20/11/2026", &["bukti"]).await;
    let r = v.upload("kuesioner.pdf", fixture("kuesioner.pdf")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    r.json["messages"][0]["files"][0]["url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Issue 17, item 5: a download looks the file up in the session's file index, not by reading
/// the whole log: 100 lookups on a 20,000-entry log cost far less than reading the log 100
/// times (measured against one whole read on the same machine); and downloads per session are
/// limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_lookup_does_not_read_the_whole_log_and_downloads_are_limited() {
    let web = WebchatConfig {
        downloads_per_minute_per_session: 1000,
        ..roomy()
    };
    let svc = service(web, None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    let url = evidence(&v).await;
    let session = v_session(&v);
    for i in 0..20_000 {
        svc.rt
            .store
            .web_log_append(
                &session,
                &format!("k{i}"),
                &pstbot::store::WebLogEntry {
                    at: monday_morning(),
                    visitor: true,
                    text: format!("pesan nomor {i} yang cukup panjang untuk dibaca"),
                    choices: Vec::new(),
                    files: Vec::new(),
                    officer: false,
                },
            )
            .unwrap();
    }
    let whole = std::time::Instant::now();
    let all = svc.rt.store.web_log_tail(&session, usize::MAX).unwrap();
    let one_read = whole.elapsed();
    assert!(all.len() > 20_000);
    let get = |path: &str| v.request("GET", path).body(Body::empty()).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..100 {
        let resp = svc.app.clone().oneshot(get(&url)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let lookups = started.elapsed();
    eprintln!("100 downloads: {lookups:?}; one whole read: {one_read:?}");
    assert!(
        lookups < one_read * 10,
        "100 downloads took {lookups:?}; one read of the whole log takes {one_read:?}"
    );
    // A file that is not in the conversation is still not found.
    let r = v
        .send(get(&format!("/api/web/files/{}", "ab".repeat(32))))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Downloads per session are limited (the default: 30 a minute).
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    let url = evidence(&v).await;
    let mut statuses = Vec::new();
    for _ in 0..31 {
        let get = v.request("GET", &url).body(Body::empty()).unwrap();
        statuses.push(svc.app.clone().oneshot(get).await.unwrap().status());
    }
    assert!(
        statuses[..30].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS);
}

/// Issue 17, item 4 (the web chat's part): one session, or one address, cannot hold more than
/// a few event streams open; a stream's place is given back when it closes.
#[tokio::test]
async fn open_event_streams_are_capped_per_session_and_per_address() {
    let web = WebchatConfig {
        event_streams_per_ip: 8,
        ..roomy()
    };
    let svc = service(web, None);
    let mut v = Visitor::new(&svc);
    v.start().await;
    let open = |v: &Visitor| {
        let req = v
            .request("GET", "/api/web/events?after=0")
            .body(Body::empty())
            .unwrap();
        svc.app.clone().oneshot(req)
    };
    let mut held = Vec::new();
    for _ in 0..6 {
        let r = open(&v).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        held.push(r);
    }
    let r = open(&v).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a 7th stream of one session"
    );
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "rate");
    // One closes: its place is free again.
    drop(held.pop());
    let r = open(&v).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    held.push(r);
    // Another session from the same address: two more, then the address is full.
    let mut w = Visitor::new(&svc);
    w.start().await;
    for _ in 0..2 {
        let r = open(&w).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        held.push(r);
    }
    let r = open(&w).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a 9th stream of one address"
    );
    // Another address is not held back.
    let mut x = Visitor::new(&svc);
    x.ip = [192, 0, 2, 77];
    x.start().await;
    assert_eq!(open(&x).await.unwrap().status(), StatusCode::OK);
    drop(held);
}

/// Issue 17, item 6: when the store cannot write, the very first web post that fails is
/// answered 503 "try again shortly" (not 500), also on a store that does not flag its trouble
/// beforehand: here PostgreSQL, whose server goes away under a running web chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_post_the_store_cannot_take_is_503_on_postgres_too() {
    let mut cluster = support::postgres::PgCluster::start();
    let store = pstbot::store::postgres::PgStore::open(&cluster.fresh_database(), 2).unwrap();
    let svc = service_on(Arc::new(store), roomy(), None);
    let mut v = Visitor::new(&svc);
    assert_eq!(v.start().await.status, StatusCode::OK);
    v.expect("halo", &["Selamat datang"]).await;
    cluster.stop();
    let r = v.say("menu").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    assert_eq!(r.json["error"], "server");
    assert!(
        r.message("en").contains("try again shortly"),
        "{:?}",
        r.json
    );
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // And reading the conversation meanwhile: the same answer.
    let h = v.history().await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", h.json);
}

/// Issue 21, item 2: the page's token in `X-PSTBot-Session` is a session without any cookie
/// (a frame on another site gets none): it resumes, posts, reads the history, the event stream
/// and the conversation's files. A made-up token in the header is refused like a cookie.
#[tokio::test]
async fn the_session_token_in_the_header_works_without_a_cookie() {
    let svc = service(roomy(), None);
    let mut v = Visitor::new(&svc);
    let r = v.start().await;
    let token = r.json["token"]
        .as_str()
        .expect("the token in the answer")
        .to_string();
    assert_eq!(Some(&token), v.cookie.as_ref());
    let url = evidence(&v).await;
    // From now on only the header, as the widget's frame sends it.
    v.cookie = None;
    let with = |b: axum::http::request::Builder| b.header("x-pstbot-session", token.as_str());
    let resumed = v
        .send(
            with(v.request("POST", "/api/web/session"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(resumed.json["resumed"], true, "{:?}", resumed.json);
    assert!(resumed.headers.get(header::SET_COOKIE).is_none());
    let said = v
        .send(
            with(v.request("POST", "/api/web/messages"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::json!({"id": new_id(), "text": "tidak"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(said.status, StatusCode::OK, "{:?}", said.json);
    assert!(said.bot_text().contains("LAPOR"), "{}", said.bot_text());
    let h = v
        .send(
            with(v.request("GET", "/api/web/history"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(texts(&h.json["messages"], true).contains("Budi Santoso"));
    let file = svc
        .app
        .clone()
        .oneshot(with(v.request("GET", &url)).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let events = svc
        .app
        .clone()
        .oneshot(
            with(v.request("GET", "/api/web/events?after=0"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut body = events.into_body();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(first.data_ref().unwrap()).contains("event: message"),
        "the stored conversation comes first"
    );
    drop(body);
    let forged = v
        .send(
            v.request("GET", "/api/web/history")
                .header("x-pstbot-session", "0".repeat(64))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}
