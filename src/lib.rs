//! pstbot: a chat-bot for the integrated statistical services desk (PST) of Indonesian
//! statistics offices.
//!
//! The map, following the one path every message takes:
//!
//! - [`message`]: the channel-neutral `InboundMessage` / `OutboundMessage` — all adapters share.
//! - [`channels`]: one adapter per channel; they only translate (terminal, SMS, Telegram,
//!   WhatsApp, and the web chat: its page, widget, API and event stream, `channels::web`).
//!   e-mail).
//! - [`runtime`]: the path of a message: dedupe, load, pure step, one commit (with its outbox
//!   rows and timers), flush.
//! - [`outbox`]: the delivery worker: per-chat order, retries with backoff, rate limits.
//! - [`scheduler`]: sleeps until the next due timer and fires it through the runtime.
//! - [`reminders`]: which reminders a case, appointment or conversation has, and their words.
//! - [`dialogs`]: conversations as data (TOML in `dialogs/`), validated at start-up, and the pure
//!   engine that moves a conversation.
//! - [`cases`]: case numbers, the case record and its history, the office calendar.
//! - [`guestbook`]: guests (with PDP consent), visits, ratings, appointments.
//! - [`store`]: domain storage traits; sled on disk, memory for tests.
//! - [`admin`]: officers' commands, parsed then applied.
//! - [`reports`]: the IKM, the monthly report (CSV, XLSX, chart) and the guest-book export.
//! - [`config`]: the configuration file, validated at the door.
//! - `fuzzing` (hidden): the fuzz targets' bodies, shared by `fuzz/` and `tests/fuzz_corpus.rs`.
//! - [`understand`]: how people type — slang, typos, number words, relative dates, phones,
//!   e-mails, yes/no/skip, intents and questions in free text — read into what a step takes. A
//!   pure leaf: its words are data (`dialogs/lexicon.toml`, option `also`, dialog `[intent]`).
//! - [`app`] and [`http`]: wiring for `serve`, `chat` and `check`; the axum router.

/// jemalloc, not the system malloc: measured in BENCHMARKS.md ("Allocator: jemalloc").
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod admin;
pub mod app;
pub mod backup;
pub mod cases;
pub mod channels;
pub mod config;
pub mod dialogs;
#[doc(hidden)]
pub mod fuzzing;
pub mod guestbook;
pub mod housekeeping;
pub mod http;
pub mod listener;
pub mod message;
pub mod outbox;
pub mod plan;
pub mod privacy;
pub mod reminders;
pub mod reports;
pub mod runtime;
pub mod scheduler;
pub mod store;
pub mod text;
pub mod understand;

/// Anything that stops pstbot from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Dialogs(#[from] text::LoadErrors),
    #[error(transparent)]
    Calendar(#[from] cases::calendar::CalendarError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    #[error(transparent)]
    Report(#[from] reports::ReportError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An error that is only a message.
    pub fn msg(m: impl Into<String>) -> Self {
        Error::Other(m.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
