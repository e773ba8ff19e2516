//! The web chat boundary: sessions and their conversation logs.

use chrono::{TimeZone, Utc};
use pstbot::store::Store;

against_every_engine!(web_contract);

/// The web chat's sessions and per-session logs: entries in order, each key logged once,
/// sessions kept apart.
pub fn web_contract(store: &dyn Store) {
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
        officer: false,
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
    // "No limit" (`datasaya` counts a whole transcript so): every entry.
    assert_eq!(store.web_log(&a, 0, usize::MAX).unwrap(), all);
    assert_eq!(store.web_log_tail(&a, usize::MAX).unwrap(), all);
}
