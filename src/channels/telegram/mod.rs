//! The Telegram channel, on the Bot API through teloxide: applicants chat with the bot
//! privately; officers work in an admin group (`telegram.admin_chat_id`).
//!
//! - [`render`]: HTML text (escaped), split long texts, inline keyboards (paged) — pure.
//! - [`translate`]: what an `Update` is — a message for the runtime, a page flip, a polite
//!   answer, or nothing (pure, unit-tested on documented update payloads).
//! - [`inbound`]: does it: downloads files, lets the runtime handle the message, answers
//!   callback queries and removes the used keyboard.
//! - [`polling`]: long polling; the offset moves past an update only once it is durably handled.
//! - [`webhook`]: `POST /webhook/telegram`, secret checked in constant time; 200 only once the
//!   update is durably handled.
//! - Sending ([`TelegramChannel`]) goes through the durable outbox, whose limiter keeps
//!   Telegram's limits (no teloxide throttling on top, so the two never fight); a 429's
//!   `retry_after` is passed to the outbox.
//!
//! Addresses: a person's Telegram identity is their private chat id (which is their user id).
//! An officer writing in the admin group is `CHAT/USER` ([`group_address`]), so answers to their
//! commands go back to the group, and [`crate::runtime::Runtime::officer`] still recognises
//! them by the user id.

pub mod config;
pub mod inbound;
pub mod polling;
pub mod render;
pub mod translate;
pub mod webhook;

pub use config::TelegramConfig;

use crate::channels::{Context, Started, in_every_language};
use crate::config::{Config, ConfigError, OfficerConfig, Section};
use crate::message::{ChannelKind, Identity, OutboundChoice};
use crate::outbox::{DeliveryContext, ProviderRef, SendError, SendFuture, Sender};
use crate::store::OutboxRow;
use crate::text::Texts;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{
    ButtonRequest, ChatId, InputFile, KeyboardButton, KeyboardMarkup, KeyboardRemove, MessageId,
    ParseMode, ReplyMarkup,
};

/// Telegram's default Bot API server.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// The address of an officer writing in a group: answers go to the group, the officer is
/// recognised by the user id.
pub fn group_address(chat: i64, user: u64) -> String {
    format!("{chat}/{user}")
}

/// The chat a Telegram address is delivered to (`CHAT` or `CHAT/USER`).
pub fn chat_of_address(address: &str) -> Option<ChatId> {
    address
        .split('/')
        .next()
        .and_then(|c| c.parse::<i64>().ok())
        .map(ChatId)
}

/// How many paged choice lists are remembered for the ◀ / ▶ buttons (oldest forgotten first).
const REMEMBERED_LISTS: usize = 4096;

/// Paged choice lists by (chat, message), and their order of arrival (to forget the oldest).
type Lists = (
    HashMap<(i64, i32), Vec<OutboundChoice>>,
    VecDeque<(i64, i32)>,
);

/// The connection to the Bot API, shared by sending and receiving.
pub struct Telegram {
    pub bot: teloxide::Bot,
    /// The officers' group (ChannelKind::Officers is delivered there).
    pub admin_chat: Option<ChatId>,
    /// The bot's @username (from `getMe`), to tell `/cmd@thisbot` from `/cmd@otherbot`.
    username: RwLock<Option<String>>,
    /// Long choice lists sent, by message, so ◀ / ▶ can show another page. Lost on restart:
    /// then the list in the message text still answers by number.
    lists: Mutex<Lists>,
    /// Failed downloads per update id (an update whose file cannot be fetched is retried a
    /// few times, then the person is asked to send it again).
    failures: Mutex<HashMap<u32, u32>>,
}

impl Telegram {
    /// A client for the bot `token` on the Bot API at `api_url` (Telegram's by default).
    pub fn new(token: &str, api_url: Option<&str>, admin_chat: Option<i64>) -> crate::Result<Self> {
        let mut bot = teloxide::Bot::new(token);
        if let Some(url) = api_url {
            let parsed = reqwest::Url::parse(url).map_err(|e| {
                crate::config::ConfigError::new(
                    std::path::Path::new("config"),
                    format!("`telegram.api_url`: `{url}` is not a URL: {e}"),
                )
            })?;
            bot = bot.set_api_url(parsed);
        }
        Ok(Telegram {
            bot,
            admin_chat: admin_chat.map(ChatId),
            username: RwLock::new(None),
            lists: Mutex::new((HashMap::new(), VecDeque::new())),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// The bot's username once known (after `getMe`).
    pub fn username(&self) -> Option<String> {
        self.username.read().expect("username lock").clone()
    }

    /// Asks `getMe` who the bot is; remembers its username.
    pub async fn identify(&self) -> Result<String, RequestError> {
        let me = self.bot.get_me().await?;
        let name = me.username().to_string();
        *self.username.write().expect("username lock") = Some(name.clone());
        Ok(name)
    }

    /// Where a message to `to` goes.
    pub fn chat_for(&self, to: &Identity) -> Result<ChatId, SendError> {
        match to.channel {
            ChannelKind::Officers => self.admin_chat.ok_or_else(|| SendError::Permanent {
                reason: "no officers' group: set `telegram.admin_chat_id`".into(),
            }),
            ChannelKind::Telegram => {
                chat_of_address(&to.address).ok_or_else(|| SendError::Permanent {
                    reason: format!("`{}` is not a Telegram chat id", to.masked()),
                })
            }
            other => Err(SendError::Permanent {
                reason: format!("Telegram cannot deliver to {} addresses", other.as_str()),
            }),
        }
    }

    fn remember(&self, chat: ChatId, msg: MessageId, choices: Vec<OutboundChoice>) {
        let mut l = self.lists.lock().expect("lists lock");
        let key = (chat.0, msg.0);
        if l.0.insert(key, choices).is_none() {
            l.1.push_back(key);
        }
        while l.1.len() > REMEMBERED_LISTS {
            if let Some(old) = l.1.pop_front() {
                l.0.remove(&old);
            }
        }
    }

    fn download_failures(&self, update: u32) -> u32 {
        let f = self.failures.lock().expect("failures lock");
        f.get(&update).copied().unwrap_or(0)
    }

    fn download_failed(&self, update: u32) {
        let mut f = self.failures.lock().expect("failures lock");
        *f.entry(update).or_default() += 1;
    }

    fn download_done(&self, update: u32) {
        let mut f = self.failures.lock().expect("failures lock");
        f.remove(&update);
    }

    /// The choices of a paged list sent earlier, if still remembered.
    pub fn list(&self, chat: ChatId, msg: MessageId) -> Option<Vec<OutboundChoice>> {
        let l = self.lists.lock().expect("lists lock");
        l.0.get(&(chat.0, msg.0)).cloned()
    }

    /// Sends one outbox row: its text (in parts if long; the keyboard on the last), then its
    /// files as documents. Returns the Telegram message id of the last message sent.
    async fn deliver(
        &self,
        row: &OutboxRow,
        cx: &dyn DeliveryContext,
        contact_label: &str,
    ) -> Result<ProviderRef, SendError> {
        let m = &row.msg;
        let chat = self.chat_for(&m.to)?;
        let private = chat.0 > 0;
        let mut last: ProviderRef = None;
        if !m.text.trim().is_empty() || !m.choices.is_empty() {
            let text = render::text_with_choices(&m.text, &m.choices);
            let parts = render::split(&text);
            let n = parts.len();
            for (i, part) in parts.iter().enumerate() {
                let mut req = self
                    .bot
                    .send_message(chat, render::html(part))
                    .parse_mode(ParseMode::Html);
                if i + 1 == n {
                    if let Some(kb) = render::keyboard(&m.choices, 0) {
                        req = req.reply_markup(kb);
                    } else if m.ask_contact && private {
                        req = req.reply_markup(contact_keyboard(contact_label));
                    } else if private {
                        // A share-contact keyboard shown before goes away with the next message.
                        req = req.reply_markup(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()));
                    }
                }
                let sent = req.await.map_err(classify)?;
                if i + 1 == n && m.choices.len() > render::PAGE {
                    self.remember(chat, sent.id, m.choices.clone());
                }
                last = Some(sent.id.0.to_string());
            }
        }
        for f in &m.files {
            let bytes = cx.attachment(f)?;
            let doc = InputFile::memory(bytes).file_name(f.filename.clone());
            let sent = self.bot.send_document(chat, doc).await.map_err(classify)?;
            last = Some(sent.id.0.to_string());
        }
        Ok(last)
    }
}

/// Telegram's share-contact button (the phone step): the contact it sends is the user's own.
fn contact_keyboard(label: &str) -> KeyboardMarkup {
    KeyboardMarkup::new(vec![vec![
        KeyboardButton::new(label).request(ButtonRequest::Contact),
    ]])
    .resize_keyboard()
    .one_time_keyboard()
}

/// The sending side, registered for [`ChannelKind::Telegram`] (and [`ChannelKind::Officers`]
/// when the admin group is set).
pub struct TelegramChannel {
    tg: Arc<Telegram>,
    /// The share-contact button's label, in every language (`telegram_share_contact`).
    contact_label: String,
}

impl TelegramChannel {
    /// The sending side of `tg`, with its button words from `texts`.
    pub fn new(tg: Arc<Telegram>, texts: &Texts) -> TelegramChannel {
        TelegramChannel {
            tg,
            contact_label: in_every_language(texts, "telegram_share_contact", &[], " / "),
        }
    }
}

impl Sender for TelegramChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, cx: &'a dyn DeliveryContext) -> SendFuture<'a> {
        Box::pin(async move {
            self.tg
                .deliver(row, cx, &self.contact_label)
                .await
                .map(Into::into)
        })
    }

    /// The officers' group: its posts, and answers to an officer writing there (`CHAT/USER`),
    /// all in one chat that Telegram limits to 20 messages a minute (issue 20, item 5).
    fn group_of(&self, to: &Identity) -> Option<ChannelKind> {
        let admin = self.tg.admin_chat?;
        let in_group = match to.channel {
            ChannelKind::Officers => true,
            ChannelKind::Telegram => chat_of_address(&to.address) == Some(admin),
            _ => false,
        };
        in_group.then_some(ChannelKind::Telegram)
    }
}

/// The outbox's senders of a Telegram connection: its chats, and the officers' group when
/// `telegram.admin_chat_id` is set.
pub fn senders(tg: &Arc<Telegram>, texts: &Texts) -> Vec<(ChannelKind, Arc<dyn Sender>)> {
    let sender: Arc<dyn Sender> = Arc::new(TelegramChannel::new(tg.clone(), texts));
    let mut out = vec![(ChannelKind::Telegram, sender.clone())];
    if tg.admin_chat.is_some() {
        out.push((ChannelKind::Officers, sender));
    }
    out
}

/// The Telegram channel as a plug-in: started when `[telegram]` (or `PSTBOT_TELEGRAM_TOKEN`)
/// gives a token; long polling, or the webhook registered at start.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        Some(TelegramConfig::NAME)
    }

    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError> {
        Ok(crate::channels::unknown_keys(TelegramConfig::read(config)?))
    }

    fn report(&self, config: &Config) {
        if let Ok(Some(tg)) = TelegramConfig::from_config(config)
            && tg.token.is_none()
        {
            tracing::warn!(
                "telegram is configured without a token (`telegram.token` or PSTBOT_TELEGRAM_TOKEN): not started"
            );
        }
    }

    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>> {
        let Some(tc) = TelegramConfig::from_config(config)? else {
            return Ok(None);
        };
        let Some(token) = &tc.token else {
            return Ok(None);
        };
        let api_url = tc.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
        let tg = Arc::new(Telegram::new(
            token.expose(),
            Some(api_url),
            tc.admin_chat_id,
        )?);
        let mut started = Started {
            senders: senders(&tg, &cx.texts),
            ..Started::default()
        };
        if tc.webhook_mode() {
            let secret = tc
                .webhook_secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default();
            let url = tc.webhook_url.clone().unwrap_or_default();
            started.tasks.push(Box::pin(webhook::register(
                tg.clone(),
                url,
                secret.clone(),
                cx.stop.clone(),
            )));
            started.routes = Some(webhook::routes(webhook::TelegramWebhook {
                tg,
                rt: cx.rt.clone(),
                secret,
            }));
        } else {
            // One process at a time polls (several on one database share a lease).
            let rt = cx.rt.clone();
            started
                .tasks
                .push(Box::pin(crate::runtime::lease::run_leased(
                    cx.rt.store.clone(),
                    "telegram-polling",
                    cx.stop.clone(),
                    move |stop| polling::run(tg.clone(), rt.clone(), stop),
                )));
        }
        Ok(Some(started))
    }

    fn officer_identity(&self, officer: &OfficerConfig) -> Option<Identity> {
        officer
            .telegram_user_id
            .map(|id| Identity::new(ChannelKind::Telegram, id.to_string()))
    }

    fn is_officer(&self, officer: &OfficerConfig, who: &Identity) -> bool {
        who.channel == ChannelKind::Telegram
            && officer.telegram_user_id.map(|id| id.to_string()).as_deref() == who.telegram_user()
    }

    /// With a token and an officers' group, the group hosts the officers' chat: an officer
    /// writing there (`CHAT/USER`, made only for that group) reads the posts where they wrote.
    fn officers_chat_readers(
        &self,
        config: &Config,
    ) -> Option<crate::channels::OfficersChatReaders> {
        let tc = TelegramConfig::from_config(config).ok().flatten()?;
        tc.token.as_ref()?;
        tc.admin_chat_id?;
        Some(Box::new(|who: &Identity| {
            who.channel == ChannelKind::Telegram && who.address.contains('/')
        }))
    }
}

/// Classifies a Bot API failure for the outbox. The Bot API answers 429 with
/// `parameters.retry_after` (teloxide's `RetryAfter`); 5xx and network trouble are worth
/// retrying; its 400/403 answers (teloxide's known `ApiError`s: blocked, chat not found, bad
/// request…) are permanent. teloxide does not keep the HTTP status, so an unknown description
/// is judged by its words.
pub fn classify(e: RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::Transient {
            reason: format!("Telegram asks to wait {}s (429)", s.seconds()),
            retry_after: Some(s.duration()),
        },
        RequestError::Network(e) => SendError::Transient {
            reason: if e.is_timeout() {
                "Telegram did not answer in time".into()
            } else if e.is_connect() {
                "cannot connect to Telegram".into()
            } else {
                format!("network error: {e}")
            },
            retry_after: None,
        },
        RequestError::InvalidJson { raw, .. } => SendError::Transient {
            reason: format!(
                "unreadable answer from Telegram: {}",
                crate::message::clip(&raw, 120)
            ),
            retry_after: None,
        },
        RequestError::Io(e) => SendError::Transient {
            reason: format!("I/O error: {e}"),
            retry_after: None,
        },
        RequestError::MigrateToChatId(to) => SendError::Permanent {
            reason: format!(
                "the group became a supergroup with id {to}: set `telegram.admin_chat_id` to it"
            ),
        },
        RequestError::Api(ApiError::Unknown(d)) if is_server_trouble(&d) => SendError::Transient {
            reason: format!("Telegram: {d}"),
            retry_after: None,
        },
        RequestError::Api(e) => SendError::Permanent {
            reason: format!("Telegram: {e}"),
        },
    }
}

fn is_server_trouble(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    [
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
        "too many requests",
    ]
    .iter()
    .any(|w| d.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    #[test]
    fn errors_map_to_retry_or_give_up() {
        let e = classify(RequestError::RetryAfter(Seconds::from_seconds(7)));
        assert_eq!(
            e,
            SendError::Transient {
                reason: "Telegram asks to wait 7s (429)".into(),
                retry_after: Some(std::time::Duration::from_secs(7))
            }
        );
        assert!(matches!(
            classify(RequestError::Api(ApiError::BotBlocked)),
            SendError::Permanent { .. }
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::ChatNotFound)),
            SendError::Permanent { .. }
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::Unknown(
                "Internal Server Error".into()
            ))),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::Unknown(
                "Bad Request: something new".into()
            ))),
            SendError::Permanent { .. }
        ));
    }

    #[test]
    fn addresses_name_their_chat() {
        assert_eq!(chat_of_address("12345"), Some(ChatId(12345)));
        assert_eq!(
            chat_of_address(&group_address(-100123, 42)),
            Some(ChatId(-100123))
        );
        assert_eq!(chat_of_address("budi"), None);
    }
}
