//! The configuration file: one serde struct, a sub-struct per concern. Each channel's section
//! (`[telegram]`, `[email]`, …) is kept as written ([`Sections`]) and read by its channel, so
//! this file knows no channel.
//!
//! Unknown keys are reported as warnings (a typo must not pass silently); invalid values stop
//! start-up with the key named. Secrets may come from environment variables instead of the file
//! and are masked whenever the config is printed.

mod sections;

pub use sections::{Env, Read, Section, Sections};

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A configuration problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ConfigError {
    pub file: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(file: &Path, problem: impl Into<String>) -> Self {
        ConfigError {
            file: file.display().to_string(),
            problem: problem.into(),
        }
    }
}

/// A secret value: never printed.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Opening hours of one weekday, or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayHours {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

fn parse_day_hours(s: &str) -> Result<Option<DayHours>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("closed") || s.eq_ignore_ascii_case("tutup") || s.is_empty() {
        return Ok(None);
    }
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not of the form \"08:00-15:30\" or \"closed\""))?;
    let t = |x: &str| {
        NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("`{}` is not a time HH:MM", x.trim()))
    };
    let (open, close) = (t(a)?, t(b)?);
    if open >= close {
        return Err(format!("`{s}` closes before it opens"));
    }
    Ok(Some(DayHours { open, close }))
}

fn de_hours<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DayHours>, D::Error> {
    let s = String::deserialize(d)?;
    parse_day_hours(&s).map_err(serde::de::Error::custom)
}

fn hours(s: &str) -> Option<DayHours> {
    parse_day_hours(s).expect("default hours are valid")
}

/// Service hours per weekday. Defaults: Mon–Thu 08:00–15:30, Fri 08:00–16:00 (the SOPs).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServiceHours {
    #[serde(deserialize_with = "de_hours")]
    pub mon: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub tue: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub wed: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub thu: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub fri: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub sat: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub sun: Option<DayHours>,
}

impl Default for ServiceHours {
    fn default() -> Self {
        ServiceHours {
            mon: hours("08:00-15:30"),
            tue: hours("08:00-15:30"),
            wed: hours("08:00-15:30"),
            thu: hours("08:00-15:30"),
            fri: hours("08:00-16:00"),
            sat: None,
            sun: None,
        }
    }
}

impl ServiceHours {
    /// Hours by weekday number from Monday (0) to Sunday (6).
    pub fn by_weekday(&self) -> [Option<DayHours>; 7] {
        [
            self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun,
        ]
    }
}

/// The zstd level of a new store unless configured (`store.compression`): none. Level 3 keeps
/// a store at ~30 % of its size, but slows writes and makes sled's log replay at start many
/// times slower; see BENCHMARKS.md ("Scale").
pub const DEFAULT_COMPRESSION: u8 = 0;

/// Which SOP variant the office follows (SPEC §3): it sets the completion standards told to
/// applicants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficeProfile {
    /// BPS Provinsi Bengkulu (SOP-1-103/101/107 of 2025).
    Bengkulu,
    /// National PST standard (14 working days for a recommendation).
    Nasional,
    /// BPS Kota Lubuklinggau (30 working days).
    Lubuklinggau,
}

impl OfficeProfile {
    /// Every profile: each needs a workflow for every service.
    pub const ALL: [OfficeProfile; 3] = [
        OfficeProfile::Bengkulu,
        OfficeProfile::Nasional,
        OfficeProfile::Lubuklinggau,
    ];

    /// The profile named `key` (its name in the config and in the workflow files).
    pub fn parse(key: &str) -> Option<OfficeProfile> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    pub fn key(self) -> &'static str {
        match self {
            OfficeProfile::Bengkulu => "bengkulu",
            OfficeProfile::Nasional => "nasional",
            OfficeProfile::Lubuklinggau => "lubuklinggau",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct OfficeConfig {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_profile")]
    pub profile: OfficeProfile,
    #[serde(default)]
    pub service_hours: ServiceHours,
    /// Holiday data file (national holidays and cuti bersama); relative to the config file.
    pub holidays_file: Option<PathBuf>,
    /// Average minutes the desk spends per walk-in visitor (for the queue's wait estimate).
    #[serde(default = "default_minutes_per_visitor")]
    pub minutes_per_visitor: u32,
}

fn default_minutes_per_visitor() -> u32 {
    15
}

fn default_tz() -> String {
    "Asia/Jakarta".into()
}
fn default_profile() -> OfficeProfile {
    OfficeProfile::Bengkulu
}

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

/// The roles of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Resepsionis,
    Petugas,
    Walidata,
    Pimpinan,
    Admin,
}

/// An officer and the identities they use on each channel.
#[derive(Debug, Clone, Deserialize)]
pub struct OfficerConfig {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// Terminal user name (`pstbot chat`, `/as NAME`).
    pub terminal: Option<String>,
    pub telegram_user_id: Option<i64>,
    pub whatsapp: Option<String>,
    pub email: Option<String>,
    /// A secret the officer writes in the subject of a mail to run it as a command: proof of
    /// who wrote it where the receiving server gives no verdict (`email.trusted_authserv_ids`).
    pub email_secret: Option<Secret>,
}

/// How officers are recognised and reached on the channels. Each channel knows its own part
/// (`channels::Channel::is_officer`, `officer_identity`); the registry's answer
/// (`channels::OFFICERS`) is handed to the runtime, which never names a channel.
pub trait OfficerIdentities: Send + Sync {
    /// Where `officer` is reached directly (the first channel of the registry that knows them).
    fn reach(&self, officer: &OfficerConfig) -> Option<crate::message::Identity>;
    /// Whether `who` — an identity its channel vouches for — is `officer`. E-mail says no: an
    /// address in `From:` is no proof (proven mail is matched by its address separately).
    fn is(&self, officer: &OfficerConfig, who: &crate::message::Identity) -> bool;
    /// Whether what is said to `who` already shows in the officers' chat (an officer writing
    /// in the Telegram group, the terminal): a post there then answers them too, once.
    fn in_officers_chat(&self, _who: &crate::message::Identity) -> bool {
        false
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RawConfig {
    #[serde(default = "default_languages")]
    languages: Vec<String>,
    #[serde(default = "default_dialogs")]
    dialogs_dir: PathBuf,
    office: OfficeConfig,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    http: HttpConfig,
    #[serde(default)]
    conversation: ConversationConfig,
    #[serde(default)]
    privacy: PrivacyConfig,
    #[serde(default)]
    reminders: RemindersConfig,
    #[serde(default)]
    delivery: DeliveryConfig,
    #[serde(default)]
    officers: Vec<OfficerConfig>,
    #[serde(default)]
    reports: ReportsConfig,
}

fn default_languages() -> Vec<String> {
    vec!["id".into(), "en".into()]
}
fn default_dialogs() -> PathBuf {
    PathBuf::from("dialogs")
}

/// The validated configuration. Relative paths are already resolved against the config file's
/// folder, so the service behaves the same from any working directory.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    /// Configured languages; the first is the default (Bahasa Indonesia).
    pub languages: Vec<String>,
    pub dialogs_dir: PathBuf,
    pub office: OfficeConfig,
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub conversation: ConversationConfig,
    pub privacy: PrivacyConfig,
    pub reminders: RemindersConfig,
    pub delivery: DeliveryConfig,
    pub officers: Vec<OfficerConfig>,
    pub reports: ReportsConfig,
    /// The channels' sections (`[telegram]`, `[email]`, …), read and checked by each channel.
    pub channels: Sections,
    /// Keys inside the sections above that pstbot does not know (reported as warnings). A
    /// top-level table no channel reads is reported by the channels (see [`Sections::names`]).
    pub unknown_keys: Vec<String>,
}

impl Config {
    /// Reads, parses and validates a config file; secrets may be overridden by environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            problem: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(path, &text, |k| std::env::var(k).ok())
    }

    /// Parses config text; `env` looks up environment variables (injected for tests). The
    /// channels' sections are kept for the channels to read ([`Sections::read`]).
    pub fn parse(
        path: &Path,
        text: &str,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Config, ConfigError> {
        let fail = |problem: String| ConfigError::new(path, problem);
        let mut ignored = Vec::new();
        let de =
            toml::Deserializer::parse(text).map_err(|e| fail(describe_toml_error(text, &e)))?;
        let raw: RawConfig = serde_ignored::deserialize(de, |p| ignored.push(p.to_string()))
            .map_err(|e| fail(describe_toml_error(text, &e)))?;
        // A key ignored at the top level is a table the core does not read: a channel's.
        let (unknown_keys, names): (Vec<String>, Vec<String>) =
            ignored.into_iter().partition(|k| k.contains('.'));
        check_office(&raw).map_err(fail)?;
        check_limits(&raw).map_err(fail)?;
        check_officers(&raw.officers).map_err(fail)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let mut office = raw.office;
        office.holidays_file = office.holidays_file.as_deref().map(resolve);
        let mut store = raw.store;
        store.path = resolve(&store.path);
        check_store(&mut store, &env).map_err(fail)?;
        let mut reports = raw.reports;
        reports.out_dir = resolve(&reports.out_dir);
        Ok(Config {
            file: path.to_path_buf(),
            languages: raw.languages,
            dialogs_dir: resolve(&raw.dialogs_dir),
            office,
            store,
            http: raw.http,
            conversation: raw.conversation,
            privacy: raw.privacy,
            reminders: raw.reminders,
            delivery: raw.delivery,
            officers: raw.officers,
            reports,
            channels: Sections::new(path, text, names, Arc::new(env)),
            unknown_keys,
        })
    }

    /// The officer whose terminal user name is `name`.
    pub fn officer_by_terminal(&self, name: &str) -> Option<&OfficerConfig> {
        self.officers
            .iter()
            .find(|o| o.terminal.as_deref() == Some(name) || o.id == name)
    }
}

/// The languages and the office: codes, time zone, name.
fn check_office(raw: &RawConfig) -> Result<(), String> {
    if raw.languages.is_empty() {
        return Err("`languages` must name at least one language".into());
    }
    for l in &raw.languages {
        if l.len() < 2 || l.len() > 8 || !l.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err(format!(
                "`languages`: `{l}` is not a language code like \"id\" or \"en\""
            ));
        }
    }
    if raw.office.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(format!(
            "`office.timezone`: `{}` is not a time zone (e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura)",
            raw.office.timezone
        ));
    }
    if raw.office.name.trim().is_empty() {
        return Err("`office.name` must not be empty".into());
    }
    Ok(())
}

/// Durations, sizes and limits an office may set too low.
fn check_limits(raw: &RawConfig) -> Result<(), String> {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    if raw.conversation.idle_timeout < std::time::Duration::from_secs(1) {
        return Err("`conversation.idle_timeout` must be at least one second".into());
    }
    if raw.store.compression > 22 {
        return Err(format!(
            "`store.compression` must be a zstd level from 1 to 22, or 0 for none (not {})",
            raw.store.compression
        ));
    }
    if raw.store.dedupe_kept < DAY {
        return Err("`store.dedupe_kept` must be at least one day".into());
    }
    if raw.store.sent_text_kept < DAY {
        return Err("`store.sent_text_kept` must be at least one day".into());
    }
    if raw.privacy.retention < DAY {
        return Err("`privacy.retention` must be at least one day".into());
    }
    if raw.delivery.max_attempts < 1 {
        return Err("`delivery.max_attempts` must be at least 1".into());
    }
    for (ch, l) in &raw.delivery.limits {
        if crate::message::ChannelKind::parse(ch).is_none() {
            return Err(format!("`delivery.limits.{ch}`: no such channel"));
        }
        if l.per_chat_per_minute == 0 || l.group_per_minute == 0 || l.per_second == 0 {
            return Err(format!(
                "`delivery.limits.{ch}`: every limit must be at least 1"
            ));
        }
    }
    if raw
        .reminders
        .stage_percents
        .iter()
        .any(|p| *p == 0 || *p >= 100)
    {
        return Err("`reminders.stage_percents`: each share must be between 1 and 99".into());
    }
    if raw.conversation.max_message_chars < 16 {
        return Err("`conversation.max_message_chars` must be at least 16".into());
    }
    Ok(())
}

/// Officers: unique ids, at least one role, a usable `email_secret`.
fn check_officers(officers: &[OfficerConfig]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for o in officers {
        if !seen.insert(o.id.clone()) {
            return Err(format!("`officers`: id `{}` is used twice", o.id));
        }
        if o.roles.is_empty() {
            return Err(format!("`officers`: `{}` has no roles", o.id));
        }
        if o.email_secret.as_ref().is_some_and(|s| {
            s.expose().chars().count() < 16
                || !s
                    .expose()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err(format!(
                "`officers`: `{}`: `email_secret` needs at least 16 letters, digits, `-` or `_`",
                o.id
            ));
        }
    }
    Ok(())
}

/// Names the key at the error's position (`[table]` header + the key on that line), so an
/// office sees `office.timezone` and not just a byte offset.
pub(crate) fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return format!("invalid configuration: {msg}");
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line.split_once('=').map(|(k, _)| k.trim().to_string());
    let full = match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    };
    match full {
        Some(k) => format!("invalid value for `{k}` (line {line_no}): {msg}"),
        None => format!("invalid configuration (line {line_no}): {msg}"),
    }
}

/// The `[store]` section: PostgreSQL needs its URL (`PSTBOT_STORE_URL` wins over the file),
/// and a pool of a sane size.
fn check_store(
    store: &mut StoreConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    if let Some(url) = env("PSTBOT_STORE_URL") {
        store.url = Some(Secret(url));
    }
    if store.backend == StoreBackend::Postgres
        && store
            .url
            .as_ref()
            .is_none_or(|u| u.expose().trim().is_empty())
    {
        return Err(
            "`store.backend = \"postgres\"` needs `store.url` (or PSTBOT_STORE_URL): postgresql://user:password@host:5432/database".into(),
        );
    }
    if store.pool_size < 2 || store.pool_size > 1000 {
        return Err(format!(
            "`store.pool_size` must be from 2 to 1000 (not {})",
            store.pool_size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/pstbot/config.toml"), text, |_| None)
    }

    /// `text` is refused with a problem that says `needle`.
    fn rejects(text: &str, needle: &str) -> ConfigError {
        let e = parse(text).unwrap_err();
        assert!(e.problem.contains(needle), "{needle}: {}", e.problem);
        e
    }

    #[test]
    fn minimal_config_gets_the_sop_defaults() {
        let c = parse("[office]\nname = \"BPS Provinsi Bengkulu\"\n").unwrap();
        assert_eq!(c.languages, vec!["id", "en"]);
        assert_eq!(c.office.timezone, "Asia/Jakarta");
        let h = c.office.service_hours.by_weekday();
        assert_eq!(
            h[0].unwrap().close,
            NaiveTime::from_hms_opt(15, 30, 0).unwrap()
        );
        assert_eq!(
            h[4].unwrap().close,
            NaiveTime::from_hms_opt(16, 0, 0).unwrap()
        );
        assert!(h[5].is_none() && h[6].is_none());
        assert_eq!(c.store.path, Path::new("/etc/pstbot/./data"));
        assert_eq!(c.dialogs_dir, Path::new("/etc/pstbot/dialogs"));
    }

    #[test]
    fn unknown_keys_are_collected_not_fatal() {
        let c = parse("[office]\nname = \"X\"\ncolour = \"red\"\n[store]\npath = \"d\"\n").unwrap();
        assert_eq!(c.unknown_keys, vec!["office.colour"]);
    }

    #[test]
    fn store_backend_url_and_pool_size() {
        let c = parse("[office]\nname = \"X\"\n").unwrap();
        assert_eq!(c.store.backend, StoreBackend::Sled);
        assert_eq!(c.store.pool_size, 16);
        rejects(
            "[office]\nname = \"X\"\n[store]\nbackend = \"postgres\"\n",
            "`store.url` (or PSTBOT_STORE_URL)",
        );
        rejects(
            "[office]\nname = \"X\"\n[store]\nbackend = \"mysql\"\n",
            "backend",
        );
        rejects(
            "[office]\nname = \"X\"\n[store]\npool_size = 1\n",
            "`store.pool_size`",
        );
        let text = "[office]\nname = \"X\"\n[store]\nbackend = \"postgres\"\npool_size = 8\n";
        let url = "postgresql://pstbot:rahasia-db@db.bps.example/pstbot";
        let c = Config::parse(Path::new("c.toml"), text, move |k| {
            (k == "PSTBOT_STORE_URL").then(|| url.to_string())
        })
        .unwrap();
        assert_eq!(c.store.backend, StoreBackend::Postgres);
        assert_eq!(c.store.pool_size, 8);
        assert_eq!(c.store.url.as_ref().unwrap().expose(), url);
        assert!(
            !format!("{c:?}").contains("rahasia-db"),
            "the URL is a secret"
        );
    }

    #[test]
    fn store_housekeeping_and_compression_settings() {
        let c = parse("[office]\nname = \"X\"\n").unwrap();
        assert_eq!(c.store.compression, 0);
        assert_eq!(
            c.store.dedupe_kept,
            std::time::Duration::from_secs(30 * 86400)
        );
        let c = parse(
            "[office]\nname = \"X\"\n[store]\ncompression = 3\ndedupe_kept = \"7d\"\nsent_text_kept = \"90d\"\n",
        )
        .unwrap();
        assert_eq!(c.store.compression, 3);
        assert_eq!(
            c.store.dedupe_kept,
            std::time::Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            c.store.sent_text_kept,
            std::time::Duration::from_secs(90 * 86400)
        );
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        rejects(
            "[office]\nname = \"X\"\n[store]\ncompression = 23\n",
            "`store.compression`",
        );
        rejects(
            "[office]\nname = \"X\"\n[store]\ndedupe_kept = \"2h\"\n",
            "`store.dedupe_kept`",
        );
        rejects(
            "[office]\nname = \"X\"\n[store]\nsent_text_kept = \"1h\"\n",
            "`store.sent_text_kept`",
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        rejects(
            "[office]\nname = \"X\"\n[http]\nlisten = \"not an address\"\n",
            "`http.listen`",
        );
        rejects(
            "[office]\nname = \"X\"\ntimezone = \"Mars/Olympus\"\n",
            "`office.timezone`",
        );
        let e = rejects(
            "[office]\nname = \"X\"\n[office.service_hours]\nmon = \"15:00-08:00\"\n",
            "`office.service_hours.mon`",
        );
        assert!(
            e.problem.contains("closes before it opens"),
            "{}",
            e.problem
        );
    }
}
