//! How records become rows and rows records: the typed columns each table shows, the `record`
//! column pstbot reads back, and the few rules of spelling shared by every table.

use crate::cases::{Actor, Case, CaseNumber};
use crate::store::{Result, StoreError};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio_postgres::Row;
use tokio_postgres::types::Json;

/// A text column's value: PostgreSQL's `text` cannot hold NUL, so it becomes U+FFFD there
/// (the `record` column keeps the exact text).
pub(super) fn clean(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_string()
    }
}

/// A time as a bound of a range query: PostgreSQL's `timestamptz` starts at 4713 BC, chrono's
/// times earlier (`DateTime::MIN_UTC`, "since ever", is year −262143; its last time is within
/// PostgreSQL's range), and a parameter outside the column's range is an error (`22008`), not
/// an empty answer. Nothing stored lies before, so raising the bound changes no answer.
pub(super) fn bound(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    t.max(chrono::Utc.with_ymd_and_hms(-4000, 1, 1, 0, 0, 0).unwrap())
}

/// A `usize` limit as a `LIMIT` parameter: callers say "no limit" with `usize::MAX`, which as
/// `i64` would be −1, refused by PostgreSQL (`2201W`).
pub(super) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// [`clean`] of an optional text.
pub(super) fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(clean)
}

/// The `record` column of a row, decoded; `key` names the row in an error.
pub(super) fn record<T: DeserializeOwned>(
    row: &Row,
    col: &str,
    key: &dyn Fn() -> String,
) -> Result<T> {
    match row.try_get::<_, Json<T>>(col) {
        Ok(Json(v)) => Ok(v),
        Err(e) => Err(StoreError::Corrupt {
            key: key(),
            reason: e.to_string(),
        }),
    }
}

/// The `ref` of a visit, rating or audit entry: the first 8 bytes of the SHA-256 of what
/// identifies it (the message that recorded it), in hex. The sled store keys the same
/// records by the same 8 bytes, so a migration keeps their order.
pub(super) fn event_ref(salt: &str) -> String {
    hex::encode(&Sha256::digest(salt.as_bytes())[..8])
}

/// How `case_events.actor` and `case_events.officer` spell who did something.
pub(super) fn actor_columns(a: &Actor) -> (&'static str, Option<&str>) {
    match a {
        Actor::Applicant => ("applicant", None),
        Actor::Officer(id) => ("officer", Some(id.as_str())),
        Actor::System => ("system", None),
    }
}

/// A case number as its key column spells it.
pub(super) fn case_key(n: &CaseNumber) -> String {
    n.to_string()
}

/// How many of a case's events are the same in `stored` and `new`: those rows of
/// `case_events` stay, the rest are written again.
pub(super) fn same_events(stored: &Case, new: &Case) -> usize {
    stored
        .history
        .iter()
        .zip(&new.history)
        .take_while(|(a, b)| a == b)
        .count()
}

/// A status as its column spells it (`sent`, `delivered`, …).
pub(super) fn status_text(s: crate::store::DeliveryStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A kind of reminder as `timers.kind` spells it.
pub(super) fn reminder_kind(r: &crate::store::Reminder) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_default()
}
