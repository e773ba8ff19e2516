//! A sled store on disk damaged on purpose (issue 17.10): flipped bytes near the end of `db`,
//! 64 KiB zeroed in its middle, cut by 4 KiB, cut to half. `verify` finds the damage and says
//! where, `pstbot verify` exits non-zero, a salvage backup keeps every readable record and
//! restores, and a store sled cannot open is a clear error naming the folder (not a panic).

use crate::support;

use chrono::{Duration, Utc};
use pstbot::guestbook::Visit;
use pstbot::message::{ChannelKind, Identity};
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use pstbot::store::{Commit, DedupeKey};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const RECORDS: usize = 3_000;

/// A store of `RECORDS` commits (a dedupe mark and a visit each), closed.
fn filled(dir: &Path) {
    let store = SledStore::open(dir, 8).unwrap();
    for i in 0..RECORDS {
        let who = Identity::new(ChannelKind::Sms, format!("+62811{i:06}"));
        let at = Utc::now() + Duration::milliseconds(i as i64);
        let mut c = Commit::new(DedupeKey(format!("m:{i:06}")), at, who, Default::default());
        c.visit = Some(Visit {
            guest_id: format!("G-{i}"),
            at,
            channel: ChannelKind::Sms,
            service: None,
            purpose: Some(format!("keperluan nomor {i} untuk data statistik")),
            name: None,
        });
        store.commit(c).unwrap();
    }
    store.flush().unwrap();
    drop(store);
    // Opened again, sled writes down its page table (as every start and daily checkpoint of
    // the service does): the records now live in pages the table points at.
    drop(SledStore::open(dir, 8).unwrap());
}

enum Damage {
    FlipNearEnd,
    ZeroMiddle,
    CutBy4k,
    CutToHalf,
}

fn damage(dir: &Path, how: &Damage) {
    let db = dir.join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(&db)
        .unwrap();
    match how {
        Damage::FlipNearEnd => {
            let mut bytes = std::fs::read(&db).unwrap();
            for i in 0..16u64 {
                let at = (len - 4096 + i * 200) as usize;
                bytes[at] ^= 0xff;
            }
            f.write_all(&bytes).unwrap();
        }
        Damage::ZeroMiddle => {
            f.seek(SeekFrom::Start(len / 2)).unwrap();
            f.write_all(&vec![0u8; 64 * 1024]).unwrap();
        }
        Damage::CutBy4k => f.set_len(len - 4096).unwrap(),
        Damage::CutToHalf => f.set_len(len / 2).unwrap(),
    }
    f.sync_all().unwrap();
}

/// Zeroes 64 KiB from the middle of `db` on, one 64 KiB step further each time, until the
/// check finds damage (a range sled no longer uses hides nothing); returns the offset.
fn zero_until_damaged(dir: &Path) -> u64 {
    zero_from_until_damaged(dir, 4)
}

/// As `zero_until_damaged`, from `eighths`/8 of the file on.
fn zero_from_until_damaged(dir: &Path, eighths: u64) -> u64 {
    let db = dir.join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    // Up to the end of the file: how much of it sled still uses depends on when its own
    // background flushes ran (a test run on a loaded machine once found nothing in 1 MiB).
    let start = len * eighths / 8;
    for step in 0..(len - start) / (64 * 1024) {
        let at = start + step * 64 * 1024;
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&vec![0u8; 64 * 1024]).unwrap();
        f.sync_all().unwrap();
        drop(f);
        if !SledStore::verify_dir(dir).unwrap().is_sound() {
            return at;
        }
    }
    panic!("no zeroed range was noticed");
}

const ALL: [Damage; 4] = [
    Damage::FlipNearEnd,
    Damage::ZeroMiddle,
    Damage::CutBy4k,
    Damage::CutToHalf,
];

fn name(how: &Damage) -> &'static str {
    match how {
        Damage::FlipNearEnd => "16 bytes flipped near the end",
        Damage::ZeroMiddle => "64 KiB zeroed in the middle",
        Damage::CutBy4k => "cut by 4 KiB",
        Damage::CutToHalf => "cut to half",
    }
}

/// Each damage, checked: either every record still reads (sled wrote the damaged bytes in
/// space it no longer uses) or the check names what is lost; a store sled cannot open is an
/// error naming the folder and the restore, never a panic. A salvage of an openable store
/// restores, whole in what it kept, into an empty folder.
#[test]
fn verify_finds_each_damage_and_salvage_keeps_every_readable_record() {
    for how in ALL {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        filled(&dir);
        let whole = SledStore::verify_dir(&dir).unwrap();
        assert!(whole.is_sound() && whole.complete, "{:?}", whole.lines());
        assert!(whole.records > 3 * RECORDS as u64, "{:?}", whole.lines());
        damage(&dir, &how);
        let report = SledStore::verify_dir(&dir).unwrap();
        eprintln!("{}: {}", name(&how), report.lines().join(" | "));
        // A check that finds no damage read every record; one that finds damage may still
        // have read them all (the damaged page held none: an empty tree's root, say).
        assert!(
            !report.is_sound() || report.records == whole.records,
            "{}: a check that finds no damage read every record ({:?})",
            name(&how),
            report.lines()
        );
        assert!(report.records <= whole.records, "{:?}", report.lines());
        match SledStore::open(&dir, 8) {
            Ok(store) => {
                let quick = store
                    .verify(Some(pstbot::store::verify::Budget::QUICK))
                    .unwrap();
                // A store this small is read whole by the check at start.
                assert_eq!(quick.lines(), report.lines(), "{}", name(&how));
                drop(store);
                let file = tmp.path().join("salvage.bak");
                let (stats, salvaged) =
                    SledStore::salvage_dir(&dir, std::fs::File::create(&file).unwrap()).unwrap();
                assert_eq!(salvaged, report, "{}", name(&how));
                assert_eq!(stats.entries, report.records, "{}", name(&how));
                let fresh = tmp.path().join("restored");
                SledStore::restore_from(&fresh, &file).unwrap();
                let again = SledStore::verify_dir(&fresh).unwrap();
                assert!(again.is_sound(), "{:?}", again.lines());
                assert_eq!(again.records, report.records, "{}", name(&how));
                // The restored store serves.
                let restored = SledStore::open(&fresh, 8).unwrap();
                assert!(
                    restored.is_handled(&DedupeKey("m:000000".into())).unwrap()
                        || !report.is_sound()
                );
            }
            Err(e) => {
                let e = e.to_string();
                assert!(
                    !report.is_sound(),
                    "{}: opened by verify, not by open",
                    name(&how)
                );
                assert!(e.contains(&dir.display().to_string()), "{e}");
                assert!(e.contains("damaged") && e.contains("pstbot restore"), "{e}");
            }
        }
    }
}

/// The damage the check must find: pages the page table points at, zeroed.
#[test]
fn zeroed_pages_are_reported_by_tree_and_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    filled(&dir);
    let at = zero_until_damaged(&dir);
    eprintln!("64 KiB zeroed at {at}");
    let report = SledStore::verify_dir(&dir).unwrap();
    assert!(!report.is_sound(), "{:?}", report.lines());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.place.starts_with("the records between") && p.what.contains("corrupt")),
        "{:?}",
        report.lines()
    );
    assert!(
        report.records > RECORDS as u64 / 2,
        "the rest still reads: {:?}",
        report.lines()
    );
}

fn pstbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pstbot"));
    c.env_remove("PSTBOT_CONFIG").env("RUST_LOG", "warn");
    c
}

/// `pstbot verify` and `pstbot backup --salvage` as the admin runs them, and `pstbot serve` on
/// a store sled cannot open: a clear error, not a panic (exit 101).
#[test]
fn the_commands_report_damage_and_refuse_to_start_on_a_store_cut_to_half() {
    let tmp = tempfile::tempdir().unwrap();
    let config = support::config_file(tmp.path(), "127.0.0.1:0");
    let store = pstbot::app::load_config(&config).unwrap().store.path;
    filled(&store);
    let cfg = config.to_str().unwrap();

    let sound = pstbot().args(["--config", cfg, "verify"]).output().unwrap();
    assert!(
        sound.status.success(),
        "{}",
        String::from_utf8_lossy(&sound.stderr)
    );
    assert!(String::from_utf8_lossy(&sound.stdout).contains("no damage found"));

    zero_until_damaged(&store);
    let damaged = pstbot().args(["--config", cfg, "verify"]).output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&damaged.stdout),
        String::from_utf8_lossy(&damaged.stderr),
    );
    assert_eq!(damaged.status.code(), Some(1), "{out}{err}");
    // Which tree the zeroed pages held depends on where sled placed them (visits, sessions
    // and dedupe marks were all seen): the report names a tree and the keys it lost.
    assert!(
        out.contains("damaged places") && out.contains(": the records between"),
        "{out}"
    );
    assert!(err.contains("--salvage"), "{err}");

    let file = tmp.path().join("salvage.bak");
    let salvaged = pstbot()
        .args([
            "--config",
            cfg,
            "backup",
            "--salvage",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&salvaged.stdout);
    assert!(
        salvaged.status.success(),
        "{}",
        String::from_utf8_lossy(&salvaged.stderr)
    );
    assert!(
        out.contains("salvage written") && out.contains("damaged places"),
        "{out}"
    );
    // A plain backup of the same store fails: the salvage is the way.
    let plain = pstbot()
        .args([
            "--config",
            cfg,
            "backup",
            tmp.path().join("plain.bak").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!plain.status.success());

    let tmp2 = tempfile::tempdir().unwrap();
    let config2 = support::config_file(tmp2.path(), "127.0.0.1:0");
    let store2 = pstbot::app::load_config(&config2).unwrap().store.path;
    filled(&store2);
    damage(&store2, &Damage::CutToHalf);
    let served = pstbot()
        .args(["--config", config2.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&served.stderr);
    assert_eq!(served.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is damaged and cannot be opened") && err.contains("pstbot restore"),
        "{err}"
    );
    assert!(err.contains(&store2.display().to_string()), "{err}");
}

/// The check at start (bounded) and in the daily pass (full) tell the officers' chat.
#[tokio::test]
async fn housekeeping_tells_the_officers_when_the_store_is_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    // Damage the service still runs on: where the zeroed pages also hold what sled needs to
    // open the store (its page table, which sled places where it likes), start elsewhere.
    let store = [4, 3, 5, 2, 6]
        .into_iter()
        .find_map(|eighths| {
            let dir = tmp.path().join(format!("store-{eighths}"));
            filled(&dir);
            zero_from_until_damaged(&dir, eighths);
            SledStore::open(&dir, 8).ok()
        })
        .expect("some damaged store still opens");
    let store = Arc::new(store);
    let t = support::Chat::with_store(
        store,
        Arc::new(pstbot::runtime::FixedClock::new(support::monday_morning())),
    );
    let report = pstbot::housekeeping::check_damage(&t.rt, None)
        .await
        .unwrap()
        .unwrap();
    assert!(!report.is_sound());
    let posts = support::officers_pending(t.rt.store.as_ref());
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0].contains("rusak") && posts[0].contains("--salvage"),
        "{posts:?}"
    );
    // Once a day, however often it runs.
    pstbot::housekeeping::check_damage(&t.rt, Some(pstbot::store::verify::Budget::QUICK))
        .await
        .unwrap();
    assert_eq!(support::officers_pending(t.rt.store.as_ref()).len(), 1);
}
