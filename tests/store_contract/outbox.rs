//! The outbox boundary: rows waiting, delivered, given up on, and what providers reported.

use crate::store_contract::fixtures::{commit, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::message::{ChannelKind, Identity, OutboundMessage};
use pstbot::store::{
    Applied, Committed, FailedRecord, Followups, OutboxRow, SentRecord, Store, Timer,
};

against_every_engine!(
    delivery_contract,
    queue_contract,
    sent_together_contract,
    failing_address_contract,
    mail_thread_contract
);

/// Queues the texts it holds, to one person.
struct Says(Identity, Vec<&'static str>);

impl Followups for Says {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        self.1
            .iter()
            .map(|t| OutboundMessage::text(self.0.clone(), *t))
            .collect()
    }
    fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<Timer> {
        Vec::new()
    }
}

/// Sends that finished together are marked in one call: each leaves the queue and is found
/// as sent, by its id and by its provider id; the row not in the call stays queued.
pub fn sent_together_contract(store: &dyn Store) {
    let sari = who("together-1");
    let c = commit("t1", &sari, 0);
    let Committed::Applied(a) = store
        .commit_with(c, &Says(sari.clone(), vec!["satu", "dua", "tiga"]))
        .unwrap()
    else {
        panic!("applied")
    };
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 3, 0, 0).unwrap();
    let marks = [&a.rows[0], &a.rows[2]]
        .map(|r| SentRecord::delivered(r, at, Some(format!("wamid-{}", r.id))));
    store.outbox_sent_all(&marks).unwrap();
    assert_eq!(store.outbox_pending(None, 10).unwrap(), [a.rows[1].clone()]);
    for m in &marks {
        let found = store.sent(m.id).unwrap().expect("remembered as sent");
        assert_eq!(found.key, m.key);
        let by_ref = store
            .sent_by_ref(ChannelKind::Telegram, &format!("wamid-{}", m.id))
            .unwrap()
            .expect("found by its provider id");
        assert_eq!(by_ref.id, m.id);
    }
    // Nothing to mark is no change.
    store.outbox_sent_all(&[]).unwrap();
    assert_eq!(store.outbox_pending(None, 10).unwrap(), [a.rows[1].clone()]);
}

/// A commit's messages wait in the queue in order, keyed by its dedupe key and position; a
/// failed attempt is written back, a delivered row is not brought back, and a row given up on
/// leaves the queue with the officers' notice queued in its place.
pub fn queue_contract(store: &dyn Store) {
    let budi = who("queue-1");
    let c = commit("q1", &budi, 0);
    let key = c.dedupe.0.clone();
    let Committed::Applied(a) = store
        .commit_with(c, &Says(budi.clone(), vec!["satu", "dua", "tiga"]))
        .unwrap()
    else {
        panic!("applied")
    };
    assert_eq!(a.queued.len(), 3);
    assert!(a.queued.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(a.rows.iter().map(|r| r.id).collect::<Vec<_>>(), a.queued);
    let rows = store.outbox_pending(None, 10).unwrap();
    assert_eq!(rows, a.rows);
    assert_eq!(store.outbox_pending(None, usize::MAX).unwrap(), rows);
    assert_eq!(
        rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        [0, 1, 2].map(|i| OutboxRow::key_for(&key, i))
    );
    assert_eq!(rows[0].msg.text, "satu");
    assert_eq!(rows[0].attempts, 0);
    assert_eq!(
        store.outbox_pending(Some(rows[0].id), 1).unwrap(),
        [rows[1].clone()]
    );
    assert!(
        store
            .outbox_pending(Some(rows[2].id), 10)
            .unwrap()
            .is_empty()
    );

    // A failed attempt is written back.
    let mut tried = rows[0].clone();
    tried.attempts = 1;
    tried.last_error = Some("timeout".into());
    tried.not_before = Some(tried.created_at + Duration::minutes(1));
    store.outbox_retry(&tried).unwrap();
    assert_eq!(store.outbox_pending(None, 1).unwrap(), [tried.clone()]);
    // Delivered, it leaves the queue and is not brought back by a late write.
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    store
        .outbox_sent(SentRecord::delivered(&tried, at, Some("m-1".into())))
        .unwrap();
    store.outbox_retry(&tried).unwrap();
    assert_eq!(store.outbox_pending(None, 10).unwrap(), rows[1..]);
    assert_eq!(store.sent(tried.id).unwrap().unwrap().key, tried.key);

    // Given up on: kept for the officers, with a notice queued in its place.
    assert!(store.failed().unwrap().is_empty());
    let notice = OutboundMessage::text(Identity::officers(), "Pesan gagal / failed");
    let failed = FailedRecord {
        row: rows[1].clone(),
        at,
        reason: "blocked".into(),
    };
    store
        .outbox_failed(failed.clone(), Some(notice.clone()))
        .unwrap();
    store
        .outbox_failed(
            FailedRecord {
                row: rows[2].clone(),
                at,
                reason: "blocked".into(),
            },
            None,
        )
        .unwrap();
    assert_eq!(store.failed().unwrap()[0], failed);
    assert_eq!(store.failed().unwrap().len(), 2);
    let left = store.outbox_pending(None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].id > rows[2].id);
    assert_eq!(left[0].key, OutboxRow::failure_key(rows[1].id));
    assert_eq!(left[0].msg, notice);
    assert_eq!(left[0].created_at, at);
}

/// A bounce marks an address failing until mail comes from it again; addresses compare without
/// case.
pub fn failing_address_contract(store: &dyn Store) {
    let ani = Identity::new(ChannelKind::Email, "Ani@Example.go.id");
    let same = Identity::new(ChannelKind::Email, "ani@example.GO.ID");
    assert!(!store.address_failing(&ani).unwrap());
    let mut c = commit("bounce", &who("mailer"), 0);
    c.session = None;
    c.address_failing = Some((ani.clone(), true));
    store.commit(c).unwrap();
    assert!(store.address_failing(&same).unwrap());
    assert!(
        !store
            .address_failing(&Identity::new(ChannelKind::Sms, "Ani@Example.go.id"))
            .unwrap()
    );
    let mut c = commit("wrote", &same, 1);
    c.address_failing = Some((same.clone(), false));
    store.commit(c).unwrap();
    assert!(!store.address_failing(&ani).unwrap());
}

/// Delivered rows are found by each of their provider ids on their channel, and keep the
/// furthest status a provider reported.
pub fn delivery_contract(store: &dyn Store) {
    use pstbot::message::{OutboundMessage, Topic};
    use pstbot::store::{DeliveryStatus, OutboxRow, SentRecord};
    let budi = Identity::new(ChannelKind::Whatsapp, "+6281234567890");
    let msg = OutboundMessage::text(budi.clone(), "Status berubah").about(Topic::case(
        "case_update",
        "ADU-2026-000001",
        &["Ditinjau".into()],
    ));
    struct One(OutboundMessage);
    impl pstbot::store::Followups for One {
        fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
            vec![self.0.clone()]
        }
        fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
            Vec::new()
        }
    }
    let mut c = commit("d1", &budi, 0);
    c.session = None;
    let Committed::Applied(a) = store.commit_with(c, &One(msg.clone())).unwrap() else {
        panic!()
    };
    let row: OutboxRow = store.outbox_pending(None, 10).unwrap().remove(0);
    assert_eq!(row.id, a.queued[0]);
    // Rows the caller already holds are left out; the others come back whole.
    let mut c2 = commit("d2", &budi, 0);
    c2.session = None;
    let Committed::Applied(a2) = store.commit_with(c2, &One(msg.clone())).unwrap() else {
        panic!()
    };
    let held = row.id;
    let rest = store
        .outbox_pending_except(None, 10, &|id| id == held)
        .unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), a2.queued);
    assert_eq!(rest[0].msg, msg);
    assert_eq!(
        store
            .outbox_pending_except(None, 1, &|_| false)
            .unwrap()
            .len(),
        1,
        "the limit holds"
    );
    let second = rest[0].clone();
    store
        .outbox_sent(SentRecord::delivered(&second, Utc::now(), None))
        .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let rec = SentRecord::delivered(&row, at, Some("wamid.A wamid.B".into()));
    store.outbox_sent(rec).unwrap();
    for r in ["wamid.A", "wamid.B"] {
        let got = store
            .sent_by_ref(ChannelKind::Whatsapp, r)
            .unwrap()
            .unwrap();
        assert_eq!(got.id, row.id);
        assert_eq!(got.msg.as_ref(), Some(&msg));
    }
    assert!(
        store
            .sent_by_ref(ChannelKind::Sms, "wamid.A")
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sent_by_ref(ChannelKind::Whatsapp, "wamid.C")
            .unwrap()
            .is_none()
    );
    let later = at + Duration::minutes(1);
    assert!(
        store
            .outbox_status(row.id, DeliveryStatus::Read, later)
            .unwrap()
    );
    assert!(
        !store
            .outbox_status(row.id, DeliveryStatus::Delivered, later)
            .unwrap()
    );
    let got = store.sent(row.id).unwrap().unwrap();
    assert_eq!(got.status, Some(DeliveryStatus::Read));
    assert_eq!(got.status_at, Some(later));
    assert!(
        store
            .outbox_status(row.id, DeliveryStatus::Failed, later)
            .unwrap()
    );
    assert!(
        !store
            .outbox_status(row.id + 1000, DeliveryStatus::Read, later)
            .unwrap()
    );
}

/// E-mail threads: each delivered mail of a case thread keeps the ids its `References` named,
/// and the thread's mark (one of its provider ids) finds the latest mail of the thread; the
/// chain stays when housekeeping drops the text. (Erased with the recipient: see the erasure
/// contract.)
pub fn mail_thread_contract(store: &dyn Store) {
    let siti = Identity::new(ChannelKind::Email, "siti@example.org");
    let mark = "thread:ADU-2026-000001.tok";
    let Committed::Applied(a) = store
        .commit_with(
            commit("t1", &siti, 0),
            &Says(siti.clone(), vec!["satu", "dua", "tiga"]),
        )
        .unwrap()
    else {
        panic!("applied")
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let root = "<pstbot.ADU-2026-000001@bps.example>".to_string();
    let mut chain = vec![root.clone()];
    for (i, row) in a.rows.iter().enumerate() {
        let own = format!("<own-{i}@bps.example>");
        let mut rec = SentRecord::delivered(row, at, Some(format!("{own} {mark}")));
        rec.thread = chain.clone();
        store.outbox_sent(rec).unwrap();
        let head = store
            .sent_by_ref(ChannelKind::Email, mark)
            .unwrap()
            .expect("the mark finds the thread's latest mail");
        assert_eq!(head.id, row.id, "the latest mail, not an earlier one");
        assert_eq!(head.thread, chain);
        assert_eq!(head.refs().next(), Some(own.as_str()));
        chain.push(own);
    }
    // The mails stay findable by their own ids.
    let first = store
        .sent_by_ref(ChannelKind::Email, "<own-0@bps.example>")
        .unwrap()
        .unwrap();
    assert_eq!((first.id, first.thread.clone()), (a.rows[0].id, vec![root]));
    let pruned = store
        .prune_sent(None, at + Duration::minutes(1), 10)
        .unwrap();
    assert_eq!(pruned.pruned, 3);
    let head = store
        .sent_by_ref(ChannelKind::Email, mark)
        .unwrap()
        .unwrap();
    assert!(head.msg.is_none(), "the text is dropped");
    assert_eq!(head.thread, chain[..3], "the chain is kept");
    // A record of another channel knows no thread.
    assert!(
        store
            .sent_by_ref(ChannelKind::Telegram, mark)
            .unwrap()
            .is_none()
    );
}
