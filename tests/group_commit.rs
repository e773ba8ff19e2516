//! Group commit: concurrent messages share one flush, a message is acknowledged (its `handle`
//! returns) only after a flush that covers it, and the outbox never sends a reply whose commit
//! is not yet flushed. The flusher is held back with the sled store's flush hook, so what
//! happens while a flush is pending is observed directly (no timing assertion).

use crate::support;

use pstbot::cases::Case;
use pstbot::dialogs::{Bot, Conversation};
use pstbot::message::{ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage};
use pstbot::outbox::{Channels, Outbox};
use pstbot::runtime::{Runtime, RuntimeParts, SystemClock};
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use pstbot::store::{Applied, Commit, Committed, DedupeKey, Followups, OutboxRow, Timer};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use support::gateway::FakeGateway;
use tokio_util::sync::CancellationToken;

/// Holds the flusher thread (inside the flush hook) while closed.
#[derive(Default)]
struct Valve {
    held: Mutex<bool>,
    opened: Condvar,
}

impl Valve {
    fn hold(&self) {
        *self.held.lock().unwrap() = true;
    }
    fn open(&self) {
        *self.held.lock().unwrap() = false;
        self.opened.notify_all();
    }
    fn pass(&self) {
        let mut held = self.held.lock().unwrap();
        while *held {
            held = self.opened.wait(held).unwrap();
        }
    }
}

/// Opens the valve when dropped: a failing assertion while flushes are held must fail the
/// test, not leave the store's flusher (joined when the store is dropped) waiting forever.
struct OpenOnDrop(Arc<Valve>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Lets a given number of flushes through (none at first), holding the flusher thread inside
/// the flush hook before each other one; counts the flushes that reached it.
#[derive(Default)]
struct Gate {
    /// Flushes allowed through (`None`: all), flushes that reached the gate.
    state: Mutex<(Option<usize>, usize)>,
    changed: Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut s = self.state.lock().unwrap();
        s.1 += 1;
        self.changed.notify_all();
        loop {
            match s.0 {
                None => return,
                Some(n) if n > 0 => {
                    s.0 = Some(n - 1);
                    return;
                }
                Some(_) => s = self.changed.wait(s).unwrap(),
            }
        }
    }
    fn allow(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.0 = s.0.map(|p| p + n);
        self.changed.notify_all();
    }
    fn open(&self) {
        self.state.lock().unwrap().0 = None;
        self.changed.notify_all();
    }
    fn reached(&self) -> usize {
        self.state.lock().unwrap().1
    }
}

/// Opens the gate when dropped (see [`OpenOnDrop`]).
struct OpenGateOnDrop(Arc<Gate>);

impl Drop for OpenGateOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

fn sled_with_gate(dir: &std::path::Path) -> (Arc<SledStore>, Arc<Gate>, OpenGateOnDrop) {
    let store = Arc::new(SledStore::open(dir, 16).unwrap());
    let gate = Arc::new(Gate {
        state: Mutex::new((Some(0), 0)),
        changed: Condvar::new(),
    });
    let g = gate.clone();
    store.set_flush_hook(Some(Arc::new(move || g.pass())));
    let release = OpenGateOnDrop(gate.clone());
    (store, gate, release)
}

/// Messages queued by a commit written straight to the store, the way a path that does not
/// hand its rows to the worker writes them.
struct Fixed(Vec<OutboundMessage>);

impl Followups for Fixed {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        self.0.clone()
    }
    fn case_timers(&self, _: &Case) -> Vec<Timer> {
        Vec::new()
    }
}

/// Writes one row for `to` without asking for a flush or waking the worker.
fn write_row(store: &dyn Store, key: &str, to: &Identity, text: &str) -> OutboxRow {
    let c = Commit::new(
        DedupeKey(key.into()),
        chrono::Utc::now(),
        Identity::new(ChannelKind::Desk, "test"),
        Conversation::default(),
    );
    match store
        .commit_with(c, &Fixed(vec![OutboundMessage::text(to.clone(), text)]))
        .unwrap()
    {
        Committed::Applied(a) => a.rows.into_iter().next().expect("one row"),
        Committed::Duplicate => panic!("a new key"),
    }
}

/// Starts a delivery worker with the SMS channel on `gw`.
fn sms_worker(
    rt: &Arc<Runtime>,
    gw: &FakeGateway,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let mut ch = Channels::new();
    ch.add(
        ChannelKind::Sms,
        Arc::new(pstbot::channels::sms::SmsChannel::new(
            gw.url(),
            "test-key".into(),
            Some("BPS".into()),
            Duration::from_secs(5),
        )),
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(
        Arc::new(Outbox::new(
            rt.outbox_feed(),
            ch,
            support::quick_delivery(&["sms"]),
        ))
        .run(stop.clone()),
    );
    (stop, task)
}

/// Starts a delivery worker with the SMS channel on `gw`; returns once it takes hand-offs
/// and has read the (empty) store.
async fn worker(
    rt: &Arc<Runtime>,
    gw: &FakeGateway,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let (stop, task) = sms_worker(rt, gw);
    until("the worker takes hand-offs", || rt.handoff.attached()).await;
    // Its first store read follows at once, in the same step; give it time to finish.
    tokio::time::sleep(Duration::from_millis(100)).await;
    (stop, task)
}

/// No two requests carry the same message part.
fn no_repeats(rs: &[support::gateway::Received]) -> bool {
    let mut seen = std::collections::HashSet::new();
    rs.iter()
        .all(|r| seen.insert((r.reference.clone(), r.text.clone())))
}

fn sled_with_valve(dir: &std::path::Path) -> (Arc<SledStore>, Arc<Valve>) {
    let store = Arc::new(SledStore::open(dir, 16).unwrap());
    let valve = Arc::new(Valve::default());
    let v = valve.clone();
    store.set_flush_hook(Some(Arc::new(move || v.pass())));
    (store, valve)
}

fn runtime(store: Arc<dyn Store>) -> Arc<Runtime> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(dir.path());
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    Arc::new(
        Runtime::new(RuntimeParts::new(
            bot,
            store,
            Arc::new(SystemClock),
            cfg.officers.clone(),
            pstbot::channels::officers(&cfg),
        ))
        .unwrap(),
    )
}

fn sms_from(phone: &str) -> Identity {
    Identity::new(ChannelKind::Sms, phone)
}

fn halo(id: &str, phone: &str) -> InboundMessage {
    InboundMessage {
        id: id.into(),
        from: sms_from(phone),
        body: InboundBody::Text("halo".into()),
        reply_to: None,
        trust: pstbot::message::Trust::Proven,
    }
}

/// Waits until `cond` holds (polling), or panics.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_never_sent_before_its_commit_is_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, valve) = sled_with_valve(dir.path());
    let rt = runtime(store.clone());
    let gw = FakeGateway::start(Vec::new()).await;
    let (stop, worker) = sms_worker(&rt, &gw);

    let _release = OpenOnDrop(valve.clone());
    valve.hold();
    let handling = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.handle(halo("m1", "+6281234500001")).await })
    };
    // The commit is applied: its reply row is in the store, visible to the outbox...
    until("the reply row is queued", || {
        !store.outbox_pending(None, 10).unwrap().is_empty()
    })
    .await;
    // ...and the outbox is told to look, but no flush has finished since.
    rt.outbox_wake.notify_one();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        gw.received().is_empty(),
        "a reply left before its commit was flushed"
    );
    assert!(!handling.is_finished(), "acknowledged before the flush");

    valve.open();
    let replies = handling.await.unwrap().expect("handled");
    assert_eq!(replies.len(), 1);
    // The menu is long: it leaves as several SMS parts of one reply.
    assert!(
        gw.wait_for(Duration::from_secs(20), |r| !r.is_empty())
            .await,
        "the reply is sent once its commit is flushed"
    );
    assert!(gw.received().iter().all(|r| r.to == "+6281234500001"));
    stop.cancel();
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_share_a_flush_and_all_are_there_after_a_restart() {
    const PEOPLE: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let phone = |i: usize| format!("+62812345{i:05}");
    {
        let (store, valve) = sled_with_valve(dir.path());
        let rt = runtime(store.clone());
        let _release = OpenOnDrop(valve.clone());
        valve.hold();
        let tasks: Vec<_> = (0..PEOPLE)
            .map(|i| {
                let rt = rt.clone();
                tokio::spawn(async move { rt.handle(halo(&format!("m{i}"), &phone(i))).await })
            })
            .collect();
        // The first commits are applied and their flush is held; the others are handed to
        // the store meanwhile (each asks for the flush that will cover it). Nobody is
        // acknowledged yet.
        until("every message handed to the store", || {
            store.flush_requests() >= PEOPLE as u64
        })
        .await;
        assert!(
            (0..PEOPLE).any(|i| store
                .is_handled(&DedupeKey::new(&sms_from(&phone(i)), &format!("m{i}")))
                .unwrap()),
            "the held flush is the one after the first commits"
        );
        assert!(
            tasks.iter().all(|t| !t.is_finished()),
            "a message was acknowledged before any flush finished"
        );
        valve.open();
        for t in tasks {
            assert_eq!(t.await.unwrap().expect("handled").len(), 1);
        }
        // One flush per message would be 64; the held one plus one or two for the rest (all
        // applied together, in one transaction).
        assert!(
            store.flushes() < 10,
            "{} flushes for {PEOPLE} concurrent messages",
            store.flushes()
        );
    }
    // The process stops; a new one opens the same store.
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16).unwrap());
    for i in 0..PEOPLE {
        let who = sms_from(&phone(i));
        assert!(
            store
                .is_handled(&DedupeKey::new(&who, &format!("m{i}")))
                .unwrap()
        );
        assert!(store.session(&who).unwrap().is_some(), "session of {i}");
    }
    let queued = store.outbox_pending(None, 1000).unwrap();
    assert_eq!(queued.len(), PEOPLE, "one reply queued per message");
    // A repeat of any of them is recognised after the restart and answered with nothing.
    let rt = runtime(store.clone());
    assert!(rt.handle(halo("m7", &phone(7))).await.unwrap().is_empty());
    assert_eq!(store.outbox_pending(None, 1000).unwrap().len(), PEOPLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_off_reply_waits_for_an_older_row_of_its_chat_still_waiting_for_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (store, gate, _release) = sled_with_gate(dir.path());
    let rt = runtime(store.clone());
    let gw = FakeGateway::start(Vec::new()).await;
    let (stop, task) = worker(&rt, &gw).await;
    let phone = "+6281234500009";
    let who = sms_from(phone);

    // A: written by a path that does not hand off; not flushed, the worker not told yet.
    let a = write_row(store.as_ref(), "test:a", &who, "Pesan A, yang lebih dulu");
    // B: the reply to the person's message, handed off once its commit's flush finished.
    let handling = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.handle(halo("m1", phone)).await })
    };
    until("B's commit waits for flush 1", || {
        store.flush_requests() == 1
    })
    .await;
    until("flush 1 reached the gate", || gate.reached() == 1).await;
    // The worker reads A and B from the store and asks for a flush of its own (flush 2).
    rt.outbox_wake.notify_one();
    until("the worker waits for flush 2", || {
        store.flush_requests() == 2
    })
    .await;
    gate.allow(1);
    let replies = handling.await.unwrap().expect("handled");
    assert_eq!(replies.len(), 1);
    until("flush 2 reached the gate", || gate.reached() == 2).await;
    // B is durable and handed off; A is not known to be durable yet: B must not overtake it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        gw.received().is_empty(),
        "B overtook the older row A of its chat (or A left before its flush)"
    );
    let waiting: Vec<u64> = store
        .outbox_pending(None, 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(waiting.len(), 2, "A and B wait");
    assert_eq!(waiting[0], a.id, "A is the older row");

    gate.open();
    assert!(
        gw.wait_for(Duration::from_secs(20), |r| r.len() >= 2).await,
        "both are sent once flushed"
    );
    let got = gw.received();
    assert_eq!(
        got[0].text, "Pesan A, yang lebih dulu",
        "A first, by id order"
    );
    assert!(got[1..].iter().all(|r| r.text != got[0].text));
    assert!(got.iter().all(|r| r.to == phone));
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_handed_off_and_also_read_from_the_store_is_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, gate, _release) = sled_with_gate(dir.path());
    let rt = runtime(store.clone());
    let gw = FakeGateway::start(Vec::new()).await;
    let (stop, task) = worker(&rt, &gw).await;
    let phone = "+6281234500010";

    let handling = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.handle(halo("m1", phone)).await })
    };
    until("the commit waits for flush 1", || {
        store.flush_requests() == 1
    })
    .await;
    // Applied (on sled, by the flusher, right before the flush it then holds at the gate).
    until("flush 1 reached the gate", || gate.reached() == 1).await;
    // The worker also reads the reply row from the store, and waits for flush 2 for it.
    rt.outbox_wake.notify_one();
    until("the worker waits for flush 2", || {
        store.flush_requests() == 2
    })
    .await;
    gate.open();
    handling.await.unwrap().expect("handled");
    until("the reply is delivered", || {
        store.outbox_pending(None, 10).unwrap().is_empty()
    })
    .await;
    // Both ways of learning of the row are over (flush 2 finished too): nothing more leaves.
    until("flush 2 finished", || store.flushes() >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = gw.received();
    assert!(!got.is_empty());
    assert!(no_repeats(&got), "a part was sent twice: {got:?}");
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_hand_off_of_a_row_already_sent_does_not_send_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, gate, _release) = sled_with_gate(dir.path());
    gate.open();
    let rt = runtime(store.clone());
    let gw = FakeGateway::start(Vec::new()).await;
    let (stop, task) = worker(&rt, &gw).await;
    let who = sms_from("+6281234500011");

    // Written and flushed by a path that does not hand off: the worker's scan sends it.
    let row = write_row(store.as_ref(), "test:late", &who, "Pesan sekali saja");
    store.flush().unwrap();
    rt.outbox_wake.notify_one();
    assert!(
        gw.wait_for(Duration::from_secs(20), |r| r.len() == 1).await,
        "sent by the scan"
    );
    until("marked sent", || store.sent(row.id).unwrap().is_some()).await;
    // The same row arrives by hand-off after it was sent (and forgotten by the worker).
    assert!(rt.handoff.give(vec![row.clone()]));
    // A row never seen by the worker, handed off: sent.
    let fresh = write_row(store.as_ref(), "test:fresh", &who, "Pesan baru");
    store.flush().unwrap();
    assert!(rt.handoff.give(vec![fresh]));
    assert!(
        gw.wait_for(Duration::from_secs(20), |r| r.len() >= 2).await,
        "the fresh row is sent"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let texts: Vec<String> = gw.received().into_iter().map(|r| r.text).collect();
    assert_eq!(texts, vec!["Pesan sekali saja", "Pesan baru"]);
    stop.cancel();
    task.await.unwrap();
}
