//! What the sled store answers about conversations, guests, cases, the audit log and files.

use super::SledStore;
use super::keys::{
    CONSENT_REF, T_APPOINTMENTS, T_AUDIT, T_BLOBS, T_CASES, T_CASES_BY_TIME, T_CONSENTS,
    T_COUNTERS, T_DEDUPE, T_GUEST_CASES, T_GUEST_IDS, T_GUESTS, T_OPEN, T_RATINGS, T_SESSIONS,
    T_VISITS, case_key, counter_key, counter_value, dec, guest_case_key, identity_key, time_key,
};
use crate::cases::{Case, CaseNumber, Service};
use crate::dialogs::Conversation;
use crate::guestbook::{Appointment, Guest, Rating, Visit};
use crate::message::Identity;
use crate::store::apply::Counter;
use crate::store::{
    AuditEntry, AuditStore, BlobStore, CaseStore, ConversationStore, DedupeKey, GuestStore,
    QueueKey, Result, StoreError,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

impl ConversationStore for SledStore {
    fn is_handled(&self, key: &DedupeKey) -> Result<bool> {
        Ok(self.e()?.trees[T_DEDUPE].contains_key(key.0.as_bytes())?)
    }

    fn session(&self, who: &Identity) -> Result<Option<Conversation>> {
        self.get(T_SESSIONS, &identity_key(who))
    }
}

impl GuestStore for SledStore {
    fn guest_of(&self, who: &Identity) -> Result<Option<Guest>> {
        match self.e()?.trees[T_GUEST_IDS].get(identity_key(who))? {
            Some(id) => match self.get(T_GUESTS, &id)? {
                Some(g) => Ok(Some(self.with_consent_text(g)?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    fn email_of(&self, who: &Identity) -> Result<Option<String>> {
        // Every notification asks this: only the profile is decoded, the consent not read.
        #[derive(serde::Deserialize)]
        struct Profile {
            profile: BTreeMap<String, crate::cases::Answer>,
        }
        let Some(id) = self.e()?.trees[T_GUEST_IDS].get(identity_key(who))? else {
            return Ok(None);
        };
        let p: Option<Profile> = self.get(T_GUESTS, &id)?;
        Ok(p.and_then(|p| crate::guestbook::email_in(&p.profile).map(str::to_string)))
    }

    fn guests(&self) -> Result<Vec<Guest>> {
        self.with_consent_texts(self.all(T_GUESTS)?)
    }

    fn guests_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Guest>> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
        let page = self.e()?.trees[T_GUESTS]
            .range::<Vec<u8>, _>((from, Bound::Unbounded))
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect::<Result<Vec<Guest>>>()?;
        self.with_consent_texts(page)
    }

    fn visits(&self) -> Result<Vec<Visit>> {
        self.all(T_VISITS)
    }

    fn ratings(&self) -> Result<Vec<Rating>> {
        self.all(T_RATINGS)
    }

    fn appointments(&self) -> Result<Vec<Appointment>> {
        self.all(T_APPOINTMENTS)
    }
}

impl CaseStore for SledStore {
    fn case(&self, number: &CaseNumber) -> Result<Option<Case>> {
        self.get(T_CASES, &case_key(number))
    }

    fn cases_of_guest(&self, guest_id: &str) -> Result<Vec<Case>> {
        let prefix = guest_case_key(guest_id, None);
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_GUEST_CASES].scan_prefix(&prefix) {
            let (k, _) = kv?;
            out.push(self.indexed_case(&k[prefix.len()..], &k, "index")?);
        }
        out.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.number.cmp(&a.number))
        });
        Ok(out)
    }

    fn open_cases(&self) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_OPEN].iter() {
            let (k, _) = kv?;
            out.push(self.indexed_case(&k, &k, "open-case index")?);
        }
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.number.cmp(&b.number))
        });
        Ok(out)
    }

    fn cases_created_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in
            self.e()?.trees[T_CASES_BY_TIME].range(time_key(from).to_vec()..time_key(to).to_vec())
        {
            let (k, _) = kv?;
            let number = &k[8..];
            out.push(self.indexed_case(number, number, "time index")?);
        }
        Ok(out)
    }

    fn queue_status(&self, key: &QueueKey) -> Result<(u64, u64)> {
        let read = |k: String| -> Result<u64> {
            Ok(counter_value(
                self.e()?.trees[T_COUNTERS].get(k.as_bytes())?,
            ))
        };
        Ok((
            read(counter_key(&Counter::QueueIssued(key.clone())))?,
            read(counter_key(&Counter::QueueCalled(key.clone())))?,
        ))
    }

    fn recommended_cases(&self, stages: &[&str]) -> Result<Vec<Case>> {
        let mut out = Vec::new();
        for kv in self.e()?.trees[T_CASES].scan_prefix(Service::Rek.prefix().as_bytes()) {
            let (k, v) = kv?;
            let c: Case = dec(&k, &v)?;
            if stages.contains(&c.stage.as_str()) {
                out.push(c);
            }
        }
        Ok(out)
    }
}

impl AuditStore for SledStore {
    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.all(T_AUDIT)
    }
}

impl BlobStore for SledStore {
    fn blob(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.e()?.trees[T_BLOBS]
            .get(hash.as_bytes())?
            .map(|v| v.to_vec()))
    }
}

impl SledStore {
    /// The case an index entry (`index_key`, in the index named `index`) points to: a case
    /// number missing from `cases` is a corrupt store.
    fn indexed_case(&self, number: &[u8], index_key: &[u8], index: &str) -> Result<Case> {
        self.get::<Case>(T_CASES, number)?
            .ok_or_else(|| StoreError::Corrupt {
                key: String::from_utf8_lossy(index_key).into_owned(),
                reason: format!("{index} names a missing case"),
            })
    }

    /// A consent text kept once for all guests who agreed to it (see [`CONSENT_REF`]).
    fn consent_text(&self, hash: &str) -> Result<String> {
        match self.e()?.trees[T_CONSENTS].get(hash.as_bytes())? {
            Some(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
            None => Err(StoreError::Corrupt {
                key: hash.to_string(),
                reason: "a guest refers to a consent text the store does not have".into(),
            }),
        }
    }

    /// A stored guest with its consent text in place of the reference.
    fn with_consent_text(&self, mut g: Guest) -> Result<Guest> {
        if let Some(hash) = g.consent_text.strip_prefix(CONSENT_REF) {
            g.consent_text = self.consent_text(hash)?;
        }
        Ok(g)
    }

    /// Stored guests with their consent texts in place of the references, each text read once.
    fn with_consent_texts(&self, mut guests: Vec<Guest>) -> Result<Vec<Guest>> {
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for g in &mut guests {
            if let Some(hash) = g.consent_text.strip_prefix(CONSENT_REF) {
                if !texts.contains_key(hash) {
                    let text = self.consent_text(hash)?;
                    texts.insert(hash.to_string(), text);
                }
                g.consent_text = texts[hash].clone();
            }
        }
        Ok(guests)
    }
}
