//! The Telegram channel against a fake Bot API on 127.0.0.1 (tests/support/telegram_api.rs)
//! that speaks the real HTTP API to teloxide: long polling, inline keyboards, the
//! share-contact button, documents both ways, the officers' group, a restart mid-stream,
//! the webhook's secret, HTML escaping, and a 429 with `retry_after`.

use crate::support;

use pstbot::channels::telegram::config::TelegramConfig;
use pstbot::channels::telegram::webhook::{SECRET_HEADER, TelegramWebhook};
use pstbot::channels::telegram::{Telegram, polling};
use pstbot::config::{Config, DeliveryConfig, Secret};
use pstbot::dialogs::Bot;
use pstbot::message::{ChannelKind, Identity};
use pstbot::outbox::Outbox;
use pstbot::runtime::{Runtime, RuntimeParts, SystemClock};
use pstbot::store::sled::SledStore;
use pstbot::store::{DedupeKey, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::telegram_api::{Fail, FakeBotApi, Sent, TOKEN};
use tokio_util::sync::CancellationToken;

const ADMIN: i64 = -1_001_234_567_890;
/// Rina, petugas (and resepsionis) in the example config, on Telegram.
const RINA: u64 = 7001;
const BUDI: u64 = 4242;
const WAIT: Duration = Duration::from_secs(20);

fn config(dir: &Path) -> Config {
    let mut cfg = support::config(dir);
    // The officers' group as an office sets it up (the tests build the channel from it below).
    cfg.channels.set(TelegramConfig {
        token: Some(Secret(TOKEN.into())),
        admin_chat_id: Some(ADMIN),
        ..TelegramConfig::default()
    });
    for o in &mut cfg.officers {
        if o.id == "rina" {
            o.telegram_user_id = Some(RINA as i64);
        }
    }
    cfg
}

/// Quick retries, and limits loose enough that a scripted conversation is not slowed down.
fn delivery() -> DeliveryConfig {
    DeliveryConfig {
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ..support::quick_delivery(&["telegram", "officers"])
    }
}

/// pstbot's Telegram side running against the fake API: runtime on sled, outbox, polling.
struct Service {
    rt: Arc<Runtime>,
    tg: Arc<Telegram>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Service {
    fn runtime(dir: &Path) -> Arc<Runtime> {
        let cfg = config(dir);
        let bot = Arc::new(Bot::load(&cfg).unwrap());
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir, 16).unwrap());
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

    fn telegram(api: &FakeBotApi) -> Arc<Telegram> {
        Arc::new(Telegram::new(TOKEN, Some(&api.url()), Some(ADMIN)).unwrap())
    }

    /// Starts the outbox worker, and long polling unless `poll` is false (webhook tests).
    fn start(api: &FakeBotApi, dir: &Path, poll: bool) -> Service {
        let rt = Self::runtime(dir);
        let tg = Self::telegram(api);
        let chans = pstbot::channels::telegram::senders(&tg, &rt.bot.texts)
            .into_iter()
            .collect();
        let stop = CancellationToken::new();
        let mut tasks = vec![tokio::spawn(
            Arc::new(Outbox::new(rt.outbox_feed(), chans, delivery())).run(stop.clone()),
        )];
        if poll {
            tasks.push(tokio::spawn(polling::run(
                tg.clone(),
                rt.clone(),
                stop.clone(),
            )));
        }
        Service {
            rt,
            tg,
            stop,
            tasks,
        }
    }

    /// A graceful stop (as on SIGTERM).
    async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            t.await.unwrap();
        }
    }

    /// A crash: the tasks die where they are, nothing more is confirmed to Telegram.
    async fn crash(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }

    fn handled(&self, update: u32) -> bool {
        let who = Identity::new(ChannelKind::Telegram, "x");
        self.rt
            .store
            .is_handled(&DedupeKey::new(&who, &update.to_string()))
            .unwrap()
    }

    async fn outbox_empty(&self) {
        for _ in 0..2000 {
            if self.rt.store.outbox_pending(None, 10).unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the outbox did not empty");
    }
}

/// One person in a private chat: says something or presses a button, then waits for the
/// bot's answer containing a fragment.
struct Person<'a> {
    api: &'a FakeBotApi,
    id: u64,
}

impl Person<'_> {
    fn seen(&self) -> usize {
        self.api.sent_to(self.id as i64).len()
    }

    async fn say(&self, text: &str, expect: &str) -> Sent {
        let n = self.seen();
        self.api.text(self.id, text);
        self.api.expect(self.id as i64, n, expect).await
    }

    /// Presses the button whose label contains `label` under `on`.
    async fn press(&self, on: &Sent, label: &str, expect: &str) -> Sent {
        let full = on
            .buttons()
            .into_iter()
            .map(|(l, _)| l)
            .find(|l| l.contains(label))
            .unwrap_or_else(|| {
                panic!(
                    "no button {label:?} under:\n{}\n{:?}",
                    on.text,
                    on.buttons()
                )
            });
        let n = self.seen();
        self.api.press(self.id, on, &full);
        self.api.expect(self.id as i64, n, expect).await
    }
}

/// Yesterday in the office's date format (the complaint's date may not be in the future).
fn yesterday() -> String {
    let d = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Jakarta) - chrono::Duration::days(1);
    d.format("%d/%m/%Y").to_string()
}

/// Budi walks the guest book and files a complaint on Telegram, by buttons and text, with a
/// document as evidence. Returns the case number.
async fn guest_book_and_complaint(api: &FakeBotApi) -> String {
    let budi = Person { api, id: BUDI };
    let menu = budi.say("/start", "Selamat datang").await;
    assert!(menu.buttons().len() >= 7, "{:?}", menu.buttons());
    let consent = budi
        .press(&menu, "Pengaduan", "Pelindungan Data Pribadi")
        .await;
    let name = budi.press(&consent, "Ya", "nama lengkap").await;
    assert!(name.buttons().is_empty());
    budi.say("Budi O'Neil-Santoso", "e-mail").await;
    let phone = budi.say("budi@example.go.id", "Nomor HP").await;
    assert!(
        phone.asks_contact(),
        "the phone step offers the share-contact button"
    );
    // Someone else's contact card is not taken as Budi's number.
    let n = budi.seen();
    api.contact(BUDI, "+6281111111111", 9999);
    let refused = api.expect(BUDI as i64, n, "").await;
    assert!(!refused.text.contains("Jenis kelamin"), "{}", refused.text);
    let n = budi.seen();
    api.contact(BUDI, "6281234567890", BUDI);
    let gender = api.expect(BUDI as i64, n, "Jenis kelamin").await;
    let age = budi.press(&gender, "Laki-laki", "Kelompok umur").await;
    let edu = budi.press(&age, "30–39", "Pendidikan").await;
    let job = budi.press(&edu, "D4/S1", "Pekerjaan").await;
    budi.press(&job, "Pegawai swasta", "instansi").await;
    let cat = budi
        .say("CV Data_Statistik <Riset> & Co", "Kategori instansi")
        .await;
    let purpose = budi.press(&cat, "Swasta", "tujuan").await;
    let summary = budi.press(&purpose, "Penelitian", "Mohon periksa").await;
    // Escaping: the institution arrives whole, and the HTML sent is well-formed.
    assert!(
        summary.text.contains("CV Data_Statistik <Riset> & Co"),
        "{}",
        summary.text
    );
    assert!(
        summary
            .html
            .contains("CV Data_Statistik &lt;Riset&gt; &amp; Co"),
        "{}",
        summary.html
    );
    assert_eq!(summary.parse_mode.as_deref(), Some("HTML"));
    assert!(summary.text.contains("+6281234567890"), "{}", summary.text);
    let topic = budi.press(&summary, "Kirim", "tentang apa").await;
    budi.press(&topic, "Data/publikasi", "Ceritakan").await;
    budi.say(
        "Tabel kemiskinan <2025> & data_kab tidak bisa diunduh.",
        "Kapan",
    )
    .await;
    budi.say(&yesterday(), "bukti").await;
    let n = budi.seen();
    let evidence = std::fs::read(support::repo().join("tests/fixtures/kuesioner.pdf")).unwrap();
    api.document(
        BUDI as i64,
        BUDI,
        "bukti-layar.pdf",
        "application/pdf",
        evidence,
    );
    let confidential = api.expect(BUDI as i64, n, "dirahasiakan").await;
    assert!(
        api.sent_to(BUDI as i64)
            .iter()
            .skip(n)
            .any(|s| s.text.contains("bukti-layar.pdf")),
        "the evidence is acknowledged by name"
    );
    budi.press(&confidential, "Tidak", "LAPOR").await;
    let review = budi.say("-", "Mohon periksa").await;
    let done = budi.press(&review, "Kirim", "ADU-").await;
    support::case_number(&done.text).expect("a case number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_book_complaint_and_an_officer_answering_in_the_group() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), true);
    let case = guest_book_and_complaint(&api).await;

    // The case is posted in the officers' group, escaped.
    let post = api
        .expect(ADMIN, 0, &format!("Kasus baru / new case {case}"))
        .await;
    assert_eq!(post.parse_mode.as_deref(), Some("HTML"));
    // Pressed buttons were answered and their keyboards removed.
    assert!(api.calls("answerCallbackQuery").len() >= 8);
    let edits = api.calls("editMessageReplyMarkup");
    assert!(edits.len() >= 8);
    assert!(edits.iter().all(|c| c.params.get("reply_markup").is_none()));

    // Rina takes it with a command addressed to this bot, in the group.
    let n = api.sent_to(ADMIN).len();
    api.group_text(ADMIN, RINA, &format!("/ambil@pst_test_bot {case}"), None);
    api.expect(ADMIN, n, &case).await;
    // A stage change made in the group is posted there once: the post is her answer too
    // (issue 20, item 4), for `ambil` as for `pindah`.
    api.group_text(ADMIN, RINA, &format!("/pindah {case} terima"), None);
    api.expect(ADMIN, n, "Terima dan telaah").await;
    // Every row for the officers' group is out (Budi's e-mail copies wait: no mail here).
    for _ in 0..2000 {
        let pending = svc.rt.store.outbox_pending(None, 1000).unwrap();
        if !pending
            .iter()
            .any(|r| r.msg.to.channel == ChannelKind::Officers)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let posts = |fragment: &str| {
        api.sent_to(ADMIN)
            .iter()
            .skip(n)
            .filter(|s| s.text.contains(fragment))
            .count()
    };
    assert_eq!(
        posts("diambil oleh") + posts("ditangani"),
        1,
        "ambil posted once"
    );
    assert_eq!(posts("Terima dan telaah"), 1, "pindah posted once");
    // A command for another bot, and the officers' own chatter, are left alone.
    api.group_text(ADMIN, RINA, "/antrian@other_bot", None);
    api.group_text(ADMIN, RINA, "siap, saya cek dulu", None);
    // Someone who is not a listed officer is told so, and nothing happens.
    let n = api.sent_to(ADMIN).len();
    api.group_text(ADMIN, 5555, "/antrian", None);
    api.expect(ADMIN, n, "hanya untuk petugas yang terdaftar")
        .await;

    // She answers Budi by replying to the posted case message.
    let n_budi = api.sent_to(BUDI as i64).len();
    api.group_text(
        ADMIN,
        RINA,
        "Baik Pak Budi, tabel sedang kami perbaiki.",
        Some(&post),
    );
    let answer = api
        .expect(BUDI as i64, n_budi, "tabel sedang kami perbaiki")
        .await;
    assert!(answer.text.contains(&case), "{}", answer.text);

    // A letter both ways: Rina sends a file for the case, Budi gets it as a document.
    let n = api.sent_to(ADMIN).len();
    api.group_text(ADMIN, RINA, &format!("/kirim {case}"), None);
    api.expect(ADMIN, n, "kirim berkasnya sekarang").await;
    let letter = std::fs::read(support::repo().join("tests/fixtures/surat-pengantar.pdf")).unwrap();
    api.document(
        ADMIN,
        RINA,
        "jawaban-pengaduan.pdf",
        "application/pdf",
        letter.clone(),
    );
    let got = api
        .wait_for(WAIT, |api| {
            api.sent_to(BUDI as i64).iter().any(|s| {
                s.document
                    .as_ref()
                    .is_some_and(|(n, _)| n == "jawaban-pengaduan.pdf")
            })
        })
        .await;
    assert!(
        got,
        "Budi receives the letter as a document; Budi got {:?}; the group got {:?}; calls {:?}",
        api.sent_to(BUDI as i64)
            .iter()
            .rev()
            .take(3)
            .map(|s| &s.text)
            .collect::<Vec<_>>(),
        api.sent_to(ADMIN)
            .iter()
            .rev()
            .take(3)
            .map(|s| &s.text)
            .collect::<Vec<_>>(),
        api.state
            .calls
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(8)
            .map(|c| format!("{} {} {}", c.method, c.status, c.params))
            .collect::<Vec<_>>()
    );
    let doc = api
        .sent_to(BUDI as i64)
        .into_iter()
        .find_map(|s| s.document)
        .unwrap();
    assert_eq!(doc.1, letter, "the document arrives byte for byte");
    // Her reply by quoting and her letter each got one answer in the group, nothing more
    // (issue 20, item 4): give a second post the time it would take, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let group: Vec<String> = api.sent_to(ADMIN).into_iter().map(|s| s.text).collect();
    for fragment in [
        format!("Balasan untuk {case}"),
        "kirim berkasnya sekarang".to_string(),
        "terkirim ke pemohon".to_string(),
    ] {
        let seen = group.iter().filter(|t| t.contains(&fragment)).count();
        assert_eq!(seen, 1, "{fragment:?} posted {seen} times: {group:#?}");
    }
    // The evidence Budi sent was downloaded whole and kept with the case.
    assert_eq!(
        support::case_file(svc.rt.store.as_ref(), &case, "bukti-layar.pdf"),
        std::fs::read(support::repo().join("tests/fixtures/kuesioner.pdf")).unwrap()
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickers_edits_and_oversized_files_get_a_polite_answer_once() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), true);
    let m = api.message(
        BUDI as i64,
        BUDI,
        serde_json::json!({"sticker": {"file_id": "st1", "file_unique_id": "st1", "type": "regular",
            "width": 512, "height": 512, "is_animated": false, "is_video": false}}),
    );
    let sticker = api.push("message", m);
    api.expect(BUDI as i64, 0, "belum bisa kami proses").await;
    let mut edited = api.message(BUDI as i64, BUDI, serde_json::json!({"text": "halo"}));
    edited["edit_date"] = serde_json::json!(1_790_000_100);
    api.push("edited_message", edited);
    api.expect(BUDI as i64, 1, "Pesan yang diubah").await;
    let big = api.message(
        BUDI as i64,
        BUDI,
        serde_json::json!({"document": {"file_id": "BIG", "file_unique_id": "big", "file_name": "besar.pdf",
            "mime_type": "application/pdf", "file_size": 25_000_000}}),
    );
    api.push("message", big);
    api.expect(BUDI as i64, 2, "terlalu besar (maksimum 20 MB)")
        .await;
    let post = serde_json::json!({"message_id": 3, "date": 1_790_000_000,
        "chat": {"id": -100_999, "type": "channel", "title": "Kanal"}, "text": "pengumuman"});
    let last = api.push("channel_post", post);
    // Every update is confirmed (nothing retried in a loop), and none was stored.
    assert!(
        api.wait_for(WAIT, |api| api.unconfirmed() == 0
            && api.state.handed_out.lock().unwrap().contains_key(&last))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.sent_to(BUDI as i64).len(), 3, "one answer each");
    assert!(!svc.handled(sticker));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lists_page_with_arrows() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), true);
    let budi = Person {
        api: &api,
        id: BUDI,
    };
    let menu = budi.say("menu", "Selamat datang").await;
    let faq = budi.press(&menu, "Informasi", "1.").await;
    let buttons = faq.buttons();
    assert!(
        buttons
            .iter()
            .any(|(l, d)| l.starts_with('▶') && d == "p:1"),
        "{buttons:?}"
    );
    assert!(
        faq.text.contains("\n9. "),
        "the whole list is in the text:\n{}",
        faq.text
    );
    // (A person cannot press before the bot has heard Telegram's answer to its send.)
    svc.outbox_empty().await;
    api.press(
        BUDI,
        &faq,
        &buttons.iter().find(|(l, _)| l.starts_with('▶')).unwrap().0,
    );
    let flipped = api
        .wait_for(WAIT, |api| {
            api.sent_to(BUDI as i64).iter().any(|s| {
                s.message_id == faq.message_id
                    && s.buttons().iter().any(|(l, _)| l.starts_with("9. "))
            })
        })
        .await;
    assert!(flipped, "▶ shows the second page (editMessageReplyMarkup)");
    let page2 = api
        .sent_to(BUDI as i64)
        .into_iter()
        .find(|s| s.message_id == faq.message_id)
        .unwrap();
    let labels: Vec<String> = page2.buttons().into_iter().map(|(l, _)| l).collect();
    assert!(labels.iter().any(|l| l.starts_with("9. ")), "{labels:?}");
    assert!(labels.iter().any(|l| l == "◀"), "{labels:?}");
    // A button on the second page answers like the others.
    let nine = labels
        .iter()
        .find(|l| l.starts_with("9. "))
        .unwrap()
        .clone();
    let n = budi.seen();
    api.press(BUDI, &page2, &nine);
    let answer = api.expect(BUDI as i64, n, "").await;
    assert!(!answer.text.is_empty());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_stream_loses_and_repeats_nothing() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), true);
    let budi = Person {
        api: &api,
        id: BUDI,
    };
    let menu = budi.say("halo", "Selamat datang").await;
    budi.press(&menu, "Pengaduan", "Pelindungan Data Pribadi")
        .await;
    // Three answers arrive in one batch; the service handles them and then dies before its
    // next getUpdates could confirm them to Telegram.
    api.hold_confirmations(true);
    let batch = [
        api.text(BUDI, "ya"),
        api.text(BUDI, "Budi Santoso"),
        api.text(BUDI, "budi@example.go.id"),
    ];
    for u in batch {
        for _ in 0..2000 {
            if svc.handled(u) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(svc.handled(u), "update {u} handled");
    }
    api.expect(BUDI as i64, 0, "Nomor HP").await;
    svc.outbox_empty().await;
    svc.crash().await;
    api.hold_confirmations(false);
    assert!(api.unconfirmed() >= 3, "Telegram still has the batch");
    // One more message while the service is down.
    let later = api.text(BUDI, "081234567890");

    let svc = Service::start(&api, dir.path(), true);
    api.expect(BUDI as i64, 0, "Jenis kelamin").await;
    assert!(svc.handled(later));
    svc.outbox_empty().await;
    let handed = api.state.handed_out.lock().unwrap().clone();
    for u in batch {
        assert_eq!(
            handed[&u], 2,
            "update {u} was delivered again after the restart"
        );
    }
    let texts: Vec<String> = api
        .sent_to(BUDI as i64)
        .into_iter()
        .map(|s| s.text)
        .collect();
    for prompt in ["nama lengkap", "e-mail", "Nomor HP", "Jenis kelamin"] {
        let count = texts.iter().filter(|t| t.contains(prompt)).count();
        assert_eq!(
            count,
            1,
            "{prompt:?} asked once:\n{}",
            texts.join("\n---\n")
        );
    }
    // A graceful stop confirms what was handled.
    svc.stop().await;
    assert_eq!(api.unconfirmed(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_refuses_requests_without_the_secret_and_answers_after_storing() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), false);
    // setWebhook is called with the secret.
    let url = "https://pst.example.go.id/webhook/telegram".to_string();
    pstbot::channels::telegram::webhook::register(
        svc.tg.clone(),
        url.clone(),
        "s3cret-Token_1".into(),
        CancellationToken::new(),
    )
    .await;
    let set = api.calls("setWebhook");
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].params["url"], serde_json::json!(url));
    assert_eq!(
        set[0].params["secret_token"],
        serde_json::json!("s3cret-Token_1")
    );

    let router = pstbot::http::router(svc.rt.clone(), &config(dir.path()))
        .unwrap()
        .merge(pstbot::channels::telegram::webhook::routes(
            TelegramWebhook {
                tg: svc.tg.clone(),
                rt: svc.rt.clone(),
                secret: "s3cret-Token_1".into(),
            },
        ));
    let m = api.message(BUDI as i64, BUDI, serde_json::json!({"text": "halo"}));
    let update = api.update_json("message", m);
    let id = update["update_id"].as_u64().unwrap() as u32;
    let post = |secret: Option<&str>, body: String| {
        let mut b = axum::http::Request::post("/webhook/telegram")
            .header("content-type", "application/json");
        if let Some(s) = secret {
            b = b.header(SECRET_HEADER, s);
        }
        b.body(axum::body::Body::from(body)).unwrap()
    };
    for secret in [None, Some("wrong"), Some("s3cret-Token_"), Some("")] {
        let r = router
            .clone()
            .oneshot(post(secret, update.to_string()))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "secret {secret:?}");
    }
    assert!(!svc.handled(id), "a refused request changes nothing");
    assert!(
        svc.rt
            .store
            .session(&Identity::new(ChannelKind::Telegram, BUDI.to_string()))
            .unwrap()
            .is_none()
    );
    let r = router
        .clone()
        .oneshot(post(
            Some("s3cret-Token_1"),
            "{\"not\": \"an update\"".into(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = router
        .clone()
        .oneshot(post(Some("s3cret-Token_1"), update.to_string()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.into_body().collect().await.unwrap();
    // 200 means stored and the answer queued.
    assert!(svc.handled(id));
    api.expect(BUDI as i64, 0, "Selamat datang").await;
    // Telegram re-sends the same update: 200, and no second answer.
    let r = router
        .clone()
        .oneshot(post(Some("s3cret-Token_1"), update.to_string()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    svc.outbox_empty().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(api.sent_to(BUDI as i64).len(), 1);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_honoured_and_a_blocked_chat_is_reported_to_the_officers() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(&api, dir.path(), true);
    api.fail_next("sendMessage", Fail::TooManyRequests(1));
    api.text(BUDI, "halo");
    api.expect(BUDI as i64, 0, "Selamat datang").await;
    let calls = api.calls("sendMessage");
    assert_eq!(calls[0].status, 429);
    let ok = calls.iter().find(|c| c.status == 200).unwrap();
    assert!(
        ok.at.duration_since(calls[0].at) >= Duration::from_secs(1),
        "retried after {:?}, before Telegram's retry_after",
        ok.at.duration_since(calls[0].at)
    );
    svc.outbox_empty().await;

    // Budi blocks the bot: the message is given up at once and the officers are told.
    api.fail_next("sendMessage", Fail::Blocked);
    let started = Instant::now();
    api.text(BUDI, "bantuan");
    api.expect(ADMIN, 0, "gagal terkirim").await;
    let blocked: Vec<_> = api
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.status == 403)
        .collect();
    assert_eq!(blocked.len(), 1, "a permanent refusal is not retried");
    assert!(started.elapsed() < Duration::from_secs(10));
    svc.stop().await;
}

/// `pstbot serve` with a `[telegram]` section (as an office writes it): polling starts, the
/// officers' chat is the group, and Ctrl-C stops it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_telegram_by_polling_from_the_config() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = support::config_file(dir.path(), "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nadmin_chat_id = {ADMIN}\n",
        api.url()
    ));
    text = text.replace(
        "terminal = \"rina\"\n",
        &format!("terminal = \"rina\"\ntelegram_user_id = {RINA}\n"),
    );
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg, async {
        let _ = rx.await;
    }));
    let budi = Person {
        api: &api,
        id: BUDI,
    };
    budi.say("/start", "Selamat datang").await;
    // An officer's command in the group is answered in the group.
    api.group_text(ADMIN, RINA, "/hariini", None);
    api.expect(ADMIN, 0, "Hari ini / today").await;
    tx.send(()).unwrap();
    tokio::time::timeout(WAIT, served)
        .await
        .expect("serve stops")
        .unwrap()
        .unwrap();
    assert_eq!(
        api.unconfirmed(),
        0,
        "handled updates are confirmed at shutdown"
    );
}

/// `pstbot serve` in webhook mode: `setWebhook` with the secret at start, and
/// `/webhook/telegram` on its HTTP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_telegram_by_webhook_from_the_config() {
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let path = support::config_file(dir.path(), &format!("127.0.0.1:{port}"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nmode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"hook-Secret_42\"\n",
        api.url()
    ));
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg, async {
        let _ = rx.await;
    }));
    assert!(
        api.wait_for(WAIT, |api| !api.calls("setWebhook").is_empty())
            .await
    );
    assert_eq!(
        api.calls("setWebhook")[0].params["secret_token"],
        serde_json::json!("hook-Secret_42")
    );
    let m = api.message(BUDI as i64, BUDI, serde_json::json!({"text": "halo"}));
    let update = api.update_json("message", m).to_string();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/webhook/telegram");
    let mut status = 0;
    for _ in 0..100 {
        match client
            .post(&url)
            .header("content-type", "application/json")
            .header(SECRET_HEADER, "nope")
            .body(update.clone())
            .send()
            .await
        {
            Ok(r) => {
                status = r.status().as_u16();
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(status, 401);
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .header(SECRET_HEADER, "hook-Secret_42")
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    api.expect(BUDI as i64, 0, "Selamat datang").await;
    assert!(
        api.state.handed_out.lock().unwrap().is_empty(),
        "no polling in webhook mode"
    );
    tx.send(()).unwrap();
    tokio::time::timeout(WAIT, served)
        .await
        .expect("serve stops")
        .unwrap()
        .unwrap();
}

/// Issue 20, item 5: Telegram allows 20 messages a minute to a group, whoever triggered them.
/// Three officers each send 8 commands in the group: the answers (addressed to each officer in
/// the group) count against the group's limit together, and the rest wait in the outbox rather
/// than being sent at once. A listing asked again within a minute, by any officer, is answered
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officers_group_gets_twenty_messages_a_minute_whoever_asked() {
    const WALI: u64 = 7002;
    const KEPALA: u64 = 7003;
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    for o in &mut cfg.officers {
        match o.id.as_str() {
            "wali" => o.telegram_user_id = Some(WALI as i64),
            "kepala" => o.telegram_user_id = Some(KEPALA as i64),
            _ => {}
        }
    }
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16).unwrap());
    let rt = Arc::new(
        Runtime::new(RuntimeParts::new(
            bot,
            store,
            Arc::new(SystemClock),
            cfg.officers.clone(),
            pstbot::channels::officers(&cfg),
        ))
        .unwrap(),
    );
    let tg = Service::telegram(&api);
    let chans = pstbot::channels::telegram::senders(&tg, &rt.bot.texts)
        .into_iter()
        .collect();
    let mut limits = delivery();
    limits.limits.insert(
        "telegram".into(),
        pstbot::config::RateLimit {
            per_chat_per_minute: 60,
            group_per_minute: 20,
            per_second: 30,
        },
    );
    let stop = CancellationToken::new();
    let stop_sending = CancellationToken::new();
    let outbox = tokio::spawn(
        Arc::new(Outbox::new(rt.outbox_feed(), chans, limits)).run(stop_sending.clone()),
    );
    let polling = tokio::spawn(polling::run(tg.clone(), rt.clone(), stop.clone()));
    let start = Instant::now();
    // (each a different command: the same one within a minute is answered once, below)
    for i in 0..8 {
        for (k, officer) in [RINA, WALI, KEPALA].into_iter().enumerate() {
            let case = format!("ADU-2026-{:06}", 3 * i + k + 1);
            api.group_text(ADMIN, officer, &format!("/lihat {case}"), None);
        }
    }
    // Every command is handled: its answer is sent or waits in the outbox.
    let handled = api
        .wait_for(WAIT, |api| {
            let pending = rt.store.outbox_pending(None, 1000).unwrap().len();
            api.sent_to(ADMIN).len() + pending >= 24
        })
        .await;
    assert!(handled, "24 answers, sent or queued");
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(start.elapsed())).await;
    let seconds = start.elapsed().as_secs_f64();
    let sent = api.sent_to(ADMIN).len();
    // A burst of 3, then one every 3 s.
    let allowed = 3 + (seconds * 20.0 / 60.0).ceil() as usize;
    assert!(
        sent <= allowed,
        "{sent} messages to the group in {seconds:.1} s (at most {allowed})"
    );
    assert!(sent >= 3, "the group is not starved: {sent}");
    let waiting = rt.store.outbox_pending(None, 1000).unwrap().len();
    assert!(sent + waiting >= 24, "nothing is lost: {sent} + {waiting}");

    // Three officers × 8 `/antrian`, then `/hariini` from each: the group gets one answer per
    // listing within the minute, whoever asked (counted in the outbox, with the worker stopped
    // so nothing is in flight).
    stop_sending.cancel();
    outbox.await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..8 {
        for officer in [RINA, WALI, KEPALA] {
            ids.push(api.group_text(ADMIN, officer, "/antrian@pst_test_bot", None));
        }
    }
    for officer in [RINA, WALI, KEPALA] {
        ids.push(api.group_text(ADMIN, officer, "/hariini", None));
    }
    // Any command: the same `lihat` from three officers (or a double press) is answered once.
    for officer in [RINA, WALI, KEPALA, RINA] {
        ids.push(api.group_text(ADMIN, officer, "/lihat ADU-2026-000099", None));
    }
    let who = Identity::new(ChannelKind::Telegram, "x");
    let all_handled = api
        .wait_for(WAIT, |_| {
            ids.iter().all(|id| {
                rt.store
                    .is_handled(&DedupeKey::new(&who, &id.to_string()))
                    .unwrap()
            })
        })
        .await;
    assert!(all_handled, "every command handled");
    let answers: Vec<String> = rt
        .store
        .outbox_pending(None, 1000)
        .unwrap()
        .iter()
        .filter(|r| {
            let cause = r.key.split('#').next().unwrap_or_default();
            ids.iter()
                .any(|id| cause == DedupeKey::new(&who, &id.to_string()).0)
        })
        .map(|r| r.msg.text.clone())
        .collect();
    let queue_answers = answers
        .iter()
        .filter(|t| t.contains("Tidak ada kasus terbuka"))
        .count();
    assert_eq!(
        queue_answers, 1,
        "one /antrian answer in the group: {answers:#?}"
    );
    assert_eq!(
        answers.len(),
        3,
        "one /antrian, one /hariini, one /lihat: {answers:#?}"
    );
    stop.cancel();
    polling.await.unwrap();
}
