//! One contract suite, run against every store implementation: what the runtime relies on.

use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::{CaseEvent, CaseNumber, Service};
use pstbot::dialogs::{Answer, Conversation};
use pstbot::guestbook::{Rating, Visit};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::memory::MemoryStore;
use pstbot::store::sled::SledStore;
use pstbot::store::{Commit, Committed, DedupeKey, GuestUpdate, NewCase, Store, StoreError};
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
    };
    Commit::new(DedupeKey::new(from, id), at, from.clone(), session)
}

fn new_case(service: Service, year: i32, title: &str) -> NewCase {
    NewCase {
        service,
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
        lang: "id".into(),
    }
}

fn contract(store: &dyn Store) {
    let budi = who("111");
    let ani = who("222");

    // A commit stores the conversation and its dedupe mark; the same message again changes nothing.
    let mut c = commit("m1", &budi, 0);
    c.guest = Some(guest("Budi"));
    assert_eq!(store.commit(c).unwrap(), Committed::Applied { case: None });
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
        match store.commit(c).unwrap() {
            Committed::Applied { case: Some(n) } => numbers.push(n.to_string()),
            other => panic!("{other:?}"),
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
        store.commit(ok).unwrap(),
        Committed::Applied {
            case: CaseNumber::parse("ADU-2026-000002")
        }
    );
    store.flush().unwrap();
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
            s.commit(c).unwrap(),
            Committed::Applied {
                case: CaseNumber::parse("PRD-2026-000002")
            }
        );
        s.flush().unwrap();
    }
    {
        let db = sled::open(dir.path()).unwrap();
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
