//! The conversation boundary: each person's conversation, and the dedupe marks that make a
//! message re-delivered by its provider change nothing.

use crate::store_contract::fixtures::{commit, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::message::Identity;
use pstbot::store::{Commit, DedupeKey, Reminder, Store, Timer};

against_every_engine!(conversation_contract, dedupe_pruning_contract);

/// A commit writes the sender's conversation as the message leaves it; a commit without one
/// (a fired timer, a delivery report) leaves it as it was.
pub fn conversation_contract(store: &dyn Store) {
    let budi = who("conv-1");
    assert!(store.session(&budi).unwrap().is_none());
    store.commit(commit("s1", &budi, 0)).unwrap();
    let first = store.session(&budi).unwrap().unwrap();
    let mut quiet = commit("s2", &budi, 5);
    quiet.session = None;
    store.commit(quiet).unwrap();
    assert_eq!(store.session(&budi).unwrap(), Some(first));
    assert!(store.is_handled(&DedupeKey::new(&budi, "s2")).unwrap());
    let mut next = commit("s3", &budi, 10);
    if let Some(s) = next.session.as_mut() {
        s.lang = "en".into();
    }
    store.commit(next).unwrap();
    assert_eq!(store.session(&budi).unwrap().unwrap().lang, "en");
    assert!(store.session(&who("conv-2")).unwrap().is_none());
}

/// Housekeeping removes the marks of messages handled before a time, page by page, and keeps
/// the marks of fired timers (they keep a reminder from firing twice).
pub fn dedupe_pruning_contract(store: &dyn Store) {
    let budi = who("prune-1");
    for i in 0..5 {
        store.commit(commit(&format!("old{i}"), &budi, i)).unwrap();
    }
    store.commit(commit("new", &budi, 60)).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let timer = Timer {
        id: "idle-1".into(),
        owner: "idle:telegram:prune-1".into(),
        due: start,
        what: Reminder::IdleClose {
            who: budi.clone(),
            last_seen: start,
        },
    };
    store.commit(Commit::for_timer(&timer, start)).unwrap();

    let before = start + Duration::minutes(30);
    let (mut after, mut pruned, mut pages) = (None::<String>, 0, 0);
    loop {
        let page = store.prune_dedupe(after.as_deref(), before, 2).unwrap();
        pruned += page.pruned;
        pages += 1;
        assert!(pages < 10, "the pages end");
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(pruned, 5);
    assert_eq!(pages, 4, "seven marks, two a page");
    let handled = |id: &str, from: &Identity| store.is_handled(&DedupeKey::new(from, id)).unwrap();
    assert!((0..5).all(|i| !handled(&format!("old{i}"), &budi)));
    assert!(handled("new", &budi));
    assert!(store.is_handled(&DedupeKey(timer.dedupe_id())).unwrap());
}
