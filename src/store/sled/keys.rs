//! The sled store's trees and key bytes: the one place that says which tree holds what and
//! how a key is spelled. Changing anything here changes the stored format (see
//! [`crate::store::SCHEMA_VERSION`]).
//!
//! Trees: `meta` (schema version, secrets), `sessions` (identity → conversation), `guests`
//! (guest id → guest), `guest_ids` (identity → guest id), `cases` (case number → case),
//! `guest_cases` (guest id, NUL, case number → ()), `open_cases` (case number → ()), `counters`
//! (`PREFIX/YEAR` → big-endian u64), `dedupe` (channel:message id → handled-at millis),
//! `visits`/`ratings` (big-endian millis + 8 bytes of the dedupe key's hash → record),
//! `appointments` (big-endian millis of the visit + guest id → record), `blobs` (sha256 → bytes),
//! `cases_by_time` (big-endian millis of creation + case number → ()). Walk-in queue counters
//! live in `counters` as `Q/LETTER/DAY/issued` and `…/called`.
//! Delivery: `outbox` (big-endian row id → row waiting to be sent), `outbox_sent` (row id →
//! what was delivered), `sent_refs` (channel, NUL, provider message id → big-endian row id: status
//! callbacks and quoted replies find the row), `outbox_failed` (row id → row given up on),
//! `failing_addresses` (channel:lower-case address → big-endian millis of the bounce). Time:
//! `timers` (big-endian millis of the due time + timer id → timer), `timer_owners` (owner → the
//! `timers` keys it holds, so a commit can replace an owner's timers inside a transaction, where
//! sled cannot scan).
//! Web chat: `web_sessions` (hash of a session token → session), `web_log` (session, NUL,
//! big-endian sequence → log entry), `web_log_keys` (session, NUL, entry key → sequence, so an
//! entry delivered twice is logged once).
//! `audit` (big-endian millis + 8 bytes of a hash → officers' accesses to personal data).
//! `consent_texts` (SHA-256 hex of a consent text → the text): a guest record refers to the
//! text it agreed to instead of holding a copy (see `CONSENT_REF`).
//! Values are JSON, so a stored record can be read by hand when something goes wrong.

use crate::cases::CaseNumber;
use crate::guestbook::Guest;
use crate::message::{ChannelKind, Identity};
use crate::store::apply::Counter;
use crate::store::records::Timer;
use crate::store::{Result, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

pub(super) const T_SESSIONS: usize = 0;
pub(super) const T_GUESTS: usize = 1;
pub(super) const T_GUEST_IDS: usize = 2;
pub(super) const T_CASES: usize = 3;
pub(super) const T_GUEST_CASES: usize = 4;
pub(super) const T_OPEN: usize = 5;
pub(super) const T_COUNTERS: usize = 6;
pub(super) const T_DEDUPE: usize = 7;
pub(super) const T_VISITS: usize = 8;
pub(super) const T_RATINGS: usize = 9;
pub(super) const T_APPOINTMENTS: usize = 10;
pub(super) const T_BLOBS: usize = 11;
pub(super) const T_CASES_BY_TIME: usize = 12;
pub(super) const T_OUTBOX: usize = 13;
pub(super) const T_SENT: usize = 14;
pub(super) const T_FAILED: usize = 15;
pub(super) const T_TIMERS: usize = 16;
pub(super) const T_TIMER_OWNERS: usize = 17;
pub(super) const T_AUDIT: usize = 18;
pub(super) const T_SENT_REFS: usize = 19;
pub(super) const T_FAILING: usize = 20;
pub(super) const T_CONSENTS: usize = 21;
pub(super) const TREE_NAMES: [&str; 22] = [
    "sessions",
    "guests",
    "guest_ids",
    "cases",
    "guest_cases",
    "open_cases",
    "counters",
    "dedupe",
    "visits",
    "ratings",
    "appointments",
    "blobs",
    "cases_by_time",
    "outbox",
    "outbox_sent",
    "outbox_failed",
    "timers",
    "timer_owners",
    "audit",
    "sent_refs",
    "failing_addresses",
    "consent_texts",
];

/// Marks a guest's `consent_text` stored as a reference: the SHA-256 (hex) of the text, which
/// is kept once in `consent_texts`. Every guest agreed to one of a few texts (~1 KiB each).
pub(super) const CONSENT_REF: &str = "\u{1}sha256:";

/// A guest as stored: its consent text replaced by a reference, and the text to keep under it
/// (`None`: nothing to add).
pub(super) fn stored_guest(g: &Guest) -> (Guest, Option<(String, String)>) {
    if g.consent_text.is_empty() || g.consent_text.starts_with(CONSENT_REF) {
        return (g.clone(), None);
    }
    let hash = hex::encode(Sha256::digest(g.consent_text.as_bytes()));
    let stored = Guest {
        consent_text: format!("{CONSENT_REF}{hash}"),
        ..g.clone()
    };
    (stored, Some((hash, g.consent_text.clone())))
}

/// The web chat trees, apart from the commit's trees (a commit never writes them).
pub(super) const WEB_TREE_NAMES: [&str; 3] = ["web_sessions", "web_log", "web_log_keys"];

/// A key under a web session: the session id, NUL, then `rest`.
pub(super) fn web_key(session: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(session.len() + 1 + rest.len());
    k.extend_from_slice(session.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

/// The sequence number at the end of a `web_log` key.
pub(super) fn web_seq(key: &[u8]) -> Result<u64> {
    key.len()
        .checked_sub(8)
        .and_then(|i| <[u8; 8]>::try_from(&key[i..]).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "a web log key ends with an 8-byte sequence number".into(),
        })
}

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Engine(e.to_string())
    }
}

pub(super) fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("domain records always serialize")
}

pub(super) fn dec<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

pub(super) fn identity_key(who: &Identity) -> Vec<u8> {
    who.to_string().into_bytes()
}

pub(super) fn sent_ref_key(channel: ChannelKind, provider_ref: &str) -> Vec<u8> {
    let mut k = channel.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(provider_ref.as_bytes());
    k
}

pub(super) fn case_key(n: &CaseNumber) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// Big-endian milliseconds, so byte order is time order (negative times clamp to zero).
pub(super) fn time_key(at: DateTime<Utc>) -> [u8; 8] {
    (at.timestamp_millis().max(0) as u64).to_be_bytes()
}

/// The `timers` key: due time first, so key order is due order.
pub(super) fn timer_key(t: &Timer) -> Vec<u8> {
    let mut k = time_key(t.due).to_vec();
    k.extend_from_slice(t.id.as_bytes());
    k
}

pub(super) fn event_key(at: DateTime<Utc>, salt: &str) -> Vec<u8> {
    let mut k = time_key(at).to_vec();
    k.extend_from_slice(&Sha256::digest(salt.as_bytes())[..8]);
    k
}

/// A stored counter (big-endian u64); absent counts as zero.
pub(super) fn counter_value(v: Option<::sled::IVec>) -> u64 {
    v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Addresses are compared without case (e-mail addresses are, in practice).
pub(super) fn failing_key(who: &Identity) -> Vec<u8> {
    format!("{}:{}", who.channel.as_str(), who.address.to_lowercase()).into_bytes()
}

/// The `counters` key of a counter.
pub(super) fn counter_key(c: &Counter) -> String {
    match c {
        Counter::CaseNumbers { service, year } => format!("{}/{year}", service.prefix()),
        Counter::QueueIssued(q) => format!("Q/{}/{}/issued", q.letter, q.day),
        Counter::QueueCalled(q) => format!("Q/{}/{}/called", q.letter, q.day),
    }
}

/// The `guest_cases` key of a guest's case, or (`number`: `None`) the prefix of all of them.
pub(super) fn guest_case_key(guest_id: &str, number: Option<&CaseNumber>) -> Vec<u8> {
    let mut k = guest_id.as_bytes().to_vec();
    k.push(0);
    if let Some(n) = number {
        k.extend_from_slice(&case_key(n));
    }
    k
}

/// The `appointments` key: the time of the visit, then the guest.
pub(super) fn appointment_key(at: DateTime<Utc>, guest_id: &str) -> Vec<u8> {
    let mut k = time_key(at).to_vec();
    k.extend_from_slice(guest_id.as_bytes());
    k
}

/// The identity a `guest_ids` key names.
pub(super) fn identity_from_key(key: &[u8]) -> Result<Identity> {
    let text = String::from_utf8_lossy(key);
    text.split_once(':')
        .and_then(|(channel, address)| Some(Identity::new(ChannelKind::parse(channel)?, address)))
        .ok_or_else(|| StoreError::Corrupt {
            key: text.into_owned(),
            reason: "an identity key is CHANNEL:ADDRESS".into(),
        })
}

/// The case number at the end of a key, after `skip` bytes.
pub(super) fn case_from_key(key: &[u8], skip: usize) -> Result<CaseNumber> {
    let text = String::from_utf8_lossy(key.get(skip..).unwrap_or_default());
    CaseNumber::parse(&text).ok_or_else(|| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "the key ends with a case number".into(),
    })
}
