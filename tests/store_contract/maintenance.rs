//! The maintenance boundary: secrets, flushes, housekeeping passes.

use crate::store_contract::fixtures::{commit, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::message::OutboundMessage;
use pstbot::store::{Applied, Committed, Followups, SentRecord, Store, Timer};

against_every_engine!(secret_contract, sent_pruning_contract, durability_contract);

/// Queues one message to the person who wrote.
struct Echo;

impl Followups for Echo {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        vec![OutboundMessage::text(who("prune-sent"), "pesan")]
    }
    fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<Timer> {
        Vec::new()
    }
}

/// Housekeeping drops the text of delivery records older than a time, page by page, in id
/// order, stopping at the first newer one; the records stay findable by their provider ids.
pub fn sent_pruning_contract(store: &dyn Store) {
    let budi = who("prune-sent");
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let Committed::Applied(a) = store
            .commit_with(commit(&format!("p{i}"), &budi, i), &Echo)
            .unwrap()
        else {
            panic!("applied")
        };
        let row = a.rows[0].clone();
        let at = start + Duration::minutes(10 * i);
        store
            .outbox_sent(SentRecord::delivered(&row, at, Some(format!("ref-{i}"))))
            .unwrap();
        ids.push(row.id);
    }
    let before = start + Duration::minutes(25);
    let first = store.prune_sent(None, before, 2).unwrap();
    assert_eq!(first.pruned, 2);
    assert_eq!(first.next, Some(ids[1]));
    let second = store.prune_sent(first.next, before, 2).unwrap();
    assert_eq!(second.pruned, 1);
    assert_eq!(
        second.next, None,
        "stops at the first record delivered after"
    );
    for (i, id) in ids.iter().enumerate() {
        let rec = store.sent(*id).unwrap().unwrap();
        assert_eq!(rec.msg.is_none(), i < 3, "record {i}");
        let by_ref = store
            .sent_by_ref(budi.channel, &format!("ref-{i}"))
            .unwrap()
            .unwrap();
        assert_eq!(by_ref.id, *id);
    }
    let again = store.prune_sent(None, before, 10).unwrap();
    assert_eq!((again.pruned, again.next), (0, None));
}

/// Flushes and checkpoints succeed on a healthy store and keep what was applied.
pub fn durability_contract(store: &dyn Store) {
    let budi = who("durable");
    store.commit(commit("d1", &budi, 0)).unwrap();
    assert_eq!(store.trouble(), None);
    store.flush().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(store.flushed()).unwrap();
    store.checkpoint().unwrap();
    assert!(
        store
            .is_handled(&pstbot::store::DedupeKey::new(&budi, "d1"))
            .unwrap()
    );
    assert!(store.session(&budi).unwrap().is_some());
}

/// A store's secrets: made once, then always the same; different names differ.
pub fn secret_contract(store: &dyn Store) -> [u8; 32] {
    let a = store.secret("email-reply").unwrap();
    assert_eq!(store.secret("email-reply").unwrap(), a);
    assert_ne!(store.secret("another").unwrap(), a);
    assert_ne!(a, [0u8; 32]);
    a
}
