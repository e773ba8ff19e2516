//! Erasure (UU PDP) through a commit: the person's records go or are anonymised, everyone
//! else's stay.

use crate::store_contract::fixtures::{commit, guest, new_case, who};
use chrono::{TimeZone, Utc};
use pstbot::cases::Service;
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::{Applied, Commit, Committed, DedupeKey, Followups, Store};

against_every_engine!(erasure_reaches_every_record_contract);

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
                officer: false,
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
        .outbox_sent(SentRecord {
            // A mail of a case thread: its chain and the thread's mark go with it.
            thread: vec!["<pstbot.ADU-2026-000001@x>".into()],
            ..SentRecord::delivered(&to_siti, at, Some("ref-siti thread:ADU-1.tok".into()))
        })
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
    assert!(
        store
            .sent_by_ref(siti.channel, "thread:ADU-1.tok")
            .unwrap()
            .is_none(),
        "the thread's mark is erased with the mail"
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
