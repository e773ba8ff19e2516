//! The timer boundary: reminders waiting for their time, replaced per owner by commits, found
//! by due time and by owner, removed when they fire.

use crate::store_contract::fixtures::{commit, new_case, who};
use chrono::{DateTime, Duration, TimeZone, Utc};
use pstbot::cases::{Case, Service};
use pstbot::message::OutboundMessage;
use pstbot::store::records::case_owner;
use pstbot::store::{
    Applied, Commit, Committed, DedupeKey, Followups, Reminder, Store, Timer, TimerSet,
};

against_every_engine!(timer_contract, case_timer_contract);

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

fn timer(id: &str, owner: &str, minutes: i64) -> Timer {
    Timer {
        id: id.into(),
        owner: owner.into(),
        due: start() + Duration::minutes(minutes),
        what: Reminder::IdleClose {
            who: who("timer-1"),
            last_seen: start(),
        },
    }
}

fn ids(timers: Vec<Timer>) -> Vec<String> {
    timers.into_iter().map(|t| t.id).collect()
}

/// Timers of non-case owners, set, replaced, fired and dropped.
pub fn timer_contract(store: &dyn Store) {
    let budi = who("timer-1");
    assert_eq!(store.next_timer_due().unwrap(), None);
    let mut c = commit("t1", &budi, 0);
    c.timers.push(TimerSet {
        owner: "idle:a".into(),
        timers: vec![timer("a2", "idle:a", 20), timer("a1", "idle:a", 10)],
    });
    c.timers.push(TimerSet {
        owner: "appt:b".into(),
        timers: vec![timer("b1", "appt:b", 15)],
    });
    match store.commit(c).unwrap() {
        Committed::Applied(a) => assert!(a.timers_changed),
        Committed::Duplicate => panic!("not a duplicate"),
    }
    assert_eq!(ids(store.timers_of("idle:a").unwrap()), ["a1", "a2"]);
    assert_eq!(
        store.next_timer_due().unwrap(),
        Some(start() + Duration::minutes(10))
    );
    let until = start() + Duration::minutes(15);
    assert_eq!(ids(store.timers_due(until, 10).unwrap()), ["a1", "b1"]);
    assert_eq!(ids(store.timers_due(until, 1).unwrap()), ["a1"]);
    assert!(store.timers_due(start(), 10).unwrap().is_empty());

    // A commit replaces all timers of an owner; others keep theirs.
    let mut c = commit("t2", &budi, 1);
    c.timers.push(TimerSet {
        owner: "idle:a".into(),
        timers: vec![timer("a3", "idle:a", 30)],
    });
    store.commit(c).unwrap();
    assert_eq!(ids(store.timers_of("idle:a").unwrap()), ["a3"]);
    assert_eq!(ids(store.timers_of("appt:b").unwrap()), ["b1"]);

    // A fired timer leaves the due index with its commit, and is never set again.
    let b1 = store.timers_of("appt:b").unwrap().remove(0);
    let fired = store.commit(Commit::for_timer(&b1, until)).unwrap();
    assert!(matches!(fired, Committed::Applied(_)));
    assert!(store.timers_of("appt:b").unwrap().is_empty());
    assert!(store.is_handled(&DedupeKey(b1.dedupe_id())).unwrap());
    assert_eq!(
        store.commit(Commit::for_timer(&b1, until)).unwrap(),
        Committed::Duplicate
    );
    let mut c = commit("t3", &budi, 2);
    c.timers.push(TimerSet {
        owner: "appt:b".into(),
        timers: vec![timer("b1", "appt:b", 15), timer("b2", "appt:b", 40)],
    });
    store.commit(c).unwrap();
    assert_eq!(ids(store.timers_of("appt:b").unwrap()), ["b2"]);

    // A timer dropped outside a commit; an empty set clears an owner.
    store.drop_timer(&timer("a3", "idle:a", 30)).unwrap();
    assert!(store.timers_of("idle:a").unwrap().is_empty());
    let mut c = commit("t4", &budi, 3);
    c.timers.push(TimerSet {
        owner: "appt:b".into(),
        timers: Vec::new(),
    });
    store.commit(c).unwrap();
    assert!(store.timers_of("appt:b").unwrap().is_empty());
    assert_eq!(store.next_timer_due().unwrap(), None);
    let mut c = commit("t5", &budi, 4);
    c.timers.push(TimerSet {
        owner: "idle:a".into(),
        timers: vec![timer("a4", "idle:a", 50)],
    });
    match store.commit(c).unwrap() {
        Committed::Applied(a) => assert!(a.timers_changed),
        Committed::Duplicate => panic!("not a duplicate"),
    }
    let plain = store.commit(commit("t6", &budi, 5)).unwrap();
    assert!(matches!(
        plain,
        Committed::Applied(Applied {
            timers_changed: false,
            ..
        })
    ));
}

/// A reminder for each case a commit writes: one an hour after its creation or last write.
struct Remind;

impl Followups for Remind {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        Vec::new()
    }
    fn case_timers(&self, case: &Case) -> Vec<Timer> {
        vec![Timer {
            id: format!("{}-{}", case.number, case.version),
            owner: case_owner(&case.number),
            due: case.stage_since + Duration::hours(1),
            what: Reminder::Unacknowledged {
                case: case.number.clone(),
            },
        }]
    }
}

/// Every case a commit creates or rewrites gets the reminders [`Followups::case_timers`] gives
/// it, in place of its earlier ones.
pub fn case_timer_contract(store: &dyn Store) {
    let budi = who("timer-2");
    let mut c = commit("c1", &budi, 0);
    c.new_case = Some(new_case(Service::Adu, 2026, "x"));
    let n = store
        .commit_with(c, &Remind)
        .unwrap()
        .case()
        .unwrap()
        .clone();
    let owner = case_owner(&n);
    assert_eq!(ids(store.timers_of(&owner).unwrap()), [format!("{n}-1")]);
    let mut case = store.case(&n).unwrap().unwrap();
    case.version += 1;
    case.stage_since = start() + Duration::minutes(30);
    let mut c = commit("c2", &budi, 30);
    c.case_updates.push(case);
    store.commit_with(c, &Remind).unwrap();
    let timers = store.timers_of(&owner).unwrap();
    assert_eq!(ids(timers.clone()), [format!("{n}-2")]);
    assert_eq!(timers[0].due, start() + Duration::minutes(90));
    // Without follow-ups, a case write leaves no reminders.
    let mut case = store.case(&n).unwrap().unwrap();
    case.version += 1;
    let mut c = commit("c3", &budi, 31);
    c.case_updates.push(case);
    store.commit(c).unwrap();
    assert!(store.timers_of(&owner).unwrap().is_empty());
}
