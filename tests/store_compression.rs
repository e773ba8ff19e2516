//! `store.compression`: sled cannot read a store with another compression setting than the one
//! it was created with, so an existing store keeps its own whatever the configuration says,
//! and a backup restored into a new folder takes the configured one.

use chrono::{TimeZone, Utc};
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::sled::SledStore;
use pstbot::store::{Commit, DedupeKey, Store};
use std::path::Path;

fn mark(store: &dyn Store, id: &str) {
    let who = Identity::new(ChannelKind::Telegram, "42");
    let mut c = Commit::new(
        DedupeKey::new(&who, id),
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap(),
        who,
        Default::default(),
    );
    c.session = None;
    store.commit(c).unwrap();
    store.flush().unwrap();
}

fn handled(store: &dyn Store, id: &str) -> bool {
    store
        .is_handled(&DedupeKey::new(
            &Identity::new(ChannelKind::Telegram, "42"),
            id,
        ))
        .unwrap()
}

/// What sled recorded for the store in `dir`.
fn compressed(dir: &Path) -> bool {
    let conf = std::fs::read(dir.join("conf")).unwrap();
    String::from_utf8_lossy(&conf).contains("use_compression: true")
}

#[test]
fn a_store_keeps_the_compression_it_was_created_with() {
    for (made, then) in [(0, 3), (3, 0), (3, 9)] {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open_with(dir.path(), 16, made).unwrap();
            mark(&store, "a");
        }
        assert_eq!(compressed(dir.path()), made > 0);
        {
            let store = SledStore::open_with(dir.path(), 16, then)
                .unwrap_or_else(|e| panic!("made with {made}, opened with {then}: {e}"));
            assert!(handled(&store, "a"), "made with {made}, opened with {then}");
            mark(&store, "b");
        }
        assert_eq!(compressed(dir.path()), made > 0, "the setting stays");
        let store = SledStore::open_with(dir.path(), 16, made).unwrap();
        assert!(handled(&store, "a") && handled(&store, "b"));
        drop(store);
        // The raw look inside (the benchmarks' per-tree sizes) opens either kind too.
        let raw = SledStore::raw(dir.path()).unwrap();
        assert!(raw.tree_names().len() > 2);
    }
}

#[test]
fn restoring_a_backup_changes_the_compression() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, file, packed) = (
        dir.path().join("plain"),
        dir.path().join("backup"),
        dir.path().join("packed"),
    );
    {
        let store = SledStore::open_with(&plain, 16, 0).unwrap();
        mark(&store, "a");
        store
            .backup_to(std::fs::File::create(&file).unwrap())
            .unwrap();
    }
    assert!(!compressed(&plain));
    SledStore::restore_from_with(&packed, &file, 3).unwrap();
    assert!(compressed(&packed));
    let store = SledStore::open_with(&packed, 16, 3).unwrap();
    assert!(handled(&store, "a"));
}

#[test]
fn a_compression_level_zstd_does_not_have_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = SledStore::open_with(dir.path(), 16, 23).err().unwrap();
    assert!(err.to_string().contains("0 (none) to 22"), "{err}");
}
