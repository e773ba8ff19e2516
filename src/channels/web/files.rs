//! Which files belong to a session's conversation, for `GET /api/web/files/{blob}`, without
//! reading the session's whole log on every download (issue 17, item 5: 114 ms a lookup at
//! 20,000 entries, and 100 at once held up `/healthz`).
//!
//! Each session's files are indexed in memory: the log is read once (page by page) the first
//! time the session asks for a file, and from then on only the entries added after the last one
//! read. A hit is checked against the stored entry (one read), so a file whose entry was erased
//! (`hapusdata`) is not served from the index. Lookups of one session wait for each other, so
//! many at once read its log once. The index forgets sessions when it holds too many (it is
//! rebuilt from the log on the next download).

use crate::message::AttachmentRef;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many log entries one read takes while indexing.
const PAGE: usize = 500;
/// How many sessions' indexes are kept before they are all forgotten.
const SESSIONS: usize = 2048;
/// How far back a miss reads again: entries of one log may become visible slightly out of
/// number order when two writers append at once.
const OVERLAP: u64 = 64;

#[derive(Default)]
struct Known {
    /// The highest sequence number read from the log.
    read_up_to: u64,
    /// Blob hash → the entry that carries it and the file.
    files: HashMap<String, (u64, AttachmentRef)>,
}

/// The files of each session's conversation.
#[derive(Default)]
pub struct FileIndex {
    by_session: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Known>>>>,
}

impl FileIndex {
    fn of(&self, session: &str) -> Arc<tokio::sync::Mutex<Known>> {
        let mut m = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= SESSIONS && !m.contains_key(session) {
            m.clear();
        }
        m.entry(session.to_string()).or_default().clone()
    }

    /// The file `blob` as it appears in `session`'s conversation, if it does.
    pub async fn find(
        &self,
        store: &dyn Store,
        session: &str,
        blob: &str,
    ) -> Result<Option<AttachmentRef>, StoreError> {
        let known = self.of(session);
        let mut k = known.lock().await;
        let from = k.read_up_to;
        read_from(store, session, &mut k, from)?;
        if !k.files.contains_key(blob) {
            let from = k.read_up_to.saturating_sub(OVERLAP);
            read_from(store, session, &mut k, from)?;
        }
        let Some((seq, file)) = k.files.get(blob).cloned() else {
            return Ok(None);
        };
        // Still in the log? (An erasure removes entries; the index does not see it.)
        let still = store
            .web_log(session, seq - 1, 1)?
            .into_iter()
            .any(|(s, e)| s == seq && e.files.iter().any(|f| f.blob == blob));
        if still {
            Ok(Some(file))
        } else {
            k.files.remove(blob);
            Ok(None)
        }
    }
}

/// Reads the entries of `session`'s log after `from` into the index.
fn read_from(
    store: &dyn Store,
    session: &str,
    k: &mut Known,
    mut from: u64,
) -> Result<(), StoreError> {
    loop {
        let page = store.web_log(session, from, PAGE)?;
        for (seq, e) in &page {
            for f in &e.files {
                k.files.insert(f.blob.clone(), (*seq, f.clone()));
            }
            from = *seq;
            k.read_up_to = k.read_up_to.max(*seq);
        }
        if page.len() < PAGE {
            return Ok(());
        }
    }
}
