//! What the PostgreSQL store promises beyond the contracts (which `tests/store_contract/` runs
//! on it): several processes on one database (here: several stores, each with its own pool,
//! as several `pstbot serve` processes have), the schema's version, and `pstbot migrate`'s
//! copy between engines, record by record. On a throwaway cluster the test starts.

use crate::support;

use chrono::{Duration, TimeZone, Utc};
use pstbot::cases::{Answer, CaseNumber, Service};
use pstbot::dialogs::Conversation;
use pstbot::guestbook::{Appointment, Rating, Visit};
use pstbot::message::{ChannelKind, Identity, OutboundMessage};
use pstbot::store::postgres::PgStore;
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use pstbot::store::transfer::{Inventory, copy_verified};
use pstbot::store::{
    Applied, AuditEntry, Commit, Committed, DedupeKey, FailedRecord, Followups, GuestUpdate,
    NewCase, QueueKey, Reminder, SentRecord, StoreError, Timer, TimerSet, WebLogEntry, WebSession,
};
use std::collections::BTreeMap;
use support::postgres::shared;

fn who(n: &str) -> Identity {
    Identity::new(ChannelKind::Telegram, n)
}

fn commit(id: &str, from: &Identity, minutes: i64) -> Commit {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap() + Duration::minutes(minutes);
    let session = Conversation {
        lang: "id".into(),
        active: None,
        last_seen: Some(at),
        ..Conversation::default()
    };
    Commit::new(DedupeKey::new(from, id), at, from.clone(), session)
}

fn new_case(service: Service, title: &str) -> NewCase {
    NewCase {
        service,
        workflow: "wf".into(),
        stage: "start".into(),
        stage_due: None,
        overall_start: None,
        overall_due: None,
        year: 2026,
        title: title.into(),
        lang: "id".into(),
        form: Vec::new(),
        attachments: Vec::new(),
        confidential: false,
    }
}

fn fresh() -> PgStore {
    PgStore::open(&shared().fresh_database(), 4).unwrap()
}

#[test]
fn two_processes_number_cases_one_after_another_without_gaps() {
    let url = shared().fresh_database();
    let stores: Vec<PgStore> = (0..3).map(|_| PgStore::open(&url, 4).unwrap()).collect();
    let numbers = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (p, store) in stores.iter().enumerate() {
            let numbers = &numbers;
            for t in 0..2 {
                s.spawn(move || {
                    for i in 0..20 {
                        let person = who(&format!("p{p}-{t}"));
                        let mut c = commit(&format!("m{p}-{t}-{i}"), &person, i);
                        c.new_case = Some(new_case(Service::Adu, "aduan"));
                        let n = store.commit(c).unwrap().case().unwrap().clone();
                        numbers.lock().unwrap().push(n.seq);
                    }
                });
            }
        }
    });
    let mut got = numbers.into_inner().unwrap();
    got.sort_unstable();
    assert_eq!(got, (1..=120).collect::<Vec<u64>>(), "unique and gap-free");
}

#[test]
fn a_message_taken_by_two_processes_at_once_is_applied_once() {
    let url = shared().fresh_database();
    let a = PgStore::open(&url, 4).unwrap();
    let b = PgStore::open(&url, 4).unwrap();
    for round in 0..20 {
        let budi = who(&format!("race-{round}"));
        let make = || {
            let mut c = commit(&format!("same-id-{round}"), &budi, 0);
            c.new_case = Some(new_case(Service::Rek, "sekali"));
            c
        };
        let (ra, rb) = std::thread::scope(|s| {
            let ha = s.spawn(|| a.commit(make()));
            let hb = s.spawn(|| b.commit(make()));
            (ha.join().unwrap().unwrap(), hb.join().unwrap().unwrap())
        });
        let applied = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Committed::Applied(_)))
            .count();
        assert_eq!(applied, 1, "round {round}: {ra:?} / {rb:?}");
    }
    assert_eq!(
        a.open_cases().unwrap().len(),
        20,
        "one case per message, none applied twice"
    );
}

#[test]
fn a_stale_case_write_from_another_process_is_refused_for_planning_again() {
    let url = shared().fresh_database();
    let a = PgStore::open(&url, 4).unwrap();
    let b = PgStore::open(&url, 4).unwrap();
    let budi = who("stale");
    let mut c = commit("new", &budi, 0);
    c.new_case = Some(new_case(Service::Prd, "x"));
    let n = a.commit(c).unwrap().case().unwrap().clone();
    let seen_by_a = a.case(&n).unwrap().unwrap();
    let seen_by_b = b.case(&n).unwrap().unwrap();
    let mut first = seen_by_a.clone();
    first.stage = "checked".into();
    first.version += 1;
    let mut c = commit("a1", &who("officer-a"), 1);
    c.case_updates.push(first);
    a.commit(c).unwrap();
    let mut second = seen_by_b;
    second.stage = "paid".into();
    second.version += 1;
    let mut c = commit("b1", &who("officer-b"), 2);
    c.case_updates.push(second);
    assert!(matches!(b.commit(c), Err(StoreError::Conflict(_))));
    assert_eq!(b.case(&n).unwrap().unwrap().stage, "checked");
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let url = shared().fresh_database();
    let s = PgStore::open(&url, 2).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        PgStore::expected_schema_version()
    );
    assert!(s.migrate().unwrap().is_empty(), "nothing left to apply");
    drop(s);
    let raw = PgStore::connect(&url, 2).unwrap();
    raw.run_sql("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
        .unwrap();
    match PgStore::open(&url, 2) {
        Err(StoreError::Schema { found: 99, .. }) => {}
        Err(e) => panic!("refused, but not as a schema: {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn the_url_password_is_never_shown() {
    assert_eq!(
        pstbot::store::postgres::masked_url("postgresql://pst:rahasia@db.example:5432/pstbot"),
        "postgresql://pst:***@db.example:5432/pstbot"
    );
    assert_eq!(
        pstbot::store::postgres::masked_url("host=db user=pst password=rahasia dbname=pstbot"),
        "host=db user=pst password=*** dbname=pstbot"
    );
    let Err(e) = PgStore::open("postgresql://pst:rahasia@127.0.0.1:1/none", 2) else {
        panic!("nothing listens on port 1")
    };
    assert!(!e.to_string().contains("rahasia"), "{e}");
    assert!(e.to_string().contains("cannot reach the database"), "{e}");
}

/// Queues the given texts to one person.
struct Says(Identity, Vec<&'static str>);

impl Followups for Says {
    fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
        self.1
            .iter()
            .map(|t| OutboundMessage::text(self.0.clone(), *t))
            .collect()
    }
    fn case_timers(&self, case: &pstbot::cases::Case) -> Vec<Timer> {
        vec![Timer {
            id: format!("{}-ack", case.number),
            owner: pstbot::store::records::case_owner(&case.number),
            due: case.created_at + Duration::hours(1),
            what: Reminder::Unacknowledged {
                case: case.number.clone(),
            },
        }]
    }
}

/// Fills a store with a record of every kind, through its boundaries.
fn populate(store: &dyn Store) {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let ani = who("ani");
    let mut c = commit("g1", &ani, 0);
    let mut profile = BTreeMap::new();
    profile.insert("name".to_string(), Answer::Text("Ani".into()));
    profile.insert(
        "email".to_string(),
        Answer::Email("ani@example.go.id".into()),
    );
    c.guest = Some(GuestUpdate {
        profile,
        consent_version: "2026-01".into(),
        consent_text: "Saya setuju / I agree".into(),
        lang: "id".into(),
    });
    c.new_case = Some(new_case(Service::Rek, "Survei Ubinan"));
    c.blobs.push(("hash-1".into(), b"%PDF-1.4 surat".to_vec()));
    c.visit = Some(Visit {
        guest_id: pstbot::guestbook::Guest::id_for(&ani),
        at,
        channel: ChannelKind::Telegram,
        service: Some("rekomendasi".into()),
        purpose: Some("penelitian".into()),
        name: None,
    });
    c.appointment = Some(Appointment {
        guest_id: pstbot::guestbook::Guest::id_for(&ani),
        booked_at: at,
        at: at + Duration::days(1),
        topic: "konsultasi".into(),
    });
    c.ticket = Some(QueueKey {
        letter: 'R',
        day: at.date_naive(),
    });
    c.timers.push(TimerSet {
        owner: format!("idle:{ani}"),
        timers: vec![Timer {
            id: "idle-ani".into(),
            owner: format!("idle:{ani}"),
            due: at + Duration::hours(24),
            what: Reminder::IdleClose {
                who: ani.clone(),
                last_seen: at,
            },
        }],
    });
    c.audit.push(AuditEntry {
        at,
        officer: "rina".into(),
        action: "lihat".into(),
        subject: "REK-2026-000001".into(),
    });
    let Committed::Applied(a) = store
        .commit_with(
            c,
            &Says(ani.clone(), vec!["Terima kasih", "Nomor", "gagal"]),
        )
        .unwrap()
    else {
        panic!("applied")
    };
    let n = a.case.clone().unwrap();
    let mut c = commit("r1", &ani, 5);
    c.rating = Some(Rating {
        guest_id: Some(pstbot::guestbook::Guest::id_for(&ani)),
        case: Some(n.clone()),
        at: at + Duration::minutes(5),
        score: 5,
        comment: Some("cepat".into()),
        skm: Some([4, 4, 3, 4, 4, 4, 3, 4, 4]),
    });
    c.address_failing = Some((Identity::new(ChannelKind::Email, "Ani@Example.go.id"), true));
    store.commit(c).unwrap();
    store
        .outbox_sent(SentRecord::delivered(
            &a.rows[0],
            at,
            Some("m-1 m-2".into()),
        ))
        .unwrap();
    store
        .outbox_failed(
            FailedRecord {
                row: a.rows[2].clone(),
                at,
                reason: "blocked".into(),
            },
            Some(OutboundMessage::text(
                Identity::officers(),
                "gagal terkirim",
            )),
        )
        .unwrap();
    store.secret("email-reply").unwrap();
    let web = "w".repeat(64);
    store
        .put_web_session(&WebSession {
            id: web.clone(),
            created_at: at,
        })
        .unwrap();
    for (key, text, visitor) in [("in:1", "halo", true), ("out:9", "Selamat datang", false)] {
        store
            .web_log_append(
                &web,
                key,
                &WebLogEntry {
                    at,
                    visitor,
                    text: text.into(),
                    choices: Vec::new(),
                    files: Vec::new(),
                    officer: false,
                },
            )
            .unwrap();
    }
    // A fired timer's mark, and a second case of another service.
    let fired = Timer {
        id: "fired-1".into(),
        owner: "appt:x".into(),
        due: at,
        what: Reminder::IdleClose {
            who: ani.clone(),
            last_seen: at,
        },
    };
    store.commit(Commit::for_timer(&fired, at)).unwrap();
    let mut c = commit("adu", &who("budi"), 9);
    c.new_case = Some(new_case(Service::Adu, "aduan"));
    store.commit(c).unwrap();
}

#[test]
fn migration_sled_to_postgres_and_back_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&dir.path().join("a"), 8).unwrap();
    populate(&sled);
    let before = Inventory::of(&sled).unwrap();
    assert!(before.kinds.len() >= 19, "every kind is there: {before:?}");

    let pg = fresh();
    let copied = copy_verified(&sled, &pg).unwrap();
    assert_eq!(copied, before);
    // Read back through the boundaries, PostgreSQL answers as sled did.
    let ani = who("ani");
    assert_eq!(pg.guest_of(&ani).unwrap(), sled.guest_of(&ani).unwrap());
    assert_eq!(pg.open_cases().unwrap(), sled.open_cases().unwrap());
    assert_eq!(
        pg.outbox_pending(None, 10).unwrap(),
        sled.outbox_pending(None, 10).unwrap()
    );
    assert_eq!(
        pg.sent_by_ref(ChannelKind::Telegram, "m-2").unwrap(),
        sled.sent_by_ref(ChannelKind::Telegram, "m-2").unwrap()
    );
    assert_eq!(
        pg.web_log(&"w".repeat(64), 0, 10).unwrap(),
        sled.web_log(&"w".repeat(64), 0, 10).unwrap()
    );
    assert_eq!(pg.timers_of("case:REK-2026-000001").unwrap().len(), 1);
    assert_eq!(
        pg.secret("email-reply").unwrap(),
        sled.secret("email-reply").unwrap()
    );
    assert!(
        copy_verified(&sled, &pg).is_err(),
        "only into an empty store"
    );

    let back = SledStore::open(&dir.path().join("b"), 8).unwrap();
    copy_verified(&pg, &back).unwrap();
    assert_eq!(
        Inventory::of(&back).unwrap(),
        before,
        "identical records after the round trip"
    );
    // The numbers go on after the copied ones, on both engines.
    for s in [&pg as &dyn Store, &back] {
        let Committed::Applied(a) = s
            .commit_with(
                commit("after", &who("cici"), 30),
                &Says(who("cici"), vec!["baru"]),
            )
            .unwrap()
        else {
            panic!("applied")
        };
        let highest = sled
            .sent_records()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap();
        assert!(a.queued[0] > highest, "a new row does not reuse an id");
        let mut c = commit("case-after", &who("cici"), 31);
        c.new_case = Some(new_case(Service::Rek, "lagi"));
        assert_eq!(
            s.commit(c).unwrap().case(),
            CaseNumber::parse("REK-2026-000002").as_ref()
        );
    }
}

fn pstbot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pstbot"));
    c.env_remove("PSTBOT_CONFIG")
        .env_remove("PSTBOT_STORE_URL")
        .env("RUST_LOG", "warn");
    c
}

/// Runs the binary; returns what it printed, or fails the test with what it said.
fn run(cmd: &mut std::process::Command, stdin: &str) -> String {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const GUEST_BOOK: &str = "ya\nBudi Santoso\nbudi@example.go.id\n08123456789\n1\n3\n4\n3\nDinas Kominfo Provinsi Bengkulu\n3\n2\nkirim\n";

#[test]
fn an_office_moves_from_sled_to_postgres_with_pstbot_migrate_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let sled_config = support::config_file(dir.path(), "127.0.0.1:0");
    let cfg = sled_config.to_str().unwrap();
    // A citizen files a complaint on the sled store.
    let out = run(
        pstbot().args(["--config", cfg, "chat"]),
        &format!(
            "halo\n3\n{GUEST_BOOK}1\nPetugas loket datang terlambat pada hari Senin pagi.\n16/11/2026\nlewati\ntidak\n-\nkirim\n"
        ),
    );
    let adu = support::case_number(&out).expect("a complaint number");

    // The office moves to PostgreSQL.
    let url = shared().fresh_database();
    let sled_path = dir.path().join("data");
    let out = run(
        pstbot().args([
            "--config",
            cfg,
            "migrate",
            "--from",
            &format!("sled:{}", sled_path.display()),
            "--to",
            &format!("postgres:{url}"),
        ]),
        "",
    );
    assert!(out.contains("checked record by record"), "{out}");
    assert!(out.contains("case: 1"), "{out}");

    // The config names the database (its URL from the environment), and `check` reaches it.
    let pg_config = dir.path().join("postgres.toml");
    let text = std::fs::read_to_string(&sled_config).unwrap().replacen(
        "[store]\n",
        "[store]\nbackend = \"postgres\"\n",
        1,
    );
    std::fs::write(&pg_config, text).unwrap();
    let pcfg = pg_config.to_str().unwrap();
    let out = run(
        pstbot()
            .args(["--config", pcfg, "check"])
            .env("PSTBOT_STORE_URL", &url),
        "",
    );
    assert!(out.contains("schema 2 of 2 (up to date)"), "{out}");
    assert!(out.contains("store postgres"), "{out}");

    // The same citizen asks for the status: the conversation and the case came along.
    let out = run(
        pstbot()
            .args(["--config", pcfg, "chat"])
            .env("PSTBOT_STORE_URL", &url),
        "menu\n4\n",
    );
    assert!(out.contains(&adu), "the status lists {adu}:\n{out}");
    assert!(!out.contains("Budi Santoso\nbudi@"), "no second guest book");

    // And back, into a new sled folder: the same records.
    let back = dir.path().join("back");
    let out = run(
        pstbot().args([
            "--config",
            cfg,
            "migrate",
            "--from",
            &format!("postgres:{url}"),
            "--to",
            &format!("sled:{}", back.display()),
        ]),
        "",
    );
    assert!(out.contains("checked record by record"), "{out}");
    // Into a store that holds data: refused, nothing written.
    let out = pstbot()
        .args([
            "--config",
            cfg,
            "migrate",
            "--from",
            &format!("sled:{}", back.display()),
            "--to",
            &format!("postgres:{url}"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds data"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_of_a_shared_database_restores_into_an_empty_one() {
    let url = shared().fresh_database();
    let pg = PgStore::open(&url, 4).unwrap();
    populate(&pg);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pstbot.backup");
    let opened = pstbot::store::open::OpenStore::Postgres(std::sync::Arc::new(pg));
    let stats = pstbot::backup::write_backup_of(&opened, &file).unwrap();
    let before = Inventory::of(opened.transfer()).unwrap();
    assert_eq!(stats.entries, before.total());
    let other = fresh();
    pstbot::store::transfer::restore_records(&file, &other).unwrap();
    assert_eq!(Inventory::of(&other).unwrap(), before);
    assert!(
        pstbot::store::transfer::restore_records(&file, &other).is_err(),
        "only into an empty store"
    );
}

#[test]
fn a_persons_turn_is_held_across_processes_and_freed_when_done() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let url = shared().fresh_database();
    let a = PgStore::open(&url, 4).unwrap();
    let b = PgStore::open(&url, 4).unwrap();
    let budi = who("turn-budi");
    let held = a.turn(&budi).unwrap().expect("a shared turn");
    // Someone else's turn is not held up.
    drop(b.turn(&who("turn-ani")).unwrap());
    let released = AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let t = b.turn(&budi).unwrap();
            assert!(
                released.load(Ordering::SeqCst),
                "process b acted for Budi while process a held his turn"
            );
            drop(t);
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        drop(held);
        waiter.join().unwrap();
    });
}

/// The scheduler fires a round of timers for many people at once under all their turns: held
/// together they take one of the pool's places for turns, not one each. (One each, a round for
/// more people than a process has places waited for itself — 30 s, then again on every tick —
/// and their timers never fired: `scale_out_kill` with its web visitors, 9 people, 8 places.)
#[test]
fn many_peoples_turns_are_held_together_in_one_place_of_the_pool() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let url = shared().fresh_database();
    // A pool of 4: two places for turns.
    let a = PgStore::open(&url, 4).unwrap();
    let b = PgStore::open(&url, 4).unwrap();
    let people: Vec<Identity> = (0..5).map(|i| who(&format!("round-{i}"))).collect();
    let refs: Vec<&Identity> = people.iter().collect();
    let started = std::time::Instant::now();
    let held = a.turns(&refs).unwrap().expect("shared turns");
    // Another place is left for someone else's turn.
    drop(a.turn(&who("round-other")).unwrap());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "five turns and one more waited {:?} on a pool of 4",
        started.elapsed()
    );
    let released = AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let t = b.turn(&people[3]).unwrap();
            assert!(
                released.load(Ordering::SeqCst),
                "process b acted for one of them while process a held their turns"
            );
            drop(t);
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        drop(held);
        waiter.join().unwrap();
    });
    // All of them were let go.
    drop(b.turns(&refs).unwrap());
}

#[test]
fn one_process_holds_a_lease_and_another_takes_over_when_it_lapses_or_is_let_go() {
    let url = shared().fresh_database();
    let a = PgStore::open(&url, 2).unwrap();
    let b = PgStore::open(&url, 2).unwrap();
    let ttl = std::time::Duration::from_millis(800);
    assert!(a.lease("scheduler", ttl).unwrap());
    assert!(!b.lease("scheduler", ttl).unwrap(), "one holder at a time");
    assert!(a.lease("scheduler", ttl).unwrap(), "the holder renews");
    assert!(b.lease("telegram", ttl).unwrap(), "leases are apart");
    // a stops renewing (it died): b takes over once the lease lapsed.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert!(b.lease("scheduler", ttl).unwrap());
    assert!(!a.lease("scheduler", ttl).unwrap());
    b.release("scheduler").unwrap();
    assert!(a.lease("scheduler", ttl).unwrap(), "let go: taken at once");
}

#[test]
fn one_process_claims_a_chats_outbox_rows_and_another_takes_them_when_it_lapses_or_lets_go() {
    let url = shared().fresh_database();
    let a = PgStore::open(&url, 2).unwrap();
    let b = PgStore::open(&url, 2).unwrap();
    let (ani, budi) = (who("claim-ani"), who("claim-budi"));
    let Committed::Applied(queued) = a
        .commit_with(
            commit("c1", &ani, 0),
            &Says(ani.clone(), vec!["satu", "dua"]),
        )
        .unwrap()
    else {
        panic!("applied")
    };
    let ttl = std::time::Duration::from_millis(800);
    let got = a
        .outbox_claim(&[], &[ani.clone(), budi.clone()], ttl)
        .unwrap();
    assert_eq!(got.held, vec![ani.clone(), budi.clone()]);
    let rows = got.rows.expect("a shared store reads the rows again");
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        queued.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        "the chat's rows, in order, read after taking it"
    );
    let got = b
        .outbox_claim(&[], &[ani.clone(), budi.clone()], ttl)
        .unwrap();
    assert!(got.held.is_empty(), "one holder at a time: {:?}", got.held);
    assert_eq!(got.rows, Some(Vec::new()));
    assert_eq!(
        a.outbox_claim(std::slice::from_ref(&ani), &[], ttl)
            .unwrap()
            .held,
        vec![ani.clone()]
    );
    // a lets Budi go: b takes him at once; Ani's claim lapses (a died): b takes her after.
    a.outbox_unclaim(std::slice::from_ref(&budi)).unwrap();
    assert_eq!(
        b.outbox_claim(&[], std::slice::from_ref(&budi), ttl)
            .unwrap()
            .held,
        vec![budi.clone()]
    );
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let got = b
        .outbox_claim(&[], std::slice::from_ref(&ani), ttl)
        .unwrap();
    assert_eq!(got.held, vec![ani.clone()]);
    assert_eq!(got.rows.unwrap().len(), 2);
    assert!(
        a.outbox_claim(std::slice::from_ref(&ani), &[], ttl)
            .unwrap()
            .held
            .is_empty(),
        "a lost Ani"
    );
    // Many processes claiming the same chats at once: each chat goes to exactly one.
    let url = shared().fresh_database();
    let stores: Vec<PgStore> = (0..4).map(|_| PgStore::open(&url, 2).unwrap()).collect();
    let chats: Vec<Identity> = (0..50).map(|i| who(&format!("race-{i}"))).collect();
    let won = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for st in &stores {
            let (chats, won) = (&chats, &won);
            s.spawn(move || {
                let mut mine = chats.clone();
                fastrand::shuffle(&mut mine);
                let got = st.outbox_claim(&[], &mine, ttl * 10).unwrap();
                won.lock().unwrap().extend(got.held);
            });
        }
    });
    let mut won = won.into_inner().unwrap();
    won.sort();
    let mut want = chats.clone();
    want.sort();
    assert_eq!(won, want, "every chat claimed once");
}
