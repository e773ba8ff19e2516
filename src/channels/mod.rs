//! Channel adapters: each turns its wire format into [`crate::message::InboundMessage`] and
//! renders [`crate::message::OutboundMessage`] its own way. No dialog or case logic here.
//!
//! A channel is a plug-in: one folder, one line in [`REGISTRY`], one config section. It says
//! what its section must hold ([`Channel::load`], [`Channel::check`]) and, started
//! ([`Channel::start`]), hands back its sending side, its HTTP routes and its background tasks
//! ([`Started`]). `app` and `http` only loop over the registry ([`start`], [`load`],
//! [`report`]); the runtime learns officers' identities per channel through
//! [`officer_identity`] and [`is_officer`].

pub mod email;
pub mod sms;
pub mod telegram;
pub mod terminal;
pub mod web;
pub mod whatsapp;

use crate::config::{Config, ConfigError, OfficerConfig};
use crate::message::{ChannelKind, Identity};
use crate::outbox::{Channels, Sender};
use crate::runtime::{Clock, Runtime};
use crate::text::Texts;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Every channel pstbot has, in order of precedence: the first that hosts the officers' chat
/// carries it, and an officer is reached directly on the first channel that knows them.
pub static REGISTRY: &[&dyn Channel] = &[
    &telegram::Plugin,
    &whatsapp::Plugin,
    &sms::Plugin,
    &email::Plugin,
    &web::Plugin,
    &terminal::Plugin,
];

/// The largest webhook body a channel accepts unless it says otherwise (413 beyond).
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

// Polite answers the chat channels (Telegram, WhatsApp) give without the runtime: keys of
// `dialogs/system.toml`, worded by [`polite`].
/// A kind of message the bot does not handle (a sticker, a voice note).
pub const UNSUPPORTED: &str = "channel_unsupported";
/// A file that could not be fetched from the provider: please send it again.
pub const FILE_FAILED: &str = "channel_file_failed";
/// A file over `conversation.max_attachment_bytes` (`{mb}`).
pub const FILE_TOO_BIG: &str = "channel_file_too_big";

/// A background task of a channel (polling, a mailbox): spawned by `serve`, it ends soon after
/// the context's `stop` is cancelled.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a channel is given to start: the runtime its inbound messages go to, the words it may
/// say, the clock, and the service's stop signal.
#[derive(Clone)]
pub struct Context {
    pub rt: Arc<Runtime>,
    /// The system and officers' texts (`dialogs/system.toml`, `dialogs/officers.toml`).
    pub texts: Arc<Texts>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the service stops: tasks and open streams end.
    pub stop: CancellationToken,
}

impl Context {
    /// The context of channels working for `rt` until `stop`.
    pub fn new(rt: Arc<Runtime>, stop: CancellationToken) -> Context {
        Context {
            texts: rt.bot.texts.clone(),
            clock: rt.clock.clone(),
            rt,
            stop,
        }
    }
}

/// A started channel.
#[derive(Default)]
pub struct Started {
    /// Its sending side, by the kinds of identity it delivers to. Listing
    /// [`ChannelKind::Officers`] says it hosts the officers' chat (a Telegram group, WhatsApp
    /// numbers).
    pub senders: Vec<(ChannelKind, Arc<dyn Sender>)>,
    /// Its HTTP routes (webhooks, pages), with their own body limits.
    pub routes: Option<axum::Router>,
    /// Its background tasks, not yet spawned.
    pub tasks: Vec<Task>,
}

/// Every configured channel, started: what `serve` runs.
pub struct Running {
    /// The sending sides for the outbox.
    pub senders: Channels,
    /// The routes of every channel, merged.
    pub routes: axum::Router,
    /// The background tasks of every channel, not yet spawned.
    pub tasks: Vec<Task>,
}

impl Running {
    /// Warns when no channel hosts the officers' admin chat in this process.
    pub fn report_officers_chat(&self) {
        if self.senders.get(ChannelKind::Officers).is_none() {
            tracing::warn!(
                "no officers' admin chat runs in this process (set `telegram.admin_chat_id` or `whatsapp.officer_numbers`): officers' posts and reminders wait in the outbox; `pstbot chat --as <officer>` shows them"
            );
        }
    }
}

/// One channel as a plug-in.
pub trait Channel: Sync {
    /// The name of its config section (`telegram` for `[telegram]`); `None` for a channel
    /// without one (the terminal).
    fn section(&self) -> Option<&'static str>;

    /// Reads and checks its section (with the secrets from the environment), as loading the
    /// config always does: a problem stops every command. Returns the keys in it pstbot does
    /// not know.
    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError>;

    /// Logs what the office should know when a command starts (a channel configured without
    /// what it needs is not started; how mail is proven).
    fn report(&self, _config: &Config) {}

    /// What `pstbot check` and `serve` verify beyond [`Channel::load`]: that it can start.
    fn check(&self, _config: &Config) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Starts it when its section says so (`None`: not configured in this process).
    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>>;

    /// Where an officer is reached directly on this channel, when their entry names an
    /// address for it.
    fn officer_identity(&self, _officer: &OfficerConfig) -> Option<Identity> {
        None
    }

    /// Whether `who`, an identity this channel vouches for, is `officer`.
    fn is_officer(&self, _officer: &OfficerConfig, _who: &Identity) -> bool {
        false
    }

    /// When this channel hosts the officers' admin chat as `config` sets it up: which
    /// officers' identities read that chat where they write (an officer in the officers'
    /// group, an officer's number that receives the posts), so a post there need not be said to
    /// them as well. `None`: it does not host the chat.
    fn officers_chat_readers(&self, _config: &Config) -> Option<OfficersChatReaders> {
        None
    }
}

/// Whether an identity reads the officers' chat where it writes ([`Channel::officers_chat_readers`]).
pub type OfficersChatReaders = Box<dyn Fn(&Identity) -> bool + Send + Sync>;

/// Loads every channel's section: the first problem stops (as loading the config did).
/// Returns the keys no channel knows.
pub fn load(config: &Config) -> Result<Vec<String>, ConfigError> {
    let mut unknown: Vec<String> = config
        .channels
        .names()
        .iter()
        .filter(|n| !REGISTRY.iter().any(|c| c.section() == Some(n.as_str())))
        .cloned()
        .collect();
    for c in REGISTRY {
        unknown.extend(c.load(config)?);
    }
    Ok(unknown)
}

/// What `pstbot check` verifies of the channels: every section loads and every configured
/// channel can start.
pub fn check(config: &Config) -> Result<(), ConfigError> {
    load(config)?;
    REGISTRY.iter().try_for_each(|c| c.check(config))
}

/// Logs what the office should know about the channels when a command starts (configured
/// without what they need, how mail is proven); the unknown keys come from [`load`].
pub fn report(config: &Config) {
    for c in REGISTRY {
        c.report(config);
    }
}

/// Starts every configured channel for `cx`: their senders (the first to host the officers'
/// chat carries it), their routes and their tasks.
pub fn start(config: &Config, cx: &Context) -> crate::Result<Running> {
    let mut senders = Channels::new();
    let mut routes = axum::Router::new();
    let mut tasks = Vec::new();
    for channel in REGISTRY {
        let Some(started) = channel.start(config, cx)? else {
            continue;
        };
        for (kind, sender) in started.senders {
            if senders.get(kind).is_none() {
                senders.add(kind, sender);
            }
        }
        if let Some(r) = started.routes {
            routes = routes.merge(r);
        }
        tasks.extend(started.tasks);
    }
    Ok(Running {
        senders,
        routes,
        tasks,
    })
}

/// The registry's way of recognising and reaching officers, for the runtime, as `config`
/// sets the channels up.
pub fn officers(config: &Config) -> Arc<dyn crate::config::OfficerIdentities> {
    Arc::new(RegistryOfficers {
        // The officers' chat is hosted by the first channel that can (as in [`start`]).
        readers: REGISTRY
            .iter()
            .find_map(|c| c.officers_chat_readers(config)),
    })
}

/// [`crate::config::OfficerIdentities`] answered by every channel of the [`REGISTRY`].
pub struct RegistryOfficers {
    /// Who reads the officers' chat where they write, from the channel that hosts it.
    readers: Option<OfficersChatReaders>,
}

impl crate::config::OfficerIdentities for RegistryOfficers {
    fn reach(&self, officer: &OfficerConfig) -> Option<Identity> {
        officer_identity(officer)
    }
    fn is(&self, officer: &OfficerConfig, who: &Identity) -> bool {
        is_officer(officer, who)
    }
    fn in_officers_chat(&self, who: &Identity) -> bool {
        self.readers.as_ref().is_some_and(|reads| reads(who))
    }
}

/// The identity an officer is reached at directly: the first channel of the registry that
/// knows an address of theirs (Telegram, then WhatsApp, then e-mail, then the terminal).
pub fn officer_identity(officer: &OfficerConfig) -> Option<Identity> {
    REGISTRY.iter().find_map(|c| c.officer_identity(officer))
}

/// Whether `who` (an identity its channel vouches for) is `officer`. E-mail says no: a
/// `From:` header is no proof, and proven mail is matched by its address separately.
pub fn is_officer(officer: &OfficerConfig, who: &Identity) -> bool {
    REGISTRY.iter().any(|c| c.is_officer(officer, who))
}

/// A webhook's route: `route` on `path` for `state`, bodies over `limit` bytes refused (413)
/// before any handler reads them.
pub fn webhook_route<S: Clone + Send + Sync + 'static>(
    path: &str,
    route: axum::routing::MethodRouter<S>,
    limit: usize,
    state: S,
) -> axum::Router {
    axum::Router::new()
        .route(path, route)
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The keys a section read has that its channel does not know (none when it is absent).
pub fn unknown_keys<T>(read: Option<crate::config::Read<T>>) -> Vec<String> {
    read.map(|r| r.unknown_keys).unwrap_or_default()
}

/// A polite answer in every language, one line each; `{mb}` is the largest file accepted.
pub fn polite(texts: &Texts, key: &str, max_bytes: u64) -> String {
    let mb = max_bytes.div_ceil(1024 * 1024).to_string();
    in_every_language(texts, key, &[("mb", mb)], "\n")
}

/// A text said before the person's language is known (a polite answer, a button), in every
/// configured language, joined by `separator` (`"\n"`: one line each; `" / "`: one line).
pub fn in_every_language(
    texts: &Texts,
    key: &str,
    vars: &[(&str, String)],
    separator: &str,
) -> String {
    texts
        .languages
        .iter()
        .map(|l| crate::text::fill(&texts.get(key, l), vars))
        .collect::<Vec<_>>()
        .join(separator)
}

/// What the channels' config tests share: a config from text, and a section refused.
#[cfg(test)]
pub(crate) mod config_tests {
    use crate::config::{Config, ConfigError};

    /// Section `read` of the config `text`.
    pub fn parse<T>(
        text: &str,
        read: fn(&Config) -> Result<Option<T>, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        let c = Config::parse(
            std::path::Path::new("/etc/pstbot/config.toml"),
            text,
            |_| None,
        )?;
        read(&c)
    }

    /// `text` is refused with a problem that says `needle`.
    pub fn rejects<T: std::fmt::Debug>(
        text: &str,
        read: fn(&Config) -> Result<Option<T>, ConfigError>,
        needle: &str,
    ) -> ConfigError {
        let e = parse(text, read).unwrap_err();
        assert!(e.problem.contains(needle), "{needle}: {}", e.problem);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped texts (`dialogs/system.toml`, `dialogs/officers.toml`), read as the loader
    /// reads them.
    fn shipped() -> Texts {
        Texts {
            languages: vec!["id".into(), "en".into()],
            system: toml::from_str(include_str!("../../dialogs/system.toml")).unwrap(),
            officers: toml::from_str(include_str!("../../dialogs/officers.toml")).unwrap(),
        }
    }

    #[test]
    fn the_channels_words_come_from_the_texts_as_they_were_written() {
        let t = shipped();
        let mb20 = 20 * 1024 * 1024;
        assert_eq!(
            polite(&t, UNSUPPORTED, mb20),
            "Maaf, jenis pesan ini belum bisa kami proses. Silakan ketik pesan, kirim dokumen atau foto, atau ketik menu.\nSorry, we cannot handle this kind of message. Please type a message, send a document or a photo, or type menu."
        );
        assert_eq!(
            polite(&t, FILE_FAILED, mb20),
            "Maaf, berkas Bapak/Ibu gagal kami unduh. Silakan kirim ulang.\nSorry, we could not download your file. Please send it again."
        );
        assert_eq!(
            polite(&t, FILE_TOO_BIG, mb20),
            "Maaf, berkas terlalu besar (maksimum 20 MB). Silakan kirim berkas yang lebih kecil.\nSorry, the file is too large (at most 20 MB). Please send a smaller file."
        );
        assert_eq!(
            polite(&t, telegram::translate::EDITED, mb20),
            "Pesan yang diubah tidak kami proses; silakan kirim sebagai pesan baru.\nEdited messages are not processed; please send it as a new message."
        );
        assert_eq!(
            polite(&t, telegram::translate::OFFICERS_ONLY, mb20),
            "Perintah di grup ini hanya untuk petugas yang terdaftar.\nCommands in this group are for listed officers only."
        );
        assert_eq!(
            polite(&t, telegram::translate::PRIVATE_ONLY, mb20),
            "Silakan hubungi saya lewat chat pribadi.\nPlease message me in a private chat."
        );
        assert_eq!(
            polite(&t, whatsapp::translate::LOCATION, mb20),
            "Terima kasih. Lokasi tidak diperlukan untuk layanan kami; silakan ketik pesan atau *menu*.\nThank you. We do not need a location for our services; please type a message or *menu*."
        );
        let line = |key| in_every_language(&t, key, &[], " / ");
        assert_eq!(
            line(telegram::translate::TYPE_NUMBER),
            "Ketik nomor pilihan Bapak/Ibu / type the number of your choice"
        );
        assert_eq!(
            line("telegram_share_contact"),
            "📱 Bagikan nomor saya / Share my number"
        );
        let list = whatsapp::render::ListWords::from_texts(&t);
        assert_eq!(list.button, "Pilih / Choose");
        assert_eq!(list.title, "Pilihan / Options");
        assert_eq!(
            t.officer(
                "officers_whatsapp_failed",
                &[
                    ("to", "whatsapp:***890".into()),
                    ("code", "131026".into()),
                    ("title", "Message undeliverable".into()),
                    ("preview", "Halo".into()),
                ]
            ),
            "⚠️ Pesan WhatsApp ke whatsapp:***890 gagal terkirim / a WhatsApp message could not be delivered (WhatsApp error 131026: Message undeliverable).\n«Halo»"
        );
    }

    #[test]
    fn officers_are_reached_and_recognised_per_channel() {
        let o = OfficerConfig {
            id: "rina".into(),
            name: "Rina".into(),
            roles: vec![crate::config::Role::Petugas],
            terminal: Some("rina".into()),
            telegram_user_id: None,
            whatsapp: Some("+62 811-1111-1111".into()),
            email: Some("rina@bps.go.id".into()),
            email_secret: None,
        };
        assert_eq!(
            officer_identity(&o),
            Some(Identity::new(ChannelKind::Whatsapp, "+62 811-1111-1111"))
        );
        assert!(is_officer(
            &o,
            &Identity::new(ChannelKind::Whatsapp, "+6281111111111")
        ));
        assert!(is_officer(
            &o,
            &Identity::new(ChannelKind::Terminal, "rina")
        ));
        assert!(!is_officer(
            &o,
            &Identity::new(ChannelKind::Email, "rina@bps.go.id")
        ));
        assert!(!is_officer(
            &o,
            &Identity::new(ChannelKind::Telegram, "7001")
        ));
        let o = OfficerConfig {
            telegram_user_id: Some(7001),
            ..o
        };
        assert_eq!(
            officer_identity(&o),
            Some(Identity::new(ChannelKind::Telegram, "7001"))
        );
        assert!(is_officer(
            &o,
            &Identity::new(ChannelKind::Telegram, "-100123/7001")
        ));
    }
}
