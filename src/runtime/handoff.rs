//! From commits to delivery: rows whose commit is flushed are handed straight to the running
//! delivery worker, and the worker and the scheduler are woken. [`OutboxFeed`] is everything
//! the delivery worker takes from the runtime's side — the store, the clock, the officers'
//! texts, its wake-up and the hand-off — so the worker never needs the runtime itself.

use super::Clock;
use crate::store::{OutboxRow, Store};
use crate::text::Texts;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Rows whose commit's flush finished, handed from the runtime to the running worker so they
/// are queued at once: no store read and no flush of the worker's own (a row the worker reads
/// from the store may not be flushed yet, so it waits for a flush before sending it).
///
/// Only while a worker is attached ([`Handoff::attach`], for as long as the worker runs) are
/// rows taken; otherwise [`Handoff::give`] refuses them and they wait in the store for the
/// next worker's scan, so a runtime with no worker (tests, `pstbot chat`) holds nothing in
/// memory.
#[derive(Default)]
pub struct Handoff {
    state: std::sync::Mutex<HandoffState>,
    ready: Notify,
}

#[derive(Default)]
struct HandoffState {
    attached: bool,
    rows: Vec<OutboxRow>,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HandoffState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands over rows whose commit is flushed; `false` when no worker takes them (the caller
    /// then wakes the worker's store scan instead).
    pub fn give(&self, rows: Vec<OutboxRow>) -> bool {
        let mut s = self.lock();
        if !s.attached {
            return false;
        }
        s.rows.extend(rows);
        drop(s);
        self.ready.notify_one();
        true
    }

    /// Whether a worker takes rows now.
    pub fn attached(&self) -> bool {
        self.lock().attached
    }

    /// Makes the calling worker the one that takes rows, until the returned guard is dropped.
    pub fn attach(&self) -> Attached<'_> {
        self.lock().attached = true;
        Attached(self)
    }

    /// The rows handed over since the last call.
    pub fn take(&self) -> Vec<OutboxRow> {
        std::mem::take(&mut self.lock().rows)
    }

    /// Completes when rows were handed over (the worker then [`Handoff::take`]s them).
    pub fn handed(&self) -> Notified<'_> {
        self.ready.notified()
    }
}

/// A worker's attachment; when it ends, rows not taken stay in the store for the next scan.
pub struct Attached<'a>(&'a Handoff);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.attached = false;
        s.rows.clear();
    }
}

/// What the delivery worker reads and waits on: the rows are in the store, the clock says when
/// a retry is due, the officers' texts word a failure notice, `wake` says that rows were queued
/// without a hand-off, and the hand-off brings flushed rows straight over.
#[derive(Clone)]
pub struct OutboxFeed {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub texts: Arc<Texts>,
    pub wake: Arc<Notify>,
    pub handoff: Arc<Handoff>,
}
