//! Test support: a runtime on the shipped dialogs, with a fixed clock and a chosen store, and
//! a conversation driver that reads like a script (the person says …, the bot answers …).
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pstbot::config::Config;
use pstbot::dialogs::Bot;
use pstbot::message::{
    Attachment, ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage,
};
use pstbot::runtime::{FixedClock, Runtime};
use pstbot::store::Store;
use pstbot::store::memory::MemoryStore;
use pstbot::store::sled::SledStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
        let cfg = config(dir.path());
        let bot = Arc::new(Bot::load(&cfg).expect("shipped dialogs load"));
        let rt = Runtime::new(bot, store, clock.clone(), cfg.officers.clone()).unwrap();
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
        };
        self.last = self.rt.handle(msg).await.expect("handled");
        transcript(&self.last)
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
        self.expect(
            "2",
            &["Mohon periksa", "+6281234567890", "Pemerintah daerah"],
        )
        .await;
    }
}

/// The bot's messages as the terminal prints them.
pub fn transcript(msgs: &[OutboundMessage]) -> String {
    let mut out = Vec::new();
    for m in msgs {
        pstbot::channels::terminal::render(&mut out, m).unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// The case number in a text, if any.
pub fn case_number(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"(REK|PRD|ADU)-\d{4}-\d{6}").unwrap();
    re.find(text).map(|m| m.as_str().to_string())
}
