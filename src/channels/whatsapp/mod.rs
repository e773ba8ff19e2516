//! The WhatsApp channel, on the WhatsApp Business Cloud API (Meta's Graph API).
//!
//! - [`translate`]: a webhook body → messages for the runtime and delivery statuses (pure).
//! - [`render`]: an outbound message → Cloud API message objects: text, reply buttons (≤ 3),
//!   a list (≤ 10), numbered text beyond; templates (pure).
//! - [`graph`]: the Graph API calls (send, media upload, media download) and its error codes.
//! - [`webhook`]: `GET /webhook/whatsapp` (verification) and `POST /webhook/whatsapp`
//!   (signature checked on the raw body before parsing; 200 once every message is durably
//!   handled; statuses recorded).
//! - Sending ([`WhatsappChannel`]) goes through the durable outbox.
//!
//! **The 24-hour customer-service window.** A business may send free-form messages to a person
//! only within 24 hours of that person's last message; after that only an approved template.
//! The time of a person's last message is the `last_seen` of their conversation, which the
//! store writes in the same transaction as the message (officers' too). A row to a person
//! outside the window goes as the template configured for its notification kind
//! (`[whatsapp.templates.<kind>]`); without one it is not sent on WhatsApp
//! ([`SendError::Withheld`]): a notification is carried by its e-mail copy when the person
//! gave an e-mail address, else the officers are told the person could not be reached; a
//! conversation reply (no topic) that old is of no use and is dropped quietly. A
//! re-engagement refusal from the API (error 131047) takes the same path.
//!
//! Addresses: a WhatsApp identity is `+` and the `wa_id` digits (`+6281234567890`), so the
//! guest book's phone number and the officers' `whatsapp` numbers compare directly. When no
//! Telegram group hosts the officers' chat, it is delivered to `whatsapp.officer_numbers`.

pub mod config;
pub mod graph;
pub mod render;
pub mod translate;
pub mod webhook;

pub use config::{DEFAULT_GRAPH_API_URL, WhatsappConfig, WhatsappTemplate};

use crate::channels::{Context, Started};
use crate::config::{Config, ConfigError, OfficerConfig, Section};
use crate::message::{ChannelKind, Identity, OutboundMessage, phone_digits};
use crate::outbox::{DeliveryContext, ProviderRef, SendError, SendFuture, Sender};
use crate::runtime::Clock;
use crate::store::OutboxRow;
use crate::text::Texts;
use graph::{Graph, GraphFail};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How long after a person's last message free-form messages may be sent.
pub const WINDOW: chrono::TimeDelta = crate::message::WHATSAPP_WINDOW;

/// The connection to the Cloud API, shared by sending and the webhook.
pub struct Whatsapp {
    pub graph: Graph,
    pub phone_number_id: String,
    pub app_secret: String,
    pub verify_token: String,
    /// Digits of the numbers that receive the officers' chat.
    pub officer_numbers: Vec<String>,
    pub templates: BTreeMap<String, WhatsappTemplate>,
    pub max_body: usize,
    pub clock: Arc<dyn Clock>,
    /// The words of interactive lists.
    pub list_words: render::ListWords,
}

impl Whatsapp {
    /// The channel of `[whatsapp]`, when its credentials are complete.
    pub fn from_config(
        config: &Config,
        clock: Arc<dyn Clock>,
        texts: &Texts,
    ) -> Result<Option<Arc<Whatsapp>>, ConfigError> {
        let Some(wa) = WhatsappConfig::from_config(config)?.filter(|w| w.is_complete()) else {
            return Ok(None);
        };
        let secret = |s: &Option<crate::config::Secret>| {
            s.as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default()
        };
        let phone_number_id = wa.phone_number_id.clone().unwrap_or_default();
        Ok(Some(Arc::new(Whatsapp {
            graph: Graph::new(
                wa.graph_url(),
                &phone_number_id,
                &secret(&wa.access_token),
                config.delivery.send_timeout,
            ),
            phone_number_id,
            app_secret: secret(&wa.app_secret),
            verify_token: secret(&wa.verify_token),
            officer_numbers: wa
                .officer_numbers
                .iter()
                .filter_map(|n| phone_digits(n))
                .collect(),
            templates: wa.templates.clone(),
            max_body: wa.max_body(),
            clock,
            list_words: render::ListWords::from_texts(texts),
        })))
    }

    /// Whether the person at `digits` wrote within the last 24 hours.
    fn in_window(&self, cx: &dyn DeliveryContext, digits: &str) -> Result<bool, SendError> {
        let who = Identity::new(ChannelKind::Whatsapp, format!("+{digits}"));
        let last = cx.last_seen(&who).map_err(|e| SendError::Transient {
            reason: format!("cannot read the conversation: {e}"),
            retry_after: None,
        })?;
        Ok(last.is_some_and(|t| self.clock.now() - t < WINDOW))
    }

    /// Sends `m`'s text, choices and files as free-form messages; returns their wamids.
    async fn send_free_form(
        &self,
        digits: &str,
        m: &OutboundMessage,
        cx: &dyn DeliveryContext,
    ) -> Result<Vec<String>, GraphFail> {
        let mut ids = Vec::new();
        for payload in render::messages(digits, m, &self.list_words) {
            ids.push(self.graph.send_message(&payload).await?);
        }
        for f in &m.files {
            let bytes = cx.attachment(f)?;
            let media = self.graph.upload(&f.filename, &f.mime, bytes).await?;
            ids.push(
                self.graph
                    .send_message(&render::document(digits, &media, &f.filename))
                    .await?,
            );
        }
        Ok(ids)
    }

    /// Sends `m` to one number: free-form inside the window, else its template, else
    /// [`Outside::NoTemplate`].
    async fn send_to(
        &self,
        digits: &str,
        m: &OutboundMessage,
        cx: &dyn DeliveryContext,
    ) -> Result<Vec<String>, Outside> {
        if self.in_window(cx, digits).map_err(Outside::Failed)? {
            match self.send_free_form(digits, m, cx).await {
                Ok(ids) => return Ok(ids),
                Err(GraphFail::Reengage(why)) => {
                    tracing::info!(to = %crate::message::mask(digits), %why, "whatsapp: window closed; trying the template path");
                }
                Err(GraphFail::Send(e)) => return Err(Outside::Failed(e)),
            }
        }
        let template = m
            .topic
            .as_ref()
            .and_then(|t| self.templates.get(&t.kind).map(|tpl| (t, tpl)));
        match template {
            Some((topic, tpl)) => self
                .graph
                .send_message(&render::template(digits, tpl, topic))
                .await
                .map(|id| vec![id])
                .map_err(|e| Outside::Failed(e.into_send_error())),
            None => Err(Outside::NoTemplate),
        }
    }

    /// Delivers one outbox row: to a person, or to every officer number (officers' chat).
    async fn deliver(
        &self,
        row: &OutboxRow,
        cx: &dyn DeliveryContext,
    ) -> Result<ProviderRef, SendError> {
        let m = &row.msg;
        match m.to.channel {
            ChannelKind::Whatsapp => {
                let digits = phone_digits(&m.to.address).ok_or_else(|| SendError::Permanent {
                    reason: format!("`{}` is not a WhatsApp number", m.to.masked()),
                })?;
                match self.send_to(&digits, m, cx).await {
                    Ok(ids) => Ok(Some(ids.join(" "))),
                    Err(Outside::Failed(e)) => Err(e),
                    Err(Outside::NoTemplate) => Err(withheld(m, cx)),
                }
            }
            ChannelKind::Officers => {
                let mut ids = Vec::new();
                let mut first_error = None;
                for n in &self.officer_numbers {
                    match self.send_to(n, m, cx).await {
                        Ok(more) => ids.extend(more),
                        Err(Outside::NoTemplate) => {
                            tracing::info!(to = %crate::message::mask(n), "whatsapp: officer outside the 24-hour window; officers' post not sent to them");
                        }
                        Err(Outside::Failed(e)) => {
                            tracing::warn!(to = %crate::message::mask(n), error = %e, "whatsapp: officers' post not delivered to one number");
                            first_error.get_or_insert(e);
                        }
                    }
                }
                match (ids.is_empty(), first_error) {
                    (false, _) => Ok(Some(ids.join(" "))),
                    (true, Some(e)) => Err(e),
                    (true, None) => Err(SendError::Withheld {
                        reason: "no officer number wrote to the bot within 24 hours (officers: send any message, e.g. `antrian`, to receive posts)".into(),
                        covered: false,
                    }),
                }
            }
            other => Err(SendError::Permanent {
                reason: format!("WhatsApp cannot deliver to {} addresses", other.as_str()),
            }),
        }
    }
}

/// Why a message did not go to a number.
enum Outside {
    /// Outside the window and no template fits.
    NoTemplate,
    Failed(SendError),
}

/// The outcome of a row to a person outside the window with no template (see the module docs).
fn withheld(m: &OutboundMessage, cx: &dyn DeliveryContext) -> SendError {
    let Some(topic) = &m.topic else {
        return SendError::Withheld {
            reason: "a conversation reply outside WhatsApp's 24-hour window".into(),
            covered: true,
        };
    };
    let email = cx.has_email(&m.to).unwrap_or(false);
    if email {
        SendError::Withheld {
            reason: format!(
                "outside WhatsApp's 24-hour window with no template for `{}`; the e-mail copy carries it",
                topic.kind
            ),
            covered: true,
        }
    } else {
        SendError::Withheld {
            reason: format!(
                "outside WhatsApp's 24-hour window, no approved template for `{}` (`[whatsapp.templates.{}]`) and no e-mail address",
                topic.kind, topic.kind
            ),
            covered: false,
        }
    }
}

/// The sending side, registered for [`ChannelKind::Whatsapp`] (and [`ChannelKind::Officers`]
/// when no Telegram group hosts the officers' chat and officer numbers are set).
pub struct WhatsappChannel(pub Arc<Whatsapp>);

impl Sender for WhatsappChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, cx: &'a dyn DeliveryContext) -> SendFuture<'a> {
        Box::pin(async move { self.0.deliver(row, cx).await.map(Into::into) })
    }
}

/// The WhatsApp channel as a plug-in: started when `[whatsapp]` has all four credentials;
/// hosts the officers' chat on `whatsapp.officer_numbers` when no channel before it does.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        Some(WhatsappConfig::NAME)
    }

    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError> {
        Ok(crate::channels::unknown_keys(WhatsappConfig::read(config)?))
    }

    fn report(&self, config: &Config) {
        if let Ok(Some(wa)) = WhatsappConfig::from_config(config)
            && !wa.is_complete()
        {
            tracing::warn!(
                "whatsapp is configured without all of `phone_number_id`, `access_token`, `app_secret` and `verify_token`: not started"
            );
        }
    }

    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>> {
        let Some(wa) = Whatsapp::from_config(config, cx.clock.clone(), &cx.texts)? else {
            return Ok(None);
        };
        let sender: Arc<dyn Sender> = Arc::new(WhatsappChannel(wa.clone()));
        let mut senders = vec![(ChannelKind::Whatsapp, sender.clone())];
        if !wa.officer_numbers.is_empty() {
            senders.push((ChannelKind::Officers, sender));
        }
        let hook = webhook::WhatsappWebhook {
            wa,
            rt: cx.rt.clone(),
        };
        Ok(Some(Started {
            senders,
            routes: Some(webhook::routes(hook)),
            tasks: Vec::new(),
        }))
    }

    fn officer_identity(&self, officer: &OfficerConfig) -> Option<Identity> {
        officer
            .whatsapp
            .as_ref()
            .map(|w| Identity::new(ChannelKind::Whatsapp, w.clone()))
    }

    fn is_officer(&self, officer: &OfficerConfig, who: &Identity) -> bool {
        let theirs = officer.whatsapp.as_deref().and_then(phone_digits);
        who.channel == ChannelKind::Whatsapp
            && theirs.is_some()
            && theirs == phone_digits(&who.address)
    }

    /// With `officer_numbers`, those numbers receive the officers' chat: an officer writing
    /// from one of them reads each post in the same conversation (issue 20, item 4).
    fn officers_chat_readers(
        &self,
        config: &Config,
    ) -> Option<crate::channels::OfficersChatReaders> {
        let wa = WhatsappConfig::from_config(config)
            .ok()
            .flatten()
            .filter(|w| w.is_complete())?;
        let numbers: std::collections::HashSet<String> = wa
            .officer_numbers
            .iter()
            .filter_map(|n| phone_digits(n))
            .collect();
        if numbers.is_empty() {
            return None;
        }
        Some(Box::new(move |who: &Identity| {
            who.channel == ChannelKind::Whatsapp
                && phone_digits(&who.address).is_some_and(|d| numbers.contains(&d))
        }))
    }
}
