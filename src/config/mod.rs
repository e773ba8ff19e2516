//! The configuration file: one serde struct, a sub-struct per concern. Each channel's section
//! (`[telegram]`, `[email]`, …) is kept as written ([`Sections`]) and read by its channel, so
//! this file knows no channel.
//!
//! Unknown keys are reported as warnings (a typo must not pass silently); invalid values stop
//! start-up with the key named. Secrets may come from environment variables instead of the file
//! and are masked whenever the config is printed.

mod checks;
mod office;
mod sections;
mod settings;

pub use office::{DayHours, OfficeConfig, OfficeProfile, ServiceHours};
pub use sections::{Env, Read, Section, Sections};
pub use settings::{
    ConversationConfig, DEFAULT_COMPRESSION, DeliveryConfig, HttpConfig, PrivacyConfig, RateLimit,
    RemindersConfig, ReportsConfig, StoreBackend, StoreConfig,
};

pub(crate) use checks::describe_toml_error;
use checks::{check_limits, check_office, check_officers, check_store};

use serde::Deserialize;
use std::fmt;
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
/// (`channels::officers(config)`) is handed to the runtime, which never names a channel.
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

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
