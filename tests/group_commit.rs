//! Group commit: concurrent messages share one flush, a message is acknowledged (its `handle`
//! returns) only after a flush that covers it, and the outbox never sends a reply whose commit
//! is not yet flushed. The flusher is held back with the sled store's flush hook, so what
//! happens while a flush is pending is observed directly (no timing assertion).

mod support;

use pstbot::dialogs::Bot;
use pstbot::message::{ChannelKind, Identity, InboundBody, InboundMessage};
use pstbot::outbox::{Channels, Outbox};
use pstbot::runtime::{Runtime, SystemClock};
use pstbot::store::sled::SledStore;
use pstbot::store::{DedupeKey, Store};
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
    Arc::new(Runtime::new(bot, store, Arc::new(SystemClock), cfg.officers.clone()).unwrap())
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
    let worker = tokio::spawn(
        Arc::new(Outbox::new(
            rt.clone(),
            ch,
            support::quick_delivery(&["sms"]),
        ))
        .run(stop.clone()),
    );

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
        // Every commit is applied while no flush can finish: nobody is acknowledged yet.
        until("all commits applied", || {
            (0..PEOPLE).all(|i| {
                store
                    .is_handled(&DedupeKey::new(&sms_from(&phone(i)), &format!("m{i}")))
                    .unwrap()
            })
        })
        .await;
        assert!(
            tasks.iter().all(|t| !t.is_finished()),
            "a message was acknowledged before any flush finished"
        );
        valve.open();
        for t in tasks {
            assert_eq!(t.await.unwrap().expect("handled").len(), 1);
        }
        // One flush per message would be 64; the held one plus one or two for the rest.
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
