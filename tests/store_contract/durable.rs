//! Writes handed to the store to apply together with other writers' (`commit_durable`,
//! `outbox_sent_durable`): each is either done exactly as if written alone, or handed back
//! unchanged for the caller to write itself. Either way the caller ends with the same store.

use crate::store_contract::fixtures::{commit, new_case, who};
use chrono::{TimeZone, Utc};
use futures_util::future::join_all;
use pstbot::cases::Service;
use pstbot::message::{ChannelKind, OutboundMessage};
use pstbot::store::{
    Applied, Committed, DedupeKey, Durable, Followups, SentRecord, Store, StoreError,
};
use std::sync::Arc;

against_every_engine!(durable_contract);

/// Queues one text to the officers.
struct Says(&'static str);

impl Followups for Says {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        vec![OutboundMessage::text(who("officer"), self.0.to_string())]
    }
    fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
        Vec::new()
    }
}

/// A commit's outcome: as the store answered, or written here when it was handed back (as
/// the runtime does). Outside the executor: a store's own writes may run one of their own.
fn settle(store: &dyn Store, got: Durable, f: &dyn Followups) -> Result<Committed, StoreError> {
    match got {
        Durable::Done(r) => r,
        Durable::NotQueued(c) => {
            let done = store.commit_with(c, f)?;
            store.flush()?;
            Ok(done)
        }
    }
}

/// Commits handed over at the same time (one a duplicate, one over a stale case) and delivery
/// marks: the stale one is refused and changes nothing, the duplicate changes nothing, the
/// others apply with their messages queued, and the marked rows leave the queue.
pub fn durable_contract(store: &dyn Store) {
    let people: Vec<_> = (0..4).map(|i| who(&format!("d{i}"))).collect();
    let mut c = commit("open", &people[0], 0);
    c.new_case = Some(new_case(Service::Adu, 2026, "x"));
    let n = store.commit(c).unwrap().case().unwrap().clone();
    store.commit(commit("seen", &people[1], 1)).unwrap();
    let Committed::Applied(earlier) = store
        .commit_with(commit("earlier", &people[1], 2), &Says("earlier"))
        .unwrap()
    else {
        panic!("applied")
    };
    let mut fresh = store.case(&n).unwrap().unwrap();
    fresh.stage = "review".into();
    fresh.version += 1;
    let mut stale = fresh.clone();
    stale.stage = "closed".into();
    let mut update = commit("upd", &people[0], 3);
    update.case_updates.push(fresh);
    let mut conflict = commit("stale", &people[2], 4);
    conflict.case_updates.push(stale);
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 3, 0, 0).unwrap();
    let mark = SentRecord::delivered(&earlier.rows[0], at, Some("wamid-earlier".into()));

    let says = ["a", "b", "c", "d"].map(|t| Arc::new(Says(t)));
    let commits = [
        update,
        commit("seen", &people[1], 5),
        conflict,
        commit("new", &people[3], 6),
    ];
    let (answers, marks) = futures_executor::block_on(futures_util::future::join(
        join_all(commits.into_iter().zip(&says).map(|(c, f)| {
            let f: Arc<dyn Followups + Send> = f.clone();
            store.commit_durable(c, f)
        })),
        store.outbox_sent_durable(vec![mark.clone()]),
    ));
    let results: Vec<_> = answers
        .into_iter()
        .zip(&says)
        .map(|(got, f)| settle(store, got, &**f))
        .collect();
    match marks {
        Durable::Done(r) => r.unwrap(),
        Durable::NotQueued(recs) => {
            store.outbox_sent_all(&recs).unwrap();
            store.flush().unwrap();
        }
    }
    assert!(matches!(results[0], Ok(Committed::Applied(_))));
    assert!(matches!(results[1], Ok(Committed::Duplicate)));
    assert!(matches!(results[2], Err(StoreError::Conflict(_))));
    assert!(matches!(results[3], Ok(Committed::Applied(_))));

    assert_eq!(store.case(&n).unwrap().unwrap().stage, "review");
    let handled = |i: usize, id: &str| store.is_handled(&DedupeKey::new(&people[i], id)).unwrap();
    assert!(!handled(2, "stale"), "the refused commit wrote nothing");
    assert!(handled(3, "new"));
    let mut texts: Vec<String> = store
        .outbox_pending(None, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.msg.text)
        .collect();
    texts.sort();
    assert_eq!(texts, ["a", "d"], "the marked row left the queue");
    let sent = store
        .sent_by_ref(ChannelKind::Telegram, "wamid-earlier")
        .unwrap()
        .expect("found by its provider id");
    assert_eq!(sent.id, mark.id);
}
