//! Reminders on a virtual clock (SPEC §5): each one reaches the right people at the right office
//! time — officers only in service hours and never on holidays, applicants never in the quiet
//! hours — disappears when its case moves on, and is sent once, also across a clock jump and a
//! restart. The clock is moved by hand and the scheduler is ticked as `pstbot serve` does.

use crate::support;

use chrono::{DateTime, Duration, Utc};
use pstbot::cases::CaseNumber;
use pstbot::message::{ChannelKind, Identity, OutboundMessage};
use pstbot::runtime::Clock;
use pstbot::store::Reminder;
use support::{Chat, submit_recommendation, wib};

fn budi() -> Identity {
    Identity::new(ChannelKind::Terminal, "budi")
}

/// The e-mail address Budi gave in the guest book: every notification also goes there.
fn budi_mail() -> Identity {
    Identity::new(ChannelKind::Email, "budi.santoso@example.go.id")
}

fn officers() -> Identity {
    Identity::officers()
}

/// The pimpinan's own chat (officer `kepala`, reached at the terminal).
fn kepala() -> Identity {
    Identity::new(ChannelKind::Terminal, "kepala")
}

/// Fires every timer due at the clock's time, as the scheduler does; returns the messages the
/// firing queued, in order.
async fn tick(t: &Chat) -> Vec<OutboundMessage> {
    let last =
        t.rt.store
            .outbox_pending(None, 1_000_000)
            .unwrap()
            .last()
            .map(|r| r.id);
    pstbot::scheduler::tick(&t.rt).await.unwrap();
    t.rt.store
        .outbox_pending(last, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|r| r.msg)
        .collect()
}

/// Sets the clock to `at` and ticks.
async fn tick_at(t: &Chat, at: DateTime<Utc>) -> Vec<OutboundMessage> {
    t.clock.set(at);
    tick(t).await
}

/// A message sent by the scheduler, with the time it was sent.
#[derive(Debug, Clone)]
struct Sent {
    at: DateTime<Utc>,
    to: Identity,
    text: String,
}

/// Lets virtual time pass until `end` the way the scheduler does: sleep until the earliest
/// timer, fire what is due, again. Returns every message sent on the way.
async fn run_until(t: &Chat, end: DateTime<Utc>) -> Vec<Sent> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let next = t.rt.store.next_timer_due().unwrap();
        let Some(next) = next.filter(|n| *n <= end) else {
            t.clock.set(end.max(t.clock.now()));
            return out;
        };
        let at = next.max(t.clock.now());
        t.clock.set(at);
        for m in tick(t).await {
            out.push(Sent {
                at,
                to: m.to,
                text: m.text,
            });
        }
    }
    panic!("timers keep falling due: {out:#?}");
}

/// The messages to `who`.
fn to<'a>(sent: &'a [Sent], who: &Identity) -> Vec<&'a Sent> {
    sent.iter().filter(|s| s.to == *who).collect()
}

/// The texts of the messages to `who`.
fn texts_to(msgs: &[OutboundMessage], who: &Identity) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.to == *who)
        .map(|m| m.text.clone())
        .collect()
}

/// The timers a case has now.
fn case_timers(t: &Chat, n: &str) -> Vec<pstbot::store::Timer> {
    t.rt.store.timers_of(&format!("case:{n}")).unwrap()
}

/// The stage a case is in.
fn stage(t: &Chat, n: &str) -> String {
    t.rt.store
        .case(&CaseNumber::parse(n).unwrap())
        .unwrap()
        .unwrap()
        .stage
}

/// Requests a paid product as the current person (new to the guest book); returns its number.
async fn submit_product(t: &mut Chat, name: &str) -> String {
    t.say("halo").await;
    t.say("2").await;
    t.fill_guest_book(name).await;
    t.say("kirim").await;
    t.say("1").await;
    t.say("2").await;
    t.say("selesai").await;
    t.say("Susenas Maret 2024 modul konsumsi").await;
    t.say("2024").await;
    t.say("Provinsi Bengkulu").await;
    t.say("1").await;
    t.say("Penelitian tesis tentang ketimpangan").await;
    t.say("lewati").await;
    let out = t.expect("kirim", &["PRD-2026-"]).await;
    support::case_number(&out).unwrap()
}

#[tokio::test]
async fn a_new_case_not_taken_within_an_hour_is_announced_once_and_a_taken_one_never() {
    let mut t = Chat::memory(); // Monday 23 November 2026, 09:00 WIB
    let rek = submit_recommendation(&mut t).await;

    let early = tick_at(&t, wib(2026, 11, 23, 9, 59)).await;
    assert!(
        texts_to(&early, &officers()).is_empty(),
        "nothing before the hour is up: {early:#?}"
    );

    let due = tick_at(&t, wib(2026, 11, 23, 10, 0)).await;
    let to_officers = texts_to(&due, &officers());
    assert_eq!(to_officers.len(), 1, "{due:#?}");
    for f in [
        "[REK-2026-000001] Kasus baru belum diambil petugas",
        "Survei Kepuasan Masyarakat terhadap Layanan Perizinan 2027",
        "ambil REK-2026-000001",
    ] {
        assert!(to_officers[0].contains(f), "{f:?} in {}", to_officers[0]);
    }
    assert!(
        !due.iter().any(|m| m.to == budi()),
        "the applicant is not told: {due:#?}"
    );
    assert!(tick(&t).await.is_empty(), "announced once");
    t.clock.advance(Duration::hours(3));
    assert!(
        !tick(&t)
            .await
            .iter()
            .any(|m| m.text.contains("belum diambil")),
        "not again later"
    );
    assert_eq!(rek, "REK-2026-000001");

    // Ani's product request at 12:00 is taken by Rina within its hour: never announced.
    t.as_terminal("ani");
    let prd = submit_product(&mut t, "Ani Lestari").await;
    assert!(
        case_timers(&t, &prd)
            .iter()
            .any(|x| matches!(x.what, Reminder::Unacknowledged { .. })),
        "the announcement is scheduled while nobody has the case"
    );
    t.clock.advance(Duration::minutes(40));
    t.as_terminal("rina");
    t.expect(&format!("ambil {prd}"), &["ditangani"]).await;
    assert!(
        !case_timers(&t, &prd)
            .iter()
            .any(|x| matches!(x.what, Reminder::Unacknowledged { .. })),
        "taking the case cancels the announcement"
    );
    let later = run_until(&t, wib(2026, 11, 23, 15, 30)).await;
    assert!(
        !later.iter().any(|s| s.text.contains("belum diambil")),
        "{later:#?}"
    );
    // Its stage reminders still come, naming who has it.
    assert!(
        later
            .iter()
            .any(|s| s.to == officers() && s.text.contains(&prd) && s.text.contains("Rina")),
        "{later:#?}"
    );
}

#[tokio::test]
async fn a_one_hour_stage_is_recalled_at_half_eighty_percent_and_due_then_overdue_to_pimpinan() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_product(&mut t, "Budi Santoso").await;
    assert_eq!(stage(&t, &n), "requested");
    t.as_terminal("rina");
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;

    assert!(
        texts_to(&tick_at(&t, wib(2026, 11, 23, 9, 29)).await, &officers()).is_empty(),
        "nothing before half time"
    );
    let sent = run_until(&t, wib(2026, 11, 25, 12, 0)).await;
    let officers_got: Vec<(DateTime<Utc>, &str)> = to(&sent, &officers())
        .iter()
        .map(|s| (s.at, s.text.as_str()))
        .collect();
    let times: Vec<DateTime<Utc>> = officers_got.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        times,
        vec![
            wib(2026, 11, 23, 9, 30),
            wib(2026, 11, 23, 9, 48),
            wib(2026, 11, 23, 10, 0),
            wib(2026, 11, 24, 10, 0),
            wib(2026, 11, 25, 10, 0),
        ],
        "{officers_got:#?}"
    );
    let stage_label = "Tahap «Menunggu penjelasan petugas»";
    let due_text = "Senin, 23 November 2026 10.00 WIB";
    let expect = [
        vec![
            stage_label,
            "sudah memakai 50% waktu SOP",
            due_text,
            "Rina (petugas PST)",
        ],
        vec![stage_label, "sudah memakai 80% waktu SOP", due_text],
        vec![
            "Batas waktu tahap «Menunggu penjelasan petugas» adalah sekarang",
            due_text,
        ],
        vec![
            stage_label,
            "melewati batas waktu",
            due_text,
            "pengingat ke-1",
            "Diteruskan ke pimpinan: Kepala BPS Provinsi",
        ],
        vec![stage_label, "melewati batas waktu", "pengingat ke-2"],
    ];
    for ((_, text), fragments) in officers_got.iter().zip(expect) {
        assert!(text.contains(&n), "{text}");
        for f in fragments {
            assert!(text.contains(f), "{f:?} in {text}");
        }
    }
    // The pimpinan hears of the overdue stage directly, and only of that.
    let chief: Vec<(DateTime<Utc>, &str)> = to(&sent, &kepala())
        .iter()
        .map(|s| (s.at, s.text.as_str()))
        .collect();
    assert_eq!(chief.len(), 2, "{chief:#?}");
    assert_eq!(chief[0].0, wib(2026, 11, 24, 10, 0));
    assert_eq!(chief[0].1, officers_got[3].1);
    assert_eq!(chief[1].0, wib(2026, 11, 25, 10, 0));
    assert!(chief[1].1.contains("pengingat ke-2"));
    // Each reminder went out once, and they are in the case history.
    assert!(tick(&t).await.is_empty());
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    let reminders: Vec<&str> = c
        .history
        .iter()
        .filter(|e| e.kind == "reminder")
        .filter_map(|e| e.note.as_deref())
        .collect();
    assert_eq!(
        reminders,
        [
            "stage_progress",
            "stage_progress",
            "stage_due",
            "overdue",
            "overdue"
        ]
    );
}

#[tokio::test]
async fn a_case_sent_on_friday_evening_reminds_officers_from_monday_opening() {
    let mut t = Chat::profile("bengkulu", wib(2026, 11, 27, 19, 0)); // Friday evening
    let n = submit_product(&mut t, "Budi Santoso").await;
    let sent = run_until(&t, wib(2026, 11, 30, 12, 0)).await;
    let officers_got = to(&sent, &officers());
    let got: Vec<(DateTime<Utc>, bool, bool)> = officers_got
        .iter()
        .map(|s| {
            (
                s.at,
                s.text.contains("belum diambil"),
                s.text.contains("Menunggu penjelasan petugas"),
            )
        })
        .collect();
    // One service hour from Friday 19:00 is Monday 09:00: half of it 08:30, 80% 08:48.
    assert_eq!(
        got,
        vec![
            (wib(2026, 11, 30, 8, 30), false, true),
            (wib(2026, 11, 30, 8, 48), false, true),
            (wib(2026, 11, 30, 9, 0), true, false),
            (wib(2026, 11, 30, 9, 0), false, true),
        ],
        "{officers_got:#?}"
    );
    assert!(officers_got.iter().all(|s| s.text.contains(&n)));
    assert!(officers_got[0].text.contains("50%"));
    assert!(
        officers_got[0]
            .text
            .contains("batas Senin, 30 November 2026 09.00 WIB")
    );
    for s in &officers_got {
        assert!(t.rt.bot.calendar.is_open_at(s.at), "{s:?}");
    }
}

#[tokio::test]
async fn officers_reminders_skip_the_christmas_holidays() {
    // Thursday 17 December 2026: a recommendation's walidata review is due in 7 working days
    // (Bengkulu's "hari" are working days, issue 20 item 11): 18, 21, 22, 23, then — after the
    // cuti bersama of the 24th, Christmas and the weekend — 28, 29 and 30 December, 15.30.
    let mut t = Chat::profile("bengkulu", wib(2026, 12, 17, 10, 0));
    let n = submit_recommendation(&mut t).await;
    t.as_terminal("wali");
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;
    let sent = run_until(&t, wib(2026, 12, 30, 12, 0)).await;
    let officers_got = to(&sent, &officers());
    for s in &officers_got {
        assert!(
            t.rt.bot.calendar.is_open_at(s.at),
            "officers are reminded only in service hours: {s:?}"
        );
    }
    let got: Vec<(DateTime<Utc>, &str)> = officers_got
        .iter()
        .map(|s| {
            let kind = if s.text.contains("50%") {
                "50%"
            } else if s.text.contains("80%") {
                "80%"
            } else {
                "other"
            };
            (s.at, kind)
        })
        .collect();
    // Service time from Thu 17 Dec 10:00 to the due: 5.5 + 8 + 7.5 × 6 = 58.5 h. Half
    // (29 h 15 min) ends Wednesday 23 Dec 08:45; 80% (46 h 48 min) Tuesday 29 Dec 11:18: the
    // holidays hold no service time.
    assert_eq!(
        got,
        vec![
            (wib(2026, 12, 23, 8, 45), "50%"),
            (wib(2026, 12, 29, 11, 18), "80%"),
        ],
        "{officers_got:#?}"
    );
    assert!(
        officers_got[1]
            .text
            .contains("batas Rabu, 30 Desember 2026 15.30 WIB"),
        "{}",
        officers_got[1].text
    );
}

#[tokio::test]
async fn a_case_moved_before_half_time_never_hears_of_the_stage_it_left() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_product(&mut t, "Budi Santoso").await;
    let before = case_timers(&t, &n);
    assert!(
        before
            .iter()
            .any(|x| x.id.contains("/requested@") && x.due == wib(2026, 11, 23, 9, 30)),
        "{before:#?}"
    );
    t.as_terminal("rina");
    t.clock.set(wib(2026, 11, 23, 9, 5));
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;
    t.clock.set(wib(2026, 11, 23, 9, 20));
    t.expect(&format!("pindah {n} jelaskan"), &["antrean"])
        .await;
    assert_eq!(stage(&t, &n), "queue");

    let after = case_timers(&t, &n);
    assert!(!after.is_empty());
    for x in &after {
        assert!(
            x.id.contains("/queue@"),
            "only the new stage's timers: {x:?}"
        );
        match &x.what {
            Reminder::StageProgress { stage, .. } | Reminder::Overdue { stage, .. } => {
                assert_eq!(stage, "queue")
            }
            other => panic!("unexpected timer {other:?}"),
        }
    }
    // Ticking past the old stage's 50%, 80% and due times sends nothing.
    for at in [
        wib(2026, 11, 23, 9, 30),
        wib(2026, 11, 23, 9, 48),
        wib(2026, 11, 23, 10, 0),
        wib(2026, 11, 24, 10, 0),
    ] {
        let msgs = tick_at(&t, at).await;
        assert!(
            texts_to(&msgs, &officers()).is_empty(),
            "at {at}: {msgs:#?}"
        );
    }
    // The queue stage (3 working days: due Thursday 26 November, closing) is recalled at its
    // half: 14 h 20 min of service time after Monday 09:20 is Wednesday 08:40.
    let sent = run_until(&t, wib(2026, 11, 25, 12, 0)).await;
    let officers_got = to(&sent, &officers());
    assert_eq!(officers_got.len(), 1, "{officers_got:#?}");
    let s = officers_got[0];
    assert_eq!(s.at, wib(2026, 11, 25, 8, 40));
    for f in [
        n.as_str(),
        "Tahap «Dalam antrean transaksi» sudah memakai 50% waktu SOP",
        "batas Kamis, 26 November 2026 15.30 WIB — Rina (petugas PST)",
    ] {
        assert!(s.text.contains(f), "{f:?} in {}", s.text);
    }
    assert!(!sent.iter().any(|s| s.text.contains("Menunggu penjelasan")));
}

/// Reminders to the applicant that the case waits on them.
fn pending_reminders(sent: &[Sent]) -> Vec<&Sent> {
    sent.iter()
        .filter(|s| s.text.starts_with("Pengingat: permohonan"))
        .collect()
}

#[tokio::test]
async fn an_applicant_is_reminded_of_a_pending_revision_after_two_and_five_working_days() {
    let mut t = Chat::memory(); // Monday 23 November 09:00
    let n = submit_recommendation(&mut t).await;
    t.as_terminal("wali");
    t.clock.set(wib(2026, 11, 23, 9, 30));
    t.expect(
        &format!("kembalikan {n} Lampirkan kuesioner versi final"),
        &["Menunggu perbaikan"],
    )
    .await;
    let sent = run_until(&t, wib(2026, 12, 4, 12, 0)).await;
    let pending = pending_reminders(&sent);
    // Two working days after Monday: Wednesday's closing; five: next Monday's.
    let when: Vec<(DateTime<Utc>, &Identity)> = pending.iter().map(|s| (s.at, &s.to)).collect();
    assert_eq!(
        when,
        vec![
            (wib(2026, 11, 25, 15, 30), &budi()),
            (wib(2026, 11, 25, 15, 30), &budi_mail()),
            (wib(2026, 11, 30, 15, 30), &budi()),
            (wib(2026, 11, 30, 15, 30), &budi_mail()),
        ],
        "{sent:#?}"
    );
    for s in &pending {
        assert_eq!(
            s.text,
            "Pengingat: permohonan REK-2026-000001 masih menunggu Bapak/Ibu (Menunggu perbaikan \
             dari Bapak/Ibu). Silakan kirim kekurangannya di sini, lalu ketik *selesai*."
        );
    }
    // While the clock is stopped for the applicant, the officers are not chased.
    assert!(to(&sent, &officers()).is_empty(), "{sent:#?}");
    assert!(tick(&t).await.is_empty());
    assert!(case_timers(&t, &n).is_empty());
}

#[tokio::test]
async fn a_recommendation_back_from_revision_is_not_announced_as_new_again() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_recommendation(&mut t).await;
    let announced = tick_at(&t, wib(2026, 11, 23, 10, 0)).await;
    assert_eq!(
        texts_to(&announced, &officers())
            .iter()
            .filter(|x| x.contains("belum diambil"))
            .count(),
        1,
        "{announced:#?}"
    );
    t.as_terminal("wali");
    t.clock.set(wib(2026, 11, 23, 10, 30));
    t.expect(
        &format!("kembalikan {n} Lampirkan kuesioner versi final"),
        &["Menunggu perbaikan"],
    )
    .await;
    // Budi revises on Tuesday, before any reminder; the case is back with the walidata.
    t.as_terminal("budi");
    t.clock.set(wib(2026, 11, 24, 11, 0));
    t.fixture("kuesioner.pdf").await;
    t.expect("selesai", &[&n]).await;
    assert_eq!(stage(&t, &n), "walidata_review");
    let sent = run_until(&t, wib(2026, 11, 25, 15, 30)).await;
    assert!(
        !sent.iter().any(|s| s.text.contains("belum diambil")),
        "a revised case is not a new case: {sent:#?}"
    );
    assert!(pending_reminders(&sent).is_empty(), "{sent:#?}");
}

#[tokio::test]
async fn documents_sent_in_time_cancel_the_applicant_reminders() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_product(&mut t, "Budi Santoso").await;
    t.as_terminal("rina");
    t.say(&format!("ambil {n}")).await;
    t.say(&format!("pindah {n} jelaskan")).await;
    t.say(&format!("pindah {n} proses")).await;
    t.expect(
        &format!("kembalikan {n} Mohon kirim surat pengantar dari kampus"),
        &["Menunggu kelengkapan"],
    )
    .await;
    let waiting = case_timers(&t, &n);
    let dues: Vec<DateTime<Utc>> = waiting
        .iter()
        .filter(|x| matches!(x.what, Reminder::ApplicantPending { .. }))
        .map(|x| x.due)
        .collect();
    assert_eq!(
        dues,
        vec![wib(2026, 11, 25, 15, 30), wib(2026, 11, 30, 15, 30)]
    );

    // Budi sends the letter on Wednesday afternoon, before the first reminder.
    let sent = run_until(&t, wib(2026, 11, 25, 15, 0)).await;
    assert!(pending_reminders(&sent).is_empty(), "{sent:#?}");
    t.as_terminal("budi");
    t.fixture("surat-pengantar.pdf").await;
    t.expect("selesai", &[&n]).await;
    assert_eq!(stage(&t, &n), "check");
    assert!(
        !case_timers(&t, &n)
            .iter()
            .any(|x| matches!(x.what, Reminder::ApplicantPending { .. }))
    );
    let sent = run_until(&t, wib(2026, 12, 4, 12, 0)).await;
    assert!(
        pending_reminders(&sent).is_empty(),
        "no reminder of documents already sent: {sent:#?}"
    );
    // The check stage (1 working day) chases the officers instead.
    assert!(
        to(&sent, &officers())
            .iter()
            .any(|s| s.text.contains("Pemeriksaan kelengkapan persyaratan")),
        "{sent:#?}"
    );
}

#[tokio::test]
async fn a_rating_asked_late_in_the_evening_is_asked_again_at_seven_not_at_night() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.say(&format!("pindah {n} terima")).await;
    // The officer conveys the outcome at 22:00; 24 hours later is in the quiet hours.
    t.clock.set(wib(2026, 11, 23, 22, 0));
    t.expect(
        &format!("pindah {n} jawab Tabel sudah dapat diunduh kembali."),
        &["Hasil tindak lanjut disampaikan"],
    )
    .await;
    assert_eq!(stage(&t, &n), "answered");
    let sent = run_until(&t, wib(2026, 11, 25, 12, 0)).await;
    let ratings: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.text.contains("menilai layanan"))
        .collect();
    assert_eq!(ratings.len(), 2, "{sent:#?}");
    assert_eq!(ratings[0].to, budi());
    assert_eq!(ratings[1].to, budi_mail(), "the same reminder by e-mail");
    assert_eq!(ratings[1].text, ratings[0].text);
    assert_eq!(ratings[0].at, wib(2026, 11, 25, 7, 0));
    assert_eq!(
        ratings[0].text,
        format!(
            "Mohon kesediaan Bapak/Ibu menilai layanan kami untuk {n}: ketik *menu* lalu pilih \
             *Beri penilaian layanan*. Terima kasih."
        )
    );
    // Nothing at all reaches Budi in the quiet hours.
    for s in to(&sent, &budi()) {
        let local = t.rt.bot.calendar.local(s.at).time();
        assert!(
            local >= chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap()
                && local < chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            "{s:?}"
        );
    }
}

#[tokio::test]
async fn an_appointment_is_recalled_a_day_and_an_hour_before() {
    let mut t = Chat::memory(); // Monday 09:00
    t.say("halo").await;
    t.say("5").await;
    t.fill_guest_book("Budi Santoso").await;
    t.expect("kirim", &["Kapan"]).await;
    t.expect("25/11/2026 10:00", &["keperluan"]).await;
    t.expect("Konsultasi data kemiskinan", &["Mohon periksa"])
        .await;
    t.expect("kirim", &["Rabu, 25 November 2026 10.00 WIB"])
        .await;

    assert!(tick_at(&t, wib(2026, 11, 24, 9, 59)).await.is_empty());
    let day_before = tick_at(&t, wib(2026, 11, 24, 10, 0)).await;
    let text = "Pengingat janji temu di BPS Provinsi Bengkulu: Rabu, 25 November 2026 10.00 WIB \
                — Konsultasi data kemiskinan. Sampai jumpa.";
    assert_eq!(texts_to(&day_before, &budi()), vec![text.to_string()]);
    assert_eq!(texts_to(&day_before, &budi_mail()), vec![text.to_string()]);
    assert_eq!(day_before.len(), 2, "{day_before:#?}");
    assert!(tick(&t).await.is_empty(), "once");

    assert!(tick_at(&t, wib(2026, 11, 25, 8, 59)).await.is_empty());
    let hour_before = tick_at(&t, wib(2026, 11, 25, 9, 0)).await;
    assert_eq!(texts_to(&hour_before, &budi()), vec![text.to_string()]);
    assert_eq!(texts_to(&hour_before, &budi_mail()), vec![text.to_string()]);
    assert_eq!(hour_before.len(), 2, "{hour_before:#?}");
    let sent = run_until(&t, wib(2026, 11, 27, 12, 0)).await;
    assert!(sent.is_empty(), "{sent:#?}");
}

#[tokio::test]
async fn reminders_of_many_cases_and_idle_dialogs_due_together_fire_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let idle = ["dewi", "eko"].map(|p| Identity::new(ChannelKind::Terminal, p));
    {
        let mut t = Chat::sled(dir.path(), support::monday_morning());
        for (p, name) in [
            ("budi", "Budi Santoso"),
            ("ani", "Ani Lestari"),
            ("siti", "Siti Aminah"),
        ] {
            t.as_terminal(p);
            cases.push(submit_product(&mut t, name).await);
        }
        for who in &idle {
            t.as_terminal(&who.address);
            t.expect("halo", &["Selamat datang"]).await;
        }
        // Back a day later: three cases never taken and two idle dialogs, all due in one tick.
        let msgs = tick_at(&t, wib(2026, 11, 24, 10, 0)).await;
        let to_officers = texts_to(&msgs, &officers());
        for n in &cases {
            let announced = to_officers
                .iter()
                .filter(|x| x.contains(n.as_str()) && x.contains("belum diambil"))
                .count();
            assert_eq!(announced, 1, "{n}: {msgs:#?}");
        }
        for who in &idle {
            let closed = texts_to(&msgs, who);
            assert_eq!(closed.len(), 1, "{msgs:#?}");
            assert!(closed[0].starts_with("Percakapan ini kami tutup"));
            let session = t.rt.store.session(who).unwrap().unwrap();
            assert!(session.active.is_none());
        }
        assert!(tick(&t).await.is_empty(), "each fired once");
    }
    // Reopened at the same time: nothing fires again.
    let t = Chat::sled(dir.path(), wib(2026, 11, 24, 10, 0));
    assert!(tick(&t).await.is_empty(), "fired once, across a restart");
}

#[tokio::test]
async fn an_idle_dialog_is_closed_politely_after_a_day_once() {
    let mut t = Chat::memory(); // Monday 09:00
    t.expect("halo", &["Selamat datang"]).await;
    t.expect("1", &["setuju"]).await;
    assert!(
        t.rt.store
            .session(&budi())
            .unwrap()
            .unwrap()
            .active
            .is_some()
    );

    assert!(tick_at(&t, wib(2026, 11, 24, 8, 59)).await.is_empty());
    let closed = tick_at(&t, wib(2026, 11, 24, 9, 0)).await;
    assert_eq!(closed.len(), 1, "{closed:#?}");
    assert_eq!(closed[0].to, budi());
    assert_eq!(
        closed[0].text,
        "Percakapan ini kami tutup karena belum ada balasan. Data yang sudah Bapak/Ibu kirim \
         tetap tersimpan. Ketik *menu* kapan saja untuk melanjutkan."
    );
    assert!(
        t.rt.store
            .session(&budi())
            .unwrap()
            .unwrap()
            .active
            .is_none()
    );
    assert!(tick(&t).await.is_empty());
    t.clock.advance(Duration::days(3));
    assert!(tick(&t).await.is_empty(), "closed once");
    // Budi's next word starts afresh.
    t.expect("ya", &["Selamat datang"]).await;

    // Talking keeps the dialog open: a message at 22:30 moves the close to the next day's
    // 22:30, which is in the quiet hours — so it waits for 07:00.
    t.clock.set(wib(2026, 11, 27, 22, 30));
    t.expect("1", &["setuju"]).await;
    let sent = run_until(&t, wib(2026, 11, 30, 12, 0)).await;
    let when: Vec<DateTime<Utc>> = sent.iter().map(|s| s.at).collect();
    assert_eq!(when, vec![wib(2026, 11, 29, 7, 0)], "{sent:#?}");
    assert!(sent[0].text.starts_with("Percakapan ini kami tutup"));
}

#[tokio::test]
async fn after_a_clock_jump_only_the_latest_stage_reminder_is_sent_once() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_product(&mut t, "Budi Santoso").await;
    t.as_terminal("rina");
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;
    let pending: Vec<String> = case_timers(&t, &n).iter().map(|x| x.id.clone()).collect();
    assert_eq!(pending.len(), 4, "50%, 80%, due, overdue: {pending:#?}");

    // The service was down for ten days.
    t.clock.set(wib(2026, 12, 3, 9, 0));
    let msgs = tick(&t).await;
    let to_officers = texts_to(&msgs, &officers());
    assert_eq!(
        to_officers.len(),
        1,
        "one reminder, not one per point: {msgs:#?}"
    );
    assert!(
        to_officers[0].contains("melewati batas waktu"),
        "{}",
        to_officers[0]
    );
    assert_eq!(texts_to(&msgs, &kepala()), to_officers);
    assert!(tick(&t).await.is_empty(), "nothing more at the same time");
    // The overdue reminders go on from here, one a day at the due's time of day (10:00).
    let sent = run_until(&t, wib(2026, 12, 4, 12, 0)).await;
    let officers_got: Vec<(DateTime<Utc>, bool)> = to(&sent, &officers())
        .iter()
        .map(|s| (s.at, s.text.contains("melewati batas waktu")))
        .collect();
    assert_eq!(
        officers_got,
        vec![
            (wib(2026, 12, 3, 10, 0), true),
            (wib(2026, 12, 4, 10, 0), true)
        ],
        "{sent:#?}"
    );
}

#[tokio::test]
async fn after_a_short_outage_past_the_due_only_the_due_reminder_is_sent() {
    let mut t = Chat::memory(); // Monday 09:00
    let n = submit_product(&mut t, "Budi Santoso").await;
    t.as_terminal("rina");
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;
    // Down from 09:00 to 10:30: the 50%, 80% and due points were missed, the overdue one not yet.
    let msgs = tick_at(&t, wib(2026, 11, 23, 10, 30)).await;
    let to_officers = texts_to(&msgs, &officers());
    assert_eq!(to_officers.len(), 1, "{msgs:#?}");
    assert!(
        to_officers[0].contains(&format!(
            "[{n}] Batas waktu tahap «Menunggu penjelasan petugas» adalah sekarang"
        )),
        "{}",
        to_officers[0]
    );
    assert!(texts_to(&msgs, &kepala()).is_empty());
    assert!(tick(&t).await.is_empty());
}

#[tokio::test]
async fn timers_survive_a_restart_and_fire_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = {
        let mut t = Chat::sled(dir.path(), support::monday_morning());
        let n = submit_product(&mut t, "Budi Santoso").await;
        t.as_terminal("rina");
        t.expect(&format!("ambil {n}"), &["ditangani"]).await;
        assert_eq!(case_timers(&t, &n).len(), 4);
        n
    };
    // Restarted after the half time: the 50% reminder is sent now, once.
    {
        let t = Chat::sled(dir.path(), wib(2026, 11, 23, 9, 35));
        assert_eq!(case_timers(&t, &n).len(), 4, "the timers were kept");
        let msgs = tick(&t).await;
        let to_officers = texts_to(&msgs, &officers());
        assert_eq!(to_officers.len(), 1, "{msgs:#?}");
        assert!(to_officers[0].contains("50% waktu SOP"));
        assert!(to_officers[0].contains(&n));
        assert!(tick(&t).await.is_empty());
    }
    // Restarted again at the same time: the reminder is not repeated; the next one is kept.
    {
        let t = Chat::sled(dir.path(), wib(2026, 11, 23, 9, 35));
        assert!(tick(&t).await.is_empty(), "fired once, across restarts");
        let left: Vec<DateTime<Utc>> = case_timers(&t, &n).iter().map(|x| x.due).collect();
        assert_eq!(
            left,
            vec![
                wib(2026, 11, 23, 9, 48),
                wib(2026, 11, 23, 10, 0),
                wib(2026, 11, 24, 10, 0),
            ]
        );
        let msgs = tick_at(&t, wib(2026, 11, 23, 9, 48)).await;
        assert_eq!(texts_to(&msgs, &officers()).len(), 1, "{msgs:#?}");
        assert!(msgs[0].text.contains("80% waktu SOP"));
    }
}

/// Issue 20, item 1: a reminder that fell due while the service was down waits for the next
/// opening when the service comes back on a day the office is closed. A product request of
/// Wednesday 13 May 2026 11.00 (one service hour, due 12.00) is taken; the service stops
/// before half time and comes back on Friday 15 May 10.00, *cuti bersama* after Ascension Day:
/// nothing goes to the officers until Monday 18 May 08.00.
#[tokio::test]
async fn a_reminder_missed_while_down_waits_for_the_opening_not_a_holiday() {
    let dir = tempfile::tempdir().unwrap();
    let n = {
        let mut t = Chat::sled(dir.path(), wib(2026, 5, 13, 11, 0));
        let n = submit_product(&mut t, "Budi Santoso").await;
        t.as_terminal("rina");
        t.expect(&format!("ambil {n}"), &["ditangani"]).await;
        n
    };
    let monday = wib(2026, 5, 18, 8, 0);
    {
        let t = Chat::sled(dir.path(), wib(2026, 5, 15, 10, 0));
        let msgs = tick(&t).await;
        assert!(texts_to(&msgs, &officers()).is_empty(), "{msgs:#?}");
        assert!(texts_to(&msgs, &kepala()).is_empty(), "{msgs:#?}");
        let dues: Vec<DateTime<Utc>> = case_timers(&t, &n).iter().map(|x| x.due).collect();
        assert!(dues.iter().all(|d| *d == monday), "{dues:?}");
        assert!(tick(&t).await.is_empty());
    }
    // Restarted again on Monday at the opening: the officers hear of it now, once.
    {
        let t = Chat::sled(dir.path(), monday);
        let msgs = tick(&t).await;
        let got = texts_to(&msgs, &officers());
        assert_eq!(got.len(), 1, "{msgs:#?}");
        assert!(got[0].contains(&n), "{}", got[0]);
        assert!(tick(&t).await.is_empty());
    }
}
