//! The commit boundary: one message's changes applied whole or not at all, once.

use crate::store_contract::erasure::erasure_contract;
use crate::store_contract::fixtures::{commit, guest, new_case, who};
use chrono::{TimeZone, Utc};
use pstbot::cases::Answer;
use pstbot::cases::{CaseEvent, CaseNumber, Service};
use pstbot::guestbook::{Rating, Visit};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::{
    Applied, Commit, Committed, DedupeKey, Followups, QueueKey, Store, StoreError, Ticket,
};

against_every_engine!(contract, commit_many_contract);

pub fn contract(store: &dyn Store) {
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

/// `commit_many`: each commit applied as if alone — a duplicate and a stale case write change
/// nothing and do not keep the others from applying, and their messages are queued.
pub fn commit_many_contract(store: &dyn Store) {
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
