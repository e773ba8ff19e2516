//! The contract between the delivery worker and a channel's sending side: [`Sender`] sends one
//! outbox row and says how it went ([`SendError`]); [`DeliveryContext`] is everything a sender
//! may look up while it does — the bytes of attached files, when the recipient last wrote, their
//! language, whether their mail bounced, a stored secret, the web chat's log — and nothing more
//! of the store.

use crate::message::{AttachmentRef, ChannelKind, Identity};
use crate::store::{OutboxRow, SentRecord, Store, WebLogEntry};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Why a provider did not take a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (HTTP 429/5xx, a timeout, a dropped connection, SMTP 4xx), not before
    /// `retry_after` when the provider said so.
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help (HTTP 4xx other than 429, SMTP 5xx, a blocked recipient).
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
    /// The channel decided not to send the row, and trying again will not change that
    /// (WhatsApp outside its 24-hour window with no approved template for the message). The
    /// row is finished, not retried. `covered`: someone else carries it (the e-mail copy of a
    /// notification, or a stale conversation reply nobody needs) — the row is recorded as
    /// sent with [`crate::store::DeliveryStatus::Withheld`]. Not covered: it is recorded as
    /// failed and the officers are told the person could not be reached.
    #[error("not sent: {reason}")]
    Withheld { reason: String, covered: bool },
}

impl SendError {
    /// Classifies an HTTP status the way every provider API here means it.
    pub fn from_status(status: u16, body: &str, retry_after: Option<Duration>) -> SendError {
        let reason = format!("HTTP {status}: {}", crate::message::clip(body, 200));
        if status == 429 || status == 408 || status >= 500 {
            SendError::Transient {
                reason,
                retry_after,
            }
        } else {
            SendError::Permanent { reason }
        }
    }
}

/// A delivered message's id at the provider, when it gives one.
pub type ProviderRef = Option<String>;

/// What a sender reports of a delivered row, kept in its [`crate::store::SentRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The provider's ids of the message.
    pub provider_ref: ProviderRef,
    /// E-mail: the ids the mail named in `References`, oldest first (the next mail of its
    /// thread names them and this mail's own id).
    pub thread: Vec<String>,
}

impl From<ProviderRef> for Delivered {
    fn from(provider_ref: ProviderRef) -> Self {
        Delivered {
            provider_ref,
            thread: Vec::new(),
        }
    }
}

/// What [`Sender::send`] returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>>;

/// One channel's sending side. Adapters only translate a row into the provider's request.
pub trait Sender: Send + Sync + 'static {
    /// Sends one message; `cx` answers what the channel must look up to do it.
    fn send<'a>(&'a self, row: &'a OutboxRow, cx: &'a dyn DeliveryContext) -> SendFuture<'a>;

    /// The channel whose officers' group a message to `to` lands in, when it does (the
    /// officers' chat, and an answer to an officer who wrote in the group): every such
    /// message counts against that channel's group limit, whoever it answers.
    fn group_of(&self, _to: &crate::message::Identity) -> Option<crate::message::ChannelKind> {
        None
    }
}

/// What a sender may look up while it delivers a row: narrow questions, each asked by the
/// channel named with it, instead of the whole store. Every store answers them (see the
/// implementation below); tests pass a store directly.
pub trait DeliveryContext: Send + Sync {
    /// The bytes of a stored file (Telegram, WhatsApp and e-mail attach them).
    fn blob(&self, hash: &str) -> crate::store::Result<Option<Vec<u8>>>;
    /// When `who` last wrote (WhatsApp: free-form messages only within 24 hours of it).
    fn last_seen(&self, who: &Identity) -> crate::store::Result<Option<DateTime<Utc>>>;
    /// The language `who` talks in, when a conversation says so (the e-mail footer).
    fn language(&self, who: &Identity) -> crate::store::Result<Option<String>>;
    /// Whether the guest book holds an e-mail address for `who` (WhatsApp: the e-mail copy of
    /// a notification then carries it).
    fn has_email(&self, who: &Identity) -> crate::store::Result<bool>;
    /// Whether mail to `who` bounced since they last wrote (e-mail sends nothing more there).
    fn address_failing(&self, who: &Identity) -> crate::store::Result<bool>;
    /// A 32-byte secret kept by the store, made on first use (the e-mail reply-token key).
    fn secret(&self, name: &str) -> crate::store::Result<[u8; 32]>;
    /// A delivered message by one of its provider ids on `channel` (e-mail: the latest mail
    /// of a thread, by the thread's mark).
    fn sent_by_ref(
        &self,
        channel: ChannelKind,
        provider_ref: &str,
    ) -> crate::store::Result<Option<SentRecord>>;
    /// Appends an entry to a web session's log once per key (the web chat's delivery):
    /// its sequence number, and whether it is new.
    fn web_log_append(
        &self,
        session: &str,
        key: &str,
        entry: &WebLogEntry,
    ) -> crate::store::Result<(u64, bool)>;

    /// The bytes of a file a row carries: a store that cannot be read is worth retrying; a
    /// file the store does not hold cannot come back.
    fn attachment(&self, f: &AttachmentRef) -> Result<Vec<u8>, SendError> {
        self.blob(&f.blob)
            .map_err(|e| SendError::Transient {
                reason: format!("cannot read the file from the store: {e}"),
                retry_after: None,
            })?
            .ok_or_else(|| SendError::Permanent {
                reason: format!("the file {} is not in the store", f.filename),
            })
    }
}

impl<S: Store + ?Sized> DeliveryContext for S {
    fn blob(&self, hash: &str) -> crate::store::Result<Option<Vec<u8>>> {
        crate::store::BlobStore::blob(self, hash)
    }

    fn last_seen(&self, who: &Identity) -> crate::store::Result<Option<DateTime<Utc>>> {
        Ok(self.session(who)?.and_then(|c| c.last_seen))
    }

    fn language(&self, who: &Identity) -> crate::store::Result<Option<String>> {
        Ok(self.session(who)?.map(|c| c.lang))
    }

    fn has_email(&self, who: &Identity) -> crate::store::Result<bool> {
        Ok(self.guest_of(who)?.is_some_and(|g| g.email().is_some()))
    }

    fn address_failing(&self, who: &Identity) -> crate::store::Result<bool> {
        crate::store::OutboxStore::address_failing(self, who)
    }

    fn secret(&self, name: &str) -> crate::store::Result<[u8; 32]> {
        crate::store::StoreMaintenance::secret(self, name)
    }

    fn sent_by_ref(
        &self,
        channel: ChannelKind,
        provider_ref: &str,
    ) -> crate::store::Result<Option<SentRecord>> {
        crate::store::OutboxStore::sent_by_ref(self, channel, provider_ref)
    }

    fn web_log_append(
        &self,
        session: &str,
        key: &str,
        entry: &WebLogEntry,
    ) -> crate::store::Result<(u64, bool)> {
        crate::store::WebChatStore::web_log_append(self, session, key, entry)
    }
}

/// The worker holds its store behind an `Arc`; this lets it hand the store on as the context.
impl<S: Store + ?Sized> DeliveryContext for Arc<S> {
    fn blob(&self, hash: &str) -> crate::store::Result<Option<Vec<u8>>> {
        DeliveryContext::blob(&**self, hash)
    }
    fn last_seen(&self, who: &Identity) -> crate::store::Result<Option<DateTime<Utc>>> {
        DeliveryContext::last_seen(&**self, who)
    }
    fn language(&self, who: &Identity) -> crate::store::Result<Option<String>> {
        DeliveryContext::language(&**self, who)
    }
    fn has_email(&self, who: &Identity) -> crate::store::Result<bool> {
        DeliveryContext::has_email(&**self, who)
    }
    fn address_failing(&self, who: &Identity) -> crate::store::Result<bool> {
        DeliveryContext::address_failing(&**self, who)
    }
    fn secret(&self, name: &str) -> crate::store::Result<[u8; 32]> {
        DeliveryContext::secret(&**self, name)
    }
    fn sent_by_ref(
        &self,
        channel: ChannelKind,
        provider_ref: &str,
    ) -> crate::store::Result<Option<SentRecord>> {
        DeliveryContext::sent_by_ref(&**self, channel, provider_ref)
    }
    fn web_log_append(
        &self,
        session: &str,
        key: &str,
        entry: &WebLogEntry,
    ) -> crate::store::Result<(u64, bool)> {
        DeliveryContext::web_log_append(&**self, session, key, entry)
    }
}
