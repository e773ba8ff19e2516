//! A complaint filed entirely by SMS: the gateway posts each SMS to `/webhook/sms` on
//! `pstbot serve`'s router, pstbot's answers go out through the outbox to a fake gateway on
//! 127.0.0.1, and the person reads them there — numbered menus, long texts split with part
//! markers, and no more exchanges than the SOP needs.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pstbot::channels::sms::SmsConfig;
use pstbot::config::Secret;
use pstbot::dialogs::Bot;
use pstbot::outbox::Outbox;
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::Store;
use pstbot::store::memory::MemoryStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::gateway::{FakeGateway, Received};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const SECRET: &str = "sms-s3cret";
const ANI: &str = "+6285712345678";

static IDS: AtomicU64 = AtomicU64::new(1);

struct Sms {
    app: axum::Router,
    gw: FakeGateway,
    rt: Arc<Runtime>,
    stop: CancellationToken,
    /// Every exchange: what the person typed, and the SMS parts they got back.
    log: Vec<(String, Vec<String>)>,
}

impl Sms {
    async fn start() -> Sms {
        let gw = FakeGateway::start(Vec::new()).await;
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = support::config(dir.path());
        cfg.channels.set(SmsConfig {
            gateway_url: Some(gw.url()),
            api_key: Some(Secret("gw-key".into())),
            sender: Some("BPS1700".into()),
            webhook_secret: Some(Secret(SECRET.into())),
        });
        let delivery = support::quick_delivery(&["sms"]);
        let clock = Arc::new(FixedClock::new(support::monday_morning()));
        let bot = Arc::new(Bot::load(&cfg).unwrap());
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
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
        let chans = pstbot::app::channels(&cfg, &rt, CancellationToken::new())
            .unwrap()
            .senders;
        let stop = CancellationToken::new();
        tokio::spawn(Arc::new(Outbox::new(rt.outbox_feed(), chans, delivery)).run(stop.clone()));
        Sms {
            app: pstbot::http::router(rt.clone(), &cfg).unwrap(),
            gw,
            rt,
            stop,
            log: Vec::new(),
        }
    }

    fn to_ani(&self) -> Vec<Received> {
        self.gw
            .delivered()
            .into_iter()
            .filter(|r| r.to == ANI)
            .collect()
    }

    /// Ani sends an SMS (from her phone, as the gateway reports it) and reads every part
    /// pstbot answers; `expect` must be in the answer.
    async fn say(&mut self, text: &str, expect: &str) -> String {
        let before = self.to_ani().len();
        let id = format!("gw-in-{}", IDS.fetch_add(1, Ordering::Relaxed));
        let body = serde_json::json!({ "id": id, "from": "0857-1234-5678", "text": text });
        let status = self
            .app
            .clone()
            .oneshot(
                Request::post("/webhook/sms")
                    .header("content-type", "application/json")
                    .header("x-sms-secret", SECRET)
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK);
        // The webhook answers once stored; the outbox then sends every part.
        for _ in 0..2000 {
            let pending = self.rt.store.outbox_pending(None, 100).unwrap();
            if !pending.iter().any(|r| r.msg.to.address == ANI) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let parts: Vec<String> = self
            .to_ani()
            .into_iter()
            .skip(before)
            .map(|r| r.text)
            .collect();
        // What the phone shows: the parts in order, markers removed.
        let answer: String = parts
            .iter()
            .map(|p| match p.split_once(") ") {
                Some((m, rest)) if m.starts_with('(') && m.contains('/') => rest,
                _ => p.as_str(),
            })
            .collect();
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat(&answer).contains(&flat(expect)),
            "after {text:?} expected {expect:?} in:\n{}",
            parts.join("\n")
        );
        self.log.push((text.to_string(), parts));
        answer
    }
}

/// GSM-7 or UCS-2 length limits of one SMS part (with a part marker when split).
fn fits_one_part(p: &str) -> bool {
    let gsm = p
        .chars()
        .all(|c| c.is_ascii() || "£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà€".contains(c));
    if gsm {
        p.chars().count() <= 160
    } else {
        p.encode_utf16().count() <= 70
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_filed_entirely_by_sms() {
    let mut s = Sms::start().await;
    let menu = s.say("halo", "Selamat datang").await;
    // Menus are numbered lines.
    assert!(menu.contains("1. ") && menu.contains("Pengaduan"), "{menu}");
    let number: String = menu
        .lines()
        .filter_map(|l| {
            let l = l.split_once(") ").map(|(_, r)| r).unwrap_or(l);
            let (num, label) = l.split_once(". ")?;
            (label.contains("Pengaduan") && num.chars().all(|c| c.is_ascii_digit()))
                .then(|| num.to_string())
        })
        .next()
        .unwrap_or_else(|| panic!("no numbered Pengaduan line:\n{menu}"));
    s.say(&number, "Pelindungan Data Pribadi").await;
    s.say("ya", "nama lengkap").await;
    s.say("Ani Lestari", "e-mail").await;
    // The phone number is known from the SMS: Ani only confirms it.
    s.say("ani@example.ac.id", ANI).await;
    s.say("ya", "Jenis kelamin").await;
    s.say("2", "Kelompok umur").await;
    s.say("2", "Pendidikan").await;
    s.say("5", "Pekerjaan").await;
    s.say("1", "instansi").await;
    s.say("Universitas Bengkulu", "Kategori instansi").await;
    s.say("6", "tujuan").await;
    s.say("1", "Mohon periksa").await;
    s.say("kirim", "tentang apa").await;
    s.say("2", "Ceritakan").await;
    s.say(
        "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak minggu lalu.",
        "Kapan",
    )
    .await;
    // SMS cannot carry a file: the optional evidence is not asked for.
    let next = s.say("20/11/2026", "dirahasiakan").await;
    assert!(!next.contains("bukti"), "{next}");
    s.say("tidak", "LAPOR").await;
    s.say("-", "Mohon periksa").await;
    let done = s.say("kirim", "ADU-2026-").await;
    let case = support::case_number(&done).unwrap();
    assert!(done.contains("10 hari kerja"), "{done}");

    // The case is on record with Ani's complaint.
    let c =
        s.rt.store
            .case(&pstbot::cases::CaseNumber::parse(&case).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(c.origin.address, ANI);
    assert_eq!(c.origin.channel, pstbot::message::ChannelKind::Sms);

    // Every part fits one SMS; long answers carry part markers in order.
    for (said, parts) in &s.log {
        assert!(!parts.is_empty(), "no answer to {said:?}");
        for p in parts {
            assert!(fits_one_part(p), "part too long after {said:?}: {p:?}");
        }
        if parts.len() > 1 && parts.iter().all(|p| p.starts_with('(')) {
            let k = parts.len();
            assert!(parts[0].starts_with(&format!("(1/{k}) ")), "{parts:?}");
        }
    }
    // The fewest exchanges the SOP allows: the menu, consent, the guest book's ten answers
    // and its confirmation, then the complaint's five questions (no file on SMS) and its
    // confirmation — no more.
    let exchanges = s.log.len();
    assert_eq!(
        exchanges,
        20,
        "{:#?}",
        s.log.iter().map(|(t, _)| t).collect::<Vec<_>>()
    );
    // The whole complaint costs Ani at most 25 SMS parts (issue 19: it was 46): SMS has its
    // own shorter texts where they are long (menu, consent, summaries, receipt).
    let parts: usize = s.log.iter().map(|(_, p)| p.len()).sum();
    let per_exchange: Vec<String> = s
        .log
        .iter()
        .map(|(said, p)| format!("{said:?}: {} {p:?}", p.len()))
        .collect();
    println!("SMS parts per exchange: {per_exchange:#?} (total {parts})");
    assert!(parts <= 25, "{parts} SMS parts: {per_exchange:#?}");
    // Consent (the longest text) takes a handful of GSM-7 parts, not UCS-2's many.
    let (_, consent) = &s.log[1];
    assert!(consent.len() <= 5, "{consent:#?}");
    assert!(
        consent.iter().all(|p| p.chars().count() <= 153),
        "{consent:#?}"
    );
    // Every part went to the gateway with the key and the sender.
    assert!(
        s.gw.received()
            .iter()
            .all(|r| r.authorization == "Bearer gw-key")
    );
    s.stop.cancel();
}
