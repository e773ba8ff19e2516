//! What only the sled engine promises on top of the contracts: everything survives a reopen
//! and a backup, another schema and a store in use are refused clearly.

use crate::store_contract::commits::commit_many_contract;
use crate::store_contract::fixtures::{commit, new_case, who};
use crate::store_contract::guests::consent_contract;
use crate::store_contract::maintenance::secret_contract;
use crate::store_contract::web_chat::web_contract;
use chrono::Utc;
use pstbot::cases::{CaseNumber, Service};
use pstbot::store::memory::MemoryStore;
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use pstbot::store::{DedupeKey, StoreError};

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
        officer: false,
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

/// A backup's output that stops at its first write until let go (the backup then holds
/// writes back).
struct HeldOutput(std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>);

impl std::io::Write for HeldOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(go) = self.0.lock().unwrap().take() {
            go.recv().ok();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn sled_store_hands_a_commit_back_while_a_backup_holds_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::open(dir.path(), 8).unwrap());
    let (go, held) = std::sync::mpsc::channel();
    let backup = {
        let store = store.clone();
        std::thread::spawn(move || {
            let out = HeldOutput(std::sync::Mutex::new(Some(held)));
            store.backup_to(out).map(|stats| stats.entries)
        })
    };
    while !store.may_wait() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The flusher does not wait for the backup (a reopen stops it while holding writes
    // back): the commit comes back unapplied, for its writer to wait for the gate itself.
    let sari = who("during-backup");
    let f: std::sync::Arc<dyn pstbot::store::Followups + Send> =
        std::sync::Arc::new(pstbot::store::NoFollowups);
    let got = futures_executor::block_on(store.commit_durable(commit("b1", &sari, 0), f));
    let pstbot::store::Durable::NotQueued(c) = got else {
        panic!("applied while a backup held writes back: {got:?}");
    };
    assert!(!store.is_handled(&DedupeKey::new(&sari, "b1")).unwrap());
    go.send(()).unwrap();
    let entries = backup.join().unwrap().unwrap();
    store.commit(c).unwrap();
    assert!(store.is_handled(&DedupeKey::new(&sari, "b1")).unwrap());
    assert!(entries > 0);
}
