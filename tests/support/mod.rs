//! Test support: a runtime on the shipped dialogs, with a fixed clock and a chosen store, and
//! a conversation driver that reads like a script (the person says …, the bot answers …).
#![allow(dead_code)]

pub mod example_config;
pub mod faults;
pub mod gateway;
pub mod graph_api;
pub mod mail;
pub mod postgres;
pub mod serving;
pub mod telegram_api;
pub mod web_visitor;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pstbot::config::Config;
use pstbot::dialogs::Bot;
use pstbot::message::{
    Attachment, ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage,
};
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::Store;
use pstbot::store::memory::MemoryStore;
use pstbot::store::sled::SledStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the shipped dialogs folder where `file` is replaced by `edit(original)`.
pub fn edited_dialogs(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("dialogs"), dir.path());
    let path = dir.path().join(file);
    let original = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, edit(original)).unwrap();
    dir
}

/// Copies a folder and everything under it.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The example config (shipped dialogs, Bengkulu profile) with the store in `store_dir`.
pub fn config(store_dir: &Path) -> Config {
    let text = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let mut c = Config::parse(&repo().join("config.example.toml"), &text, |_| None).unwrap();
    c.store.path = store_dir.to_path_buf();
    c
}

/// Monday 23 November 2026, 09:00 WIB: inside service hours.
pub fn monday_morning() -> DateTime<Utc> {
    wib(2026, 11, 23, 9, 0)
}

pub fn wib(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap();
    chrono_tz::Asia::Jakarta
        .from_local_datetime(&local)
        .unwrap()
        .with_timezone(&Utc)
}

static IDS: AtomicU64 = AtomicU64::new(1);

/// A conversation with a runtime, as one person (switchable).
pub struct Chat {
    pub rt: Arc<Runtime>,
    pub clock: Arc<FixedClock>,
    pub who: Identity,
    pub last: Vec<OutboundMessage>,
}

impl Chat {
    pub fn with_store(store: Arc<dyn Store>, clock: Arc<FixedClock>) -> Chat {
        let dir = tempfile::tempdir().unwrap();
        Self::from_config(&config(dir.path()), store, clock)
    }

    /// A runtime for `cfg` on `store`.
    pub fn from_config(cfg: &Config, store: Arc<dyn Store>, clock: Arc<FixedClock>) -> Chat {
        let bot = Arc::new(Bot::load(cfg).expect("shipped dialogs load"));
        let rt = Runtime::new(RuntimeParts::new(
            bot,
            store,
            clock.clone(),
            cfg.officers.clone(),
            pstbot::channels::officers(cfg),
        ))
        .unwrap();
        Chat {
            rt: Arc::new(rt),
            clock,
            who: Identity::new(ChannelKind::Terminal, "budi"),
            last: Vec::new(),
        }
    }

    /// A runtime on an in-memory store, Monday morning.
    pub fn memory() -> Chat {
        Self::with_store(
            Arc::new(MemoryStore::new()),
            Arc::new(FixedClock::new(monday_morning())),
        )
    }

    /// A runtime on an in-memory store for an office profile (`bengkulu`, `nasional`,
    /// `lubuklinggau`), at `now`.
    pub fn profile(profile: &str, now: DateTime<Utc>) -> Chat {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.office.profile = match profile {
            "nasional" => pstbot::config::OfficeProfile::Nasional,
            "lubuklinggau" => pstbot::config::OfficeProfile::Lubuklinggau,
            _ => pstbot::config::OfficeProfile::Bengkulu,
        };
        Self::from_config(
            &cfg,
            Arc::new(MemoryStore::new()),
            Arc::new(FixedClock::new(now)),
        )
    }

    /// The messages of the last answer addressed to `who`, as text.
    pub fn sent_to(&self, who: &Identity) -> String {
        let msgs: Vec<OutboundMessage> =
            self.last.iter().filter(|m| m.to == *who).cloned().collect();
        transcript(&msgs, &self.rt.bot.texts)
    }

    /// Switches to the terminal identity `name` (an officer's terminal name plays that officer).
    pub fn as_terminal(&mut self, name: &str) -> &mut Self {
        self.as_person(ChannelKind::Terminal, name)
    }

    /// A runtime on a sled store in `dir`, at `now`.
    pub fn sled(dir: &Path, now: DateTime<Utc>) -> Chat {
        let store = Arc::new(SledStore::open(dir, 16).unwrap());
        Self::with_store(store, Arc::new(FixedClock::new(now)))
    }

    pub fn as_person(&mut self, channel: ChannelKind, address: &str) -> &mut Self {
        self.who = Identity::new(channel, address);
        self
    }

    pub async fn send(&mut self, body: InboundBody) -> String {
        let id = IDS.fetch_add(1, Ordering::Relaxed).to_string();
        self.send_with_id(&id, body).await
    }

    pub async fn send_with_id(&mut self, id: &str, body: InboundBody) -> String {
        let msg = InboundMessage {
            id: id.to_string(),
            from: self.who.clone(),
            body,
            reply_to: None,
            trust: pstbot::message::Trust::Proven,
        };
        self.last = self.rt.handle(msg).await.expect("handled");
        transcript(&self.last, &self.rt.bot.texts)
    }

    /// The person replies to (quotes) a message with `text`.
    pub async fn reply_to(&mut self, quoted: &str, text: &str) -> String {
        let id = IDS.fetch_add(1, Ordering::Relaxed).to_string();
        let msg = InboundMessage {
            id,
            from: self.who.clone(),
            body: InboundBody::Text(text.to_string()),
            reply_to: Some(quoted.to_string()),
            trust: pstbot::message::Trust::Proven,
        };
        self.last = self.rt.handle(msg).await.expect("handled");
        transcript(&self.last, &self.rt.bot.texts)
    }

    /// The person types `text`; returns everything the bot answered (choices numbered).
    pub async fn say(&mut self, text: &str) -> String {
        self.send(InboundBody::Text(text.to_string())).await
    }

    /// The person types `text`; every fragment must appear in the answer.
    pub async fn expect(&mut self, text: &str, fragments: &[&str]) -> String {
        let out = self.say(text).await;
        for f in fragments {
            assert!(out.contains(f), "after {text:?} expected {f:?} in:\n{out}");
        }
        out
    }

    /// The person sends a file from tests/fixtures (or any bytes under a name).
    pub async fn file(&mut self, name: &str, bytes: Vec<u8>) -> String {
        self.send(InboundBody::Attachment(Attachment {
            filename: name.to_string(),
            mime: "application/pdf".into(),
            bytes,
        }))
        .await
    }

    pub async fn fixture(&mut self, name: &str) -> String {
        let bytes = std::fs::read(repo().join("tests/fixtures").join(name)).unwrap();
        self.file(name, bytes).await
    }

    /// Walks the guest book as a new person with valid answers (after the consent prompt).
    pub async fn fill_guest_book(&mut self, name: &str) {
        self.expect("ya", &["nama lengkap"]).await;
        self.expect(name, &["e-mail"]).await;
        self.expect("budi.santoso@example.go.id", &["Nomor HP"])
            .await;
        self.expect("0812-3456-7890", &["Jenis kelamin"]).await;
        self.expect("1", &["Kelompok umur"]).await;
        self.expect("3", &["Pendidikan"]).await;
        self.expect("4", &["Pekerjaan"]).await;
        self.expect("3", &["instansi"]).await;
        self.expect(
            "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
            &["Kategori instansi"],
        )
        .await;
        self.expect("pemerintah daerah", &["tujuan"]).await;
        // (SMS shows the short labels of the options)
        let category = if self.who.channel == ChannelKind::Sms {
            "Pemda"
        } else {
            "Pemerintah daerah"
        };
        self.expect("2", &["Mohon periksa", "+6281234567890", category])
            .await;
    }
}

/// The bot's messages as the terminal prints them (messages for others under a header).
pub fn transcript(msgs: &[OutboundMessage], words: &pstbot::text::Texts) -> String {
    let mut out = Vec::new();
    for m in msgs {
        pstbot::channels::terminal::render_for(&mut out, m, &m.to, words).unwrap();
        if m.to.channel == ChannelKind::Officers {
            out.extend_from_slice(b"(officers)\n");
        }
    }
    String::from_utf8(out).unwrap()
}

/// The case number in a text, if any.
pub fn case_number(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"(REK|PRD|ADU)-\d{4}-\d{6}").unwrap();
    re.find(text).map(|m| m.as_str().to_string())
}

/// The recommendation request of SPEC §2.3, start to end, with a search and both attachments.
pub async fn submit_recommendation(t: &mut Chat) -> String {
    t.expect(
        "halo",
        &[
            "Selamat datang",
            "1. Rekomendasi kegiatan statistik",
            "Petugas kami sedang bertugas",
        ],
    )
    .await;
    t.expect("1", &["Pelindungan Data Pribadi", "setuju"]).await;
    t.fill_guest_book("Budi Santoso").await;
    t.expect(
        "kirim",
        &[
            "Data buku tamu Bapak/Ibu sudah tersimpan",
            "tidak dipungut biaya",
            "Cari kegiatan",
        ],
    )
    .await;
    t.expect("ya", &["kata kunci"]).await;
    t.expect("survei kepuasan", &["Survei Kepuasan"]).await;
    t.expect("zzzz qqqq", &["Tidak ada kegiatan", "zzzz qqqq"])
        .await;
    t.expect("lanjut", &["judul kegiatan"]).await;
    t.expect(
        "Survei Kepuasan Masyarakat terhadap Layanan Perizinan 2027",
        &["instansi penyelenggara"],
    )
    .await;
    t.expect(
        "Dinas Penanaman Modal dan PTSP Provinsi Bengkulu",
        &["unit kerja"],
    )
    .await;
    t.expect("Bidang Pengaduan dan Kebijakan", &["penanggung jawab"])
        .await;
    t.expect("Siti Aminah", &["telepon"]).await;
    t.expect("0736 21234", &["dasar hukum"]).await;
    t.expect("Permendagri 18/2020 dan DPA Dinas PMPTSP 2027", &["tujuan"])
        .await;
    t.expect(
        "Mengukur kepuasan masyarakat atas layanan perizinan untuk perbaikan layanan.",
        &["Jenis kegiatan", "1. Survei"],
    )
    .await;
    t.expect("1", &["Cakupan wilayah"]).await;
    t.expect(
        "Seluruh kabupaten/kota di Provinsi Bengkulu",
        &["pengumpulan data", "koma"],
    )
    .await;
    t.expect("1, 3", &["sensus", "sampel"]).await;
    t.expect("2", &["Metode penarikan sampel"]).await;
    t.expect(
        "Acak sederhana dari daftar pemohon izin",
        &["jumlah sampel"],
    )
    .await;
    t.expect("banyak sekali", &["angka"]).await;
    t.expect("empat ratus", &["mulai"]).await;
    t.expect("1 Maret 2027", &["Tanggal selesai"]).await;
    t.expect("28/02/2027", &["tidak boleh sebelum", "1 Maret 2027"])
        .await;
    t.expect("30/04/2027", &["Frekuensi", "Tahunan"]).await;
    t.expect("tahunan", &["variabel"]).await;
    t.expect(
        "Karakteristik responden, jenis izin, kepuasan per unsur pelayanan",
        &["publikasi"],
    )
    .await;
    t.expect(
        "Laporan IKM Dinas PMPTSP 2027 di situs resmi",
        &["kuesioner", "PDF"],
    )
    .await;
    t.expect("nanti saja", &["Kirim berkas"]).await;
    let wrong = t.file("kuesioner.exe", b"MZ\x90\x00".to_vec()).await;
    assert!(wrong.contains("tidak diterima"), "{wrong}");
    let got = t.fixture("kuesioner.pdf").await;
    assert!(
        got.contains("kuesioner.pdf diterima") && got.contains("surat pengantar"),
        "{got}"
    );
    let summary = t.fixture("surat-pengantar.pdf").await;
    for f in [
        "Judul kegiatan: Survei Kepuasan Masyarakat terhadap Layanan Perizinan 2027",
        "Kontak penanggung jawab: +6273621234",
        "Wawancara tatap muka, Pengisian sendiri/daring",
        "Jumlah sampel: 400",
        "1 Maret 2027",
        "kuesioner.pdf",
        "1. Kirim",
    ] {
        assert!(summary.contains(f), "summary lacks {f:?}:\n{summary}");
    }
    let done = t
        .expect("1", &["REK-2026-000001", "tidak dipungut biaya"])
        .await;
    case_number(&done).unwrap()
}

/// Files a complaint as Budi and returns its number.
pub async fn submit_complaint(t: &mut Chat, confidential: bool) -> String {
    submit_complaint_as(t, "budi", "Budi Santoso", confidential).await
}

/// [`submit_complaint`] by the terminal user `user` named `name`.
pub async fn submit_complaint_as(
    t: &mut Chat,
    user: &str,
    name: &str,
    confidential: bool,
) -> String {
    submit_complaint_on(t, user, name, confidential, "20/11/2026").await
}

/// [`submit_complaint_as`] about an incident on `incident` (`DD/MM/YYYY`).
pub async fn submit_complaint_on(
    t: &mut Chat,
    user: &str,
    name: &str,
    confidential: bool,
    incident: &str,
) -> String {
    t.as_terminal(user);
    t.say("menu").await;
    t.say("3").await;
    if t.rt.store.guest_of(&t.who).unwrap().is_none() {
        t.fill_guest_book(name).await;
    } else {
        t.say("1").await;
    }
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("2", &["Ceritakan"]).await;
    t.expect(
        "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh.",
        &["Kapan"],
    )
    .await;
    t.expect(incident, &["bukti"]).await;
    t.expect("lewati", &["dirahasiakan"]).await;
    t.expect(if confidential { "ya" } else { "tidak" }, &["LAPOR"])
        .await;
    t.expect("-", &["Mohon periksa"]).await;
    let out = t.expect("kirim", &["ADU-2026-"]).await;
    case_number(&out).unwrap()
}

/// Quick retries (20 ms doubling to 100 ms, three attempts), and on `channels` limits loose
/// enough that a scripted conversation is not slowed down.
pub fn quick_delivery(channels: &[&str]) -> pstbot::config::DeliveryConfig {
    let mut d = pstbot::config::DeliveryConfig {
        max_attempts: 3,
        backoff_initial: std::time::Duration::from_millis(20),
        backoff_max: std::time::Duration::from_millis(100),
        send_timeout: std::time::Duration::from_secs(5),
        limits: Default::default(),
    };
    for ch in channels {
        d.limits.insert(
            ch.to_string(),
            pstbot::config::RateLimit {
                per_chat_per_minute: 6000,
                group_per_minute: 6000,
                per_second: 1000,
            },
        );
    }
    d
}

/// The texts of the rows waiting for the officers' chat (notices about deliveries, new cases).
pub fn officers_pending(store: &dyn Store) -> Vec<String> {
    store
        .outbox_pending(None, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.msg.to.channel == ChannelKind::Officers)
        .map(|r| r.msg.text)
        .collect()
}

/// The bytes kept with case `case` for its file `filename` (an attachment or a form answer).
pub fn case_file(store: &dyn Store, case: &str, filename: &str) -> Vec<u8> {
    let c = store
        .case(&pstbot::cases::CaseNumber::parse(case).unwrap())
        .unwrap()
        .unwrap();
    let file = c
        .attachments
        .iter()
        .cloned()
        .chain(c.form.iter().filter_map(|f| match &f.value {
            pstbot::cases::Answer::File(a) => Some(a.clone()),
            _ => None,
        }))
        .find(|a| a.filename == filename)
        .unwrap_or_else(|| panic!("{filename} is not on case {case}"));
    store.blob(&file.blob).unwrap().unwrap()
}

/// A config like the example, with the store in `dir` and the HTTP server on `listen`.
pub fn config_file(dir: &std::path::Path, listen: &str) -> std::path::PathBuf {
    let text = example_config::example_config(&repo(), &dir.join("data"), listen);
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A loopback port free at the time of asking (for a child `pstbot serve`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the scheduler's task (`scheduler::run`, as `pstbot serve` does) until `done` holds —
/// failing with `what` after 10 s — then stops it and checks that it stops promptly.
#[allow(dead_code)]
pub async fn run_scheduler_until(rt: &Arc<Runtime>, what: &str, done: impl Fn() -> bool) {
    let stop = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(pstbot::scheduler::run(rt.clone(), stop.clone()));
    let waited = std::time::Instant::now();
    while !done() {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(10),
            "{what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), run)
        .await
        .expect("the scheduler stops when asked")
        .unwrap();
}
