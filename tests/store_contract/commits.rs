//! The commit boundary: one message's changes applied whole or not at all, once.

use crate::fixtures::{commit, guest, new_case, who};
use chrono::{TimeZone, Utc};
use pstbot::cases::Answer;
use pstbot::cases::{CaseEvent, CaseNumber, Service};
use pstbot::guestbook::{Rating, Visit};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::{
    Applied, Commit, Committed, DedupeKey, Followups, QueueKey, Store, StoreError, Ticket,
};

against_every_engine!(
    contract,
    commit_many_contract,
    erasure_reaches_every_record_contract
);

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

/// An erasure removes the person's guest record, sessions, appointments and files no other
/// case holds, and anonymises their visits and ratings; others' data stays.
pub fn erasure_contract(store: &dyn Store) {
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

/// Queues, for each commit, the texts it is given: to one person, or to the officers with the
/// number of the case the commit created.
struct Queue(Vec<(Identity, &'static str)>);

impl Followups for Queue {
    fn messages(&self, applied: &Applied) -> Vec<pstbot::message::OutboundMessage> {
        let case = applied
            .case
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_default();
        self.0
            .iter()
            .map(|(to, text)| {
                pstbot::message::OutboundMessage::text(to.clone(), format!("{text} {case}"))
            })
            .collect()
    }
    fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
        Vec::new()
    }
}

/// An erasure reaches every record that names the person — conversation, guest links, failing
/// marks, web chat log, appointments, queued, sent and failed messages, their own timers, the
/// dedupe marks of their messages, their files no other case holds — keeps the messages its
/// own commit queues (with a masked recipient once sent), strips the text of officers' posts
/// about their cases, and leaves everyone else's records alone.
pub fn erasure_reaches_every_record_contract(store: &dyn Store) {
    use pstbot::guestbook::{Appointment, Guest};
    use pstbot::message::AttachmentRef;
    use pstbot::store::{
        Erasure, FailedRecord, Reminder, SentRecord, Timer, TimerSet, WebLogEntry,
    };
    let siti = who("erase-siti");
    let web = Identity::new(ChannelKind::Web, "f".repeat(64));
    let rudi = who("erase-rudi");
    let officers = Identity::officers();
    let gid = Guest::id_for(&siti);
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let timer = |id: &str, owner: &str| Timer {
        id: id.into(),
        owner: owner.into(),
        due: at + chrono::Duration::days(1),
        what: Reminder::IdleClose {
            who: siti.clone(),
            last_seen: at,
        },
    };
    let file = |hash: &str| AttachmentRef {
        blob: hash.into(),
        filename: format!("{hash}.pdf"),
        mime: "application/pdf".into(),
        size: 4,
    };

    // Siti registers, books, is told things, and submits a case with two files; one of them
    // Rudi's case holds too.
    let mut c = commit("s1", &siti, 0);
    c.guest = Some(guest("Siti"));
    c.appointment = Some(Appointment {
        guest_id: gid.clone(),
        booked_at: at,
        at: at + chrono::Duration::days(2),
        topic: "konsultasi".into(),
    });
    c.address_failing = Some((siti.clone(), true));
    c.timers.push(TimerSet {
        owner: format!("idle:{siti}"),
        timers: vec![timer("idle-siti", &format!("idle:{siti}"))],
    });
    c.timers.push(TimerSet {
        owner: format!("appt:{gid}:1"),
        timers: vec![timer("appt-siti", &format!("appt:{gid}:1"))],
    });
    store
        .commit_with(
            c,
            &Queue(vec![
                (siti.clone(), "halo"),
                (siti.clone(), "lagi"),
                (siti.clone(), "gagal"),
            ]),
        )
        .unwrap();
    let mut c = commit("s2", &siti, 1);
    let mut case = new_case(Service::Adu, 2026, "aduan Siti");
    case.attachments = vec![file("own"), file("shared")];
    c.new_case = Some(case);
    c.blobs = vec![
        ("own".into(), b"mine".to_vec()),
        ("shared".into(), b"ours".to_vec()),
    ];
    let Committed::Applied(made) = store
        .commit_with(c, &Queue(vec![(officers.clone(), "Aduan baru")]))
        .unwrap()
    else {
        panic!("applied")
    };
    let number = made.case.clone().unwrap();
    let mut c = commit("r1", &rudi, 2);
    c.guest = Some(guest("Rudi"));
    let mut case = new_case(Service::Rek, 2026, "Rudi");
    case.attachments = vec![file("shared")];
    c.new_case = Some(case);
    c.timers.push(TimerSet {
        owner: format!("idle:{rudi}"),
        timers: vec![timer("idle-rudi", &format!("idle:{rudi}"))],
    });
    store
        .commit_with(c, &Queue(vec![(rudi.clone(), "untuk Rudi")]))
        .unwrap();
    store
        .web_log_append(
            &web.address,
            "in:1",
            &WebLogEntry {
                at,
                visitor: true,
                text: "nama saya Siti".into(),
                choices: Vec::new(),
                files: Vec::new(),
            },
        )
        .unwrap();

    // Delivered: one message to Siti and the officers' post; one to Siti given up on.
    let pending = store.outbox_pending(None, 100).unwrap();
    let row = |text: &str| {
        pending
            .iter()
            .find(|r| r.msg.text.starts_with(text))
            .unwrap()
            .clone()
    };
    let to_siti = row("halo");
    let post = row("Aduan baru");
    store
        .outbox_sent(SentRecord::delivered(&to_siti, at, Some("ref-siti".into())))
        .unwrap();
    store
        .outbox_sent(SentRecord::delivered(&post, at, Some("ref-post".into())))
        .unwrap();
    store
        .outbox_failed(
            FailedRecord {
                row: row("gagal"),
                at,
                reason: "blocked".into(),
            },
            None,
        )
        .unwrap();

    // A reminder about her fired: its mark names her.
    let reminded = timer(&format!("reminded:{siti}"), &format!("idle:{siti}"));
    store.commit(Commit::for_timer(&reminded, at)).unwrap();
    assert!(store.is_handled(&DedupeKey(reminded.dedupe_id())).unwrap());

    // The erasure: her case rewritten without her, the rest by the store.
    let mut anonymised = store.case(&number).unwrap().unwrap();
    anonymised.guest_id = "ANON-9".into();
    anonymised.attachments.clear();
    anonymised.version += 1;
    let mut c = commit("s-erase", &siti, 10);
    c.case_updates.push(anonymised);
    c.erase = Some(Erasure {
        guest_id: gid.clone(),
        identities: vec![siti.clone(), web.clone()],
        blobs: vec!["own".into(), "shared".into()],
        anon_id: "ANON-9".into(),
        cases: vec![number.to_string()],
    });
    let Committed::Applied(erased) = store
        .commit_with(c, &Queue(vec![(siti.clone(), "Data dihapus")]))
        .unwrap()
    else {
        panic!("applied")
    };

    assert!(store.guest_of(&siti).unwrap().is_none());
    assert!(store.session(&siti).unwrap().is_none());
    assert!(!store.address_failing(&siti).unwrap());
    assert!(store.web_log(&web.address, 0, 10).unwrap().is_empty());
    assert!(
        store
            .appointments()
            .unwrap()
            .iter()
            .all(|a| a.guest_id != gid)
    );
    assert!(store.timers_of(&format!("idle:{siti}")).unwrap().is_empty());
    assert!(
        store
            .timers_of(&format!("appt:{gid}:1"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.timers_of(&format!("idle:{rudi}")).unwrap().len(), 1);
    assert!(!store.is_handled(&DedupeKey(reminded.dedupe_id())).unwrap());
    assert!(store.is_handled(&DedupeKey::new(&siti, "s-erase")).unwrap());
    assert!(store.is_handled(&DedupeKey::new(&rudi, "r1")).unwrap());
    assert!(store.blob("own").unwrap().is_none());
    assert_eq!(store.blob("shared").unwrap().as_deref(), Some(&b"ours"[..]));
    assert!(store.cases_of_guest(&gid).unwrap().is_empty());
    assert_eq!(store.case(&number).unwrap().unwrap().guest_id, "ANON-9");

    // Messages: hers are gone but for the confirmation this commit queued, which forgets her
    // address once handled; the officers' post about her case keeps no text; Rudi's stay.
    let left = store.outbox_pending(None, 100).unwrap();
    let texts: Vec<&str> = left.iter().map(|r| r.msg.text.as_str()).collect();
    assert_eq!(texts, ["untuk Rudi REK-2026-000001", "Data dihapus "]);
    assert_eq!(left[1].id, erased.queued[0]);
    assert!(left[1].forget_recipient);
    assert_eq!(erased.rows, left[1..]);
    assert!(store.sent(to_siti.id).unwrap().is_none());
    assert!(
        store
            .sent_by_ref(siti.channel, "ref-siti")
            .unwrap()
            .is_none()
    );
    let kept = store.sent(post.id).unwrap().unwrap();
    assert!(kept.msg.is_none());
    assert_eq!(kept.to, officers);
    assert_eq!(
        store
            .sent_by_ref(officers.channel, "ref-post")
            .unwrap()
            .unwrap()
            .id,
        post.id
    );
    assert!(store.failed().unwrap().is_empty());
    assert_eq!(store.guest_of(&rudi).unwrap().unwrap().name(), Some("Rudi"));
}
