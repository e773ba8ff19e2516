//! One contract suite, run against every store implementation: what the runtime relies on.

use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::Answer;
use pstbot::cases::{CaseEvent, CaseNumber, Service};
use pstbot::dialogs::Conversation;
use pstbot::guestbook::{Rating, Visit};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::memory::MemoryStore;
use pstbot::store::sled::SledStore;
use pstbot::store::{
    Applied, Commit, Committed, DedupeKey, Followups, GuestUpdate, NewCase, QueueKey, Store,
    StoreError, Ticket,
};
use std::collections::BTreeMap;

fn who(name: &str) -> Identity {
    Identity::new(ChannelKind::Telegram, name)
}

fn commit(id: &str, from: &Identity, minutes: i64) -> Commit {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap() + Duration::minutes(minutes);
    let session = Conversation {
        lang: "id".into(),
        active: None,
        last_seen: Some(at),
        pending_send: None,
        erase_asked: false,
    };
    Commit::new(DedupeKey::new(from, id), at, from.clone(), session)
}

fn new_case(service: Service, year: i32, title: &str) -> NewCase {
    NewCase {
        service,
        workflow: "wf".into(),
        stage: "start".into(),
        stage_due: None,
        overall_start: None,
        overall_due: None,
        year,
        title: title.into(),
        lang: "id".into(),
        form: Vec::new(),
        attachments: Vec::new(),
        confidential: false,
    }
}

fn guest(name: &str) -> GuestUpdate {
    let mut profile = BTreeMap::new();
    profile.insert("name".to_string(), Answer::Text(name.into()));
    GuestUpdate {
        profile,
        consent_version: "2026-01".into(),
        consent_text: "Setuju / agreed".into(),
        lang: "id".into(),
    }
}

fn contract(store: &dyn Store) {
    let budi = who("111");
    let ani = who("222");

    // A commit stores the conversation and its dedupe mark; the same message again changes nothing.
    let mut c = commit("m1", &budi, 0);
    c.guest = Some(guest("Budi"));
    assert_eq!(
        store.commit(c).unwrap(),
        Committed::Applied(Applied::default())
    );
    assert!(store.is_handled(&DedupeKey::new(&budi, "m1")).unwrap());
    let other_channel = Identity::new(ChannelKind::Whatsapp, "111");
    assert!(
        !store
            .is_handled(&DedupeKey::new(&other_channel, "m1"))
            .unwrap(),
        "dedupe is per channel and id"
    );
    let mut again = commit("m1", &budi, 1);
    again.guest = Some(guest("Someone Else"));
    assert_eq!(store.commit(again).unwrap(), Committed::Duplicate);
    assert_eq!(store.guest_of(&budi).unwrap().unwrap().name(), Some("Budi"));
    assert_eq!(store.session(&budi).unwrap().unwrap().lang, "id");
    assert!(store.session(&ani).unwrap().is_none());

    // Case numbers count per service and year and never repeat.
    let mut numbers = Vec::new();
    for (i, (service, year)) in [
        (Service::Rek, 2026),
        (Service::Rek, 2026),
        (Service::Adu, 2026),
        (Service::Rek, 2027),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = commit(&format!("case{i}"), &budi, 10 + i as i64);
        c.new_case = Some(new_case(service, year, &format!("case {i}")));
        match store.commit(c).unwrap().case() {
            Some(n) => numbers.push(n.to_string()),
            None => panic!("no case created"),
        }
    }
    assert_eq!(
        numbers,
        [
            "REK-2026-000001",
            "REK-2026-000002",
            "ADU-2026-000001",
            "REK-2027-000001"
        ]
    );

    // A guest's cases come newest first; others see none of them.
    let gid = store.guest_of(&budi).unwrap().unwrap().id;
    let mine: Vec<String> = store
        .cases_of_guest(&gid)
        .unwrap()
        .iter()
        .map(|c| c.number.to_string())
        .collect();
    assert_eq!(
        mine,
        [
            "REK-2027-000001",
            "ADU-2026-000001",
            "REK-2026-000002",
            "REK-2026-000001"
        ]
    );
    let mut c = commit("a1", &ani, 20);
    c.guest = Some(guest("Ani"));
    store.commit(c).unwrap();
    let ani_id = store.guest_of(&ani).unwrap().unwrap().id;
    assert!(store.cases_of_guest(&ani_id).unwrap().is_empty());
    // Every guest, each once (reports and the guest-book export read them all).
    let mut names: Vec<String> = store
        .guests()
        .unwrap()
        .iter()
        .map(|g| g.name().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["Ani", "Budi"]);
    // The address a notification copy goes to: the guest book's, trimmed; none without one.
    assert_eq!(store.email_of(&ani).unwrap(), None);
    assert_eq!(store.email_of(&who("nobody")).unwrap(), None);
    let mut c = commit("a2", &ani, 21);
    let mut g = guest("Ani");
    g.profile
        .insert("email".into(), Answer::Text(" ani@example.go.id ".into()));
    c.guest = Some(g);
    store.commit(c).unwrap();
    assert_eq!(
        store.email_of(&ani).unwrap().as_deref(),
        Some("ani@example.go.id")
    );

    // Open cases oldest first; history appends.
    let open: Vec<String> = store
        .open_cases()
        .unwrap()
        .iter()
        .map(|c| c.number.to_string())
        .collect();
    assert_eq!(open.first().map(String::as_str), Some("REK-2026-000001"));
    let n = CaseNumber::parse("REK-2026-000001").unwrap();
    let mut c = commit("r1", &budi, 30);
    c.case_events.push((
        n.clone(),
        CaseEvent {
            at: c.at,
            actor: pstbot::cases::Actor::Applicant,
            kind: "rated".into(),
            note: None,
        },
    ));
    c.rating = Some(Rating {
        guest_id: Some(gid.clone()),
        case: Some(n.clone()),
        at: c.at,
        score: 5,
        comment: None,
        skm: Some([4; 9]),
    });
    c.visit = Some(Visit {
        guest_id: gid.clone(),
        at: c.at,
        channel: ChannelKind::Telegram,
        service: Some("rekomendasi".into()),
        purpose: None,
        name: None,
    });
    c.blobs.push(("abc".into(), b"%PDF-1.4".to_vec()));
    store.commit(c).unwrap();
    let case = store.case(&n).unwrap().unwrap();
    assert_eq!(
        case.history
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["submitted", "rated"]
    );
    assert_eq!(store.ratings().unwrap().len(), 1);
    assert_eq!(store.visits().unwrap().len(), 1);
    assert_eq!(
        store.blob("abc").unwrap().as_deref(),
        Some(&b"%PDF-1.4"[..])
    );
    assert!(
        store
            .recommended_cases(&["letter_sent"])
            .unwrap()
            .is_empty()
    );

    // A commit that fails changes nothing, not even its dedupe mark.
    let mut bad = commit("bad", &budi, 40);
    bad.case_events.push((
        CaseNumber::parse("ADU-2026-000999").unwrap(),
        CaseEvent {
            at: bad.at,
            actor: pstbot::cases::Actor::System,
            kind: "x".into(),
            note: None,
        },
    ));
    bad.new_case = Some(new_case(Service::Adu, 2026, "would be 2"));
    assert!(matches!(store.commit(bad), Err(StoreError::NoSuchCase(_))));
    assert!(!store.is_handled(&DedupeKey::new(&budi, "bad")).unwrap());
    let mut ok = commit("after-bad", &budi, 41);
    ok.new_case = Some(new_case(Service::Adu, 2026, "is 2"));
    assert_eq!(
        store.commit(ok).unwrap().case(),
        CaseNumber::parse("ADU-2026-000002").as_ref()
    );

    // Whole-case writes need the stored version + 1; a stale write changes nothing.
    let n = CaseNumber::parse("ADU-2026-000002").unwrap();
    let mut case = store.case(&n).unwrap().unwrap();
    assert_eq!(case.version, 1);
    case.stage = "review".into();
    case.version = 2;
    let mut c = commit("upd1", &budi, 50);
    c.case_updates.push(case.clone());
    store.commit(c).unwrap();
    let mut stale = case.clone();
    stale.stage = "closed".into();
    stale.open = false;
    let mut c = commit("upd2", &budi, 51);
    c.case_updates.push(stale);
    assert!(matches!(store.commit(c), Err(StoreError::Conflict(_))));
    assert!(!store.is_handled(&DedupeKey::new(&budi, "upd2")).unwrap());
    assert_eq!(store.case(&n).unwrap().unwrap().stage, "review");
    // Closing a case takes it off the open list.
    case.open = false;
    case.version = 3;
    let mut c = commit("upd3", &budi, 52);
    c.case_updates.push(case);
    store.commit(c).unwrap();
    assert!(store.open_cases().unwrap().iter().all(|c| c.number != n));
    // An event appended bumps the version too.
    let mut c = commit("ev1", &budi, 53);
    c.case_events.push((
        n.clone(),
        CaseEvent {
            at: c.at,
            actor: pstbot::cases::Actor::System,
            kind: "note".into(),
            note: None,
        },
    ));
    store.commit(c).unwrap();
    assert_eq!(store.case(&n).unwrap().unwrap().version, 4);

    // Cases by creation time.
    let from = Utc.with_ymd_and_hms(2026, 11, 23, 2, 10, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 11, 23, 2, 12, 0).unwrap();
    let created: Vec<String> = store
        .cases_created_between(from, to)
        .unwrap()
        .iter()
        .map(|c| c.number.to_string())
        .collect();
    assert_eq!(created, ["REK-2026-000001", "REK-2026-000002"]);

    // Walk-in queue numbers count per letter and day; calling takes the next waiting one.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let r = QueueKey { letter: 'R', day };
    let mut tickets = Vec::new();
    for i in 0..3 {
        let mut c = commit(&format!("t{i}"), &ani, 60 + i);
        c.ticket = Some(r.clone());
        match store.commit(c).unwrap() {
            Committed::Applied(a) => tickets.push(a.ticket.unwrap()),
            Committed::Duplicate => panic!(),
        }
    }
    assert_eq!(
        tickets,
        [
            Ticket {
                number: 1,
                ahead: 0
            },
            Ticket {
                number: 2,
                ahead: 1
            },
            Ticket {
                number: 3,
                ahead: 2
            }
        ]
    );
    let mut c = commit("call1", &ani, 70);
    c.call_next = Some(r.clone());
    assert!(matches!(
        store.commit(c).unwrap(),
        Committed::Applied(Applied {
            called: Some(1),
            ..
        })
    ));
    let mut c = commit("t4", &ani, 71);
    c.ticket = Some(r.clone());
    assert!(matches!(
        store.commit(c).unwrap(),
        Committed::Applied(Applied {
            ticket: Some(Ticket {
                number: 4,
                ahead: 2
            }),
            ..
        })
    ));
    assert_eq!(store.queue_status(&r).unwrap(), (4, 1));
    let other_day = QueueKey {
        letter: 'R',
        day: day.succ_opt().unwrap(),
    };
    assert_eq!(store.queue_status(&other_day).unwrap(), (0, 0));
    let mut c = commit("call-empty", &ani, 72);
    c.call_next = Some(other_day);
    assert!(matches!(
        store.commit(c).unwrap(),
        Committed::Applied(Applied { called: None, .. })
    ));
    erasure_contract(store);
    store.flush().unwrap();
}

/// An erasure removes the person's guest record, sessions, appointments and files no other
/// case holds, and anonymises their visits and ratings; others' data stays.
fn erasure_contract(store: &dyn Store) {
    let siti = who("333");
    let rudi = who("444");
    let mut c = commit("e1", &siti, 100);
    c.guest = Some(guest("Siti"));
    c.visit = Some(pstbot::guestbook::Visit {
        guest_id: pstbot::guestbook::Guest::id_for(&siti),
        at: c.at,
        channel: ChannelKind::Terminal,
        service: Some("pengaduan".into()),
        purpose: None,
        name: None,
    });
    c.rating = Some(pstbot::guestbook::Rating {
        guest_id: Some(pstbot::guestbook::Guest::id_for(&siti)),
        case: None,
        at: c.at,
        score: 4,
        comment: Some("Petugas Siti ramah".into()),
        skm: None,
    });
    c.blobs.push(("hash-siti".into(), b"KTP Siti".to_vec()));
    store.commit(c).unwrap();
    let mut c = commit("e2", &rudi, 101);
    c.guest = Some(guest("Rudi"));
    store.commit(c).unwrap();
    let visits = store.visits().unwrap().len();
    let ratings = store.ratings().unwrap().len();

    let mut c = commit("e3", &siti, 102);
    c.session = None;
    c.erase = Some(pstbot::store::Erasure {
        guest_id: pstbot::guestbook::Guest::id_for(&siti),
        identities: vec![siti.clone()],
        blobs: vec!["hash-siti".into()],
        anon_id: "ANON-1".into(),
        cases: Vec::new(),
    });
    store.commit(c).unwrap();
    assert!(store.guest_of(&siti).unwrap().is_none());
    assert!(store.session(&siti).unwrap().is_none());
    assert!(store.blob("hash-siti").unwrap().is_none());
    assert_eq!(
        store.visits().unwrap().len(),
        visits,
        "visits still counted"
    );
    let rs = store.ratings().unwrap();
    assert_eq!(rs.len(), ratings, "ratings still counted");
    let r = rs
        .iter()
        .find(|r| r.score == 4 && r.guest_id.as_deref() == Some("ANON-1"));
    assert!(r.is_some_and(|r| r.comment.is_none()), "{rs:?}");
    assert!(store.is_handled(&DedupeKey::new(&siti, "e3")).unwrap());
    assert_eq!(store.guest_of(&rudi).unwrap().unwrap().name(), Some("Rudi"));
    assert!(store.session(&rudi).unwrap().is_some());
}

/// Delivered rows are found by each of their provider ids on their channel, and keep the
/// furthest status a provider reported.
fn delivery_contract(store: &dyn Store) {
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

/// `commit_many`: each commit applied as if alone — a duplicate and a stale case write change
/// nothing and do not keep the others from applying, and their messages are queued.
fn commit_many_contract(store: &dyn Store) {
    struct Says(&'static str);
    impl Followups for Says {
        fn messages(&self, _: &Applied) -> Vec<pstbot::message::OutboundMessage> {
            vec![pstbot::message::OutboundMessage::text(
                who("officer"),
                self.0.to_string(),
            )]
        }
        fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
            Vec::new()
        }
    }
    let people: Vec<Identity> = (0..4).map(|i| who(&format!("m{i}"))).collect();
    let mut c = commit("open", &people[0], 0);
    c.new_case = Some(new_case(Service::Adu, 2026, "x"));
    let n = store.commit(c).unwrap().case().unwrap().clone();
    store.commit(commit("seen", &people[1], 1)).unwrap();
    let mut fresh = store.case(&n).unwrap().unwrap();
    fresh.stage = "review".into();
    fresh.version += 1;
    let mut stale = fresh.clone();
    stale.stage = "closed".into();

    let (a, b, d, e) = (Says("a"), Says("b"), Says("d"), Says("e"));
    let mut update = commit("upd", &people[0], 2);
    update.case_updates.push(fresh);
    let mut conflict = commit("stale", &people[2], 3);
    conflict.case_updates.push(stale);
    let items: Vec<(Commit, &dyn Followups)> = vec![
        (update, &a),
        (commit("seen", &people[1], 4), &b),
        (conflict, &d),
        (commit("new", &people[3], 5), &e),
    ];
    let results = store.commit_many(items);
    assert_eq!(results.len(), 4);
    assert!(matches!(results[0], Ok(Committed::Applied(_))));
    assert!(matches!(results[1], Ok(Committed::Duplicate)));
    assert!(matches!(results[2], Err(StoreError::Conflict(_))));
    assert!(matches!(results[3], Ok(Committed::Applied(_))));
    assert_eq!(store.case(&n).unwrap().unwrap().stage, "review");
    assert!(
        !store
            .is_handled(&DedupeKey::new(&people[2], "stale"))
            .unwrap()
    );
    assert!(
        store
            .is_handled(&DedupeKey::new(&people[3], "new"))
            .unwrap()
    );
    let texts: Vec<String> = store
        .outbox_pending(None, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.msg.text)
        .collect();
    assert_eq!(texts, ["a", "e"]);

    // Without trouble, they all apply.
    let (f, g) = (Says("f"), Says("g"));
    let results = store.commit_many(vec![
        (commit("later2", &people[2], 6), &f as &dyn Followups),
        (commit("later3", &people[3], 7), &g),
    ]);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Committed::Applied(_))))
    );
    assert_eq!(store.outbox_pending(None, 10).unwrap().len(), 4);
}

#[test]
fn memory_store_applies_many_commits_each_as_if_alone() {
    commit_many_contract(&MemoryStore::new());
}

#[test]
fn sled_store_applies_many_commits_each_as_if_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), 8).unwrap();
    commit_many_contract(&store);
    store.flush().unwrap();
    drop(store);
    let again = SledStore::open(dir.path(), 8).unwrap();
    assert_eq!(again.outbox_pending(None, 10).unwrap().len(), 4);
    assert!(
        again
            .is_handled(&DedupeKey::new(&who("m3"), "later3"))
            .unwrap()
    );
}

#[test]
fn memory_store_keeps_the_delivery_contract() {
    delivery_contract(&MemoryStore::new());
}

#[test]
fn sled_store_keeps_the_delivery_contract() {
    let dir = tempfile::tempdir().unwrap();
    delivery_contract(&SledStore::open(dir.path(), 8).unwrap());
}

#[test]
fn memory_store_keeps_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn sled_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&SledStore::open(dir.path(), 8).unwrap());
}

#[test]
fn sled_store_keeps_everything_across_reopen_and_refuses_other_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let budi = who("111");
    {
        let s = SledStore::open(dir.path(), 8).unwrap();
        let mut c = commit("m1", &budi, 0);
        c.new_case = Some(new_case(Service::Prd, 2026, "x"));
        s.commit(c).unwrap();
        s.flush().unwrap();
    }
    {
        let s = SledStore::open(dir.path(), 8).unwrap();
        assert!(s.is_handled(&DedupeKey::new(&budi, "m1")).unwrap());
        let mut c = commit("m2", &budi, 1);
        c.new_case = Some(new_case(Service::Prd, 2026, "y"));
        assert_eq!(
            s.commit(c).unwrap().case(),
            CaseNumber::parse("PRD-2026-000002").as_ref()
        );
        s.flush().unwrap();
    }
    {
        let db = SledStore::raw(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    assert!(matches!(
        SledStore::open(dir.path(), 8),
        Err(StoreError::Schema {
            found: 99,
            expected: 1
        })
    ));
}

/// The web chat's sessions and per-session logs: entries in order, each key logged once,
/// sessions kept apart.
fn web_contract(store: &dyn Store) {
    use pstbot::store::{WebLogEntry, WebSession};
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    assert!(store.web_session(&a).unwrap().is_none());
    store
        .put_web_session(&WebSession {
            id: a.clone(),
            created_at: at,
        })
        .unwrap();
    assert_eq!(store.web_session(&a).unwrap().unwrap().created_at, at);
    assert!(store.web_session(&b).unwrap().is_none());
    let entry = |text: &str, visitor: bool| WebLogEntry {
        at,
        visitor,
        text: text.into(),
        choices: Vec::new(),
        files: Vec::new(),
    };
    let (s1, new1) = store
        .web_log_append(&a, "in:1", &entry("halo", true))
        .unwrap();
    let (s2, new2) = store
        .web_log_append(&a, "out:7", &entry("Selamat datang", false))
        .unwrap();
    assert!(new1 && new2 && s1 < s2);
    // The same outbox row delivered again (by the outbox after the request did) is logged once.
    let (again, new) = store
        .web_log_append(&a, "out:7", &entry("Selamat datang", false))
        .unwrap();
    assert_eq!((again, new), (s2, false));
    let (sb, _) = store
        .web_log_append(&b, "in:1", &entry("other", true))
        .unwrap();
    let (s3, _) = store.web_log_append(&a, "in:2", &entry("1", true)).unwrap();
    assert!(s3 > s2);
    let all = store.web_log(&a, 0, 100).unwrap();
    let texts: Vec<&str> = all.iter().map(|(_, e)| e.text.as_str()).collect();
    assert_eq!(texts, ["halo", "Selamat datang", "1"]);
    assert_eq!(
        all.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [s1, s2, s3]
    );
    assert!(all[0].1.visitor && !all[1].1.visitor);
    let after = store.web_log(&a, s1, 1).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, s2);
    let tail = store.web_log_tail(&a, 2).unwrap();
    assert_eq!(tail.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [s2, s3]);
    let other = store.web_log(&b, 0, 100).unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].0, sb);
    assert!(store.web_log(&"c".repeat(64), 0, 10).unwrap().is_empty());
}

#[test]
fn memory_store_keeps_the_web_chat_contract() {
    web_contract(&MemoryStore::new());
}

#[test]
fn sled_store_keeps_the_web_chat_contract_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path(), 8).unwrap();
        web_contract(&s);
        s.flush().unwrap();
    }
    let s = SledStore::open(dir.path(), 8).unwrap();
    let a = "a".repeat(64);
    assert!(s.web_session(&a).unwrap().is_some());
    let before = s.web_log(&a, 0, 100).unwrap();
    assert_eq!(before.len(), 3);
    // Sequence numbers keep growing after a restart.
    let entry = pstbot::store::WebLogEntry {
        at: Utc::now(),
        visitor: true,
        text: "lagi".into(),
        choices: Vec::new(),
        files: Vec::new(),
    };
    let (seq, new) = s.web_log_append(&a, "in:3", &entry).unwrap();
    assert!(new && seq > before.last().unwrap().0);
}

#[test]
fn sled_store_in_use_is_refused_clearly_and_reopens_once_closed() {
    let dir = tempfile::tempdir().unwrap();
    let first = SledStore::open(dir.path(), 8).unwrap();
    let err = SledStore::open(dir.path(), 8)
        .err()
        .expect("a second open must fail");
    assert!(
        err.to_string().contains("another pstbot"),
        "unclear error: {err}"
    );
    drop(first);
    // Reopened at once after the close: sled lets go of its lock from a background thread.
    for _ in 0..5 {
        let s = SledStore::open(dir.path(), 8).unwrap();
        drop(s);
    }
}

/// Guests keep the consent text they agreed to, whole, also when many agreed to the same one
/// (the sled store keeps each text once) and after a newer consent version.
fn consent_contract(store: &dyn Store) {
    let long = "Dengan ini saya menyetujui pemrosesan data pribadi saya (UU PDP). ".repeat(20);
    let people: Vec<Identity> = (0..3).map(|i| who(&format!("c{i}"))).collect();
    for (i, p) in people.iter().enumerate() {
        let mut c = commit(&format!("g{i}"), p, i as i64);
        let mut g = guest(&format!("Orang {i}"));
        g.consent_text = long.clone();
        c.guest = Some(g);
        store.commit(c).unwrap();
    }
    // The first person agrees to a newer text; the second only updates the profile.
    let mut c = commit("g-new", &people[0], 10);
    let mut g = guest("Orang 0");
    g.consent_version = "2026-07".into();
    g.consent_text = "Versi baru / new version".into();
    c.guest = Some(g);
    store.commit(c).unwrap();
    let mut c = commit("g-profile", &people[1], 11);
    let mut g = guest("Orang 1 (baru)");
    g.consent_text = "ignored: same version".into();
    c.guest = Some(g);
    store.commit(c).unwrap();

    let g0 = store.guest_of(&people[0]).unwrap().unwrap();
    assert_eq!(g0.consent_version, "2026-07");
    assert_eq!(g0.consent_text, "Versi baru / new version");
    let g1 = store.guest_of(&people[1]).unwrap().unwrap();
    assert_eq!(g1.consent_text, long);
    assert_eq!(
        g1.profile.get("name"),
        Some(&Answer::Text("Orang 1 (baru)".into()))
    );
    let all = store.guests().unwrap();
    assert_eq!(all.len(), 3);
    let texts: Vec<&str> = all.iter().map(|g| g.consent_text.as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == long).count(), 2);
    assert!(texts.contains(&"Versi baru / new version"));

    // Walking the guest book in pages gives every guest once, in id order, with their texts.
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.guests_page(after.as_deref(), 2).unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        walked.extend(page);
    }
    let mut by_id = all.clone();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(walked, by_id);
    assert!(
        store
            .guests_page(Some(&by_id[2].id), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.guests_page(None, 1).unwrap(), by_id[..1]);
}

#[test]
fn memory_store_keeps_consent_texts() {
    consent_contract(&MemoryStore::new());
}

#[test]
fn sled_store_keeps_consent_texts_once_across_reopen_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.pstbak");
    {
        let s = SledStore::open(&dir.path().join("a"), 8).unwrap();
        consent_contract(&s);
        s.flush().unwrap();
        s.backup_to(std::fs::File::create(&file).unwrap()).unwrap();
    }
    // The long text is stored once, not in every guest record.
    {
        let db = SledStore::raw(&dir.path().join("a")).unwrap();
        let guests = db.open_tree("guests").unwrap();
        for kv in guests.iter() {
            let (_, v) = kv.unwrap();
            assert!(v.len() < 600, "a guest record holds its consent text");
        }
        assert_eq!(db.open_tree("consent_texts").unwrap().len(), 2);
    }
    let long = "Dengan ini saya menyetujui pemrosesan data pribadi saya (UU PDP). ".repeat(20);
    let s = SledStore::open(&dir.path().join("a"), 8).unwrap();
    assert_eq!(s.guest_of(&who("c2")).unwrap().unwrap().consent_text, long);
    drop(s);
    SledStore::restore_from(&dir.path().join("b"), &file).unwrap();
    let r = SledStore::open(&dir.path().join("b"), 8).unwrap();
    assert_eq!(r.guest_of(&who("c1")).unwrap().unwrap().consent_text, long);
    assert_eq!(r.guests().unwrap().len(), 3);
}

/// A store's secrets: made once, then always the same; different names differ.
fn secret_contract(store: &dyn Store) -> [u8; 32] {
    let a = store.secret("email-reply").unwrap();
    assert_eq!(store.secret("email-reply").unwrap(), a);
    assert_ne!(store.secret("another").unwrap(), a);
    assert_ne!(a, [0u8; 32]);
    a
}

#[test]
fn memory_store_keeps_its_secrets() {
    secret_contract(&MemoryStore::new());
}

#[test]
fn sled_store_keeps_its_secrets_across_reopen_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let s = SledStore::open(dir.path(), 8).unwrap();
        secret_contract(&s)
    };
    let s = SledStore::open(dir.path(), 8).unwrap();
    assert_eq!(s.secret("email-reply").unwrap(), first);
    let file = dir.path().join("backup.pstbot");
    s.backup_to(std::fs::File::create(&file).unwrap()).unwrap();
    drop(s);
    let restored = tempfile::tempdir().unwrap();
    SledStore::restore_from(restored.path(), &file).unwrap();
    let r = SledStore::open(restored.path(), 8).unwrap();
    assert_eq!(r.secret("email-reply").unwrap(), first);
    assert_ne!(
        MemoryStore::new().secret("email-reply").unwrap(),
        first,
        "each store makes its own"
    );
}
