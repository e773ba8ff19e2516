//! What an erasure finds in the sled store before its transaction (sled cannot scan inside
//! one): the [`ErasureScan`] over the open database.

use super::Engine;
use super::keys::{
    T_APPOINTMENTS, T_CASES, T_DEDUPE, T_FAILED, T_GUEST_CASES, T_GUEST_IDS, T_OUTBOX, T_RATINGS,
    T_SENT, T_TIMER_OWNERS, T_VISITS, case_from_key, case_key, dec, guest_case_key,
    identity_from_key, web_key,
};
use crate::cases::CaseNumber;
use crate::guestbook::{Appointment, Rating, Visit};
use crate::message::Identity;
use crate::store::erase::ErasureScan;
use crate::store::records::{FailedRecord, OutboxRow, SentRecord};
use crate::store::{DedupeKey, Result};
use serde::de::DeserializeOwned;

/// The open database, scanned tree by tree.
pub(super) struct SledScan<'e>(pub(super) &'e Engine);

impl SledScan<'_> {
    /// The records of a tree that `keep` accepts, with their keys.
    fn records_where<T: DeserializeOwned>(
        &self,
        tree: usize,
        keep: &dyn Fn(&T) -> bool,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        for kv in self.0.trees[tree].iter() {
            let (key, v) = kv?;
            let record: T = dec(&key, &v)?;
            if keep(&record) {
                out.push((key.to_vec(), record));
            }
        }
        Ok(out)
    }

    /// The keys of a tree that `keep` accepts, as text.
    fn keys_where(&self, tree: usize, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.0.trees[tree].iter() {
            let key = String::from_utf8_lossy(&kv?.0).into_owned();
            if keep(&key) {
                out.push(key);
            }
        }
        Ok(out)
    }
}

impl ErasureScan for SledScan<'_> {
    type Found = Vec<u8>;

    fn erase_web_log(&mut self, session: &str) -> Result<()> {
        let prefix = web_key(session, &[]);
        for tree in [&self.0.web[1], &self.0.web[2]] {
            let mut batch = ::sled::Batch::default();
            for kv in tree.scan_prefix(&prefix) {
                batch.remove(kv?.0);
            }
            tree.apply_batch(batch)?;
        }
        Ok(())
    }
    fn visits_where(&self, keep: &dyn Fn(&Visit) -> bool) -> Result<Vec<(Vec<u8>, Visit)>> {
        self.records_where(T_VISITS, keep)
    }
    fn ratings_where(&self, keep: &dyn Fn(&Rating) -> bool) -> Result<Vec<(Vec<u8>, Rating)>> {
        self.records_where(T_RATINGS, keep)
    }
    fn appointments_where(&self, keep: &dyn Fn(&Appointment) -> bool) -> Result<Vec<Appointment>> {
        let found = self.records_where(T_APPOINTMENTS, keep)?;
        Ok(found.into_iter().map(|(_, a)| a).collect())
    }
    fn rows_where(&self, keep: &dyn Fn(&OutboxRow) -> bool) -> Result<Vec<u64>> {
        let found = self.records_where(T_OUTBOX, keep)?;
        Ok(found.into_iter().map(|(_, r)| r.id).collect())
    }
    fn sent_where(&self, keep: &dyn Fn(&SentRecord) -> bool) -> Result<Vec<SentRecord>> {
        let found = self.records_where(T_SENT, keep)?;
        Ok(found.into_iter().map(|(_, r)| r).collect())
    }
    fn failed_where(&self, keep: &dyn Fn(&FailedRecord) -> bool) -> Result<Vec<u64>> {
        let found = self.records_where(T_FAILED, keep)?;
        Ok(found.into_iter().map(|(_, r)| r.row.id).collect())
    }
    fn timer_owners_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        self.keys_where(T_TIMER_OWNERS, keep)
    }
    fn marks_where(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<DedupeKey>> {
        Ok(self
            .keys_where(T_DEDUPE, keep)?
            .into_iter()
            .map(DedupeKey)
            .collect())
    }
    fn guest_links(&self, guest_id: &str) -> Result<Vec<Identity>> {
        let mut out = Vec::new();
        for kv in self.0.trees[T_GUEST_IDS].iter() {
            let (key, v) = kv?;
            if v.as_ref() == guest_id.as_bytes() {
                out.push(identity_from_key(&key)?);
            }
        }
        Ok(out)
    }
    fn case_links(&self, guest_id: &str) -> Result<Vec<CaseNumber>> {
        let prefix = guest_case_key(guest_id, None);
        let mut out = Vec::new();
        for kv in self.0.trees[T_GUEST_CASES].scan_prefix(&prefix) {
            out.push(case_from_key(&kv?.0, prefix.len())?);
        }
        Ok(out)
    }
    /// Looks for the hash in the stored bytes of every other case, without decoding them.
    fn blobs_held(&self, hashes: &[String], except: &[CaseNumber]) -> Result<Vec<bool>> {
        let except: Vec<Vec<u8>> = except.iter().map(case_key).collect();
        let mut held = vec![false; hashes.len()];
        let finders: Vec<memchr::memmem::Finder> = hashes
            .iter()
            .map(|h| memchr::memmem::Finder::new(h.as_bytes()))
            .collect();
        for kv in self.0.trees[T_CASES].iter() {
            let (key, v) = kv?;
            if except.iter().any(|o| o.as_slice() == key.as_ref()) {
                continue;
            }
            for (i, f) in finders.iter().enumerate() {
                held[i] |= f.find(&v).is_some();
            }
        }
        Ok(held)
    }
}
