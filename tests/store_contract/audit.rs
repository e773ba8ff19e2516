//! The audit boundary: officers' accesses to personal data, kept oldest first.

use crate::store_contract::fixtures::{commit, who};
use chrono::{Duration, TimeZone, Utc};
use pstbot::store::{AuditEntry, Store};

against_every_engine!(audit_contract);

pub fn audit_contract(store: &dyn Store) {
    assert!(store.audit_log().unwrap().is_empty());
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let entry = |minutes: i64, action: &str, subject: &str| AuditEntry {
        at: start + Duration::minutes(minutes),
        officer: "o-7".into(),
        action: action.into(),
        subject: subject.into(),
    };
    let officer = who("officer-7");
    let mut c = commit("a2", &officer, 20);
    c.audit.push(entry(20, "lihat", "REK-2026-000002"));
    c.audit.push(entry(21, "report", "2026-11"));
    store.commit(c).unwrap();
    let mut c = commit("a1", &officer, 10);
    c.audit.push(entry(10, "lihat", "REK-2026-000001"));
    store.commit(c).unwrap();
    // A commit that changes nothing else still records its accesses; a duplicate does not.
    let mut again = commit("a1", &officer, 30);
    again.audit.push(entry(30, "lihat", "REK-2026-000003"));
    store.commit(again).unwrap();
    assert_eq!(
        store.audit_log().unwrap(),
        [
            entry(10, "lihat", "REK-2026-000001"),
            entry(20, "lihat", "REK-2026-000002"),
            entry(21, "report", "2026-11"),
        ]
    );
}
