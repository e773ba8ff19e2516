//! The web chat: the page an office puts on its website, and the HTTP API behind it.
//!
//! - [`pages`]: the chat page (`/`, `/chat`), the embeddable widget (`/widget.js`), the privacy
//!   page and their assets, compiled into the binary (no CDN, no external fonts).
//! - [`api`]: `/api/web/…`: start or resume a session, post a message, a choice or a file, read
//!   the history, download a file sent to the visitor, and a Server-Sent Events stream of new
//!   messages.
//! - [`guard`]: what refuses bad requests before they reach the runtime: cross-site posts,
//!   unknown sessions, sizes, file types and rates.
//!
//! A visitor is `Identity { channel: Web, address: session id }`. The session id is the SHA-256
//! of a random 256-bit token that only the visitor's browser holds (an HttpOnly cookie); the
//! store keeps the hash, never the token. Every message of a session — what the visitor sent and
//! what was delivered to them — is kept in the session's log in the store, so coming back shows
//! the conversation. Messages to a web visitor are "delivered" by appending them to that log
//! and pushing them to the browsers listening on the session's event stream: replies at once by
//! the request that caused them, and notifications and officers' answers by the outbox worker
//! through [`WebChannel`]. Both paths log a message under its outbox id, so it is logged once.

pub mod api;
pub mod config;
pub mod events;
pub mod files;
pub mod guard;
pub mod pages;

pub use config::WebchatConfig;
pub use pages::routes;

use crate::channels::{Context, Started};
use crate::config::{Config, ConfigError, Section};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::outbox::{DeliveryContext, SendError, SendFuture, Sender};
use crate::runtime::Runtime;
use crate::store::{OutboxRow, SentRecord, StoreError, WebLogEntry, WebSession};
use crate::text::Texts;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The session cookie's name over plain http (a test, or a LAN without TLS).
pub const COOKIE: &str = "pstbot_session";
/// The session cookie's name over https: the `__Host-` prefix makes the browser refuse it
/// unless it is `Secure`, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant a
/// token of its choosing (issue 17, item 11). Over https only this name is read.
pub const HOST_COOKIE: &str = "__Host-pstbot_session";

/// The session cookie's name for a request that came over https or not.
pub fn cookie_name(https: bool) -> &'static str {
    if https { HOST_COOKIE } else { COOKIE }
}
/// How many log entries the page gets when it opens.
pub const HISTORY: usize = 300;

/// What an open page's event stream is told.
#[derive(Debug, Clone)]
pub enum Pushed {
    /// A new entry of the session's log.
    Entry(u64, WebLogEntry),
    /// Entries may have been missed (another process wrote them while this one was not
    /// listening): read the log again from the last one shown.
    ReadAgain,
}

/// The live listeners of each session: an entry appended to a session's log is sent to them.
#[derive(Default)]
pub struct Hub {
    by_session: Mutex<HashMap<String, Topic>>,
}

/// One session's listeners, and the last entry pushed to them.
struct Topic {
    tx: broadcast::Sender<Pushed>,
    last: u64,
}

impl Hub {
    /// Listens to the entries appended to `session`'s log from now on.
    pub fn subscribe(&self, session: &str) -> broadcast::Receiver<Pushed> {
        let mut m = self.by_session.lock().expect("hub lock");
        if m.len() > 1024 {
            // Forget sessions whose pages have all gone away.
            m.retain(|_, t| t.tx.receiver_count() > 0);
        }
        m.entry(session.to_string())
            .or_insert_with(|| Topic {
                tx: broadcast::channel(64).0,
                last: 0,
            })
            .tx
            .subscribe()
    }

    /// Tells the listeners of `session` about a new entry (nobody listening: nothing to do).
    pub fn publish(&self, session: &str, seq: u64, entry: &WebLogEntry) {
        let mut m = self.by_session.lock().expect("hub lock");
        if let Some(t) = m.get_mut(session) {
            t.last = t.last.max(seq);
            if t.tx.send(Pushed::Entry(seq, entry.clone())).is_err() {
                // Every listener has gone away.
                m.remove(session);
            }
        }
    }

    /// Where to read `session`'s log from to push entry `seq`, which some process appended:
    /// `None` when no page here listens to it, or it was pushed already.
    pub fn wants(&self, session: &str, seq: u64) -> Option<u64> {
        let m = self.by_session.lock().expect("hub lock");
        let t = m.get(session)?;
        if t.tx.receiver_count() == 0 || seq <= t.last {
            return None;
        }
        // From the last entry pushed: any notice missed in between is read too.
        Some(if t.last == 0 { seq - 1 } else { t.last })
    }

    /// Tells every open page to read its log again (notices may have been lost).
    pub fn read_again(&self, session: Option<&str>) {
        let m = self.by_session.lock().expect("hub lock");
        for (s, t) in m.iter() {
            if session.is_none_or(|x| x == s) {
                let _ = t.tx.send(Pushed::ReadAgain);
            }
        }
    }
}

/// Pushes to this process's open pages the entries other processes append (the store's
/// notices, [`crate::store::Coordination::watch_web_logs`]), until the notices end.
async fn relay(
    store: Arc<dyn crate::store::Store>,
    hub: Arc<Hub>,
    mut notices: tokio::sync::mpsc::Receiver<crate::store::WebLogNotice>,
) {
    use crate::store::WebLogNotice;
    const PAGE: usize = 64;
    while let Some(n) = notices.recv().await {
        match n {
            WebLogNotice::Missed => hub.read_again(None),
            WebLogNotice::Appended { session, seq } => {
                let Some(after) = hub.wants(&session, seq) else {
                    continue;
                };
                match store.web_log(&session, after, PAGE) {
                    Ok(page) => {
                        let full = page.len() == PAGE;
                        for (seq, entry) in page {
                            hub.publish(&session, seq, &entry);
                        }
                        if full {
                            hub.read_again(Some(&session));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "web chat: cannot read a log entry another process wrote");
                        hub.read_again(Some(&session));
                    }
                }
            }
        }
    }
}

/// A new session token: 32 bytes from the operating system's CSPRNG, hex-encoded.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The session id of a token: the hex SHA-256 of it. Only this is stored.
pub fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a cookie value looks like a token this server issues (64 lowercase hex digits),
/// before it is looked up.
pub fn well_formed_token(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The web visitor identity of a session.
pub fn identity(session: &str) -> Identity {
    Identity::new(ChannelKind::Web, session)
}

/// The log entry of a message delivered to a visitor.
pub fn entry_of(msg: &OutboundMessage, at: chrono::DateTime<chrono::Utc>) -> WebLogEntry {
    WebLogEntry {
        at,
        visitor: false,
        text: msg.text.clone(),
        choices: msg.choices.clone(),
        files: msg.files.clone(),
        officer: msg
            .topic
            .as_ref()
            .is_some_and(|t| matches!(t.kind.as_str(), "officer_reply" | "officer_file")),
    }
}

/// The log key of a delivered outbox row: the same from the request and the outbox worker.
pub fn row_key(id: u64) -> String {
    format!("out:{id}")
}

/// Everything the web chat's handlers share.
pub struct WebChat {
    pub rt: Arc<Runtime>,
    /// The words of the page, the widget and the refusals (`web_*` system texts).
    pub texts: Arc<Texts>,
    pub config: WebchatConfig,
    pub hub: Arc<Hub>,
    pub limits: guard::Limits,
    /// Cancelled when the service stops: event streams end so the server can shut down.
    pub stop: CancellationToken,
    /// The open event streams per session and per address.
    pub streams: guard::Streams,
    /// The files of each session's conversation, for downloads.
    pub files: files::FileIndex,
    /// One request at a time per session (shards), so a visitor's message and its replies are
    /// logged together.
    turns: Vec<tokio::sync::Mutex<()>>,
}

impl WebChat {
    pub fn new(
        rt: Arc<Runtime>,
        config: WebchatConfig,
        hub: Arc<Hub>,
        stop: CancellationToken,
    ) -> WebChat {
        let limits = guard::Limits::new(&config);
        WebChat {
            texts: rt.bot.texts.clone(),
            rt,
            config,
            hub,
            limits,
            stop,
            streams: guard::Streams::default(),
            files: files::FileIndex::default(),
            turns: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    fn turn(&self, session: &str) -> &tokio::sync::Mutex<()> {
        let n = session
            .bytes()
            .take(8)
            .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize));
        &self.turns[n % self.turns.len()]
    }

    /// The session of a cookie token, if this server issued it.
    pub fn session_of(&self, token: &str) -> Result<Option<WebSession>, StoreError> {
        if !well_formed_token(token) {
            return Ok(None);
        }
        self.rt.store.web_session(&session_id(token))
    }

    /// Appends an entry to a session's log (once per key) and pushes it to its listeners.
    pub fn log(&self, session: &str, key: &str, entry: WebLogEntry) -> Result<u64, StoreError> {
        log_and_publish(&self.rt.store, &self.hub, session, key, entry)
    }
}

/// Appends to a session's log once per key and tells the listeners when it is new.
fn log_and_publish(
    store: &dyn DeliveryContext,
    hub: &Hub,
    session: &str,
    key: &str,
    entry: WebLogEntry,
) -> Result<u64, StoreError> {
    let (seq, new) = store.web_log_append(session, key, &entry)?;
    if new {
        hub.publish(session, seq, &entry);
    }
    Ok(seq)
}

/// The web chat's sending side for the outbox: a message to a web visitor is delivered when
/// it is in the session's log (and pushed to an open page). The visitor reads it live or on
/// their next visit.
pub struct WebChannel {
    pub hub: Arc<Hub>,
}

impl Sender for WebChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, cx: &'a dyn DeliveryContext) -> SendFuture<'a> {
        Box::pin(async move {
            let session = &row.msg.to.address;
            let entry = entry_of(&row.msg, row.created_at);
            match log_and_publish(cx, &self.hub, session, &row_key(row.id), entry) {
                Ok(seq) => Ok(Some(seq.to_string()).into()),
                Err(e) => Err(SendError::Transient {
                    reason: format!("web log: {e}"),
                    retry_after: None,
                }),
            }
        })
    }
}

/// The web chat as a plug-in: served unless `webchat.enabled = false`; delivers into each
/// session's log and to its open pages.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        Some(WebchatConfig::NAME)
    }

    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError> {
        Ok(WebchatConfig::read(config)?.unknown_keys)
    }

    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>> {
        let web = WebchatConfig::read(config)?.value;
        if !web.enabled {
            return Ok(None);
        }
        let hub = Arc::new(Hub::default());
        let chat = WebChat::new(cx.rt.clone(), web, hub.clone(), cx.stop.clone());
        tracing::info!("web chat on / and /chat, widget on /widget.js");
        let mut tasks: Vec<crate::channels::Task> = Vec::new();
        // Other processes on a shared store append to the logs too: their entries are pushed
        // to the pages open here as they commit.
        if let Some(notices) = cx.rt.store.watch_web_logs(cx.stop.clone())? {
            tasks.push(Box::pin(relay(cx.rt.store.clone(), hub.clone(), notices)));
        }
        Ok(Some(Started {
            senders: vec![(ChannelKind::Web, Arc::new(WebChannel { hub }))],
            routes: Some(routes(Arc::new(chat))),
            tasks,
        }))
    }
}

/// Marks a row the request delivered itself as sent, so the outbox does not keep it; `key` is
/// the row's idempotency key, kept in the delivery record as the outbox worker keeps it.
pub(crate) fn mark_sent(
    rt: &Runtime,
    id: u64,
    key: String,
    to: &Identity,
    seq: u64,
) -> Result<(), StoreError> {
    rt.store.outbox_sent(SentRecord {
        id,
        key,
        to: to.clone(),
        at: rt.clock.now(),
        provider_ref: Some(seq.to_string()),
        // The text is in the session's log; the delivery record need not keep it again.
        msg: None,
        status: None,
        status_at: None,
        thread: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_only_their_hash_is_the_session() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed_token(&a), "{a}");
        let id = session_id(&a);
        assert_eq!(id.len(), 64);
        assert_ne!(id, a);
        assert!(!well_formed_token("abc"));
        assert!(!well_formed_token(&"G".repeat(64)));
    }
}
