//! Reports: the IKM on a hand-computed survey set, the monthly report's tables on a store
//! seeded through the runtime (real conversations and officer commands on a fixed clock), the
//! CSV/XLSX/PNG read back as a user's software reads them, the officers' `laporan` command,
//! the guest-book export, and formula injection.

use crate::support;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::{DateTime, Utc};
use pstbot::guestbook::Rating;
use pstbot::message::{ChannelKind, Identity};
use pstbot::reports::ikm::{Grade, Ikm};
use pstbot::reports::monthly::MonthlyReport;
use pstbot::reports::table::to_csv;
use pstbot::reports::{Period, export};
use pstbot::store::prelude::*;
use pstbot::store::{Commit, DedupeKey};
use support::{Chat, submit_recommendation, wib};

/// Files a complaint as Budi (what happened on 26 October 2026) and returns its number; like
/// `support::submit_complaint`, whose incident date lies after some of these filing dates.
async fn submit_complaint(t: &mut Chat, confidential: bool) -> String {
    support::submit_complaint_on(t, "budi", "Budi Santoso", confidential, "26/10/2026").await
}

/// Runs the `pstbot` binary with this config; returns what it did.
fn cli(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PSTBOT_CONFIG")
        .output()
        .unwrap()
}

/// The four SKM surveys of the hand-computed example (elements U1…U9, each 1–4).
const R1: [u8; 9] = [4, 4, 3, 4, 3, 4, 4, 3, 4];
const R2: [u8; 9] = [3, 3, 3, 4, 3, 3, 4, 3, 3];
const R3: [u8; 9] = [4, 3, 2, 4, 3, 4, 4, 2, 3];
const R4: [u8; 9] = [3, 4, 3, 4, 4, 3, 4, 3, 3];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Worked by hand with PermenPAN-RB 14/2017's formula:
///
/// | element | R1 R2 R3 R4 | sum | NRR = sum ÷ 4 |
/// |---|---|---|---|
/// | U1 | 4 3 4 3 | 14 | 3.50 |
/// | U2 | 4 3 3 4 | 14 | 3.50 |
/// | U3 | 3 3 2 3 | 11 | 2.75 |
/// | U4 | 4 4 4 4 | 16 | 4.00 |
/// | U5 | 3 3 3 4 | 13 | 3.25 |
/// | U6 | 4 3 4 3 | 14 | 3.50 |
/// | U7 | 4 4 4 4 | 16 | 4.00 |
/// | U8 | 3 3 2 3 | 11 | 2.75 |
/// | U9 | 4 3 3 3 | 13 | 3.25 |
///
/// Σ NRR = 30.50; NRR tertimbang = Σ NRR × 0.111 = 3.3855; IKM value = 3.3855 × 25 = 84.6375,
/// reported 84.64, which lies in 76.61–88.30: grade B (baik).
///
/// A poor set: two surveys of all 2s and one of all 3s: each NRR = 7/3; Σ NRR = 21;
/// × 0.111 = 2.331; × 25 = 58.275: grade D (25.00–64.99).
#[test]
fn ikm_matches_the_regulation_formula_worked_by_hand() {
    let ikm = Ikm::compute(&[R1, R2, R3, R4]).unwrap();
    assert_eq!(ikm.respondents, 4);
    let nrr = [3.50, 3.50, 2.75, 4.00, 3.25, 3.50, 4.00, 2.75, 3.25];
    for (i, want) in nrr.iter().enumerate() {
        assert!(
            close(ikm.nrr[i], *want),
            "U{}: {} != {want}",
            i + 1,
            ikm.nrr[i]
        );
    }
    assert!(close(ikm.index, 3.3855), "{}", ikm.index);
    assert!(close(ikm.value, 84.6375), "{}", ikm.value);
    assert_eq!(ikm.grade, Grade::B);

    let poor = Ikm::compute(&[[2; 9], [2; 9], [3; 9]]).unwrap();
    assert!(close(poor.index, 2.331), "{}", poor.index);
    assert!(close(poor.value, 58.275), "{}", poor.value);
    assert_eq!(poor.grade, Grade::D);
}

/// A rating as the rating dialog stores it, committed at `at` (not touching the conversation).
fn rate(
    store: &dyn Store,
    id: &str,
    at: DateTime<Utc>,
    case: Option<&str>,
    score: u8,
    skm: [u8; 9],
) {
    let who = Identity::new(ChannelKind::Terminal, "budi");
    let guest = store.guest_of(&who).unwrap().map(|g| g.id);
    let mut c = Commit::new(DedupeKey::new(&who, id), at, who, Default::default());
    c.session = None;
    c.rating = Some(Rating {
        guest_id: guest,
        case: case.map(|n| pstbot::cases::CaseNumber::parse(n).unwrap()),
        at,
        score,
        comment: None,
        skm: Some(skm),
    });
    store.commit(c).unwrap();
}

/// The seeded office, November 2026 (WIB; no holidays in these weeks):
///
/// - ADU-1: filed Wed 28 Oct 09:00 by Budi, taken 09:30, answered Tue 10 Nov 10:00.
/// - ADU-2: filed Mon 2 Nov 09:00, taken 09:30 (30 min: within the 1 service hour), answered
///   Wed 4 Nov 10:00 (2 working days: within 10).
/// - ADU-3: filed Mon 2 Nov 10:00, taken Tue 3 Nov 09:00 (5.5 + 1 = 6.5 service hours: late),
///   still under review at the end of November: its 10 working days ended Tue 17 Nov: overdue.
/// - REK-1: filed Mon 23 Nov 09:00 by Ani (new guest), approved by the walidata Mon 30 Nov
///   10:00, 7 days and 1 hour after: over the 7-day standard; then in BPS verification.
/// - A walk-in visitor at the desk on Thu 5 Nov whose name starts with `=`.
/// - Ratings: ADU-1 (score 5, R2) and ADU-2 (4, R1) in November; two general ratings by Budi
///   (3, R3 and 4, R4) in November; one in October (1, all 1s) that must not count.
async fn seed(t: &mut Chat) -> (String, String, String, String) {
    t.clock.set(wib(2026, 10, 28, 9, 0));
    let adu1 = submit_complaint(t, false).await;
    t.clock.set(wib(2026, 10, 28, 9, 30));
    t.as_terminal("rina");
    t.expect(&format!("pindah {adu1} terima"), &["ditelaah"])
        .await;
    t.clock.set(wib(2026, 10, 30, 10, 0));
    let store = t.rt.store.clone();
    rate(
        store.as_ref(),
        "r-oct",
        wib(2026, 10, 30, 10, 0),
        None,
        1,
        [1; 9],
    );

    t.clock.set(wib(2026, 11, 2, 9, 0));
    let adu2 = submit_complaint(t, false).await;
    t.clock.set(wib(2026, 11, 2, 9, 30));
    t.as_terminal("rina");
    t.say(&format!("pindah {adu2} terima")).await;
    t.clock.set(wib(2026, 11, 2, 10, 0));
    let adu3 = submit_complaint(t, false).await;
    t.clock.set(wib(2026, 11, 3, 9, 0));
    t.as_terminal("rina");
    t.say(&format!("pindah {adu3} terima")).await;
    t.clock.set(wib(2026, 11, 4, 10, 0));
    t.expect(
        &format!("pindah {adu2} jawab Tautan tabel sudah kami perbaiki."),
        &[&adu2],
    )
    .await;
    t.clock.set(wib(2026, 11, 5, 10, 0));
    t.expect("tamu umum =HYPERLINK(\"http://x\") Siti", &["U-001"])
        .await;
    rate(
        store.as_ref(),
        "r-2",
        wib(2026, 11, 5, 11, 0),
        Some(&adu2),
        4,
        R1,
    );
    t.clock.set(wib(2026, 11, 10, 10, 0));
    t.as_terminal("rina");
    t.say(&format!("pindah {adu1} jawab Sudah kami tindak lanjuti."))
        .await;
    rate(
        store.as_ref(),
        "r-1",
        wib(2026, 11, 10, 12, 0),
        Some(&adu1),
        5,
        R2,
    );
    rate(
        store.as_ref(),
        "r-g1",
        wib(2026, 11, 12, 12, 0),
        None,
        3,
        R3,
    );
    rate(
        store.as_ref(),
        "r-g2",
        wib(2026, 11, 13, 12, 0),
        None,
        4,
        R4,
    );

    t.clock.set(wib(2026, 11, 23, 9, 0));
    t.as_terminal("ani");
    let rek = submit_recommendation(t).await;
    t.clock.set(wib(2026, 11, 30, 10, 0));
    t.as_terminal("wali");
    t.expect(&format!("pindah {rek} setujui"), &[&rek]).await;
    (adu1, adu2, adu3, rek)
}

/// A CSV file as rows of strings, read back with the csv crate (header row included).
fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The row whose first cells are `key`.
fn row<'a>(rows: &'a [Vec<String>], key: &[&str]) -> &'a [String] {
    rows.iter()
        .find(|r| key.iter().enumerate().all(|(i, k)| r[i] == *k))
        .unwrap_or_else(|| panic!("no row {key:?} in {rows:#?}"))
}

fn november(t: &Chat) -> MonthlyReport {
    let period = Period::month(&t.rt.bot.calendar, "2026-11").unwrap();
    MonthlyReport::build(
        t.rt.store.as_ref(),
        &t.rt.bot,
        period,
        wib(2026, 12, 3, 9, 0),
    )
    .unwrap()
}

fn csv_of(report: &MonthlyReport, name: &str) -> Vec<Vec<String>> {
    let table = report
        .tables()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap();
    read_csv(&to_csv(&table).unwrap())
}

const ADU: &str = "ADU – Pengaduan";
const REK: &str = "REK – Rekomendasi kegiatan statistik";

/// The guest-book export's header row, as an office's register shows it.
const REGISTER_COLUMNS: [&str; 14] = [
    "Tanggal / Date",
    "Jam / Time",
    "Nama / Name",
    "Jenis kelamin / Gender",
    "Kelompok umur / Age group",
    "Pendidikan / Education",
    "Pekerjaan / Occupation",
    "Instansi / Institution",
    "Kategori instansi / Institution category",
    "Nomor HP / Phone",
    "E-mail",
    "Tujuan / Purpose",
    "Kanal / Channel",
    "Layanan / Service",
];

#[tokio::test]
async fn monthly_report_tables_have_the_known_answers() {
    let mut t = Chat::memory();
    seed(&mut t).await;
    let report = november(&t);

    // Cases: received, finished, in progress, overdue.
    let cases = csv_of(&report, "kasus");
    assert_eq!(
        cases[0],
        [
            "Layanan / Service",
            "Kanal / Channel",
            "Diterima / Received",
            "Selesai / Finished",
            "Dalam proses / In progress",
            "Terlambat / Overdue"
        ]
    );
    assert_eq!(row(&cases, &[ADU, "terminal"])[2..], ["2", "2", "1", "1"]);
    assert_eq!(row(&cases, &[REK, "terminal"])[2..], ["1", "0", "1", "0"]);
    assert_eq!(
        row(&cases, &["Semua layanan / all services"])[2..],
        ["3", "2", "2", "1"]
    );

    // Weeks (Mon–Sun, cut to November; 1 November 2026 is a Sunday).
    let weeks = csv_of(&report, "mingguan");
    assert_eq!(weeks.len(), 1 + 6);
    assert_eq!(
        weeks[2][1..],
        ["2026-11-02", "2026-11-08", "0", "0", "2", "2"]
    );
    assert_eq!(
        weeks[5][1..],
        ["2026-11-23", "2026-11-29", "1", "0", "0", "1"]
    );

    // Stage times against the SOP standard.
    let stages = csv_of(&report, "waktu_tahap");
    // Received → taken: 0.5 and 6.5 service hours; nearest-rank median 0.5, P90 6.5; 1 of 2.
    assert_eq!(
        row(&stages, &["ADU", "Diterima, menunggu petugas"])[2..],
        ["1", "jam kerja / working hours", "2", "0.5", "6.5", "50.0"]
    );
    // Review: 2 working days (ADU-2) and 9 (ADU-1: 29, 30 Oct, 2–6 Nov, 9, 10 Nov); both within 10.
    assert_eq!(
        row(&stages, &["ADU", "Sedang ditelaah petugas"])[2..],
        [
            "10",
            "hari kerja / working days",
            "2",
            "2.0",
            "9.0",
            "100.0"
        ]
    );
    // Walidata review: 5 working days (24–27, 30 November) against 7 working days (Bengkulu's
    // "hari" are working days, issue 20 item 11).
    assert_eq!(
        row(&stages, &["REK", "Diverifikasi walidata"])[2..],
        ["7", "hari kerja / working days", "1", "5.0", "5.0", "100.0"]
    );
    // A stage nobody left this month still shows its standard.
    assert_eq!(
        row(&stages, &["REK", "Diverifikasi BPS"])[2..],
        ["10", "hari kerja / working days", "0", "", "", ""]
    );

    // Time to complete: ADU-2 2 working days (2.04 days), ADU-1 9 working days (13.04 days).
    let done = csv_of(&report, "waktu_selesai");
    assert_eq!(row(&done, &[ADU])[1..5], ["2", "2", "9", "2.0"]);
    assert_eq!(row(&done, &[REK])[1], "0");

    // Visits: Budi twice (returning, confirms), Ani once, the walk-in once.
    let visitors = csv_of(&report, "pengunjung");
    assert_eq!(row(&visitors, &["Jumlah kunjungan / all visits"])[2], "4");
    assert_eq!(row(&visitors, &["Jenis kelamin", "Laki-laki"])[2], "3");
    assert_eq!(row(&visitors, &["Jenis kelamin", "Perempuan"])[2], "0");
    assert_eq!(
        row(&visitors, &["Jenis kelamin", "Tidak diketahui / unknown"])[2],
        "1"
    );
    assert_eq!(
        row(&visitors, &["Kategori instansi", "Pemerintah daerah"])[2],
        "3"
    );
    assert_eq!(row(&visitors, &["Kanal / Channel", "desk"])[2], "1");

    // Ratings and IKM: the four November surveys are the hand-computed set above.
    let ratings = csv_of(&report, "penilaian");
    let all = row(&ratings, &["Semua / All"]);
    assert_eq!(all[2..5], ["4", "4.00", "4"]);
    assert_eq!(
        all[5..14],
        [
            "3.50", "3.50", "2.75", "4.00", "3.25", "3.50", "4.00", "2.75", "3.25"
        ]
    );
    assert!(all[14].starts_with("3.38"), "{}", all[14]);
    assert_eq!(all[15..17], ["84.64", "B (baik / good)"]);
    // Both finished complaints asked for a rating and were rated.
    assert_eq!(all[17..], ["2", "2", "100.0"]);
    // ADU: R1 + R2: Σ NRR = 31, × 0.111 = 3.441, × 25 = 86.025.
    let adu = row(&ratings, &["Layanan / Service", ADU]);
    assert_eq!(adu[2..5], ["2", "4.50", "2"]);
    assert_eq!(adu[14], "3.441");
    assert!(adu[15].starts_with("86.0"), "{}", adu[15]);
    assert_eq!(adu[16], "B (baik / good)");
    // General ratings: R3 + R4: Σ NRR = 30, × 0.111 = 3.33, × 25 = 83.25.
    let general = row(
        &ratings,
        &["Layanan / Service", "Umum (tanpa kasus) / general"],
    );
    assert_eq!(general[14..16], ["3.330", "83.25"]);
    assert_eq!(general[17..], ["0", "0", ""]);

    let ikm = csv_of(&report, "ikm");
    assert_eq!(row(&ikm, &["U3"])[2..], ["2.750", "0.111", "0.305"]);
    assert_eq!(row(&ikm, &["Nilai IKM (× 25) / IKM value"])[4], "84.64");

    let summary = report.summary_text();
    for f in [
        "November 2026",
        "Kasus diterima / received: 3 (REK 1, PRD 0, ADU 2)",
        "terlambat / overdue: 1",
        "rata-rata / average 4.00/5",
        "IKM: 84.64 — mutu / grade B",
    ] {
        assert!(summary.contains(f), "{f:?} not in:\n{summary}");
    }
}

/// The workbook opened with a reader: one sheet per table, numbers as numbers, and a text
/// cell that starts with `=` stored as text with a leading `'`.
#[tokio::test]
async fn workbook_and_chart_read_back() {
    let mut t = Chat::memory();
    seed(&mut t).await;
    let report = november(&t);
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(report.xlsx().unwrap())).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "kasus",
            "mingguan",
            "pengunjung",
            "waktu_tahap",
            "waktu_selesai",
            "penilaian",
            "ikm"
        ]
    );
    let cases = wb.worksheet_range("kasus").unwrap();
    assert_eq!(
        cases.get_value((2, 0)),
        Some(&Data::String("Layanan / Service".into()))
    );
    let total = cases
        .rows()
        .find(|r| r[0] == Data::String("Semua layanan / all services".into()))
        .unwrap();
    assert_eq!(total[2], Data::Float(3.0));
    assert_eq!(total[5], Data::Float(1.0));
    let ikm = wb.worksheet_range("ikm").unwrap();
    let value = ikm
        .rows()
        .find(|r| r[0] == Data::String("Nilai IKM (× 25) / IKM value".into()))
        .unwrap();
    assert!(
        matches!(value[4], Data::Float(v) if close(v, 84.6375)),
        "{:?}",
        value[4]
    );

    let png = report.chart().unwrap();
    if let Ok(p) = std::env::var("PSTBOT_DUMP_CHART") {
        std::fs::write(p, &png).unwrap();
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().unwrap();
    assert_eq!(
        (reader.info().width, reader.info().height),
        (
            pstbot::reports::chart::WIDTH,
            pstbot::reports::chart::HEIGHT
        )
    );

    // A period of one day (one week segment) and one with nothing in it still draw.
    let cal = &t.rt.bot.calendar;
    for (a, b) in [
        ((2026, 11, 2), (2026, 11, 2)),
        ((2025, 1, 1), (2025, 1, 31)),
    ] {
        let day = |(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let period = Period::days(cal, day(a), day(b)).unwrap();
        let r = MonthlyReport::build(
            t.rt.store.as_ref(),
            &t.rt.bot,
            period,
            wib(2026, 12, 3, 9, 0),
        )
        .unwrap();
        let png = r.chart().unwrap();
        assert!(
            png::Decoder::new(std::io::Cursor::new(png))
                .read_info()
                .is_ok()
        );
    }
}

/// The officers' `laporan`: refused to a petugas, answered to the pimpinan with the summary,
/// the workbook and the chart as files whose bytes are in the store.
#[tokio::test]
async fn laporan_is_for_pimpinan_and_comes_with_files() {
    let mut t = Chat::memory();
    seed(&mut t).await;
    t.clock.set(wib(2026, 12, 3, 9, 0));
    t.as_terminal("rina");
    let refused = t.say("laporan 2026-11").await;
    assert!(
        refused.contains("Perintah ini untuk peran / this command is for: pimpinan, admin"),
        "{refused}"
    );
    assert!(t.last.iter().all(|m| m.files.is_empty()));

    t.as_terminal("kepala");
    let bad = t.say("laporan november").await;
    assert!(bad.contains("TAHUN-BULAN"), "{bad}");
    let out = t.say("laporan 2026-11").await;
    assert!(
        out.contains("Laporan bulanan / monthly report: November 2026"),
        "{out}"
    );
    assert!(out.contains("IKM: 84.64"), "{out}");
    let msg = t
        .last
        .iter()
        .find(|m| m.to == Identity::new(ChannelKind::Terminal, "kepala"))
        .unwrap();
    let names: Vec<&str> = msg.files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names, ["laporan-2026-11.xlsx", "grafik-2026-11.png"]);
    let xlsx = t.rt.store.blob(&msg.files[0].blob).unwrap().expect("kept");
    assert_eq!(xlsx.len() as u64, msg.files[0].size);
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    assert!(wb.worksheet_range("penilaian").is_ok());
    let png = t.rt.store.blob(&msg.files[1].blob).unwrap().expect("kept");
    assert!(
        png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .is_ok()
    );
    assert_eq!(msg.files[1].mime, "image/png");

    // Without a month: the running month so far.
    t.clock.set(wib(2026, 11, 30, 12, 0));
    let running = t.say("report").await;
    assert!(
        running.contains("November 2026 (keadaan / as of 30/11/2026 12:00)"),
        "{running}"
    );
}

/// The guest-book export: the register's columns, personal data only when asked for, and a
/// name starting with `=` neutralised.
#[tokio::test]
async fn guestbook_export_has_the_register_columns() {
    let mut t = Chat::memory();
    seed(&mut t).await;
    let cal = &t.rt.bot.calendar;
    let nov = Period::days(
        cal,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    )
    .unwrap();
    let table = export::guestbook(t.rt.store.as_ref(), &t.rt.bot, nov, true).unwrap();
    let rows = read_csv(&to_csv(&table).unwrap());
    assert_eq!(rows[0], REGISTER_COLUMNS);
    assert_eq!(rows.len(), 1 + 4);
    assert_eq!(
        rows[1],
        [
            "2026-11-02",
            "09:00",
            "Budi Santoso",
            "Laki-laki",
            "30–39 tahun",
            "S2",
            "ASN/TNI/Polri",
            "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
            "Pemerintah daerah",
            // E.164 starts with `+`: kept as text, not read as a formula.
            "'+6281234567890",
            "budi.santoso@example.go.id",
            // Returning, Budi answered the purpose again (option 1).
            "Tugas sekolah/kuliah",
            "terminal",
            "Pengaduan"
        ]
    );
    let walk_in = row(&rows, &["2026-11-05", "10:00"]);
    assert_eq!(walk_in[2], "'=HYPERLINK(\"http://x\") Siti");
    assert_eq!(walk_in[12..], ["desk", "umum"]);

    let anonymous = export::guestbook(t.rt.store.as_ref(), &t.rt.bot, nov, false).unwrap();
    let rows = read_csv(&to_csv(&anonymous).unwrap());
    for r in &rows[1..] {
        assert_eq!(r[2], "");
        assert_eq!(r[9], "");
        assert_eq!(r[10], "");
    }
    assert_eq!(rows[1][8], "Pemerintah daerah");
    let text = String::from_utf8(to_csv(&anonymous).unwrap()).unwrap();
    assert!(!text.contains("Budi") && !text.contains("+62") && !text.contains('@'));
}

/// The CLI on a sled store: `pstbot report` writes the CSVs, the workbook and the chart;
/// `pstbot export guestbook` prints the register.
#[tokio::test(flavor = "multi_thread")]
async fn cli_writes_the_report_files_and_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_file(dir.path(), "127.0.0.1:0");
    {
        let mut t = Chat::sled(&dir.path().join("data"), wib(2026, 11, 2, 9, 0));
        seed(&mut t).await;
        t.rt.store.flush().unwrap();
    }
    let out = dir.path().join("out");
    // While the service holds the store, the CLI says so instead of failing obscurely.
    {
        let _serving = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 16).unwrap();
        let busy = cli(&config, &["report", "--month", "2026-11"]);
        assert!(!busy.status.success());
        let err = String::from_utf8_lossy(&busy.stderr);
        assert!(err.contains("in use by a running `pstbot serve`"), "{err}");
    }
    let run = cli(
        &config,
        &[
            "report",
            "--month",
            "2026-11",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(stdout.contains("IKM: 84.64"), "{stdout}");
    for name in [
        "kasus",
        "mingguan",
        "pengunjung",
        "waktu_tahap",
        "waktu_selesai",
        "penilaian",
        "ikm",
    ] {
        let path = out.join(format!("laporan-2026-11-{name}.csv"));
        assert!(stdout.contains(path.to_str().unwrap()), "{stdout}");
        let rows = read_csv(&std::fs::read(&path).unwrap());
        assert!(rows.len() > 1, "{name} is empty");
    }
    let cases = read_csv(&std::fs::read(out.join("laporan-2026-11-kasus.csv")).unwrap());
    assert_eq!(row(&cases, &[ADU, "terminal"])[2..], ["2", "2", "1", "1"]);
    let xlsx = std::fs::read(out.join("laporan-2026-11.xlsx")).unwrap();
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    assert_eq!(wb.sheet_names().len(), 7);
    assert!(wb.worksheet_range("waktu_tahap").is_ok());
    let png = std::fs::read(out.join("grafik-2026-11.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    assert_eq!(info.info().width, pstbot::reports::chart::WIDTH);

    let exported = cli(
        &config,
        &[
            "export",
            "guestbook",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
        ],
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let rows = read_csv(&exported.stdout);
    assert_eq!(rows[0], REGISTER_COLUMNS);
    assert_eq!(rows.len(), 1 + 4);
    assert!(
        rows.iter()
            .any(|r| r[2] == "'=HYPERLINK(\"http://x\") Siti")
    );
    // Reading personal data from the server is in the audit log too.
    {
        use pstbot::store::prelude::*;
        let store = pstbot::store::sled::SledStore::open(&dir.path().join("data"), 16).unwrap();
        let log = store.audit_log().unwrap();
        assert!(
            log.iter().any(|a| a.action == "export_guestbook"
                && a.officer.starts_with("cli:")
                && a.subject == "2026-11-01..2026-11-30"),
            "{log:?}"
        );
    }

    let bad = cli(&config, &["report", "--month", "2026-13"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is not a month like 2026-11"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// Formula injection: text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'`
/// in the CSV and in the workbook, where they stay text (no formula).
#[test]
fn formula_injection_is_neutralised_in_csv_and_xlsx() {
    use pstbot::reports::table::{Cell, Table, to_xlsx};
    let evil = [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(1)",
        "\t=1",
        "\r=1",
    ];
    let mut t = Table::new("uji", "Uji / test", &["Teks / text", "Angka / number"]);
    for e in evil {
        t.push(vec![Cell::text(e), Cell::Int(-5)]);
    }
    t.push(vec![Cell::text("Budi = aman"), Cell::Num(-1.5, 1)]);
    let rows = read_csv(&to_csv(&t).unwrap());
    for (i, e) in evil.iter().enumerate() {
        assert_eq!(rows[i + 1][0], format!("'{e}"));
        // Numbers are ours, not user text: a negative number stays a number.
        assert_eq!(rows[i + 1][1], "-5");
    }
    assert_eq!(rows[7], ["Budi = aman", "-1.5"]);

    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(to_xlsx(&[t]).unwrap())).unwrap();
    let range = wb.worksheet_range("uji").unwrap();
    for (i, e) in evil.iter().enumerate() {
        assert_eq!(
            range.get_value((3 + i as u32, 0)),
            Some(&Data::String(format!("'{e}")))
        );
        assert_eq!(range.get_value((3 + i as u32, 1)), Some(&Data::Float(-5.0)));
    }
    let formulas = wb.worksheet_formula("uji").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
}
