//! The sections of the core: store, HTTP, conversations, reminders, delivery, privacy, reports.

use super::{DayHours, Secret};
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The zstd level of a new store unless configured (`store.compression`): none. Level 3 keeps
/// a store at ~30 % of its size, but slows writes and makes sled's log replay at start many
/// times slower; see BENCHMARKS.md ("Scale").
pub const DEFAULT_COMPRESSION: u8 = 0;

/// Which storage engine holds the office's data (`store.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// The embedded store in `store.path`: one process on one machine, nothing to run beside.
    #[default]
    Sled,
    /// A PostgreSQL database at `store.url`, shared by any number of `pstbot serve` processes.
    Postgres,
}

impl StoreBackend {
    /// Its name in the config.
    pub fn key(self) -> &'static str {
        match self {
            StoreBackend::Sled => "sled",
            StoreBackend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// `sled` (default) or `postgres`.
    pub backend: StoreBackend,
    /// The PostgreSQL database (`postgresql://user:password@host:5432/pstbot`), for
    /// `backend = "postgres"`; or `PSTBOT_STORE_URL`. A secret: its password is never printed.
    pub url: Option<Secret>,
    /// Connections each process keeps to PostgreSQL at most.
    pub pool_size: usize,
    /// The sled directory; relative to the config file. With PostgreSQL, the folder of the
    /// service's control socket.
    pub path: PathBuf,
    /// sled's page cache in MiB.
    pub cache_mb: u64,
    /// zstd level (1–22) a new store compresses its pages with; 0: not compressed. An existing
    /// store keeps the setting it was created with.
    pub compression: u8,
    /// How long an inbound message's dedupe mark is kept (a provider re-delivers within hours,
    /// never after days); the marks of fired reminders are kept for good.
    #[serde(deserialize_with = "de_duration")]
    pub dedupe_kept: std::time::Duration,
    /// How long the text of a delivered message is kept (quoted replies show it; a failure
    /// reported later sends it again); its delivery record without the text stays.
    #[serde(deserialize_with = "de_duration")]
    pub sent_text_kept: std::time::Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Sled,
            url: None,
            pool_size: 16,
            path: PathBuf::from("./data"),
            cache_mb: 64,
            compression: DEFAULT_COMPRESSION,
            dedupe_kept: std::time::Duration::from_secs(30 * 24 * 3600),
            sent_text_kept: std::time::Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Where `pstbot report` writes the monthly report when `--out` is not given.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReportsConfig {
    /// The folder of the reports (one subfolder per month); relative to the config file.
    pub out_dir: PathBuf,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            out_dir: PathBuf::from("./reports"),
        }
    }
}

/// The HTTP listener (webhooks, web chat, health): where, and how much one client may hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Open connections in all; `0` (the default): as many as the open-files limit allows,
    /// less a reserve.
    pub max_connections: usize,
    /// Open connections from one address; `0`: none. Behind a reverse proxy every visitor
    /// comes from the proxy's address: then it is off unless set.
    pub max_connections_per_ip: Option<usize>,
    /// Time for a request's headers to arrive, and for an idle kept-alive connection to send
    /// its next request.
    #[serde(deserialize_with = "de_duration")]
    pub header_read_timeout: std::time::Duration,
    /// Time for a request's body to arrive.
    #[serde(deserialize_with = "de_duration")]
    pub body_read_timeout: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".parse().expect("valid"),
            max_connections: 0,
            max_connections_per_ip: None,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Limits and timing of conversations.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConversationConfig {
    /// A conversation idle this long is closed politely, with a note that the person can go
    /// on later (`"24h"`, `"90m"`, `"30s"`).
    #[serde(deserialize_with = "de_duration")]
    pub idle_timeout: std::time::Duration,
    /// Longer messages are refused with a clear answer.
    pub max_message_chars: usize,
    /// Largest attachment accepted (the Telegram Bot API's 20 MB by default).
    pub max_attachment_bytes: u64,
    /// Flood limit: messages one sender (one identity on one channel) may send per minute;
    /// beyond it, messages are acknowledged and recorded but not processed, and the sender is
    /// told once per minute. Officers and the local terminal are never limited. `0` turns the
    /// limit off.
    pub messages_per_minute: u32,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig {
            idle_timeout: std::time::Duration::from_secs(24 * 3600),
            max_message_chars: 4096,
            max_attachment_bytes: 20 * 1024 * 1024,
            messages_per_minute: 30,
        }
    }
}

/// A duration written for people: `"24h"`, `"90m"`, `"1h 30m"`, `"500ms"`.
fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{s}` is not a duration like \"24h\" or \"90m\": {e}"
        ))
    })
}

/// When reminders fire (SPEC §5). Officers' reminders wait for service hours; applicants'
/// wait out the quiet hours.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RemindersConfig {
    /// Set to false to send no reminders at all (notifications still go out).
    pub enabled: bool,
    /// No reminder reaches an applicant in these office-local hours; one due then waits for
    /// their end.
    #[serde(deserialize_with = "de_quiet")]
    pub quiet_hours: DayHours,
    /// A new case nobody took within this much service time is announced again.
    pub acknowledge_within_minutes: u32,
    /// Officers are reminded when a stage has used these shares of its SLA (and at its due time).
    pub stage_percents: Vec<u32>,
    /// While a stage is overdue, officers (and pimpinan) are reminded this often.
    pub overdue_every_hours: u32,
    /// An applicant whose revision, documents or payment is pending is reminded after these
    /// numbers of working days.
    pub applicant_pending_working_days: Vec<u32>,
    /// The rating asked when a case finishes is asked once more after this many hours.
    pub rating_again_after_hours: u32,
    /// An appointment is recalled this many hours before it.
    pub appointment_hours_before: Vec<u32>,
}

fn de_quiet<'de, D: Deserializer<'de>>(d: D) -> Result<DayHours, D::Error> {
    let s = String::deserialize(d)?;
    let bad = || serde::de::Error::custom(format!("`{s}` is not a span like \"21:00-07:00\""));
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let t = |x: &str| chrono::NaiveTime::parse_from_str(x.trim(), "%H:%M");
    Ok(DayHours {
        open: t(a).map_err(|_| bad())?,
        close: t(b).map_err(|_| bad())?,
    })
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            enabled: true,
            quiet_hours: DayHours {
                open: chrono::NaiveTime::from_hms_opt(21, 0, 0).expect("valid"),
                close: chrono::NaiveTime::from_hms_opt(7, 0, 0).expect("valid"),
            },
            acknowledge_within_minutes: 60,
            stage_percents: vec![50, 80],
            overdue_every_hours: 24,
            applicant_pending_working_days: vec![2, 5],
            rating_again_after_hours: 24,
            appointment_hours_before: vec![24, 1],
        }
    }
}

/// Delivery of outbound messages: retries and rate limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DeliveryConfig {
    /// Tries per message before it is given up and the officers are told.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (with jitter).
    #[serde(deserialize_with = "de_duration")]
    pub backoff_initial: std::time::Duration,
    #[serde(deserialize_with = "de_duration")]
    pub backoff_max: std::time::Duration,
    /// How long one provider call may take before it counts as a (transient) timeout.
    #[serde(deserialize_with = "de_duration")]
    pub send_timeout: std::time::Duration,
    /// Per-channel limits; defaults follow the providers' published rules.
    pub limits: std::collections::BTreeMap<String, RateLimit>,
}

/// Messages per minute to one chat, to the officers' group chat, and per second overall.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct RateLimit {
    pub per_chat_per_minute: u32,
    pub group_per_minute: u32,
    pub per_second: u32,
}

impl DeliveryConfig {
    /// The limits of a channel: configured, else the provider's default.
    pub fn limit(&self, channel: &str) -> RateLimit {
        if let Some(l) = self.limits.get(channel) {
            return *l;
        }
        match channel {
            // Bot API FAQ: about 1 message/s per chat, 20/min to a group, 30/s overall.
            "telegram" => RateLimit {
                per_chat_per_minute: 60,
                group_per_minute: 20,
                per_second: 30,
            },
            // Cloud API throughput: 80 messages/s per business number by default.
            "whatsapp" => RateLimit {
                per_chat_per_minute: 60,
                group_per_minute: 60,
                per_second: 80,
            },
            _ => RateLimit {
                per_chat_per_minute: 60,
                group_per_minute: 60,
                per_second: 20,
            },
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: 8,
            backoff_initial: std::time::Duration::from_secs(2),
            backoff_max: std::time::Duration::from_secs(15 * 60),
            send_timeout: std::time::Duration::from_secs(30),
            limits: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Version of the consent text; stored with each guest. A new version asks consent again.
    pub consent_version: String,
    /// Personal data of a person inactive this long (no message, no case activity, no open
    /// case) is erased by the scheduler, as with `hapusdata` (`"730d"`, `"2years"`).
    #[serde(deserialize_with = "de_duration")]
    pub retention: std::time::Duration,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            consent_version: "2026-01".into(),
            retention: std::time::Duration::from_secs(730 * 24 * 3600),
        }
    }
}
