//! Every record of the sled store out and in ([`Transfer`]), for `pstbot migrate`: the trees
//! read and written with the keys of `keys.rs`, the indexes rebuilt from the records.

use super::keys::{
    T_APPOINTMENTS, T_AUDIT, T_BLOBS, T_CASES, T_CASES_BY_TIME, T_CONSENTS, T_COUNTERS, T_DEDUPE,
    T_FAILED, T_FAILING, T_GUEST_CASES, T_GUEST_IDS, T_GUESTS, T_OPEN, T_OUTBOX, T_RATINGS, T_SENT,
    T_SENT_REFS, T_SESSIONS, T_TIMER_OWNERS, T_TIMERS, T_VISITS, TREE_NAMES, WEB_TREE_NAMES,
    appointment_key, case_key, counter_value, dec, enc, guest_case_key, identity_from_key,
    identity_key, sent_ref_key, stored_guest, time_key, timer_key, web_key, web_seq,
};
use super::{Engine, SledStore};
use crate::store::transfer::{Record, Transfer};
use crate::store::{Result, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;

/// The time a big-endian millisecond value holds.
fn millis(key: &[u8], v: &[u8]) -> Result<DateTime<Utc>> {
    <[u8; 8]>::try_from(v)
        .ok()
        .map(u64::from_be_bytes)
        .and_then(|ms| Utc.timestamp_millis_opt(ms as i64).single())
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "expected big-endian milliseconds".into(),
        })
}

/// The 8 bytes after the time of an event key, in hex.
fn event_ref(key: &[u8]) -> String {
    hex::encode(key.get(8..16).unwrap_or_default())
}

/// An event key from a time and a ref.
fn event_key(at: DateTime<Utc>, reference: &str) -> Result<Vec<u8>> {
    let mut k = time_key(at).to_vec();
    k.extend(
        hex::decode(reference).map_err(|e| StoreError::Engine(format!("ref {reference}: {e}")))?,
    );
    Ok(k)
}

impl Transfer for SledStore {
    fn export(&self, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let _alone = self.gate.alone();
        let e = self.e()?;
        export_people(self, &e, sink)?;
        export_cases(&e, sink)?;
        export_delivery(&e, sink)?;
        export_web(&e, sink)
    }

    fn import(&self, records: &mut dyn Iterator<Item = Record>) -> Result<u64> {
        let _alone = self.gate.alone();
        let e = self.e()?;
        let t = &e.trees;
        let meta = e.db.open_tree("meta")?;
        let (mut n, mut highest) = (0u64, 0u64);
        let mut owners: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for r in records {
            n += 1;
            match r {
                Record::Secret { name, secret } => {
                    let bytes = hex::decode(&secret)
                        .map_err(|e| StoreError::Engine(format!("secret {name}: {e}")))?;
                    meta.insert(format!("secret:{name}"), bytes)?;
                }
                Record::Session { who, conversation } => {
                    t[T_SESSIONS].insert(identity_key(&who), enc(&conversation))?;
                }
                Record::Mark { key, at } => {
                    t[T_DEDUPE].insert(key.as_bytes(), &time_key(at))?;
                }
                Record::Guest { guest } => {
                    let (stored, text) = stored_guest(&guest);
                    if let Some((hash, text)) = text {
                        t[T_CONSENTS].insert(hash.as_bytes(), text.as_bytes())?;
                    }
                    t[T_GUESTS].insert(guest.id.as_bytes(), enc(&stored))?;
                }
                Record::GuestLink { who, guest_id } => {
                    t[T_GUEST_IDS].insert(identity_key(&who), guest_id.as_bytes())?;
                }
                Record::Case { case } => {
                    let ck = case_key(&case.number);
                    t[T_CASES].insert(ck.as_slice(), enc(&case))?;
                    if case.open {
                        t[T_OPEN].insert(ck.as_slice(), &[])?;
                    }
                    t[T_GUEST_CASES]
                        .insert(guest_case_key(&case.guest_id, Some(&case.number)), &[])?;
                    let mut tk = time_key(case.created_at).to_vec();
                    tk.extend_from_slice(&ck);
                    t[T_CASES_BY_TIME].insert(tk, &[])?;
                }
                Record::Counter { name, value } => {
                    t[T_COUNTERS].insert(name.as_bytes(), &value.to_be_bytes())?;
                }
                Record::Visit { reference, visit } => {
                    t[T_VISITS].insert(event_key(visit.at, &reference)?, enc(&visit))?;
                }
                Record::Rating { reference, rating } => {
                    t[T_RATINGS].insert(event_key(rating.at, &reference)?, enc(&rating))?;
                }
                Record::Appointment { appointment: a } => {
                    t[T_APPOINTMENTS].insert(appointment_key(a.at, &a.guest_id), enc(&a))?;
                }
                Record::File { hash, bytes } => {
                    let bytes = hex::decode(&bytes)
                        .map_err(|e| StoreError::Engine(format!("file {hash}: {e}")))?;
                    t[T_BLOBS].insert(hash.as_bytes(), bytes)?;
                }
                Record::Outbox { row } => {
                    highest = highest.max(row.id);
                    t[T_OUTBOX].insert(row.id.to_be_bytes(), enc(&row))?;
                }
                Record::Sent { record } => {
                    highest = highest.max(record.id);
                    t[T_SENT].insert(record.id.to_be_bytes(), enc(&record))?;
                    for r in record.refs() {
                        t[T_SENT_REFS]
                            .insert(sent_ref_key(record.to.channel, r), &record.id.to_be_bytes())?;
                    }
                }
                Record::Failed { record } => {
                    highest = highest.max(record.row.id);
                    t[T_FAILED].insert(record.row.id.to_be_bytes(), enc(&record))?;
                }
                Record::Failing { address, since } => {
                    t[T_FAILING].insert(address.as_bytes(), &time_key(since))?;
                }
                Record::Timer { timer } => {
                    let k = timer_key(&timer);
                    t[T_TIMERS].insert(k.as_slice(), enc(&timer))?;
                    owners.entry(timer.owner.clone()).or_default().push(k);
                }
                Record::Audit { reference, entry } => {
                    t[T_AUDIT].insert(event_key(entry.at, &reference)?, enc(&entry))?;
                }
                Record::WebSession { session } => {
                    e.web[0].insert(session.id.as_bytes(), enc(&session))?;
                }
                Record::WebLog {
                    session,
                    seq,
                    key,
                    entry,
                } => {
                    highest = highest.max(seq);
                    e.web[1].insert(web_key(&session, &seq.to_be_bytes()), enc(&entry))?;
                    e.web[2].insert(web_key(&session, key.as_bytes()), &seq.to_be_bytes())?;
                }
            }
        }
        for (owner, keys) in owners {
            t[T_TIMER_OWNERS].insert(owner.as_bytes(), enc(&keys))?;
        }
        // Outbox rows and web log entries take their numbers from sled's id generator: it
        // must start above every number imported.
        while e.db.generate_id()? <= highest {}
        e.db.flush()?;
        Ok(n)
    }

    fn is_empty(&self) -> Result<bool> {
        let e = self.e()?;
        for name in TREE_NAMES.iter().chain(WEB_TREE_NAMES.iter()) {
            if !e.db.open_tree(name)?.is_empty() {
                return Ok(false);
            }
        }
        Ok(e.db
            .open_tree("meta")?
            .scan_prefix("secret:")
            .next()
            .is_none())
    }
}

/// The store's secrets, the conversations, the dedupe marks and the guest book.
fn export_people(
    store: &SledStore,
    e: &Engine,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<()> {
    let t = &e.trees;
    let meta = e.db.open_tree("meta")?;
    for kv in meta.scan_prefix("secret:") {
        let (k, v) = kv?;
        let name = String::from_utf8_lossy(&k["secret:".len()..]).into_owned();
        sink(Record::Secret {
            name,
            secret: hex::encode(&v),
        })?;
    }
    for kv in t[T_SESSIONS].iter() {
        let (k, v) = kv?;
        sink(Record::Session {
            who: identity_from_key(&k)?,
            conversation: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_DEDUPE].iter() {
        let (k, v) = kv?;
        sink(Record::Mark {
            key: String::from_utf8_lossy(&k).into_owned(),
            at: millis(&k, &v)?,
        })?;
    }
    for g in crate::store::GuestStore::guests(store)? {
        sink(Record::Guest { guest: g })?;
    }
    for kv in t[T_GUEST_IDS].iter() {
        let (k, v) = kv?;
        sink(Record::GuestLink {
            who: identity_from_key(&k)?,
            guest_id: String::from_utf8_lossy(&v).into_owned(),
        })?;
    }
    Ok(())
}

/// Cases, counters, visits, ratings, appointments and files.
fn export_cases(e: &Engine, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    let t = &e.trees;
    for kv in t[T_CASES].iter() {
        let (k, v) = kv?;
        sink(Record::Case { case: dec(&k, &v)? })?;
    }
    for kv in t[T_COUNTERS].iter() {
        let (k, v) = kv?;
        let value = counter_value(Some(v));
        if value > 0 {
            sink(Record::Counter {
                name: String::from_utf8_lossy(&k).into_owned(),
                value,
            })?;
        }
    }
    for kv in t[T_VISITS].iter() {
        let (k, v) = kv?;
        sink(Record::Visit {
            reference: event_ref(&k),
            visit: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_RATINGS].iter() {
        let (k, v) = kv?;
        sink(Record::Rating {
            reference: event_ref(&k),
            rating: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_APPOINTMENTS].iter() {
        let (k, v) = kv?;
        sink(Record::Appointment {
            appointment: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_BLOBS].iter() {
        let (k, v) = kv?;
        sink(Record::File {
            hash: String::from_utf8_lossy(&k).into_owned(),
            bytes: hex::encode(&v),
        })?;
    }
    Ok(())
}

/// The outbox and its records, failing addresses, timers and the audit log.
fn export_delivery(e: &Engine, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    let t = &e.trees;
    for kv in t[T_OUTBOX].iter() {
        let (k, v) = kv?;
        sink(Record::Outbox { row: dec(&k, &v)? })?;
    }
    for kv in t[T_SENT].iter() {
        let (k, v) = kv?;
        sink(Record::Sent {
            record: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_FAILED].iter() {
        let (k, v) = kv?;
        sink(Record::Failed {
            record: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_FAILING].iter() {
        let (k, v) = kv?;
        sink(Record::Failing {
            address: String::from_utf8_lossy(&k).into_owned(),
            since: millis(&k, &v)?,
        })?;
    }
    for kv in t[T_TIMERS].iter() {
        let (k, v) = kv?;
        sink(Record::Timer {
            timer: dec(&k, &v)?,
        })?;
    }
    for kv in t[T_AUDIT].iter() {
        let (k, v) = kv?;
        sink(Record::Audit {
            reference: event_ref(&k),
            entry: dec(&k, &v)?,
        })?;
    }
    Ok(())
}

/// The web chat's sessions and logs, each entry with its key.
fn export_web(e: &Engine, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    for kv in e.web[0].iter() {
        let (k, v) = kv?;
        sink(Record::WebSession {
            session: dec(&k, &v)?,
        })?;
    }
    // Each log entry's key, by session and number.
    let mut keys: BTreeMap<(Vec<u8>, u64), String> = BTreeMap::new();
    for kv in e.web[2].iter() {
        let (k, v) = kv?;
        let split = k.iter().position(|b| *b == 0).unwrap_or(k.len());
        keys.insert(
            (k[..split].to_vec(), counter_value(Some(v))),
            String::from_utf8_lossy(k.get(split + 1..).unwrap_or_default()).into_owned(),
        );
    }
    for kv in e.web[1].iter() {
        let (k, v) = kv?;
        let split = k.iter().position(|b| *b == 0).unwrap_or(k.len());
        let seq = web_seq(&k)?;
        let session = k[..split].to_vec();
        let key = keys.remove(&(session.clone(), seq)).unwrap_or_default();
        sink(Record::WebLog {
            session: String::from_utf8_lossy(&session).into_owned(),
            seq,
            key,
            entry: dec(&k, &v)?,
        })?;
    }
    Ok(())
}
