//! Personal-data rights (UU PDP, SPEC §6): `datasaya`, `hapusdata` with its confirmation, the
//! retention purge, and backup/restore of the store.

use crate::support;

use chrono::Duration;
use pstbot::cases::CaseNumber;
use pstbot::guestbook::{Appointment, Guest, Rating};
use pstbot::message::{ChannelKind, Identity, InboundBody};
use pstbot::runtime::FixedClock;
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use pstbot::store::{Commit, DedupeKey, SentRecord, WebLogEntry};
use std::sync::Arc;
use support::{Chat, monday_morning, submit_complaint, submit_complaint_as};

fn budi() -> Identity {
    Identity::new(ChannelKind::Terminal, "budi")
}

/// Delivers every queued message the way the outbox worker records it.
fn deliver_all(store: &dyn Store) {
    for row in store.outbox_pending(None, 10_000).unwrap() {
        store
            .outbox_sent(SentRecord::delivered(
                &row,
                row.created_at,
                Some(format!("wamid.TEST{}", row.id)),
            ))
            .unwrap();
    }
}

/// Every key and value in the store, as one byte string (through the backup writer).
fn everything(store: &SledStore) -> Vec<u8> {
    let mut out = Vec::new();
    store.backup_to(&mut out).unwrap();
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Closes a case as an officer's last step would.
fn close(store: &dyn Store, n: &str, at: chrono::DateTime<chrono::Utc>) {
    let mut c = store.case(&CaseNumber::parse(n).unwrap()).unwrap().unwrap();
    c.open = false;
    c.version += 1;
    let mut commit = Commit::new(
        DedupeKey(format!("test:close:{n}")),
        at,
        Identity::new(ChannelKind::Desk, "test"),
        Default::default(),
    );
    commit.session = None;
    commit.case_updates.push(c);
    store.commit(commit).unwrap();
}

#[tokio::test]
async fn mydata_shows_what_is_stored() {
    let mut t = Chat::memory();
    let n = submit_complaint(&mut t, false).await;
    t.expect(
        "datasaya",
        &[
            "Budi Santoso",
            "budi.santoso@example.go.id",
            &n,
            "2026-01 (Senin",
        ],
    )
    .await;
    // The consent text agreed to is kept with its version.
    let g = t.rt.store.guest_of(&budi()).unwrap().unwrap();
    assert_eq!(g.consent_version, "2026-01");
    assert!(g.consent_text.contains("UU 27/2022"), "{}", g.consent_text);
}

/// A complaint with a file (`bukti-*.pdf`) by the person `t` speaks as; returns its number.
async fn complain_with_file(t: &mut Chat, name: &str) -> String {
    t.say("menu").await;
    t.say("3").await;
    t.fill_guest_book(name).await;
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("2", &["Ceritakan"]).await;
    t.expect(
        "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak awal bulan, sudah dicoba dari tiga komputer berbeda.",
        &["Kapan"],
    )
    .await;
    // An SMS carries no file: the dialog does not ask for one there.
    if t.who.channel == ChannelKind::Sms {
        t.expect("20/11/2026", &["dirahasiakan"]).await;
    } else {
        t.expect("20/11/2026", &["bukti"]).await;
        t.file("bukti-layar.pdf", b"%PDF-1.4 tangkapan layar".to_vec())
            .await;
    }
    t.expect("tidak", &["LAPOR"]).await;
    t.expect("-", &["Mohon periksa"]).await;
    let out = t.expect("kirim", &["ADU-2026-"]).await;
    support::case_number(&out).unwrap()
}

/// Issue 17 item 8: `datasaya` shows everything stored about the person, on every channel:
/// the complaint's answers (long texts clipped), the uploaded file's name, ratings, visits,
/// appointments and which officer looked at the data, and when.
#[tokio::test]
async fn mydata_shows_every_kind_of_record_on_every_channel() {
    for (channel, address) in [
        (ChannelKind::Terminal, "budi"),
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Sms, "+6281234567891"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Email, "budi.santoso@example.go.id"),
    ] {
        let mut t = Chat::memory();
        t.as_person(channel, address);
        let who = Identity::new(channel, address);
        let n = complain_with_file(&mut t, "Budi Santoso").await;
        let g = t.rt.store.guest_of(&who).unwrap().unwrap();
        let at = monday_morning();
        let mut c = Commit::new(
            DedupeKey(format!("test:records:{address}")),
            at,
            who.clone(),
            Default::default(),
        );
        c.session = None;
        c.rating = Some(Rating {
            guest_id: Some(g.id.clone()),
            case: CaseNumber::parse(&n),
            at,
            score: 4,
            comment: Some("Petugas ramah dan cepat".into()),
            skm: None,
        });
        c.appointment = Some(Appointment {
            guest_id: g.id.clone(),
            booked_at: at,
            at: at + Duration::days(2),
            topic: "Konsultasi data kemiskinan".into(),
        });
        t.rt.store.commit(c).unwrap();
        t.as_terminal("rina");
        t.expect(&format!("lihat {n}"), &[&n]).await;
        t.as_person(channel, address);
        let out = say_as_the_channel_does(&mut t, "datasaya").await;
        for f in [
            "Budi Santoso",
            n.as_str(),
            "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak awal",
            "…",
            if channel == ChannelKind::Sms {
                "Identitas dirahasiakan"
            } else {
                "bukti-layar.pdf"
            },
            "Penilaian",
            "4/5",
            "Petugas ramah dan cepat",
            "Kunjungan",
            "Janji temu",
            "Konsultasi data kemiskinan",
            "Petugas yang melihat data",
            "petugas rina (lihat",
        ] {
            assert!(
                out.contains(f),
                "[{channel:?}] datasaya lacks {f:?}:\n{out}"
            );
        }
        assert!(
            !out.contains("dari tiga komputer berbeda"),
            "long texts are clipped: {out}"
        );
        assert!(!out.contains("Anda"), "{out}");
        assert!(
            out.contains(&format!("({}): pengaduan", channel.as_str())),
            "the visit with its channel: {out}"
        );
        // In English too.
        t.say("bahasa en").await;
        t.expect(
            "mydata",
            &["Your ratings", "Officers who looked", "officer rina"],
        )
        .await;
    }
}

/// The web chat transcript is counted and pointed at, not repeated on the phone.
#[tokio::test]
async fn mydata_counts_the_web_chat_transcript() {
    let mut t = Chat::memory();
    t.as_person(ChannelKind::Web, "web-session-9");
    t.say("menu").await;
    t.say("8").await;
    t.fill_guest_book("Ani Lestari").await;
    t.expect("kirim", &["tersimpan"]).await;
    for (i, text) in ["halo", "menu", "8"].iter().enumerate() {
        let entry = WebLogEntry {
            at: monday_morning(),
            visitor: true,
            text: text.to_string(),
            choices: Vec::new(),
            files: Vec::new(),
            officer: false,
        };
        t.rt.store
            .web_log_append("web-session-9", &format!("m{i}"), &entry)
            .unwrap();
    }
    t.expect("datasaya", &["Ani Lestari", "obrolan web: 3 pesan"])
        .await;
}

#[tokio::test]
async fn erasure_leaves_no_trace_of_the_person_but_keeps_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path(), 16).unwrap());
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let mut t = Chat::with_store(store.clone(), clock.clone());
    let n = submit_complaint(&mut t, false).await;
    // A file sent after the case was filed is attached to it.
    let doc = b"%PDF-1.4 surat keterangan Budi Santoso".to_vec();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&doc));
    t.file("bukti-budi.pdf", doc).await;
    assert!(store.blob(&hash).unwrap().is_some());
    t.say("halo, apakah ada kabar?").await;
    let visits_before = store.visits().unwrap().len();
    deliver_all(store.as_ref());
    let needles = [
        "Budi Santoso".to_string(),
        "budi.santoso@example.go.id".into(),
        "6281234567890".into(),
        "Tabel kemiskinan".into(),
        "Dinas Komunikasi".into(),
        "apakah ada kabar".into(),
        "bukti-budi.pdf".into(),
        "\"address\":\"budi\"".into(),
        "terminal:budi".into(),
        Guest::id_for(&budi()),
        hash.clone(),
    ];
    let before = everything(&store);

    t.expect("hapusdata", &["menghapus data pribadi", &n, "Lanjutkan?"])
        .await;
    assert!(
        t.last
            .iter()
            .any(|m| m.choices.iter().any(|c| c.label == "Ya, hapus data saya")),
        "the confirmation offers a button"
    );
    t.expect("ya", &["sudah kami hapus"]).await;
    assert!(
        t.sent_to(&Identity::officers()).contains("ditutup"),
        "the officers learn that the open case was closed"
    );
    deliver_all(store.as_ref());
    store.flush().unwrap();

    let all = everything(&store);
    for needle in &needles {
        assert!(
            contains(&before, needle),
            "`{needle}` was stored before the erasure"
        );
        assert!(!contains(&all, needle), "`{needle}` is still stored");
    }
    // Nor in the guest-book export or the monthly report (with personal data included).
    let period = pstbot::reports::Period::month(&t.rt.bot.calendar, "2026-11").unwrap();
    let export =
        pstbot::reports::export::guestbook(store.as_ref(), &t.rt.bot, period, true).unwrap();
    let csv = pstbot::reports::table::to_csv(&export).unwrap();
    assert_eq!(
        export.rows.len(),
        visits_before,
        "the visits are still listed"
    );
    for needle in &needles {
        assert!(!contains(&csv, needle), "`{needle}` is in the export");
    }
    // Reports still count the case and the visit, anonymously.
    let cases = store
        .cases_created_between(
            monday_morning() - Duration::days(1),
            monday_morning() + Duration::days(1),
        )
        .unwrap();
    assert_eq!(cases.len(), 1);
    assert!(!cases[0].open);
    assert_eq!(cases[0].title, pstbot::privacy::ERASED_TITLE);
    assert!(cases[0].guest_id.starts_with("ANON-"));
    assert_eq!(store.visits().unwrap().len(), visits_before);
    assert!(store.guests().unwrap().is_empty());
    // Coming back, the person is a stranger: the guest book starts again with consent.
    t.as_terminal("budi");
    t.say("menu").await;
    t.expect("3", &["persetujuan"]).await;
}

#[tokio::test]
async fn erasure_is_asked_once_more_and_can_be_cancelled() {
    let mut t = Chat::memory();
    submit_complaint(&mut t, false).await;
    t.expect("hapusdata", &["Lanjutkan?"]).await;
    t.send(InboundBody::Choice("hapusdata:batal".into())).await;
    assert!(t.sent_to(&budi()).contains("tidak dihapus"));
    assert!(t.rt.store.guest_of(&budi()).unwrap().is_some());
    // Any other answer also keeps the data.
    t.expect("hapusdata", &["Lanjutkan?"]).await;
    t.expect("menu", &["tidak dihapus"]).await;
    assert!(t.rt.store.guest_of(&budi()).unwrap().is_some());
}

/// Says `text` as the person's channel brings it: by e-mail, as a mail (a proven sender's).
async fn say_as_the_channel_does(t: &mut Chat, text: &str) -> String {
    if t.who.channel == ChannelKind::Email {
        t.send(InboundBody::Mail {
            text: format!("{text}\n"),
            files: Vec::new(),
            thread: Default::default(),
        })
        .await
    } else {
        t.say(text).await
    }
}

/// Issue 17 item 7: the erasure is confirmed in every way the question offers it, on every
/// channel: its number (SMS and e-mail list the buttons as "1. Ya, hapus data saya"), its label
/// typed, an everyday yes; and "2" or "tidak" keeps the data.
#[tokio::test]
async fn erasure_is_confirmed_by_its_number_its_label_or_a_plain_yes_on_every_channel() {
    for (channel, address) in [
        (ChannelKind::Sms, "+6285712345678"),
        (ChannelKind::Web, "web-session-7"),
        (ChannelKind::Whatsapp, "+6285712345678"),
        (ChannelKind::Telegram, "777"),
        (ChannelKind::Terminal, "ani"),
        (ChannelKind::Email, "ani.lestari@example.go.id"),
    ] {
        for (confirm, erased) in [
            ("1", true),
            ("Ya, hapus data saya", true),
            ("iya hapus aja", true),
            ("2", false),
            ("gak jadi", false),
        ] {
            let mut t = Chat::memory();
            t.as_person(channel, address);
            let who = Identity::new(channel, address);
            t.say("menu").await;
            t.say("8").await;
            t.fill_guest_book("Ani Lestari").await;
            t.expect("kirim", &["tersimpan"]).await;
            assert!(t.rt.store.guest_of(&who).unwrap().is_some());
            let asked = say_as_the_channel_does(&mut t, "hapusdata").await;
            assert!(asked.contains("Lanjutkan?"), "[{channel:?}] {asked}");
            assert!(asked.contains("Ya, hapus data saya"), "{asked}");
            let out = say_as_the_channel_does(&mut t, confirm).await;
            assert_eq!(
                t.rt.store.guest_of(&who).unwrap().is_none(),
                erased,
                "[{channel:?}] {confirm:?}: {out}"
            );
        }
    }
}

#[tokio::test]
async fn the_retention_purge_erases_only_persons_inactive_long_enough() {
    let mut t = Chat::memory();
    let t0 = monday_morning();
    let open = submit_complaint_as(&mut t, "budi", "Budi Santoso", false).await;
    let old = submit_complaint_as(&mut t, "siti", "Siti Aminah", false).await;
    let recent = submit_complaint_as(&mut t, "andi", "Andi Wijaya", false).await;
    close(t.rt.store.as_ref(), &old, t0);
    close(t.rt.store.as_ref(), &recent, t0);
    // Andi writes again 400 days later.
    t.clock.set(t0 + Duration::days(400));
    t.as_terminal("andi");
    t.say("menu").await;

    // One day short of the retention (730 days by default): nobody is purged.
    t.clock.set(t0 + Duration::days(729));
    assert_eq!(t.rt.purge_inactive().await.unwrap(), 0);
    t.clock.set(t0 + Duration::days(731));
    assert_eq!(t.rt.purge_inactive().await.unwrap(), 1);
    let store = &t.rt.store;
    let siti = Identity::new(ChannelKind::Terminal, "siti");
    assert!(
        store.guest_of(&siti).unwrap().is_none(),
        "Siti was inactive"
    );
    assert!(
        store.guest_of(&budi()).unwrap().is_some(),
        "Budi's case is open"
    );
    let andi = Identity::new(ChannelKind::Terminal, "andi");
    assert!(store.guest_of(&andi).unwrap().is_some(), "Andi came back");
    let c = store
        .case(&CaseNumber::parse(&old).unwrap())
        .unwrap()
        .unwrap();
    assert!(c.form.is_empty() && c.guest_id.starts_with("ANON-"));
    assert!(
        store
            .case(&CaseNumber::parse(&open).unwrap())
            .unwrap()
            .unwrap()
            .open
    );
    assert_eq!(
        store
            .audit_log()
            .unwrap()
            .iter()
            .filter(|a| a.action == "retention_purge")
            .count(),
        1
    );
    // Running it again finds nothing more to do.
    assert_eq!(t.rt.purge_inactive().await.unwrap(), 0);
}

#[tokio::test]
async fn the_running_scheduler_purges_at_start_and_stops_promptly() {
    let mut t = Chat::memory();
    let t0 = monday_morning();
    let old = submit_complaint_as(&mut t, "siti", "Siti Aminah", false).await;
    close(t.rt.store.as_ref(), &old, t0);
    let siti = Identity::new(ChannelKind::Terminal, "siti");
    t.clock.set(t0 + Duration::days(731));
    support::run_scheduler_until(&t.rt, "the scheduler did not purge at start", || {
        t.rt.store.guest_of(&siti).unwrap().is_none()
    })
    .await;
}

#[tokio::test]
async fn officers_reading_personal_data_are_logged_and_only_the_head_reads_the_log() {
    let mut t = Chat::memory();
    let n = submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.expect(&format!("lihat {n}"), &[&n]).await;
    t.expect("audit", &["this command is for", "pimpinan"])
        .await;
    t.as_terminal("kepala");
    let log = t.expect("audit", &["rina lihat", &n]).await;
    assert!(!log.contains("kepala lihat"), "{log}");
    let entries = t.rt.store.audit_log().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].officer, "rina");
    assert_eq!(entries[0].subject, n);
}

/// The consent states the office's actual retention period (`privacy.retention`), in words a
/// person reads, in its long form and in the SMS one (issue 19, item 10).
#[tokio::test]
async fn the_consent_states_the_configured_retention_period() {
    for (days, words_id, words_en) in [(730, "2 tahun", "2 years"), (180, "6 bulan", "6 months")] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = support::config(dir.path());
        cfg.privacy.retention = std::time::Duration::from_secs(days * 86_400);
        for (channel, address) in [
            (ChannelKind::Whatsapp, "+6285712345678"),
            (ChannelKind::Sms, "+6285712345678"),
        ] {
            let mut t = Chat::from_config(
                &cfg,
                Arc::new(pstbot::store::memory::MemoryStore::new()),
                Arc::new(FixedClock::new(monday_morning())),
            );
            t.as_person(channel, address);
            t.say("menu").await;
            let consent = t.say("8").await;
            assert!(
                consent.contains(words_id),
                "[{channel:?}] {days} d: {consent}"
            );
            t.say("english").await;
            t.say("menu").await;
            let consent = t.say("8").await;
            assert!(
                consent.contains(words_en),
                "[{channel:?}] {days} d: {consent}"
            );
        }
    }
}
