//! The e-mail channel: notifications and conversation replies by SMTP (lettre), new mail by
//! IMAP (async-imap), parsed with mail-parser.
//!
//! - [`render`]: an outbox row → a MIME mail (plain text + HTML, attachments, stable ids).
//! - [`send`]: the outbox's [`crate::outbox::Sender`] over SMTP; 4xx transient, 5xx permanent.
//! - [`parse`]: a raw mail → what it means (pure): a reply to a case, a new message, a bounce,
//!   an automatic answer; quoted history and signatures removed.
//! - [`imap`]: the mailbox loop: fetch, hand to the runtime, then mark handled.
//! - [`auth`]: who really wrote a mail: the receiving server's verdict, our reply tokens.
//! - [`thread`]: `References`, `In-Reply-To` and `Re:` subjects, as mail programs thread them.
//!
//! Every mail about case `ADU-2026-000012` refers to the root id
//! `<pstbot.ADU-2026-000012@DOMAIN>` first, and each mail's own id is derived from its outbox
//! row's key and carries the reply token of its recipient
//! (`<pstbot.ADU-2026-000012.HASH.TOKEN@DOMAIN>`), so a resend after a crash is the same mail
//! and a reply proves which mailbox it answers. The rest of a case thread's chain is kept with
//! the delivery records of its mails (see [`thread`]).

pub mod auth;
pub mod config;
pub mod imap;
pub mod parse;
pub mod render;
pub mod send;
pub mod thread;

pub use config::EmailConfig;

use crate::channels::{Context, Started};
use crate::config::{Config, ConfigError, OfficerConfig, Secret, Section};
use crate::message::{ChannelKind, Identity};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (SMTP 465, IMAP 993).
    Tls,
    /// Plain, then upgraded with STARTTLS (SMTP 587, IMAP 143).
    StartTls,
    /// No TLS: only for a relay on the same machine or network.
    None,
}

impl Security {
    fn parse(s: Option<&str>, default: Security) -> Security {
        match s {
            Some("tls") => Security::Tls,
            Some("starttls") => Security::StartTls,
            Some("none") => Security::None,
            _ => default,
        }
    }
}

/// Where handled mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Marked `\Seen` and with the keyword [`HANDLED_KEYWORD`]; stays in the folder.
    Flag,
    /// Moved to this folder.
    Move(String),
}

/// The IMAP keyword pstbot puts on mail it handled.
pub const HANDLED_KEYWORD: &str = "$PstbotHandled";

/// The SMTP side, checked.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub timeout: Duration,
}

/// The IMAP side, checked.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    pub password: Secret,
    pub folder: String,
    pub poll: Duration,
    pub idle: bool,
    pub handled: Handled,
}

/// What the mail channel writes as, and how.
#[derive(Debug, Clone)]
pub struct MailIdentity {
    pub from_address: String,
    pub from_name: String,
    pub reply_to: Option<String>,
    pub signature: String,
    pub office: String,
    /// The office's time zone (`office.timezone`): the `Date:` of its mails is in it.
    pub tz: chrono_tz::Tz,
}

impl MailIdentity {
    /// The domain of the from address: the right-hand side of every id we make.
    pub fn domain(&self) -> &str {
        self.from_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost")
    }
}

/// Everything `[email]` says, checked: SMTP (sending) and, when set, IMAP (receiving).
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub me: MailIdentity,
    pub smtp: SmtpSettings,
    pub imap: Option<ImapSettings>,
    /// The receiving servers whose `Authentication-Results` count, lowercased.
    pub trusted_authserv_ids: Vec<String>,
}

impl EmailSettings {
    /// The checked settings of `[email]`, when the section is there.
    pub fn of(config: &Config) -> Result<Option<EmailSettings>, ConfigError> {
        let Some(e) = EmailConfig::from_config(config)? else {
            return Ok(None);
        };
        let mut settings = Self::from_config(
            &config.file,
            &config.office.name,
            &e,
            config.delivery.send_timeout,
        )?;
        // Checked when the config was loaded.
        settings.me.tz = config.office.timezone.parse().unwrap_or(chrono_tz::UTC);
        Ok(Some(settings))
    }

    /// Builds the settings from `[email]`; `send_timeout` bounds one SMTP conversation.
    pub fn from_config(
        file: &Path,
        office: &str,
        c: &EmailConfig,
        send_timeout: Duration,
    ) -> Result<EmailSettings, ConfigError> {
        let need = |v: &Option<String>, key: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ConfigError::new(file, format!("`email.{key}` is required")))
        };
        let host = need(&c.smtp_host, "smtp_host")?;
        let from_address = need(&c.from_address, "from_address")?;
        let security = Security::parse(c.smtp_security.as_deref(), Security::StartTls);
        let port = c.smtp_port.unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let smtp = SmtpSettings {
            host,
            port,
            security,
            user: c.smtp_user.clone().filter(|u| !u.is_empty()),
            password: c.smtp_password.clone(),
            timeout: send_timeout,
        };
        let imap = match &c.imap_host {
            None => None,
            Some(h) if h.trim().is_empty() => None,
            Some(h) => {
                let security = Security::parse(c.imap_security.as_deref(), Security::Tls);
                Some(ImapSettings {
                    host: h.clone(),
                    port: c.imap_port.unwrap_or(match security {
                        Security::Tls => 993,
                        _ => 143,
                    }),
                    security,
                    user: need(&c.imap_user, "imap_user")?,
                    password: c.imap_password.clone().ok_or_else(|| {
                            ConfigError::new(
                                file,
                                "`email.imap_password` (or PSTBOT_IMAP_PASSWORD) is required with `email.imap_host`",
                            )
                        })?,
                    folder: c.imap_folder.clone().unwrap_or_else(|| "INBOX".into()),
                    poll: Duration::from_secs(c.poll_seconds.unwrap_or(60).max(1)),
                    idle: c.idle,
                    handled: match c.handled.as_deref() {
                        Some("move") => Handled::Move(c.handled_folder.clone().unwrap_or_default()),
                        _ => Handled::Flag,
                    },
                })
            }
        };
        Ok(EmailSettings {
            me: MailIdentity {
                from_name: c
                    .from_name
                    .clone()
                    .unwrap_or_else(|| format!("PST {office}")),
                from_address,
                reply_to: c.reply_to.clone(),
                signature: c
                    .signature
                    .clone()
                    .unwrap_or_else(|| format!("Pelayanan Statistik Terpadu (PST)\n{office}")),
                office: office.to_string(),
                tz: chrono_tz::UTC,
            },
            smtp,
            imap,
            trusted_authserv_ids: c
                .trusted_authserv_ids
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect(),
        })
    }
}

/// The e-mail channel as a plug-in: sends by SMTP when `[email]` is there; reads the mailbox
/// when `email.imap_host` is set.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        Some(EmailConfig::NAME)
    }

    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError> {
        Ok(crate::channels::unknown_keys(EmailConfig::read(config)?))
    }

    fn report(&self, config: &Config) {
        if let Ok(Some(email)) = EmailConfig::from_config(config)
            && email.imap_host.is_some()
        {
            report_mail_proof(config, &email);
        }
    }

    fn check(&self, config: &Config) -> Result<(), ConfigError> {
        EmailSettings::of(config).map(|_| ())
    }

    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>> {
        let Some(settings) = EmailSettings::of(config)? else {
            return Ok(None);
        };
        let sender = send::EmailChannel::new(settings.clone(), cx.texts.clone())?;
        let mut started = Started {
            senders: vec![(ChannelKind::Email, Arc::new(sender))],
            ..Started::default()
        };
        if settings.imap.is_some() {
            // One process at a time reads the mailbox (several on one database share a lease).
            let rt = cx.rt.clone();
            started
                .tasks
                .push(Box::pin(crate::runtime::lease::run_leased(
                    cx.rt.store.clone(),
                    "imap-reading",
                    cx.stop.clone(),
                    move |stop| imap::run(settings.clone(), rt.clone(), stop),
                )));
        }
        Ok(Some(started))
    }

    fn officer_identity(&self, officer: &OfficerConfig) -> Option<Identity> {
        officer
            .email
            .as_ref()
            .map(|e| Identity::new(ChannelKind::Email, e.clone()))
    }
}

/// Says at start-up how mail from officers and applicants is proven (a `From:` header is not
/// proof): which officers cannot command by mail, and what counts for replies to cases.
fn report_mail_proof(config: &Config, email: &EmailConfig) {
    let by_server = !email.trusted_authserv_ids.is_empty();
    let unproven: Vec<&str> = config
        .officers
        .iter()
        .filter(|o| o.email.is_some() && o.email_secret.is_none())
        .map(|o| o.id.as_str())
        .collect();
    if !by_server && !unproven.is_empty() {
        tracing::warn!(
            officers = %unproven.join(", "),
            "email: these officers' mail is not taken as commands: set `email.trusted_authserv_ids` (the receiving server's Authentication-Results) or each officer's `email_secret`"
        );
    }
    if by_server {
        tracing::info!(servers = %email.trusted_authserv_ids.join(", "), "email: senders proven by these servers' Authentication-Results, or by answering our mail");
    } else {
        tracing::info!(
            "email: a mail counts for a case only when it answers our mail about it (reply token); unproven mail starts a conversation that sees no case"
        );
    }
}

/// The id every mail about `case` refers to (the thread's root).
pub fn thread_root_id(case: &str, domain: &str) -> String {
    format!("<pstbot.{case}@{domain}>")
}

/// The id of the mail an outbox row becomes: the same for every attempt of that row, with the
/// reply token of its recipient for its case (or the conversation).
pub fn message_id_for_row(
    key: &str,
    case: Option<&str>,
    recipient: &str,
    tokens: &auth::TokenKey,
    domain: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let h = hex::encode(&Sha256::digest(key.as_bytes())[..12]);
    let token = tokens.token(case.unwrap_or(auth::CONVERSATION), recipient);
    match case {
        Some(c) => format!("<pstbot.{c}.{h}.{token}@{domain}>"),
        None => format!("<pstbot.{h}.{token}@{domain}>"),
    }
}

/// The name of the store secret reply tokens are made with.
const TOKEN_SECRET: &str = "email-reply-tokens";

/// The office's reply-token key, from the store (made on first use).
pub fn token_key(cx: &dyn crate::outbox::DeliveryContext) -> crate::store::Result<auth::TokenKey> {
    cx.secret(TOKEN_SECRET).map(auth::TokenKey::new)
}

/// The message id of the mail a row answers, when the row was caused by a mail (its key is
/// `email:<MESSAGE-ID>#N`).
pub fn answered_mail_id(row_key: &str) -> Option<String> {
    let rest = row_key.strip_prefix("email:")?;
    let (id, _) = rest.rsplit_once('#')?;
    let id = id.trim();
    (id.starts_with('<') && id.ends_with('>') && id.len() > 2).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_name_their_case() {
        let k = auth::TokenKey::new([3; 32]);
        let id = |row: &str, to: &str| {
            message_id_for_row(row, Some("ADU-2026-000012"), to, &k, "bps.go.id")
        };
        let a = id("telegram:5#0", "siti@x.id");
        assert_eq!(a, id("telegram:5#0", "siti@x.id"));
        assert!(a.starts_with("<pstbot.ADU-2026-000012."));
        assert_ne!(a, id("telegram:5#1", "siti@x.id"));
        assert_ne!(
            a,
            id("telegram:5#0", "budi@x.id"),
            "the token is the recipient's"
        );
        let ours = auth::answers(&[a], "siti@x.id", "bps.go.id", &k);
        assert_eq!(ours.case.unwrap().to_string(), "ADU-2026-000012");
        assert_eq!(
            thread_root_id("ADU-2026-000012", "bps.go.id"),
            "<pstbot.ADU-2026-000012@bps.go.id>"
        );
        assert_eq!(
            answered_mail_id("email:<abc@x.id>#2").as_deref(),
            Some("<abc@x.id>")
        );
        assert_eq!(answered_mail_id("telegram:5#0"), None);
    }
}
