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
//!
//! A store may also hand the flusher **jobs** ([`GroupFlush::submit`]): writes it applies on
//! the flusher thread right before a flush, all queued jobs together (sled: in one transaction;
//! a transaction of its own costs each message two log writes), and answers after that flush.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// What flushes the storage engine (sled's `Db::flush`); an error is reported to every writer
/// the flush was meant to cover.
pub type FlushFn = Box<dyn Fn() -> Result<(), String> + Send + 'static>;

/// One round of the flusher with jobs: applies the jobs queued since the last round, calls its
/// second argument (the [`FlushHook`], if any) right before it flushes, flushes, answers the
/// jobs, and returns the flush's outcome (for the plain waiters).
pub type RoundFn<J> = Box<dyn FnMut(Vec<J>, &dyn Fn()) -> Result<(), String> + Send + 'static>;

/// Runs before every flush (after a round's jobs were applied), on the flusher thread (tests
/// hold flushes back with it).
pub type FlushHook = Arc<dyn Fn() + Send + Sync + 'static>;

/// A request for a flush, to wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

struct State<J> {
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
    /// Jobs for the next round.
    jobs: Vec<J>,
}

impl<J> Default for State<J> {
    fn default() -> Self {
        State {
            requested: 0,
            done: 0,
            failed: None,
            flushes: 0,
            stop: false,
            hook: None,
            jobs: Vec::new(),
        }
    }
}

struct Inner<J> {
    state: Mutex<State<J>>,
    /// Wakes the flusher: a request came, or stop.
    work: Condvar,
    /// Wakes blocking waiters: a flush finished.
    finished: Condvar,
    /// Wakes async waiters: the `done` number.
    done_tx: tokio::sync::watch::Sender<u64>,
}

impl<J> Inner<J> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<J>> {
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

/// One flusher thread and its waiters (and jobs, of type `J`; none by default). Dropping it
/// flushes what was requested, runs the jobs queued, and stops the thread (so the engine's
/// handle it holds is released).
pub struct GroupFlush<J: Send + 'static = std::convert::Infallible> {
    inner: Arc<Inner<J>>,
    thread: Option<JoinHandle<()>>,
}

impl GroupFlush {
    /// Starts the flusher thread, which calls `flush` whenever someone waits.
    pub fn new(flush: FlushFn) -> std::io::Result<GroupFlush> {
        GroupFlush::with_jobs(Box::new(move |_jobs, before_flush| {
            before_flush();
            flush()
        }))
    }
}

impl<J: Send + 'static> GroupFlush<J> {
    /// Starts the flusher thread, which runs `round` whenever someone waits or a job is
    /// queued.
    pub fn with_jobs(round: RoundFn<J>) -> std::io::Result<GroupFlush<J>> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            finished: Condvar::new(),
            done_tx: tokio::sync::watch::Sender::new(0),
        });
        let shared = inner.clone();
        let thread = std::thread::Builder::new()
            .name("pstbot-flush".into())
            .spawn(move || flusher(&shared, round))?;
        Ok(GroupFlush {
            inner,
            thread: Some(thread),
        })
    }

    /// Queues a job for the next round (see [`RoundFn`]); the round answers it. It counts as
    /// a request for a flush.
    pub fn submit(&self, job: J) {
        let mut s = self.inner.lock();
        s.jobs.push(job);
        s.requested += 1;
        drop(s);
        self.inner.work.notify_one();
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

impl<J: Send + 'static> Drop for GroupFlush<J> {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.work.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn flusher<J>(inner: &Inner<J>, mut round: RoundFn<J>) {
    loop {
        let (target, hook, jobs) = {
            let mut s = inner.lock();
            while s.requested == s.done && !s.stop {
                s = inner.work.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.requested == s.done {
                return; // stopped, nobody waiting
            }
            (s.requested, s.hook.clone(), std::mem::take(&mut s.jobs))
        };
        let before_flush = || {
            if let Some(hook) = &hook {
                hook();
            }
        };
        let result = round(jobs, &before_flush);
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
    fn jobs_queued_meanwhile_are_applied_together_before_the_next_flush() {
        // Each round records the jobs it got, then the flush; a job's answer is its round.
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let l = log.clone();
        let g = GroupFlush::<(u32, std::sync::mpsc::Sender<usize>)>::with_jobs(Box::new(
            move |jobs, before_flush| {
                let mut log = l.lock().unwrap();
                let ids: Vec<String> = jobs.iter().map(|(id, _)| id.to_string()).collect();
                log.push(format!("apply {}", ids.join(",")));
                before_flush();
                log.push("flush".into());
                let round = log.len();
                for (_, answer) in jobs {
                    answer.send(round).unwrap();
                }
                Ok(())
            },
        ))
        .unwrap();
        let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
        g.set_hook(Some(Arc::new(move || {
            entered_tx.lock().unwrap().send(()).ok();
            release_rx.lock().unwrap().recv().ok();
        })));
        let (tx1, rx1) = std::sync::mpsc::channel();
        g.submit((1, tx1));
        entered_rx.recv().unwrap(); // job 1 applied, its flush held
        let later: Vec<_> = (2..=4)
            .map(|id| {
                let (tx, rx) = std::sync::mpsc::channel();
                g.submit((id, tx));
                rx
            })
            .collect();
        assert!(rx1.try_recv().is_err(), "answered before its flush");
        release_tx.send(()).unwrap();
        assert_eq!(rx1.recv().unwrap(), 2);
        entered_rx.recv().unwrap();
        release_tx.send(()).unwrap();
        for rx in later {
            assert_eq!(rx.recv().unwrap(), 4, "answered after the second flush");
        }
        assert_eq!(
            *log.lock().unwrap(),
            ["apply 1", "flush", "apply 2,3,4", "flush"]
        );
        assert_eq!(g.requests(), 4, "each job asked for a flush");
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
