//! The file boundary: accepted files by content hash, kept with the commit that accepted them.

use crate::store_contract::fixtures::{commit, who};
use pstbot::cases::{CaseEvent, CaseNumber};
use pstbot::store::{Store, StoreError};

against_every_engine!(blob_contract);

pub fn blob_contract(store: &dyn Store) {
    let budi = who("blob-1");
    assert!(store.blob("h1").unwrap().is_none());
    let mut c = commit("b1", &budi, 0);
    c.blobs.push(("h1".into(), b"%PDF-1.4 one".to_vec()));
    c.blobs.push(("h2".into(), vec![0, 159, 146, 150]));
    store.commit(c).unwrap();
    assert_eq!(
        store.blob("h1").unwrap().as_deref(),
        Some(&b"%PDF-1.4 one"[..])
    );
    assert_eq!(
        store.blob("h2").unwrap().as_deref(),
        Some(&[0u8, 159, 146, 150][..])
    );
    // A file of a commit that fails is not kept.
    let mut bad = commit("b2", &budi, 1);
    bad.blobs.push(("h3".into(), b"lost".to_vec()));
    bad.case_events.push((
        CaseNumber::parse("ADU-2026-000404").unwrap(),
        CaseEvent {
            at: bad.at,
            actor: pstbot::cases::Actor::System,
            kind: "x".into(),
            note: None,
        },
    ));
    assert!(matches!(store.commit(bad), Err(StoreError::NoSuchCase(_))));
    assert!(store.blob("h3").unwrap().is_none());
}
