//! The case boundary: cases by number, by guest, open ones, by creation time, issued
//! recommendations, and the walk-in queues.

use crate::store_contract::fixtures::{commit, new_case, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::{Case, CaseEvent, Service};
use pstbot::store::{Store, StoreError};

against_every_engine!(case_contract);

fn numbers(cases: Vec<Case>) -> Vec<String> {
    cases.into_iter().map(|c| c.number.to_string()).collect()
}

pub fn case_contract(store: &dyn Store) {
    let budi = who("case-1");
    let mut created = Vec::new();
    for (i, service) in [Service::Rek, Service::Adu, Service::Rek, Service::Rek]
        .into_iter()
        .enumerate()
    {
        let mut c = commit(&format!("c{i}"), &budi, 10 * i as i64);
        c.new_case = Some(new_case(service, 2026, &format!("case {i}")));
        created.push(store.commit(c).unwrap().case().unwrap().clone());
    }
    let case = store.case(&created[0]).unwrap().unwrap();
    assert_eq!(case.title, "case 0");
    assert!(case.open);
    assert_eq!(case.version, 1);
    assert_eq!(case.origin, budi);
    assert_eq!(
        case.history
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["submitted"]
    );

    // Creation times are a half-open range.
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let between = store
        .cases_created_between(start + Duration::minutes(10), start + Duration::minutes(30))
        .unwrap();
    assert_eq!(numbers(between), ["ADU-2026-000001", "REK-2026-000002"]);
    // "Since ever" and "for ever" as bounds (the monthly report asks from `MIN_UTC`): beyond
    // what PostgreSQL's timestamps hold, still an answer.
    let ever = store
        .cases_created_between(
            chrono::DateTime::<Utc>::MIN_UTC,
            chrono::DateTime::<Utc>::MAX_UTC,
        )
        .unwrap();
    assert_eq!(ever.len(), created.len());

    // Issued recommendations: REK cases in one of the stages asked for.
    for (n, stage) in [
        (&created[0], "letter_sent"),
        (&created[1], "letter_sent"),
        (&created[3], "archived"),
    ] {
        let mut case = store.case(n).unwrap().unwrap();
        case.stage = stage.into();
        case.version += 1;
        let mut c = commit(&format!("stage-{n}"), &budi, 50);
        c.case_updates.push(case);
        store.commit(c).unwrap();
    }
    let mut issued = numbers(
        store
            .recommended_cases(&["letter_sent", "archived"])
            .unwrap(),
    );
    issued.sort();
    assert_eq!(issued, ["REK-2026-000001", "REK-2026-000003"]);
    assert_eq!(
        numbers(store.recommended_cases(&["letter_sent"]).unwrap()),
        ["REK-2026-000001"]
    );

    // A closed case leaves the open list and comes back when reopened.
    let mut case = store.case(&created[2]).unwrap().unwrap();
    case.open = false;
    case.version += 1;
    let mut c = commit("close", &budi, 60);
    c.case_updates.push(case.clone());
    store.commit(c).unwrap();
    assert_eq!(
        numbers(store.open_cases().unwrap()),
        ["REK-2026-000001", "ADU-2026-000001", "REK-2026-000003"]
    );
    case.open = true;
    case.version += 1;
    let mut c = commit("reopen", &budi, 61);
    c.case_updates.push(case);
    store.commit(c).unwrap();
    assert_eq!(store.open_cases().unwrap().len(), 4);

    // A write to a case that does not exist changes nothing.
    let mut ghost = store.case(&created[1]).unwrap().unwrap();
    ghost.number.seq = 99;
    ghost.version += 1;
    let mut c = commit("ghost", &budi, 70);
    c.case_updates.push(ghost.clone());
    assert!(matches!(store.commit(c), Err(StoreError::NoSuchCase(_))));
    assert!(store.case(&ghost.number).unwrap().is_none());

    // An event is appended to the case as stored.
    let mut c = commit("event", &budi, 71);
    c.case_events.push((
        created[1].clone(),
        CaseEvent {
            at: c.at,
            actor: pstbot::cases::Actor::System,
            kind: "note".into(),
            note: Some("checked".into()),
        },
    ));
    store.commit(c).unwrap();
    let case = store.case(&created[1]).unwrap().unwrap();
    assert_eq!(case.version, 3);
    assert_eq!(
        case.history.last().and_then(|e| e.note.as_deref()),
        Some("checked")
    );
    assert_eq!(case.stage, "letter_sent");

    // In one commit, a whole-case write is checked against the stored version first, then the
    // commit's events are appended to the case as written.
    let mut case = store.case(&created[1]).unwrap().unwrap();
    case.stage = "done".into();
    case.version += 1;
    let mut c = commit("both", &budi, 72);
    c.case_updates.push(case);
    c.case_events.push((
        created[1].clone(),
        CaseEvent {
            at: c.at,
            actor: pstbot::cases::Actor::System,
            kind: "closed_note".into(),
            note: None,
        },
    ));
    store.commit(c).unwrap();
    let case = store.case(&created[1]).unwrap().unwrap();
    assert_eq!((case.version, case.stage.as_str()), (5, "done"));
    assert_eq!(
        case.history.last().map(|e| e.kind.as_str()),
        Some("closed_note")
    );
}
