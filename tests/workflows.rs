//! Cases moving through their SOP workflows by officers' commands, as scripts: the applicant
//! and the officers take turns in one runtime (as `pstbot chat` with `/as` does). Every path of
//! SPEC §3 — approve, return and resubmit, incomplete documents, payment, escalation, rating —
//! with the applicant's notifications and the due dates on the office calendar.

use crate::support;

use pstbot::cases::CaseNumber;
use pstbot::message::{ChannelKind, Identity, InboundBody};
use support::{Chat, submit_recommendation, wib};

fn budi() -> Identity {
    Identity::new(ChannelKind::Terminal, "budi")
}

fn officers() -> Identity {
    Identity::officers()
}

async fn case_stage(t: &Chat, n: &str) -> (String, bool) {
    let c =
        t.rt.store
            .case(&CaseNumber::parse(n).unwrap())
            .unwrap()
            .unwrap();
    (c.stage, c.open)
}

#[tokio::test]
async fn bengkulu_recommendation_returned_revised_verified_signed_and_delivered() {
    let mut t = Chat::memory(); // Monday 23 November 2026, 09:00 WIB
    let n = submit_recommendation(&mut t).await;
    assert_eq!(n, "REK-2026-000001");
    // The officers' chat hears of the new case.
    assert!(
        t.sent_to(&officers())
            .contains("Kasus baru / new case REK-2026-000001")
    );
    assert_eq!(case_stage(&t, &n).await, ("walidata_review".into(), true));

    // The walidata sees it in the queue with its 7-day stage due date, and returns it.
    t.as_terminal("wali");
    t.expect(
        "antrian",
        &[
            "REK-2026-000001",
            "Diverifikasi walidata",
            "Rabu, 2 Desember 2026 15.30 WIB",
        ],
    )
    .await;
    t.expect("kembalikan REK-2026-000001", &["kurang lengkap"])
        .await;
    t.clock.advance(chrono::Duration::hours(2));
    t.expect(
        "kembalikan REK-2026-000001 Lampirkan kuesioner versi final dan jadwal lapangan",
        &["Menunggu perbaikan"],
    )
    .await;
    let to_budi = t.sent_to(&budi());
    assert!(
        to_budi.contains("Lampirkan kuesioner versi final"),
        "the applicant is told why:\n{to_budi}"
    );
    assert!(
        !to_budi.contains("Batas waktu tahap ini"),
        "no due date while waiting on the applicant:\n{to_budi}"
    );
    assert_eq!(case_stage(&t, &n).await.0, "revision");

    // Budi sends the revised questionnaire and says he is done.
    t.as_terminal("budi");
    let got = t.fixture("kuesioner.pdf").await;
    assert!(
        got.contains("dilampirkan pada REK-2026-000001") && got.contains("selesai"),
        "{got}"
    );
    assert!(t.sent_to(&officers()).contains("kuesioner.pdf"));
    t.say("Jadwal lapangan: Maret–April 2027.").await;
    assert!(
        t.sent_to(&officers()).contains("Jadwal lapangan"),
        "forwarded to officers"
    );
    t.clock.advance(chrono::Duration::days(1)); // Tuesday 11:00
    let done = t.say("selesai").await;
    assert!(done.contains("REK-2026-000001"), "{done}");
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(c.stage, "walidata_review");
    assert_eq!(c.stops.len(), 1);
    assert!(c.stops[0].1.is_some(), "the clock stop is closed");
    assert_eq!(c.attachments.len(), 3);

    // The walidata approves; BPS verification has 10 days.
    t.as_terminal("wali");
    t.expect("pindah REK-2026-000001 setujui", &["Diverifikasi BPS"])
        .await;
    assert!(
        t.sent_to(&budi())
            .contains("Selasa, 8 Desember 2026 15.30 WIB"),
        "{}",
        t.sent_to(&budi())
    );
    // The walidata may not take BPS's steps.
    t.expect("pindah REK-2026-000001 lengkap", &["tidak boleh"])
        .await;
    assert_eq!(case_stage(&t, &n).await.0, "bps_verification");

    // The petugas verifies and drafts; may not sign.
    t.as_terminal("rina");
    t.expect("ambil REK-2026-000001", &["ditangani"]).await;
    t.expect(
        "pindah REK-2026-000001 lengkap",
        &["Surat rekomendasi sedang disusun"],
    )
    .await;
    t.expect("pindah REK-2026-000001 ajukan", &["tanda tangan"])
        .await;
    t.expect("pindah REK-2026-000001 tandatangani", &["tidak boleh"])
        .await;
    // The pimpinan signs.
    t.as_terminal("kepala");
    t.expect("pindah REK-2026-000001 tandatangani", &["ditandatangani"])
        .await;
    // The petugas sends the letter: the file reaches Budi and the case moves.
    t.as_terminal("rina");
    t.expect("kirim REK-2026-000001", &["kirim berkasnya sekarang"])
        .await;
    t.fixture("surat-pengantar.pdf").await;
    let to_budi = t.sent_to(&budi());
    assert!(
        to_budi.contains("[berkas / file: surat-pengantar.pdf"),
        "{to_budi}"
    );
    assert!(
        to_budi.contains("Beri penilaian layanan") || to_budi.contains("penilaian"),
        "{to_budi}"
    );
    assert_eq!(case_stage(&t, &n).await.0, "letter_sent");

    // Budi rates it; the case closes.
    t.as_terminal("budi");
    t.say("menu").await;
    t.expect("7", &["REK-2026-000001"]).await;
    t.say("1").await;
    t.say("5").await;
    t.say("-").await;
    let end = t.say("tidak").await;
    assert!(end.contains("Terima kasih"), "{end}");
    assert_eq!(case_stage(&t, &n).await, ("closed".into(), false));
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    let kinds: Vec<&str> = c.history.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "submitted",
        "kembalikan",
        "applicant_file",
        "applicant_message",
        "diperbaiki",
        "setujui",
        "taken",
        "lengkap",
        "ajukan",
        "tandatangani",
        "officer_file",
        "kirim_surat",
        "nilai",
    ] {
        assert!(kinds.contains(&k), "history lacks {k}: {kinds:?}");
    }
    // Closed cases leave the queue.
    t.as_terminal("rina");
    t.expect("antrian", &["Tidak ada kasus terbuka"]).await;
}

#[tokio::test]
async fn national_due_date_skips_weekends_nyepi_idul_fitri_and_cuti_bersama() {
    let mut t = Chat::profile("nasional", wib(2026, 3, 12, 10, 0));
    let n = submit_recommendation(&mut t).await;
    assert!(
        t.last.iter().any(|m| m.text.contains("14 hari kerja")),
        "the national standard is told"
    );
    t.as_terminal("rina");
    t.clock.set(wib(2026, 3, 12, 15, 0)); // Thursday: the file is complete
    // 14 working days after Thu 12 March, skipping weekends, cuti bersama 18, 20, 23, 24 March,
    // Nyepi 19 March, Idul Fitri 21–22 March and Good Friday 3 April: Thursday 9 April, closing.
    t.expect(&format!("pindah {n} lengkap"), &["Evaluasi"])
        .await;
    let shown = t
        .expect(
            &format!("lihat {n}"),
            &["Batas SOP / SOP due: Kamis, 9 April 2026 15.30 WIB"],
        )
        .await;
    assert!(
        shown.contains("Lampiran") || shown.contains("kuesioner.pdf"),
        "{shown}"
    );
    // Returned to the applicant from evaluation: the clock stops while they work on it.
    t.clock.set(wib(2026, 3, 16, 9, 0)); // Monday
    t.expect(
        &format!("kembalikan {n} Mohon jelaskan metode penarikan sampel"),
        &["Menunggu kelengkapan"],
    )
    .await;
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(
        c.overall_due, None,
        "no due date while the clock is stopped"
    );
    t.as_terminal("budi");
    t.clock.set(wib(2026, 3, 25, 9, 0)); // Wednesday after the holidays
    t.expect("selesai", &[&n]).await;
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    // Back in examination: the file is not complete again yet, so the 14 days wait too
    // (issue 20, item 14): no SOP due date until the petugas says it is complete.
    assert_eq!(c.stage, "examination");
    assert_eq!(c.overall_due, None, "re-examination is not counted");
    t.as_terminal("rina");
    t.clock.set(wib(2026, 3, 27, 10, 0)); // Friday: complete again
    t.expect(&format!("pindah {n} lengkap"), &["Evaluasi"])
        .await;
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    // Working days used before the return: Fri 13 and Mon 16 (the day a stop begins counts
    // as used, like the day of receipt does not). 12 remain from Friday 27 March, when the
    // file was complete again: 30, 31 Mar, 1, 2, 6, 7, 8, 9, 10, 13, 14, 15 Apr (Good Friday
    // 3 April skipped) → Wednesday 15 April 15.30 — not Monday 13 April, which counted the
    // re-examination of 25–27 March.
    assert_eq!(c.overall_due, Some(wib(2026, 4, 15, 15, 30)));
}

#[tokio::test]
async fn complaint_is_acknowledged_escalated_answered_and_rated() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, true).await;
    assert!(t.last.iter().any(|m| m.text.contains("10 hari kerja")));
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(
        c.stage_due,
        Some(wib(2026, 11, 23, 10, 0)),
        "acknowledged within one service hour"
    );

    t.as_terminal("rina");
    let shown = t
        .expect(
            &format!("lihat {n}"),
            &["dirahasiakan", "Topik pengaduan: Data/publikasi"],
        )
        .await;
    assert!(!shown.contains("Budi"), "{shown}");
    t.expect(&format!("eskalasi {n}"), &["Tidak ada langkah seperti itu"])
        .await; // not before it is taken up
    t.expect(&format!("pindah {n} terima"), &["Sedang ditelaah"])
        .await;
    assert!(t.sent_to(&budi()).contains("sedang ditelaah"));
    // 10 working days after Monday 23 November 2026: Monday 7 December, 15.30.
    assert!(
        t.sent_to(&budi())
            .contains("Senin, 7 Desember 2026 15.30 WIB"),
        "{}",
        t.sent_to(&budi())
    );
    t.expect(
        &format!("eskalasi {n} Dugaan pelanggaran perlu keputusan pimpinan"),
        &["Ditindaklanjuti pimpinan"],
    )
    .await;
    t.expect(&format!("pindah {n} jawab"), &["perlu catatan"])
        .await;
    t.as_terminal("kepala");
    assert!(
        t.expect(&format!("lihat {n}"), &["Budi Santoso"])
            .await
            .contains("Budi Santoso"),
        "pimpinan sees the complainant"
    );
    t.expect(
        &format!("pindah {n} jawab Petugas telah ditegur dan tabel sudah dapat diunduh."),
        &["Hasil tindak lanjut disampaikan"],
    )
    .await;
    assert!(t.sent_to(&budi()).contains("Petugas telah ditegur"));

    t.as_terminal("budi");
    t.say("menu").await;
    t.expect("7", &[&n]).await;
    t.say("1").await;
    t.say("4").await;
    t.say("-").await;
    let end = t.say("tidak").await;
    assert!(end.contains("kami tutup"), "{end}");
    assert_eq!(case_stage(&t, &n).await, ("closed".into(), false));
}

#[tokio::test]
async fn paid_product_with_incomplete_documents_billing_and_payment() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.say("2").await;
    t.fill_guest_book("Ani Lestari").await;
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
    let out = t.expect("kirim", &["PRD-2026-000001"]).await;
    let n = support::case_number(&out).unwrap();
    t.as_terminal("rina");
    t.expect(&format!("pindah {n} jelaskan"), &["antrean"])
        .await;
    t.expect(&format!("pindah {n} proses"), &["kelengkapan"])
        .await;
    t.expect(
        &format!("kembalikan {n} Mohon kirim surat pengantar dari kampus"),
        &["Menunggu kelengkapan"],
    )
    .await;
    assert!(
        t.sent_to(&Identity::new(ChannelKind::Terminal, "budi"))
            .contains("surat pengantar dari kampus")
    );
    // The applicant completes the documents.
    t.as_terminal("budi");
    t.fixture("surat-pengantar.pdf").await;
    t.expect("selesai", &[&n]).await;
    assert_eq!(case_stage(&t, &n).await.0, "check");
    // Billing code sent as a file; the case waits for payment (no due date).
    t.as_terminal("rina");
    t.expect(&format!("pindah {n} lengkap"), &["billing"]).await;
    t.say(&format!("kirim {n}")).await;
    t.file(
        "kode-billing.pdf",
        b"%PDF-1.4 billing 820261123000001".to_vec(),
    )
    .await;
    assert_eq!(case_stage(&t, &n).await.0, "payment_pending");
    t.as_terminal("budi");
    t.expect(
        "Sudah saya bayar lewat bank.",
        &["diteruskan ke petugas", "selesai"],
    )
    .await;
    t.expect("selesai", &[&n]).await;
    assert_eq!(case_stage(&t, &n).await.0, "preparation");
    t.as_terminal("rina");
    t.say(&format!("kirim {n}")).await;
    t.file("tabel-kemiskinan.xlsx", b"PK\x03\x04 product".to_vec())
        .await;
    assert_eq!(case_stage(&t, &n).await.0, "delivered");
    assert!(t.sent_to(&budi()).contains("tabel-kemiskinan.xlsx"));
}

#[tokio::test]
async fn officer_commands_are_refused_to_applicants_and_wrong_roles() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let before =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    // An applicant typing officer commands changes nothing: the text goes to the officers.
    for cmd in [
        "antrian".to_string(),
        format!("lihat {n}"),
        format!("ambil {n}"),
        format!("tugaskan {n} rina"),
        format!("balas {n} halo"),
        format!("pindah {n} terima"),
        format!("kembalikan {n} alasan"),
        format!("eskalasi {n}"),
        format!("kirim {n}"),
        "tamu rek Budi".to_string(),
        "panggil rek".to_string(),
        "hariini".to_string(),
    ] {
        // (a single word is first asked about: for the officer, or the menu? A message naming
        // the applicant's own case number shows its status, as the applicant sees it.)
        let mut out = t.say(&cmd).await;
        if out.contains("Kirim ke petugas") {
            out = t.say("1").await;
        }
        let status = out.contains("Permohonan Bapak/Ibu (ketik nomornya");
        if status {
            // Back outside any form, as the next day.
            t.clock.advance(chrono::Duration::hours(25));
        }
        assert!(
            out.contains("diteruskan ke petugas") || status,
            "{cmd}: {out}"
        );
        assert!(!out.contains("Kasus terbuka"), "{cmd}: {out}");
    }
    let after =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(
        (after.stage.as_str(), after.assignee.as_ref()),
        (before.stage.as_str(), None)
    );

    // Wrong roles.
    t.as_terminal("wali");
    t.expect(&format!("pindah {n} terima"), &["tidak boleh"])
        .await;
    t.expect("tamu rek Ani", &["peran"]).await;
    t.expect(&format!("kirim {n}"), &["peran"]).await;
    t.expect(&format!("tugaskan {n} rina"), &["peran"]).await;
    t.as_terminal("rina");
    // Unknown case, forbidden transition, missing reason, unknown officer.
    t.expect("lihat ADU-2026-000099", &["tidak ditemukan"])
        .await;
    t.expect("pindah ADU-2026-00009x terima", &["bukan nomor kasus"])
        .await;
    t.expect(&format!("pindah {n} jawab Sudah"), &["tidak berlaku"])
        .await;
    t.expect(&format!("pindah {n} terbang"), &["tidak ada"])
        .await;
    t.expect(&format!("pindah {n}"), &["Langkah berikut", "terima"])
        .await;
    t.as_terminal("kepala");
    t.expect(&format!("tugaskan {n} siapa"), &["tidak ada"])
        .await;
    t.expect(&format!("tugaskan {n} rina"), &["ditugaskan"])
        .await;
    let after =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(after.stage, "received");
    assert_eq!(after.assignee.as_deref(), Some("rina"));
}

#[tokio::test]
async fn officers_reply_and_the_applicant_is_told_when_to_expect_an_answer() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    t.clock.set(wib(2026, 11, 23, 19, 0)); // evening
    let out = t
        .expect(
            "Apakah ada kabar?",
            &[
                "diteruskan ke petugas",
                "di luar jam layanan",
                "Selasa, 24 November 2026 08.00 WIB",
            ],
        )
        .await;
    assert!(out.contains(&n));
    assert!(t.sent_to(&officers()).contains("Apakah ada kabar?"));
    t.as_terminal("rina");
    t.expect(
        &format!("balas {n} Sedang kami periksa, besok kami kabari."),
        &["diteruskan ke pemohon"],
    )
    .await;
    assert!(t.sent_to(&budi()).contains("Sedang kami periksa"));
    // Replying to the forwarded message answers its case, without a command.
    let forwarded = format!("[{n}] Pesan pemohon / applicant wrote:\nApakah ada kabar?");
    let out = t
        .reply_to(&forwarded, "Besok pagi kami telepon, Bapak.")
        .await;
    assert!(out.contains("diteruskan ke pemohon"), "{out}");
    assert!(t.sent_to(&budi()).contains("Besok pagi kami telepon"));
    // A non-command that quotes nothing is not sent anywhere.
    let out = t.say("Besok pagi kami telepon").await;
    assert!(
        out.contains("tidak dikenal") && !t.last.iter().any(|m| m.to == budi()),
        "{out}"
    );
}

#[tokio::test]
async fn walk_in_visitors_get_queue_numbers_and_today_counts_them() {
    let mut t = Chat::memory();
    support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.expect(
        "tamu rek Siti Aminah",
        &["R-001", "Siti Aminah", "waiting ahead: 0"],
    )
    .await;
    t.expect(
        "tamu rek Joko",
        &["R-002", "waiting ahead: 1", "estimated wait: 15"],
    )
    .await;
    t.expect("visitor prd Ani", &["P-001"]).await;
    t.expect("tamu bank Ani", &["rek, prd, adu"]).await;
    t.expect("panggil rek", &["R-001"]).await;
    t.expect("tamu rek Dewi", &["R-003", "waiting ahead: 1"])
        .await;
    // Four walk-ins and Budi's guest book entry for his complaint.
    t.expect(
        "hariini",
        &[
            "ADU: baru / new 1",
            "Tamu / visitors: 5",
            "Antrean / queue R: 3 nomor, 1 dipanggil",
        ],
    )
    .await;
    let visits = t.rt.store.visits().unwrap();
    assert!(
        visits
            .iter()
            .any(|v| v.name.as_deref() == Some("Siti Aminah") && v.channel == ChannelKind::Desk)
    );
    // The next day the numbers start again.
    t.clock.advance(chrono::Duration::days(1));
    t.expect("tamu rek Budi", &["R-001"]).await;
}

#[tokio::test]
async fn a_revision_file_without_done_keeps_waiting_and_other_messages_reach_officers() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.say(&format!("pindah {n} terima")).await;
    t.say(&format!(
        "kembalikan {n} Mohon kirim tangkapan layar pesan galat"
    ))
    .await;
    t.as_terminal("budi");
    let bad = t.file("virus.exe", b"MZ".to_vec()).await;
    assert!(bad.contains("tidak diterima"), "{bad}");
    t.file("galat.png", b"\x89PNG\r\n".to_vec()).await;
    assert_eq!(case_stage(&t, &n).await.0, "info_needed");
    let out = t.send(InboundBody::Text("done".into())).await;
    assert!(out.contains(&n), "{out}");
    assert_eq!(case_stage(&t, &n).await.0, "review");
    // Saying done again when nothing waits: one word is asked about, then passed on.
    let out = t.say("selesai").await;
    assert!(out.contains("Kirim ke petugas"), "{out}");
    let out = t.say("1").await;
    assert!(out.contains("diteruskan"), "{out}");
}

#[tokio::test]
async fn lubuklinggau_counts_thirty_working_days_from_complete_recording() {
    let mut t = Chat::profile("lubuklinggau", wib(2026, 11, 23, 9, 0));
    let n = submit_recommendation(&mut t).await;
    assert!(
        t.last.iter().any(|m| m.text.contains("30 hari kerja")),
        "the Lubuklinggau standard is told"
    );
    t.as_terminal("rina");
    t.expect(&format!("pindah {n} terekam"), &["verifikasi"])
        .await;
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    // 30 working days after Monday 23 November 2026, skipping weekends and 24–25 December:
    // 24, 25, 26, 27, 30 Nov (5), 1–4, 7–11, 14–18, 21–23 Dec (5+4+5+5+3 = 22), 28–31 Dec (26),
    // and the first working days of 2027 (the holiday file lists 2026 only): 1 Jan (27), 4, 5, 6 Jan.
    assert_eq!(c.overall_due, Some(wib(2027, 1, 6, 15, 30)));
    t.expect(&format!("pindah {n} lengkap"), &["disusun"]).await;
    t.expect(&format!("pindah {n} ajukan"), &["tanda tangan"])
        .await;
    t.as_terminal("kepala");
    t.expect(&format!("pindah {n} terbitkan"), &["terbit"])
        .await;
    t.as_terminal("rina");
    t.say(&format!("kirim {n}")).await;
    t.fixture("surat-pengantar.pdf").await;
    assert_eq!(case_stage(&t, &n).await.0, "letter_sent");
    assert!(t.sent_to(&budi()).contains("surat-pengantar.pdf"));
}

#[tokio::test]
async fn notifications_carry_their_kind_and_case_but_dialog_replies_do_not() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let receipt = t
        .last
        .iter()
        .find(|m| m.to == budi() && m.text.contains(&n))
        .expect("the receipt names the case");
    let topic = receipt
        .topic
        .as_ref()
        .expect("the receipt is a notification");
    assert_eq!(topic.kind, "case_received");
    assert_eq!(topic.case.as_deref(), Some(n.as_str()));
    // A plain dialog answer is not a notification.
    t.say("halo").await;
    assert!(
        t.last
            .iter()
            .filter(|m| m.to == budi())
            .all(|m| m.topic.is_none()),
        "{:?}",
        t.last
    );
    t.as_terminal("rina");
    t.expect(
        &format!("balas {n} Sudah kami terima."),
        &["diteruskan ke pemohon"],
    )
    .await;
    let reply = t.last.iter().find(|m| m.to == budi()).expect("sent");
    let topic = reply
        .topic
        .as_ref()
        .expect("an officer's reply is a notification");
    assert_eq!(topic.kind, "officer_reply");
    assert_eq!(
        topic.params,
        vec![n.clone(), "Sudah kami terima.".to_string()]
    );
}

#[tokio::test]
async fn the_guest_book_keeps_the_email_address_for_notifications() {
    let mut t = Chat::memory();
    support::submit_complaint(&mut t, false).await;
    let guest = t.rt.store.guest_of(&budi()).unwrap().expect("registered");
    let email = guest.email().expect("the guest book asks for an e-mail");
    assert!(email.contains('@'), "{email}");
}

/// Issue 20, item 3: time left is shown in the unit of its SLA. A complaint received on
/// Tuesday 17 March 2026 at 15.00 has one service hour to be taken up: half an hour that day,
/// half an hour on Wednesday 25 March (Nyepi, Idul Fitri and their *cuti bersama* lie between).
/// That is 1:00 of service time left, not "1 working day".
#[tokio::test]
async fn time_left_is_shown_in_the_unit_of_its_sla() {
    let mut t = Chat::profile("bengkulu", wib(2026, 3, 17, 15, 0));
    let n = support::submit_complaint_on(&mut t, "budi", "Budi Santoso", false, "16/03/2026").await;
    t.as_terminal("rina");
    let hour = "Rabu, 25 Maret 2026 08.30 WIB (sisa / left 1:00 jam:menit / h:min)";
    t.expect(&format!("lihat {n}"), &[hour]).await;
    let queue = t.expect("antrian", &[hour]).await;
    assert!(!queue.contains("hari kerja"), "{queue}");
    // Under review the SLA is 10 working days: shown in working days.
    t.say(&format!("pindah {n} terima")).await;
    t.expect(&format!("lihat {n}"), &["sisa / left 10 hari kerja"])
        .await;
}

/// Issue 20, item 2: the applicant is told the SOP's own deadline ("paling lambat …") beside
/// the stage's, at submission, on each stage change and in the status. National standard:
/// the file is complete on Thursday 12 March 2026 at 15.00; evaluation (7 working days) is due
/// Monday 30 March, the 14 working days on Thursday 9 April.
#[tokio::test]
async fn the_applicant_is_told_the_sop_deadline_at_submission_on_changes_and_in_the_status() {
    let mut t = Chat::profile("nasional", wib(2026, 3, 12, 10, 0));
    let n = submit_recommendation(&mut t).await;
    t.as_terminal("rina");
    t.clock.set(wib(2026, 3, 12, 15, 0));
    t.say(&format!("pindah {n} lengkap")).await;
    let told = t.sent_to(&budi());
    assert!(
        told.contains("Batas waktu tahap ini: Senin, 30 Maret 2026 15.30 WIB"),
        "{told}"
    );
    assert!(
        told.contains(&format!(
            "permohonan {n} selesai paling lambat Kamis, 9 April 2026 15.30 WIB"
        )),
        "{told}"
    );
    t.as_terminal("budi");
    t.say("menu").await;
    let status = t.say("4").await; // Status permohonan saya
    assert!(
        status.contains("30 Maret 2026 15.30 WIB; selesai paling lambat Kamis, 9 April 2026"),
        "{status}"
    );

    // Bengkulu's SOP clock runs from submission: the receipt says both dates.
    let mut t = Chat::memory(); // Monday 23 November 2026, 09:00 WIB
    let n = submit_recommendation(&mut t).await;
    let receipt = t.sent_to(&budi());
    assert!(
        receipt.contains("Batas waktu tahap ini: Rabu, 2 Desember 2026 15.30 WIB"),
        "{receipt}"
    );
    assert!(
        receipt.contains(&format!(
            "permohonan {n} selesai paling lambat Rabu, 6 Januari 2027 15.30 WIB"
        )),
        "{receipt}"
    );
}

/// Issue 20, item 11: Bengkulu's SOP-1-103 "7 hari" are working days (as its SOP-1-101 writes
/// "3 hari" for "3 hari kerja"). A request received Monday 16 March 2026 at 10.00 is due for
/// the walidata's review on Wednesday 1 April (17 March, then 25 March to 1 April: Nyepi, Idul
/// Fitri and their *cuti bersama* do not count), not on Monday 23 March, a *cuti bersama* day.
#[tokio::test]
async fn bengkulu_recommendation_days_are_working_days() {
    let mut t = Chat::profile("bengkulu", wib(2026, 3, 16, 10, 0));
    let n = submit_recommendation(&mut t).await;
    let receipt = t.sent_to(&budi());
    assert!(
        receipt.contains("Batas waktu tahap ini: Rabu, 1 April 2026 15.30 WIB"),
        "{receipt}"
    );
    // 30 working days overall: Wednesday 6 May 2026.
    assert!(
        receipt.contains(&format!(
            "permohonan {n} selesai paling lambat Rabu, 6 Mei 2026 15.30 WIB"
        )),
        "{receipt}"
    );
}

/// Issue 20, item 12: SOP-1-107 step 5 gives receipt of a complaint to the petugas layanan;
/// the receptionist (steps 3–4) only directs the person.
#[tokio::test]
async fn a_complaint_is_received_by_the_petugas_layanan_not_the_receptionist() {
    use pstbot::cases::flow::{self, FlowError, Who};
    use pstbot::config::Role;
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let c =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    let bot = &t.rt.bot;
    let wf = bot.workflows.get(&c.number.service).unwrap();
    let terima = wf.transition("terima").unwrap();
    let take = |role: Role| {
        let roles = [role];
        let who = Who::Officer {
            id: "x",
            roles: &roles,
        };
        flow::apply(wf, &bot.calendar, &c, terima, &who, None, c.created_at)
    };
    assert!(
        matches!(take(Role::Resepsionis), Err(FlowError::NotAllowed { .. })),
        "the receptionist may not receive it"
    );
    assert_eq!(take(Role::Petugas).unwrap().stage, "review");
}

/// Issue 20, item 13: SOP-1-101 step 5, "maksimal waktu tunggu antrian 3 hari kerja sejak
/// transaksi dibuat": the queue's 3 working days count from the request (the transaction),
/// not from the officer's explanation. Requested Monday 4 May 2026 09.00, explained late on
/// Wednesday 6 May: the queue is still due Thursday 7 May 15.30 (5, 6, 7 May).
#[tokio::test]
async fn the_product_queue_counts_from_the_transaction_not_the_explanation() {
    let mut t = Chat::profile("bengkulu", wib(2026, 5, 4, 9, 0));
    t.say("halo").await;
    t.say("2").await;
    t.fill_guest_book("Budi Santoso").await;
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
    let n = support::case_number(&out).unwrap();
    t.as_terminal("rina");
    t.clock.set(wib(2026, 5, 6, 10, 0));
    t.expect(&format!("pindah {n} jelaskan"), &["antrean transaksi"])
        .await;
    let told = t.sent_to(&budi());
    assert!(
        told.contains("Batas waktu tahap ini: Kamis, 7 Mei 2026 15.30 WIB"),
        "{told}"
    );
}
