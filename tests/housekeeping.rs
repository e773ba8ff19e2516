//! Housekeeping on a virtual clock: old dedupe marks and old sent texts go, what keeps a message
//! or a reminder from being handled twice stays.

use crate::support;

use chrono::Duration;
use pstbot::housekeeping::{Housekept, run_once};
use pstbot::message::{ChannelKind, Identity, InboundBody};
use pstbot::runtime::Clock;
use pstbot::store::prelude::*;
use pstbot::store::{DedupeKey, SentRecord, Timer};
use support::{Chat, monday_morning};
use tokio_util::sync::CancellationToken;

fn budi() -> Identity {
    Identity::new(ChannelKind::Terminal, "budi")
}

/// Marks every waiting row delivered now, with a provider id `ref-<row id>`.
fn deliver_all(t: &Chat) -> Vec<u64> {
    let now = t.clock.now();
    let rows = t.rt.store.outbox_pending(None, 1000).unwrap();
    for row in &rows {
        let rec = SentRecord::delivered(row, now, Some(format!("ref-{}", row.id)));
        t.rt.store.outbox_sent(rec).unwrap();
    }
    rows.iter().map(|r| r.id).collect()
}

async fn housekeep(t: &Chat) -> Housekept {
    run_once(&t.rt, false, &CancellationToken::new())
        .await
        .unwrap()
}

/// The same script on any store.
async fn prunes_what_is_old_and_keeps_what_guards(mut t: Chat) {
    let t0 = monday_morning();
    let m1 = DedupeKey::new(&budi(), "m1");
    let m2 = DedupeKey::new(&budi(), "m2");
    let hello = t.send_with_id("m1", InboundBody::Text("halo".into())).await;
    assert!(hello.contains("Selamat datang"), "{hello}");
    let agreed = t.send_with_id("m2", InboundBody::Text("1".into())).await;
    assert!(agreed.contains("setuju"), "{agreed}");
    let early = deliver_all(&t);
    assert!(early.len() >= 2, "{early:?}");

    // The dialog is left idle: its close fires a day later, and its mark is a timer's.
    let timers: Vec<Timer> = t.rt.store.timers_due(t0 + Duration::days(3), 100).unwrap();
    let idle = timers
        .iter()
        .find(|x| x.owner.starts_with("idle:"))
        .expect("an idle timer")
        .clone();
    t.clock.set(t0 + Duration::days(2));
    assert_eq!(pstbot::scheduler::tick(&t.rt).await.unwrap(), timers.len());
    let timer_mark = DedupeKey(idle.dedupe_id());
    assert!(t.rt.store.is_handled(&timer_mark).unwrap());
    let closed = deliver_all(&t);
    assert_eq!(closed.len(), timers.len());

    // Within the window nothing goes, and a re-delivered message is still recognised.
    for day in [10, 29] {
        t.clock.set(t0 + Duration::days(day));
        assert_eq!(housekeep(&t).await, Housekept::default(), "day {day}");
        let again = t.send_with_id("m1", InboundBody::Text("halo".into())).await;
        assert_eq!(again, "", "day {day}: a re-delivery is answered once only");
        assert!(t.rt.store.is_handled(&m1).unwrap());
    }
    for id in &early {
        let rec = t.rt.store.sent(*id).unwrap().unwrap();
        assert!(
            rec.msg.is_some(),
            "row {id} keeps its text within the window"
        );
    }

    // A new message a month on, delivered now: recent, so kept whole.
    t.clock.set(t0 + Duration::days(31));
    let later = t.send_with_id("m3", InboundBody::Text("halo".into())).await;
    assert!(later.contains("Selamat datang"), "{later}");
    let recent = deliver_all(&t);
    let m3 = DedupeKey::new(&budi(), "m3");

    let done = housekeep(&t).await;
    assert_eq!(
        done,
        Housekept {
            dedupe: 2,
            sent_text: early.len(),
            checkpoint: false,
        }
    );
    assert!(!t.rt.store.is_handled(&m1).unwrap());
    assert!(!t.rt.store.is_handled(&m2).unwrap());
    assert!(t.rt.store.is_handled(&m3).unwrap(), "a recent mark stays");
    assert!(
        t.rt.store.is_handled(&timer_mark).unwrap(),
        "a fired reminder's mark stays"
    );
    // The delivery records stay, without their text: a late status or a quoted reply still
    // finds them.
    for id in &early {
        let rec = t.rt.store.sent(*id).unwrap().unwrap();
        assert_eq!(rec.msg, None, "row {id}");
        assert_eq!(
            rec.provider_ref.as_deref(),
            Some(format!("ref-{id}").as_str())
        );
        let by_ref =
            t.rt.store
                .sent_by_ref(ChannelKind::Terminal, &format!("ref-{id}"))
                .unwrap()
                .unwrap();
        assert_eq!(by_ref.id, *id);
    }
    // Texts delivered after the cutoff (day 1) are kept: the idle close of day 2 and today's
    // answers.
    for id in closed.iter().chain(&recent) {
        assert!(
            t.rt.store.sent(*id).unwrap().unwrap().msg.is_some(),
            "row {id}"
        );
    }
    // A second pass finds nothing more.
    assert_eq!(housekeep(&t).await, Housekept::default());

    // Ten days on: the idle close's text goes too, today's mark and answers stay, and the
    // idle timer fires no second time.
    t.clock.set(t0 + Duration::days(40));
    let due = t.rt.store.timers_due(t.clock.now(), 100).unwrap();
    assert!(due.iter().all(|x| x.id != idle.id), "{due:#?}");
    assert_eq!(pstbot::scheduler::tick(&t.rt).await.unwrap(), due.len());
    assert_eq!(
        housekeep(&t).await,
        Housekept {
            dedupe: 0,
            sent_text: closed.len(),
            checkpoint: false,
        }
    );
    assert!(t.rt.store.is_handled(&m3).unwrap());
    assert!(t.rt.store.is_handled(&timer_mark).unwrap());
    for id in &recent {
        assert!(
            t.rt.store.sent(*id).unwrap().unwrap().msg.is_some(),
            "row {id}"
        );
    }
}

#[tokio::test]
async fn memory_store_prunes_old_marks_and_texts_only() {
    prunes_what_is_old_and_keeps_what_guards(Chat::memory()).await;
}

#[tokio::test]
async fn sled_store_prunes_old_marks_and_texts_only() {
    let dir = tempfile::tempdir().unwrap();
    prunes_what_is_old_and_keeps_what_guards(Chat::sled(dir.path(), monday_morning())).await;
}

/// Walks a store's marks and records a few at a time, as housekeeping does a page at a time.
fn pages_cover_every_record(store: &dyn Store) {
    let t0 = monday_morning();
    for i in 0..30 {
        let who = Identity::new(ChannelKind::Telegram, format!("{i}"));
        let mut c = pstbot::store::Commit::new(
            DedupeKey::new(&who, &format!("x{i}")),
            t0 + Duration::minutes(i),
            who,
            Default::default(),
        );
        c.session = None;
        store.commit(c).unwrap();
    }
    // Only those handled before minute 20.
    let before = t0 + Duration::minutes(20);
    let (mut after, mut pruned, mut pages) = (None::<String>, 0, 0);
    loop {
        let page = store.prune_dedupe(after.as_deref(), before, 7).unwrap();
        pruned += page.pruned;
        pages += 1;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pruned, 20);
    assert_eq!(pages, 5, "30 marks, 7 a page");
    let left = (0..30)
        .filter(|i| {
            let who = Identity::new(ChannelKind::Telegram, format!("{i}"));
            store
                .is_handled(&DedupeKey::new(&who, &format!("x{i}")))
                .unwrap()
        })
        .collect::<Vec<i64>>();
    assert_eq!(left, (20..30).collect::<Vec<i64>>());
}

#[test]
fn pages_cover_every_mark_in_memory() {
    pages_cover_every_record(&pstbot::store::memory::MemoryStore::new());
}

#[test]
fn pages_cover_every_mark_in_sled() {
    let dir = tempfile::tempdir().unwrap();
    pages_cover_every_record(&pstbot::store::sled::SledStore::open(dir.path(), 16).unwrap());
}

#[tokio::test]
async fn a_checkpoint_keeps_the_sled_store_working_and_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Chat::sled(dir.path(), monday_morning());
    let n = support::submit_complaint(&mut t, false).await;
    let done = run_once(&t.rt, true, &CancellationToken::new())
        .await
        .unwrap();
    assert!(done.checkpoint);
    // Reads and writes go on after the store was opened again underneath.
    t.as_terminal("rina");
    t.expect(&format!("ambil {n}"), &["ditangani"]).await;
    t.rt.store.flush().unwrap();
    drop(t);
    let store = pstbot::store::sled::SledStore::open(dir.path(), 16).unwrap();
    let case = store
        .case(&pstbot::cases::CaseNumber::parse(&n).unwrap())
        .unwrap()
        .expect("the case survives");
    assert_eq!(case.assignee.as_deref(), Some("rina"));
}

#[tokio::test]
async fn the_running_scheduler_housekeeps_at_start() {
    let mut t = Chat::memory();
    let t0 = monday_morning();
    t.send_with_id("old", InboundBody::Text("halo".into()))
        .await;
    let old = DedupeKey::new(&budi(), "old");
    t.clock.set(t0 + Duration::days(60));
    support::run_scheduler_until(&t.rt, "housekeeping did not run at start", || {
        !t.rt.store.is_handled(&old).unwrap()
    })
    .await;
}

#[tokio::test]
async fn a_late_delivery_holds_the_sent_pass_until_it_is_old_too() {
    use pstbot::housekeeping::{Progress, run_from};
    let mut t = Chat::memory();
    let t0 = monday_morning();
    t.say("halo").await;
    let first = deliver_all(&t);
    // A row queued now but delivered only on day 5 (a long retry), and one after it delivered
    // at once.
    t.say("halo").await;
    let late: Vec<u64> =
        t.rt.store
            .outbox_pending(None, 100)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
    t.clock.set(t0 + Duration::days(1));
    t.as_terminal("siti");
    t.say("halo").await;
    let rows = t.rt.store.outbox_pending(None, 100).unwrap();
    let now = t.clock.now();
    for row in rows.iter().filter(|r| !late.contains(&r.id)) {
        t.rt.store
            .outbox_sent(SentRecord::delivered(row, now, None))
            .unwrap();
    }
    let after: Vec<u64> = rows
        .iter()
        .map(|r| r.id)
        .filter(|id| !late.contains(id))
        .collect();
    t.clock.set(t0 + Duration::days(5));
    deliver_all(&t);

    let stop = CancellationToken::new();
    let mut progress = Progress::default();
    // Day 32: only what was delivered on day 0 is past 30 days; the late row (day 5) stops
    // the pass, so the ones after it (day 1) wait too.
    t.clock.set(t0 + Duration::days(32));
    let done = run_from(&t.rt, false, &mut progress, &stop).await.unwrap();
    assert_eq!(done.sent_text, first.len());
    for id in late.iter().chain(&after) {
        assert!(
            t.rt.store.sent(*id).unwrap().unwrap().msg.is_some(),
            "row {id}"
        );
    }
    // Day 36: the late row and those after it go.
    t.clock.set(t0 + Duration::days(36));
    let done = run_from(&t.rt, false, &mut progress, &stop).await.unwrap();
    assert_eq!(done.sent_text, late.len() + after.len());
    for id in first.iter().chain(&late).chain(&after) {
        assert_eq!(t.rt.store.sent(*id).unwrap().unwrap().msg, None, "row {id}");
    }
}
