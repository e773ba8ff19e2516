//! Group commit: many writers share one flush.
//!
//! A writer applies its transaction (no flush), then asks for a flush ([`GroupFlush::request`])
//! and waits until a flush that **started after** the request has finished. One flusher thread
//! runs the flushes: while it flushes, new requests pile up and are all covered by its next
//! flush, so N concurrent messages cost one fsync instead of N.
//!
//! The ordering argument: a request is numbered after the writer's transaction was applied;
//! the flusher reads the highest request number before it starts a flush; a flush that
//! started with `requested >= n` therefore began after request `n`'s write and covers it.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// What flushes the storage engine (sled's `Db::flush`); an error is reported to every writer
/// the flush was meant to cover.
pub type FlushFn = Box<dyn Fn() -> Result<(), String> + Send + 'static>;

/// Runs before every flush, on the flusher thread (tests hold flushes back with it).
pub type FlushHook = Arc<dyn Fn() + Send + Sync + 'static>;

/// A request for a flush, to wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

#[derive(Default)]
struct State {
    /// The highest request number handed out.
    requested: u64,
    /// Every request up to this number is covered by a finished flush.
    done: u64,
    /// The last flush failed with this error (cleared by the next one that succeeds: a later
    /// successful flush covers everything written before it).
    failed: Option<String>,
    /// Flushes run so far.
    flushes: u64,
    stop: bool,
    hook: Option<FlushHook>,
}

struct Inner {
    state: Mutex<State>,
    /// Wakes the flusher: a request came, or stop.
    work: Condvar,
    /// Wakes blocking waiters: a flush finished.
    finished: Condvar,
    /// Wakes async waiters: the `done` number.
    done_tx: tokio::sync::watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn outcome(&self, t: Ticket) -> Option<Result<(), String>> {
        let s = self.lock();
        (s.done >= t.0).then(|| match &s.failed {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        })
    }
}

/// One flusher thread and its waiters. Dropping it flushes what was requested and stops the
/// thread (so the engine's handle it holds is released).
pub struct GroupFlush {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl GroupFlush {
    /// Starts the flusher thread, which calls `flush` whenever someone waits.
    pub fn new(flush: FlushFn) -> std::io::Result<GroupFlush> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            finished: Condvar::new(),
            done_tx: tokio::sync::watch::Sender::new(0),
        });
        let shared = inner.clone();
        let thread = std::thread::Builder::new()
            .name("pstbot-flush".into())
            .spawn(move || flusher(&shared, flush))?;
        Ok(GroupFlush {
            inner,
            thread: Some(thread),
        })
    }

    /// Asks for a flush covering everything applied before this call.
    pub fn request(&self) -> Ticket {
        let mut s = self.inner.lock();
        s.requested += 1;
        let t = Ticket(s.requested);
        drop(s);
        self.inner.work.notify_one();
        t
    }

    /// Waits, holding no thread, until a flush covering `t` finished.
    pub async fn wait(&self, t: Ticket) -> Result<(), String> {
        let mut rx = self.inner.done_tx.subscribe();
        loop {
            if let Some(r) = self.inner.outcome(t) {
                return r;
            }
            if rx.wait_for(|done| *done >= t.0).await.is_err() {
                return Err("the flusher stopped".into());
            }
        }
    }

    /// Waits on this thread until a flush covering `t` finished.
    pub fn wait_blocking(&self, t: Ticket) -> Result<(), String> {
        let mut s = self.inner.lock();
        while s.done < t.0 {
            s = self
                .inner
                .finished
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
        match &s.failed {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Requests a flush and waits for it on this thread.
    pub fn flush_blocking(&self) -> Result<(), String> {
        let t = self.request();
        self.wait_blocking(t)
    }

    /// How many flushes ran (each covering every request made before it started).
    pub fn flushes(&self) -> u64 {
        self.inner.lock().flushes
    }

    /// How many flushes were requested so far.
    pub fn requests(&self) -> u64 {
        self.inner.lock().requested
    }

    /// Runs `hook` on the flusher thread before each flush (`None`: no hook).
    pub fn set_hook(&self, hook: Option<FlushHook>) {
        self.inner.lock().hook = hook;
    }
}

impl Drop for GroupFlush {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.work.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn flusher(inner: &Inner, flush: FlushFn) {
    loop {
        let (target, hook) = {
            let mut s = inner.lock();
            while s.requested == s.done && !s.stop {
                s = inner.work.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.requested == s.done {
                return; // stopped, nobody waiting
            }
            (s.requested, s.hook.clone())
        };
        if let Some(hook) = hook {
            hook();
        }
        let result = flush();
        if let Err(e) = &result {
            tracing::error!(error = %e, "store: flush failed");
        }
        {
            let mut s = inner.lock();
            s.done = target;
            s.failed = result.err();
            s.flushes += 1;
        }
        inner.finished.notify_all();
        inner.done_tx.send_replace(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_flush_covers_only_requests_made_before_it_started() {
        // The flusher is held inside the hook while requests arrive: the flush it is about
        // to run covers the first request only; the later ones need (and get) another.
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let g = GroupFlush::new(Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
        let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let entered_tx = Mutex::new(entered_tx);
        g.set_hook(Some(Arc::new(move || {
            entered_tx.lock().unwrap().send(()).ok();
            release_rx.lock().unwrap().recv().ok();
        })));
        let first = g.request();
        entered_rx.recv().unwrap(); // the flusher took `first` and waits in the hook
        let later: Vec<Ticket> = (0..10).map(|_| g.request()).collect();
        release_tx.send(()).unwrap();
        g.wait_blocking(first).unwrap();
        assert_eq!(
            g.inner.outcome(later[0]),
            None,
            "not covered by the first flush"
        );
        entered_rx.recv().unwrap(); // the second flush starts, for all ten
        release_tx.send(()).unwrap();
        for t in later {
            g.wait_blocking(t).unwrap();
        }
        assert_eq!(count.load(Ordering::SeqCst), 2, "ten waiters, one flush");
        assert_eq!(g.flushes(), 2);
    }

    #[tokio::test]
    async fn async_waiters_share_a_flush_and_see_its_error() {
        let g = GroupFlush::new(Box::new(|| Err("disk full".into()))).unwrap();
        let t = g.request();
        assert_eq!(g.wait(t).await, Err("disk full".into()));
        let g = GroupFlush::new(Box::new(|| Ok(()))).unwrap();
        let ts: Vec<Ticket> = (0..5).map(|_| g.request()).collect();
        for t in ts {
            g.wait(t).await.unwrap();
        }
        assert!(g.flushes() >= 1 && g.flushes() <= 5);
    }

    #[test]
    fn dropping_flushes_what_was_requested_and_stops_the_thread() {
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let g = GroupFlush::new(Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
        g.request();
        drop(g);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
