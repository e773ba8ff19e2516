//! People type as on their phones (issue 19): slang, typos, abbreviations, relative dates,
//! "gak ada", a question in the middle of the form, "balik". Each of the three services is
//! completed on each channel, counting the messages answered by a re-prompt (the conversation
//! did not move and no question was answered) and checking every answer in the summary the bot
//! shows before sending: nothing is stored wrongly.

use crate::support;

use chrono::Duration;
use pstbot::dialogs::SubState;
use pstbot::message::ChannelKind;
use std::collections::BTreeMap;
use support::{Chat, case_number};

/// Where a conversation is: the dialog, its step, the follow-up question and the answers.
type Position = Option<(
    String,
    String,
    SubState,
    BTreeMap<String, pstbot::cases::Answer>,
)>;

/// One person playing a script, with the count of messages and of re-prompts.
struct Person {
    t: Chat,
    channel: ChannelKind,
    messages: usize,
    reprompts: Vec<String>,
}

impl Person {
    fn on(channel: ChannelKind, address: &str) -> Person {
        let mut t = Chat::memory();
        t.as_person(channel, address);
        Person {
            t,
            channel,
            messages: 0,
            reprompts: Vec::new(),
        }
    }

    fn position(&self) -> Position {
        let conv = self.t.rt.store.session(&self.t.who).unwrap()?;
        let a = conv.active?;
        Some((a.dialog, a.step, a.sub, a.answers))
    }

    /// Types `text`; the answer must contain `next` (what the bot asks next).
    async fn say(&mut self, text: &str, next: &str) -> String {
        let before = self.position();
        let out = self.t.say(text).await;
        self.messages += 1;
        if before.is_some() && before == self.position() {
            self.reprompts.push(format!("{text:?} got:\n{out}"));
        }
        assert!(
            out.contains(next),
            "[{:?}] after {text:?} expected {next:?} in:\n{out}",
            self.channel
        );
        out
    }

    /// Asks a question in the middle of the form: it is answered (`answer` in the reply), the
    /// step stays, nothing is stored.
    async fn ask(&mut self, text: &str, answer: &str) {
        let before = self.position();
        let out = self.t.say(text).await;
        self.messages += 1;
        assert_eq!(before, self.position(), "a question changes nothing: {out}");
        assert!(
            out.contains(answer),
            "after {text:?} expected {answer:?} in:\n{out}"
        );
    }

    /// Sends a file (the evidence of a complaint, a letter).
    async fn file(&mut self, name: &str, next: &str) {
        let out = self.t.fixture(name).await;
        self.messages += 1;
        assert!(
            out.contains(next),
            "after {name} expected {next:?} in:\n{out}"
        );
    }

    fn files(&self) -> bool {
        !matches!(self.channel, ChannelKind::Sms)
    }

    /// At most 5 % of the messages were answered by a re-prompt.
    fn check_reprompts(&self) {
        // (the figures docs/choices.md quotes: `cargo test --test integration understanding_scenarios:: --
        // --nocapture`)
        eprintln!(
            "{:?}: {} messages, {} re-prompted",
            self.channel,
            self.messages,
            self.reprompts.len()
        );
        let allowed = self.messages / 20;
        assert!(
            self.reprompts.len() <= allowed,
            "[{:?}] {} of {} messages re-prompted:\n{}",
            self.channel,
            self.reprompts.len(),
            self.messages,
            self.reprompts.join("\n---\n")
        );
    }
}

/// Every fragment appears in the summary.
fn summary_has(summary: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(summary.contains(f), "the summary lacks {f:?}:\n{summary}");
    }
}

/// The guest book as people fill it on a phone, ending at its summary.
async fn guest_book(p: &mut Person) {
    p.say("iya boleh", "nama lengkap").await;
    p.say("siti rahmawati", "e-mail").await;
    p.say("siti.rahma@gmial.com", "gmail.com").await;
    p.say("iya betul", "Nomor HP").await;
    p.say("0812 3456 7890", "Jenis kelamin").await;
    p.say("cewek", "umur").await;
    p.say("umur sy 35", "Pendidikan").await;
    p.say("S1", "Pekerjaan").await;
    p.say("pns", "instansi").await;
    p.ask("jam buka kapan?", "08.00").await;
    p.say("Dinas Kominfo Kota Bengkulu", "Kategori").await;
    p.say("pemda", "tujuan").await;
    let summary = p.say("buat perencanaan", "Mohon periksa").await;
    let common = [
        "siti rahmawati",
        "siti.rahma@gmail.com",
        "+6281234567890",
        "Perempuan",
        "D4/S1",
        "ASN/TNI/Polri",
        "Dinas Kominfo Kota Bengkulu",
    ];
    summary_has(&summary, &common);
    // SMS shows the options' short labels.
    let labels = if p.files() {
        [
            "30–39 tahun",
            "Pemerintah daerah",
            "Perencanaan/evaluasi pemerintahan",
        ]
    } else {
        ["30-39 th", "Pemda", "Pemerintahan"]
    };
    summary_has(&summary, &labels);
}

/// A complaint from a first message in slang to the case number.
async fn complaint(channel: ChannelKind, address: &str) -> Person {
    let mut p = Person::on(channel, address);
    p.say("assalamualaikum", "Selamat datang").await;
    p.say("sy mau ngadu", "Pelindungan Data Pribadi").await;
    guest_book(&mut p).await;
    p.say("siap", "tentang apa").await;
    p.say("datanya salah", "Ceritakan").await;
    p.say("tabel kemiskinan di web gak bisa diunduh dr kmrn", "Kapan")
        .await;
    p.say("kemarin", if p.files() { "bukti" } else { "rahasia" })
        .await;
    if p.files() {
        p.say("gak ada", "rahasia").await;
    }
    p.say("gak usah", "LAPOR").await;
    let summary = p.say("tdk ada", "Mohon periksa").await;
    let yesterday = support::monday_morning() - Duration::days(1);
    let yesterday = pstbot::cases::calendar::format_date(
        yesterday
            .with_timezone(&chrono_tz::Asia::Jakarta)
            .date_naive(),
        "id",
        false,
    );
    summary_has(
        &summary,
        &[
            "Data/publikasi",
            // (SMS cuts a long story in the summary: its beginning is checked)
            "tabel kemiskinan di web gak bisa",
            &yesterday,
        ],
    );
    let done = p.say("ok kirim", "ADU-2026-").await;
    assert!(case_number(&done).is_some());
    p
}

/// A paid product: intent with the product named, the quantity in the same message.
async fn product(channel: ChannelKind, address: &str) -> Person {
    let mut p = Person::on(channel, address);
    p.say("halo min", "Selamat datang").await;
    p.say("mau beli data susenas", "Pelindungan Data Pribadi")
        .await;
    guest_book(&mut p).await;
    p.say("sdh benar", "Pilih produk").await;
    p.say("susenas 2", "Total").await;
    p.say("udah itu aja", "Data apa").await;
    p.say("susenas maret 2024 modul konsumsi", "periode").await;
    p.say("thn 2024", "wilayah").await;
    p.say("prov bengkulu", "format").await;
    p.say("csv aja", "Untuk apa").await;
    let next = if p.files() {
        "dokumen pendukung"
    } else {
        "Mohon periksa"
    };
    let mut summary = p
        .say("buat skripsi ttg kemiskinan di kota bengkulu", next)
        .await;
    if p.files() {
        summary = p.say("nanti aja", "Mohon periksa").await;
    }
    summary_has(
        &summary,
        &[
            "Susenas",
            "2",
            "buat skripsi ttg kemiskinan di kota",
            "Excel/CSV",
        ],
    );
    let done = p.say("kirim", "PRD-2026-").await;
    assert!(case_number(&done).is_some());
    p
}

/// A recommendation request: intent, "gak" to the search, abbreviations, number words, dates
/// without a year, a question and "balik" in the middle.
async fn recommendation(channel: ChannelKind, address: &str) -> Person {
    let mut p = Person::on(channel, address);
    p.say("selamat siang", "Selamat datang").await;
    p.say("mau minta rekomendasi survei", "Pelindungan Data Pribadi")
        .await;
    guest_book(&mut p).await;
    p.say("ok sip", "Cari kegiatan").await;
    p.say("gak", "judul kegiatan").await;
    p.say(
        "Survei Kepuasan Masyarakat DPMPTSP 2027",
        "instansi penyelenggara",
    )
    .await;
    p.say("Dinas PMPTSP Prov Bengkulu", "unit kerja").await;
    p.say("bidang pengaduan", "penanggung jawab").await;
    p.say("budi santoso", "telepon").await;
    p.say("0736-21234", "dasar hukum").await;
    p.say("balik", "telepon").await;
    p.say("0812-7000-1234", "dasar hukum").await;
    p.say("permendagri 18/2020", "tujuan").await;
    p.say(
        "ngukur kepuasan masyarakat thd layanan izin",
        "Jenis kegiatan",
    )
    .await;
    p.say("survey", "Cakupan wilayah").await;
    p.say("se provinsi bengkulu", "pengumpulan data").await;
    p.say("tatap muka sama online", "sensus").await;
    p.say("sampel acak", "Metode penarikan sampel").await;
    p.say("acak sederhana", "jumlah sampel").await;
    p.say("kurang lebih empat ratus", "mulai").await;
    p.say("1 maret 2027", "selesai").await;
    p.say("30/4/27", "Frekuensi").await;
    p.say("setahun sekali", "variabel").await;
    p.say("kepuasan per unsur, jenis izin", "publikasi").await;
    p.say("laporan IKM di web dinas", "kuesioner").await;
    p.file("kuesioner.pdf", "surat pengantar").await;
    p.file("surat-pengantar.pdf", "Mohon periksa").await;
    let summary = support::transcript(&p.t.last, &p.t.rt.bot.texts);
    summary_has(
        &summary,
        &[
            "Survei Kepuasan Masyarakat DPMPTSP 2027",
            "+6281270001234",
            "Survei",
            "Wawancara tatap muka, Pengisian sendiri/daring",
            "Sampel",
            "400",
            "1 Maret 2027",
            "30 April 2027",
            "Tahunan",
        ],
    );
    let done = p.say("sudah benar", "REK-2026-").await;
    assert!(case_number(&done).is_some());
    p
}

#[tokio::test]
async fn a_recommendation_typed_as_on_a_phone_on_every_channel_with_files() {
    // SMS carries no files, and the request needs the questionnaire and the cover letter.
    for (channel, address) in [
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Email, "siti.rahma@gmail.com"),
        (ChannelKind::Web, "web-session-3"),
    ] {
        recommendation(channel, address).await.check_reprompts();
    }
}

#[tokio::test]
async fn a_complaint_typed_as_on_a_phone_on_every_channel() {
    for (channel, address) in [
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Sms, "+6281234567890"),
        (ChannelKind::Email, "siti.rahma@gmail.com"),
        (ChannelKind::Web, "web-session-1"),
    ] {
        complaint(channel, address).await.check_reprompts();
    }
}

#[tokio::test]
async fn a_paid_product_typed_as_on_a_phone_on_every_channel() {
    for (channel, address) in [
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Sms, "+6281234567890"),
        (ChannelKind::Email, "siti.rahma@gmail.com"),
        (ChannelKind::Web, "web-session-2"),
    ] {
        product(channel, address).await.check_reprompts();
    }
}

/// A re-prompt says more each time the same question misses: never the same text three times;
/// the second gives an example, the third the choices in full and the ways out.
#[tokio::test]
async fn re_prompts_escalate_and_never_repeat_three_times() {
    let mut p = Person::on(ChannelKind::Whatsapp, "+6281234567890");
    p.say("halo", "Selamat datang").await;
    p.say("mau ngadu", "Pelindungan Data Pribadi").await;
    p.say("ya", "nama lengkap").await;
    p.say("Siti Rahma", "e-mail").await;
    p.say("siti@example.org", "Nomor HP").await;
    p.say("ya", "Jenis kelamin").await;
    let mut replies = Vec::new();
    for nonsense in ["qwerty", "zzz", "asdf", "hjkl"] {
        replies.push(p.t.say(nonsense).await);
    }
    assert!(replies[0].contains("Mohon pilih"), "{}", replies[0]);
    assert!(replies[1].contains("Contoh"), "{}", replies[1]);
    assert!(
        replies[2].contains("Pilihannya") && replies[2].contains("bantuan"),
        "{}",
        replies[2]
    );
    for w in replies.windows(3) {
        assert!(
            !(w[0] == w[1] && w[1] == w[2]),
            "the same text three times: {w:?}"
        );
    }
    assert_ne!(replies[0], replies[1]);
    // An answer resets it: the next question's first miss is plain again.
    p.say("perempuan", "umur").await;
    let plain = p.t.say("qwerty").await;
    assert!(
        !plain.contains("Contoh") && !plain.contains("Pilihannya"),
        "{plain}"
    );
}

/// Two options named equally: the bot asks with just those two, and stores nothing.
#[tokio::test]
async fn a_tie_asks_with_just_the_tied_options() {
    let mut p = Person::on(ChannelKind::Telegram, "4242");
    p.say("halo", "Selamat datang").await;
    p.say("mau ngadu", "Pelindungan Data Pribadi").await;
    guest_book(&mut p).await;
    p.say("siap", "tentang apa").await;
    let asked = p.t.say("petugas dan fasilitas").await;
    assert!(asked.contains("yang mana"), "{asked}");
    let buttons: Vec<String> =
        p.t.last
            .iter()
            .flat_map(|m| m.choices.iter().map(|c| c.label.clone()))
            .collect();
    assert_eq!(
        buttons,
        ["Pelayanan petugas", "Sarana/prasarana"],
        "{asked}"
    );
}
