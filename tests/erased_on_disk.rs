//! Erased data leaves sled's files (issue 17.9): after `hapusdata` the name, the e-mail, the
//! complaint text and the uploaded file's bytes are still in the store folder's files (sled's
//! log keeps old versions); after the rewrite housekeeping runs within the hour, no file under
//! the folder holds them, and the store serves on.

use crate::support;

use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use std::path::Path;
use std::sync::Arc;
use support::{Chat, monday_morning, submit_complaint};

/// Every file under `dir`, read.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p.display().to_string(), bytes));
        }
    }
    out
}

/// The files under `dir` that hold `needle`, and how often.
fn holding(dir: &Path, needle: &[u8]) -> Vec<(String, usize)> {
    files(dir)
        .into_iter()
        .filter_map(|(name, bytes)| {
            let n = bytes.windows(needle.len()).filter(|w| *w == needle).count();
            (n > 0).then_some((name, n))
        })
        .collect()
}

#[tokio::test]
async fn erased_bytes_are_in_no_file_after_the_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        // Not compressed: so the needles can be found in the files at all.
        SledStore::open_with(dir.path(), 16, 0).unwrap(),
    );
    let mut t = Chat::with_store(
        store.clone(),
        Arc::new(pstbot::runtime::FixedClock::new(monday_morning())),
    );
    submit_complaint(&mut t, false).await;
    let doc = b"%PDF-1.4 surat keterangan rahasia milik pemohon 7731".to_vec();
    t.file("bukti-budi.pdf", doc.clone()).await;
    t.say("hapusdata").await;
    t.expect("ya", &["sudah kami hapus"]).await;
    store.flush().unwrap();
    let needles: [&[u8]; 4] = [
        b"Budi Santoso",
        b"budi.santoso@example.go.id",
        b"Tabel kemiskinan kabupaten",
        &doc,
    ];
    // Before the rewrite the erased bytes are still in sled's files.
    let before: Vec<_> = needles.iter().map(|n| holding(dir.path(), n)).collect();
    eprintln!("before the rewrite: {before:?}");
    assert!(before.iter().all(|h| !h.is_empty()), "{before:?}");

    let started = std::time::Instant::now();
    assert!(pstbot::housekeeping::rewrite_erased(&t.rt).await.unwrap());
    eprintln!("rewrite took {:?}", started.elapsed());
    // Nothing more to do until the next erasure.
    assert!(!pstbot::housekeeping::rewrite_erased(&t.rt).await.unwrap());
    for n in needles {
        let h = holding(dir.path(), n);
        assert!(
            h.is_empty(),
            "{:?} still in {h:?}",
            String::from_utf8_lossy(&n[..12])
        );
    }
    // The store serves on, with what it held: a new person is served.
    let visits = store.visits().unwrap().len();
    assert!(visits > 0, "anonymised visits are kept");
    t.as_terminal("ani");
    t.expect("halo", &["Selamat datang"]).await;
    drop(t);
    drop(store);
    // And after a restart.
    let again = SledStore::open_with(dir.path(), 16, 0).unwrap();
    assert_eq!(again.visits().unwrap().len(), visits);
    for n in needles {
        assert!(holding(dir.path(), n).is_empty());
    }
}
