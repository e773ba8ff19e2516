//! Whole conversations through the runtime, written as scripts: what the person types, and what
//! the bot must answer. Every dialog of SPEC §2 is played to its end here, with wrong answers,
//! `kembali`, `batal`, the language switch and a returning guest.

use crate::support;

use pstbot::cases::Answer;
use pstbot::cases::CaseNumber;
use pstbot::message::{ChannelKind, InboundBody};
use support::{Chat, submit_recommendation, wib};

#[tokio::test]
async fn recommendation_request_creates_a_case_with_form_and_files() {
    let mut t = Chat::memory();
    let number = submit_recommendation(&mut t).await;
    assert!(
        t.last.iter().any(|m| m.text.contains("7 hari")),
        "the Bengkulu standard is told"
    );
    let case =
        t.rt.store
            .case(&CaseNumber::parse(&number).unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(
        case.title,
        "Survei Kepuasan Masyarakat terhadap Layanan Perizinan 2027"
    );
    assert_eq!(case.stage, "walidata_review");
    assert_eq!(case.attachments.len(), 2);
    for a in &case.attachments {
        let bytes = t.rt.store.blob(&a.blob).unwrap().expect("file kept");
        assert!(bytes.starts_with(b"%PDF"));
    }
    let sample = case.form.iter().find(|f| f.field == "sample_size").unwrap();
    assert_eq!(sample.value, Answer::Number(400.0));
    assert_eq!(case.history.len(), 1);
    // The guest book was saved with a visit for this service.
    let guest = t.rt.store.guest_of(&t.who).unwrap().unwrap();
    assert_eq!(guest.name(), Some("Budi Santoso"));
    assert_eq!(
        guest.profile.get("phone"),
        Some(&Answer::Phone("+6281234567890".into()))
    );
    let visits = t.rt.store.visits().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].service.as_deref(), Some("rekomendasi"));
    // The rejected .exe was not kept.
    assert!(
        case.attachments
            .iter()
            .all(|a| a.filename.ends_with(".pdf"))
    );
}

#[tokio::test]
async fn returning_guest_only_confirms_and_case_numbers_count_up() {
    let mut t = Chat::memory();
    submit_recommendation(&mut t).await;
    t.expect("menu", &["1. Rekomendasi"]).await;
    let back = t
        .expect("2", &["Selamat datang kembali, Budi Santoso", "tujuan"])
        .await;
    assert!(
        !back.contains("Pelindungan Data Pribadi"),
        "consent is not asked again:\n{back}"
    );
    t.expect("4", &["Mohon periksa", "Budi Santoso", "Bisnis/komersial"])
        .await;
    // Change the e-mail from the summary, then come back to the summary.
    t.expect("ubah", &["Bagian mana"]).await;
    t.expect("2", &["e-mail"]).await;
    t.expect(
        "budi@kantor.example.id",
        &["Mohon periksa", "budi@kantor.example.id"],
    )
    .await;
    t.expect("kirim", &["Pilih produk", "Rp"]).await;
    let guest = t.rt.store.guest_of(&t.who).unwrap().unwrap();
    assert_eq!(
        guest.profile.get("email"),
        Some(&Answer::Email("budi@kantor.example.id".into()))
    );
    assert_eq!(t.rt.store.visits().unwrap().len(), 2);
}

#[tokio::test]
async fn paid_product_cart_shows_total_and_required_documents() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("2", &["setuju"]).await;
    t.fill_guest_book("Ani Lestari").await;
    let cart = t.expect("kirim", &["Pilih produk", "Rp"]).await;
    assert!(cart.contains("1. "), "{cart}");
    t.expect("selesai", &["Keranjang masih kosong"]).await;
    t.expect("99", &["Produk tidak dikenali"]).await;
    let q = t.expect("1", &["Berapa jumlahnya"]).await;
    assert!(q.contains("per"), "{q}");
    t.expect("0", &["antara 1 dan"]).await;
    let added = t
        .expect("3", &["Ditambahkan", "× 3", "Total sementara"])
        .await;
    let product = &t.rt.bot.catalog.products[0];
    let expected_total = pstbot::dialogs::render::display_answer(
        &t.rt.bot,
        None,
        &Answer::Cart(vec![pstbot::cases::CartLine {
            code: product.code.clone(),
            quantity: 3,
            unit_tariff: product.tariff,
        }]),
        "id",
    );
    let total_line = expected_total
        .lines()
        .last()
        .unwrap()
        .replace("Total: ", "");
    assert!(
        added.contains(&total_line),
        "{added}\nexpected {total_line}"
    );
    // Asked again, the cart shows what was chosen and the list, not the introduction again.
    assert!(added.contains("Pilih produk lain"), "{added}");
    assert!(!added.contains("Produk statistik berbayar"), "{added}");
    assert!(!cart.contains("Pilih produk lain"), "{cart}");
    t.expect("2", &["Berapa jumlahnya"]).await;
    t.expect("1", &["Ditambahkan"]).await;
    // Which data exactly (issue 20, item 15): title, period, region and format.
    t.expect("selesai", &["Data apa", "judul atau pokok bahasannya"])
        .await;
    t.expect("Susenas Maret 2024 modul konsumsi", &["periode"])
        .await;
    t.expect("2024", &["wilayah"]).await;
    t.expect(
        "seluruh kabupaten/kota di Provinsi Bengkulu",
        &["format", "Excel/CSV"],
    )
    .await;
    t.expect("1", &["akan digunakan"]).await;
    t.expect(
        "Bahan penelitian skripsi tentang kemiskinan daerah",
        &["lewati"],
    )
    .await;
    t.expect(
        "lewati",
        &[
            "Mohon periksa",
            "Total",
            "(tidak diisi)",
            "Susenas Maret 2024 modul konsumsi",
            "Excel/CSV",
        ],
    )
    .await;
    let done = t
        .expect(
            "kirim",
            &["PRD-2026-000001", "kode billing", "10 hari kerja"],
        )
        .await;
    assert!(done.contains('•'), "documents are listed:\n{done}");
    let case =
        t.rt.store
            .case(&CaseNumber::parse("PRD-2026-000001").unwrap())
            .unwrap()
            .unwrap();
    assert!(
        matches!(&case.form[0].value, Answer::Cart(lines) if lines.len() == 2 && lines[0].quantity == 3)
    );
    // The officer sees which data, for when, where and in what form.
    t.as_terminal("rina");
    t.expect(
        "lihat PRD-2026-000001",
        &[
            "Data yang diminta: Susenas Maret 2024 modul konsumsi",
            "Periode data: 2024",
            "Wilayah: seluruh kabupaten/kota di Provinsi Bengkulu",
            "Format: Excel/CSV",
        ],
    )
    .await;
}

#[tokio::test]
async fn confidential_complaint_with_lapor_number() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("pengaduan", &["setuju"]).await;
    t.fill_guest_book("Rudi Hartono").await;
    t.expect("kirim", &["tentang apa", "1."]).await;
    t.expect("7", &["Ceritakan"]).await;
    t.expect("jelek", &["minimal 10"]).await;
    t.expect(
        "Petugas meminta biaya untuk data yang seharusnya gratis di loket PST.",
        &["Kapan"],
    )
    .await;
    t.expect("31/12/2026", &["tidak boleh setelah hari ini"])
        .await;
    t.expect("20/11/2026", &["lewati"]).await;
    t.expect("skip", &["rahasia"]).await;
    t.expect("ya", &["LAPOR"]).await;
    // "siap" (ready) is not a tracking number: it was once stored as one.
    t.expect("siap", &["berisi angka", "lewati"]).await;
    t.expect(
        "LAPOR-123",
        &["Mohon periksa", "LAPOR-123", "Petugas meminta biaya"],
    )
    .await;
    t.expect("kirim", &["ADU-2026-000001", "10 hari kerja"])
        .await;
    let case =
        t.rt.store
            .case(&CaseNumber::parse("ADU-2026-000001").unwrap())
            .unwrap()
            .unwrap();
    assert!(case.confidential);
    assert_eq!(case.title, "Lainnya");
}

#[tokio::test]
async fn status_lists_own_cases_only_and_rating_saves_the_survey() {
    let mut t = Chat::memory();
    submit_recommendation(&mut t).await;
    t.expect("menu", &["Status"]).await;
    t.expect(
        "4",
        &[
            "REK-2026-000001",
            "Diverifikasi walidata",
            "batas waktu: Rabu, 2 Desember 2026 15.30 WIB",
        ],
    )
    .await;
    t.expect(
        "rek-2026-000001",
        &["Tahap: Diverifikasi walidata", "Senin, 23 November 2026"],
    )
    .await;
    // Another person cannot look at Budi's case, and learns nothing about it.
    t.as_person(ChannelKind::Terminal, "orang-lain");
    t.say("halo").await;
    t.expect("4", &["belum memiliki permohonan"]).await;
    t.expect(
        "REK-2026-000001",
        &["tidak ditemukan di antara permohonan Bapak/Ibu"],
    )
    .await;
    // Budi rates his case with the nine-element survey.
    t.as_person(ChannelKind::Terminal, "budi");
    t.expect("menu", &["penilaian"]).await;
    t.expect("7", &["REK-2026-000001"]).await;
    t.expect("1", &["Sangat puas"]).await;
    t.expect("6", &["Mohon pilih salah satu"]).await;
    t.expect("5", &["komentar"]).await;
    t.expect(
        "Petugas ramah dan cepat",
        &["Survei Kepuasan Masyarakat", "1. Ya"],
    )
    .await;
    t.expect("ya", &["persyaratan", "(1/9)"]).await;
    for _ in 0..8 {
        t.say("4").await;
    }
    let end = t.say("3").await;
    assert!(end.contains("Terima kasih"), "{end}");
    let ratings = t.rt.store.ratings().unwrap();
    assert_eq!(ratings.len(), 1);
    assert_eq!(ratings[0].score, 5);
    assert_eq!(ratings[0].skm, Some([4, 4, 4, 4, 4, 4, 4, 4, 3]));
    assert_eq!(
        ratings[0].comment.as_deref(),
        Some("Petugas ramah dan cepat")
    );
    let case =
        t.rt.store
            .case(&CaseNumber::parse("REK-2026-000001").unwrap())
            .unwrap()
            .unwrap();
    assert_eq!(case.history.last().unwrap().kind, "rated");
}

#[tokio::test]
async fn rating_without_cases_rates_the_service_and_skips_the_survey() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("7", &["belum memiliki permohonan", "Sangat puas"])
        .await;
    t.expect("4", &["komentar"]).await;
    t.expect("-", &["Survei Kepuasan Masyarakat"]).await;
    t.expect("tidak", &["Terima kasih"]).await;
    let r = &t.rt.store.ratings().unwrap()[0];
    assert_eq!((r.score, r.case.clone(), r.skm), (4, None, None));
}

#[tokio::test]
async fn faq_answers_free_questions_and_outside_dialogs() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("6", &["pertanyaan"]).await;
    t.expect("berapa lama layanan rekomendasi selesai?", &["hari"])
        .await;
    t.expect("xyzzy plugh", &["belum menemukan jawabannya"])
        .await;
    t.expect("menu", &["1. Rekomendasi"]).await;
    t.expect("batal", &["1. Rekomendasi"]).await;
}

#[tokio::test]
async fn appointment_inside_service_hours_at_least_an_hour_ahead() {
    let mut t = Chat::memory(); // Monday 23 November 2026, 09:00 WIB
    t.say("halo").await;
    t.expect("5", &["setuju"]).await;
    t.fill_guest_book("Dewi Sartika").await;
    t.expect("kirim", &["15.30"]).await;
    t.expect("23/11/2026 09:30", &["60 menit"]).await;
    t.expect("28/11/2026 10:00", &["di luar jam layanan"]).await; // Saturday
    t.expect("24/11/2026 15:45", &["di luar jam layanan"]).await; // Tuesday after closing
    t.expect("25/12/2026 10:00", &["di luar jam layanan"]).await; // Christmas
    t.expect("besok jam 10", &["kunjungan"]).await;
    t.expect(
        "Konsultasi data kemiskinan kabupaten",
        &["Mohon periksa", "Selasa, 24 November 2026 10.00 WIB"],
    )
    .await;
    t.expect("kirim", &["24 November 2026"]).await;
    let a = &t.rt.store.appointments().unwrap()[0];
    assert_eq!(a.at, wib(2026, 11, 24, 10, 0));
}

#[tokio::test]
async fn back_cancel_help_and_language_work_anywhere() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("3", &["setuju"]).await;
    t.expect("ya", &["nama lengkap"]).await;
    t.expect("Budi Santoso", &["e-mail"]).await;
    t.expect("kembali", &["nama lengkap"]).await;
    t.expect("Budi S", &["e-mail"]).await;
    t.expect("bantuan", &["kembali", "batal"]).await;
    t.expect("bahasa", &["Language: English", "e-mail address"])
        .await;
    t.expect("not-an-email", &["not valid"]).await;
    t.expect("budi@example.go.id", &["mobile number"]).await;
    t.expect("bahasa id", &["Bahasa: Indonesia", "Nomor HP"])
        .await;
    t.expect("batal", &["dibatalkan", "1. Rekomendasi"]).await;
    assert!(
        t.rt.store.guest_of(&t.who).unwrap().is_none(),
        "nothing half-saved"
    );
    t.expect("kembali", &["Tidak ada langkah sebelumnya"]).await;
}

#[tokio::test]
async fn english_speakers_get_english_from_the_first_reply() {
    let mut t = Chat::memory();
    t.expect(
        "Hello",
        &["Welcome", "1. Statistical activity recommendation"],
    )
    .await;
    t.expect("3", &["Personal Data Protection"]).await;
    // Mixed language: an Indonesian "ya" works in English, and English "yes" in Indonesian.
    t.expect("ya", &["full name"]).await;
    t.expect("bahasa id", &["nama lengkap"]).await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_reprompt_and_changes_nothing() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("1", &["setuju"]).await;
    t.expect("mungkin", &["ya", "tidak"]).await;
    t.expect("ya", &["nama lengkap"]).await;
    t.expect("", &["Mohon ketik jawaban"]).await;
    t.expect("   ", &["Mohon ketik jawaban"]).await;
    t.expect("🙂🙂🙂", &["huruf atau angka"]).await;
    t.expect("Budi123", &["Format jawaban belum sesuai", "huruf"])
        .await;
    let long = "a".repeat(10 * 1024);
    t.expect(&long, &["terlalu panjang", "4096"]).await;
    t.expect(&"b".repeat(200), &["terlalu panjang", "maksimal 100"])
        .await;
    let photo = t.file("foto.jpg", vec![0xFF, 0xD8, 0xFF]).await;
    assert!(photo.contains("tidak memerlukan berkas"), "{photo}");
    let contact = t
        .send(InboundBody::Contact {
            phone: "+6281111111111".into(),
            own: true,
        })
        .await;
    assert!(contact.contains("belum dapat kami proses"), "{contact}");
    t.expect("Budi Santoso", &["e-mail"]).await;
    t.expect("budi@", &["belum valid"]).await;
    t.expect("budi@example.go.id", &["Nomor HP"]).await;
    t.expect("021 123456", &["nomor HP Indonesia"]).await;
    t.expect("12345", &["nomor HP Indonesia"]).await;
    t.send(InboundBody::Contact {
        phone: "+6289999999999".into(),
        own: false,
    })
    .await;
    assert!(super_contains(&t, "kontak Bapak/Ibu sendiri"));
    t.send(InboundBody::Contact {
        phone: "+6281234567890".into(),
        own: true,
    })
    .await;
    assert!(super_contains(&t, "Jenis kelamin"));
    t.expect("3", &["Mohon pilih salah satu"]).await;
    t.expect("Perempuan", &["Kelompok umur"]).await;
    assert!(
        t.rt.store.guest_of(&t.who).unwrap().is_none(),
        "nothing saved before the summary"
    );
}

#[tokio::test]
async fn a_person_without_e_mail_or_whatsapp_is_told_why_it_is_needed_not_that_it_is_invalid() {
    let mut t = Chat::memory();
    t.expect("buku tamu", &["setuju"]).await;
    t.expect("ya", &["nama lengkap"]).await;
    t.expect("Budi Santoso", &["e-mail"]).await;
    for none in ["gak ada", "sy blm punya email", "tidak punya"] {
        let reply = t
            .expect(none, &["memerlukan alamat e-mail aktif", "Gmail"])
            .await;
        assert!(!reply.contains("belum valid"), "{none}: {reply}");
    }
    // Something that is meant as an address is still called invalid.
    t.expect("budi@", &["belum valid"]).await;
    t.expect("budi@example.go.id", &["Nomor HP"]).await;
    // The same for the phone number: no WhatsApp is not a typo of a number.
    for none in ["gak punya wa", "tidak ada"] {
        let reply = t
            .expect(none, &["diperlukan", "Bila belum memakai WhatsApp"])
            .await;
        assert!(!reply.contains("Mohon isi nomor"), "{none}: {reply}");
    }
    t.expect("0812 7788", &["nomor HP Indonesia"]).await;
    t.expect("0812 7788 9900", &["Jenis kelamin"]).await;
    // The rest typed as on a phone; someone who came to complain says so as the purpose.
    for (said, next) in [
        ("cowok", "Kelompok umur"),
        ("30an", "Pendidikan"),
        ("sma", "Pekerjaan"),
        ("wiraswasta", "instansi"),
        ("gak ada", "Kategori instansi"),
        ("umum", "tujuan"),
        ("mau ngadu", "Mohon periksa"),
    ] {
        t.expect(said, &[next]).await;
    }
    assert!(super_contains(&t, "Tujuan kunjungan: Lainnya"));
}

#[tokio::test]
async fn an_office_that_makes_the_e_mail_optional_lets_gak_ada_skip_it() {
    let store_dir = tempfile::tempdir().unwrap();
    let dialogs = support::edited_dialogs("guestbook.toml", |text| {
        let edited = text.replacen(
            "kind = \"email\"\n",
            "kind = \"email\"\noptional = true\n",
            1,
        );
        assert_ne!(edited, text, "the guest book has an e-mail step");
        edited
    });
    let mut cfg = support::config(store_dir.path());
    cfg.dialogs_dir = dialogs.path().to_path_buf();
    let mut t = Chat::from_config(
        &cfg,
        std::sync::Arc::new(pstbot::store::memory::MemoryStore::new()),
        std::sync::Arc::new(pstbot::runtime::FixedClock::new(support::monday_morning())),
    );
    t.expect("buku tamu", &["setuju"]).await;
    t.expect("ya", &["nama lengkap"]).await;
    t.expect("Budi Santoso", &["e-mail"]).await;
    t.expect("gak ada", &["Nomor HP"]).await;
}

fn super_contains(t: &Chat, fragment: &str) -> bool {
    let out = support::transcript(&t.last, &t.rt.bot.texts);
    assert!(out.contains(fragment), "expected {fragment:?} in:\n{out}");
    true
}

#[tokio::test]
async fn prefilled_phone_from_a_phone_channel() {
    let mut t = Chat::memory();
    t.as_person(ChannelKind::Whatsapp, "+6285712345678");
    t.say("halo").await;
    t.expect("1", &["setuju"]).await;
    t.expect("ya", &["nama"]).await;
    t.expect("Sari Wulandari", &["e-mail"]).await;
    t.expect("sari@example.id", &["+6285712345678", "ya"]).await;
    t.expect("ya", &["Jenis kelamin"]).await;
    let a = t.rt.store.session(&t.who).unwrap().unwrap().active.unwrap();
    assert_eq!(
        a.answers.get("phone"),
        Some(&Answer::Phone("+6285712345678".into()))
    );
}

#[tokio::test]
async fn the_person_in_charge_may_be_the_applicant_saya_sendiri() {
    let mut t = Chat::memory();
    t.expect("rekomendasi", &["setuju"]).await;
    t.fill_guest_book("Budi Santoso").await;
    t.expect("kirim", &["Cari kegiatan"]).await;
    t.expect("gak usah", &["judul kegiatan"]).await;
    t.expect(
        "Survei Kepuasan Masyarakat 2027",
        &["instansi penyelenggara"],
    )
    .await;
    t.expect("Dinkes Kota Bengkulu", &["unit kerja"]).await;
    t.expect("bidang yankes", &["penanggung jawab"]).await;
    t.expect("sy sendiri", &["telepon"]).await;
    t.expect("nomor sy td", &["dasar hukum"]).await;
    let a = t.rt.store.session(&t.who).unwrap().unwrap().active.unwrap();
    assert_eq!(
        a.answers.get("pic_name"),
        Some(&Answer::Text("Budi Santoso".into()))
    );
    assert_eq!(
        a.answers.get("pic_phone"),
        Some(&Answer::Phone("+6281234567890".into()))
    );
    // Someone else's name is taken as written.
    t.expect("kembali", &["telepon"]).await;
    t.expect("kembali", &["penanggung jawab"]).await;
    t.expect("Siti Aminah", &["telepon"]).await;
    let a = t.rt.store.session(&t.who).unwrap().unwrap().active.unwrap();
    assert_eq!(
        a.answers.get("pic_name"),
        Some(&Answer::Text("Siti Aminah".into()))
    );
}

#[tokio::test]
async fn a_redelivered_message_is_applied_once() {
    let mut t = Chat::memory();
    t.say("halo").await;
    let first = t
        .send_with_id("wamid.1", InboundBody::Text("1".into()))
        .await;
    assert!(first.contains("setuju"));
    let again = t
        .send_with_id("wamid.1", InboundBody::Text("1".into()))
        .await;
    assert_eq!(again, "", "a duplicate gets no second answer");
    let s = t.rt.store.session(&t.who).unwrap().unwrap();
    assert_eq!(s.active.unwrap().step, "consent");
}

#[tokio::test]
async fn idle_conversation_is_closed_politely() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("1", &["setuju"]).await;
    t.clock.advance(chrono::Duration::hours(23));
    t.expect("ya", &["nama lengkap"]).await; // still resumes within the idle time
    t.clock.advance(chrono::Duration::hours(25));
    t.expect("Budi", &["kami tutup", "1. Rekomendasi"]).await;
}

#[tokio::test]
async fn outside_hours_the_greeting_says_when_an_officer_picks_up() {
    let mut t = Chat::memory();
    t.clock.set(wib(2026, 11, 27, 17, 0)); // Friday evening
    t.expect(
        "halo",
        &["di luar jam layanan", "Senin, 30 November 2026 08.00 WIB"],
    )
    .await;
}

#[tokio::test]
async fn officers_read_the_queue_and_confidential_identities_stay_hidden() {
    let mut t = Chat::memory();
    t.say("halo").await;
    t.expect("pengaduan", &["setuju"]).await;
    t.fill_guest_book("Rudi Hartono").await;
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("1", &["Ceritakan"]).await;
    t.expect(
        "Petugas loket bersikap kasar ketika saya meminta data.",
        &["Kapan"],
    )
    .await;
    t.expect("20/11/2026", &["bukti"]).await;
    t.expect("lewati", &["dirahasiakan"]).await;
    t.expect("ya", &["LAPOR"]).await;
    t.expect("-", &["Mohon periksa"]).await;
    t.expect("kirim", &["ADU-2026-000001"]).await;

    // Rina (petugas) sees the case but not who filed it.
    t.as_person(ChannelKind::Terminal, "rina");
    t.expect("antrian", &["ADU-2026-000001", "1"]).await;
    let shown = t
        .expect("lihat ADU-2026-000001", &["dirahasiakan", "bersikap kasar"])
        .await;
    assert!(
        !shown.contains("Rudi"),
        "a petugas must not see a confidential complainant:\n{shown}"
    );
    t.expect("lihat ADU-2026-000099", &["tidak ditemukan"])
        .await;
    t.expect("hapus semua", &["tidak dikenal", "antrian"]).await;
    // The head of office (pimpinan) sees the name.
    t.as_person(ChannelKind::Terminal, "kepala");
    t.expect("/lihat@pstbot adu-2026-000001", &["Rudi Hartono"])
        .await;
    // An applicant typing an officer command does not run it: a single word is asked about
    // (for the officer, or the menu?), and goes to the officer as a message when confirmed.
    t.as_person(ChannelKind::Terminal, "budi");
    let out = t.say("antrian").await;
    assert!(
        out.contains("Kirim ke petugas") && !out.contains("Kasus terbuka"),
        "{out}"
    );
    let out = t.say("1").await;
    assert!(
        out.contains("diteruskan ke petugas") && !out.contains("Kasus terbuka"),
        "{out}"
    );
}
