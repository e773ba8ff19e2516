//! The mailbox read by one process at a time among several `pstbot serve` processes on one
//! PostgreSQL database (issue 22): both are configured with the same IMAP mailbox (real
//! Dovecot and the SMTP sink, `support/mail.rs`), only the holder of the `imap-reading` lease
//! is connected to it, each mail is answered once; when the holder is SIGKILLed the other
//! takes the lease over within the stated bound (8 s, `src/runtime/lease.rs`) and answers the
//! mails that arrive after the kill, each once.

use crate::support;

use std::time::{Duration, Instant};
use support::mail::{MailServers, USER};
use support::postgres::shared;
use support::serving::{Serving, connect, connections_to, lease_holder, serve};

/// The takeover bound the docs state (lease TTL 6 s + one renewal period), and what a slow
/// shared machine may add to it.
const BOUND: Duration = Duration::from_secs(8);
const SLACK: Duration = Duration::from_secs(3);

fn hello(from: &str, id: &str) -> String {
    format!("From: {from}\nTo: {USER}\nSubject: Halo\nMessage-ID: <{id}@example.org>\n\nhalo\n")
}

/// The mails the sink accepted for each of `people`.
fn answers(servers: &MailServers, people: &[String]) -> Vec<usize> {
    people.iter().map(|p| servers.sent_to(p).len()).collect()
}

/// Waits until each of `people` got a mail, at most `limit`; how long it took.
async fn all_answered(servers: &MailServers, people: &[String], limit: Duration) -> Duration {
    let started = Instant::now();
    while answers(servers, people).contains(&0) {
        assert!(
            started.elapsed() < limit,
            "not all answered within {limit:?}: {:?}",
            answers(servers, people)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// The processes connected to the mailbox now (their pids), once the connections settled.
fn readers(procs: &[&Serving], imap_port: u16) -> Vec<u32> {
    procs
        .iter()
        .filter(|p| connections_to(p.pid(), imap_port) > 0)
        .map(|p| p.pid())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailbox_is_read_by_one_process_and_moves_when_it_is_killed() {
    let servers = MailServers::start();
    let url = shared().fresh_database();
    let db = connect(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = servers.email_section();
    let mut a = serve(dir.path(), &url, &extra).await;
    let mut b = serve(dir.path(), &url, &extra).await;

    // Mail before the kill: each answered once, by whichever process reads.
    let before: Vec<String> = (1..=3).map(|i| format!("rudi{i}@example.org")).collect();
    for (i, p) in before.iter().enumerate() {
        servers.deliver(&hello(p, &format!("before-{i}"))).await;
    }
    all_answered(&servers, &before, Duration::from_secs(30)).await;
    let first = lease_holder(&db, "imap-reading")
        .await
        .expect("a process holds the mailbox lease");
    assert!([a.pid(), b.pid()].contains(&first));
    // Only the holder is connected to the mailbox (the other asks for the lease, not for mail).
    assert_eq!(readers(&[&a, &b], servers.imap_port), vec![first]);
    // More mail while both run: still one reader, each mail once.
    for (i, p) in before.iter().enumerate() {
        servers.deliver(&hello(p, &format!("again-{i}"))).await;
    }
    let started = Instant::now();
    while answers(&servers, &before) != vec![2; before.len()] {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            answers(&servers, &before)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lease_holder(&db, "imap-reading").await, Some(first));
    assert_eq!(readers(&[&a, &b], servers.imap_port), vec![first]);

    // SIGKILL the holder: its lease lapses; the other takes it over and reads.
    let (victim, survivor) = if first == a.pid() {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    victim.kill();
    let killed = Instant::now();
    let after: Vec<String> = (1..=3).map(|i| format!("sari{i}@example.org")).collect();
    for (i, p) in after.iter().enumerate() {
        servers.deliver(&hello(p, &format!("after-{i}"))).await;
    }
    while lease_holder(&db, "imap-reading").await != Some(survivor.pid()) {
        assert!(
            killed.elapsed() < BOUND + SLACK,
            "the lease was not taken over within {:?}",
            BOUND + SLACK
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leased = killed.elapsed();
    // Answering after the takeover takes a poll (1 s) and a delivery.
    all_answered(&servers, &after, BOUND + SLACK + Duration::from_secs(5)).await;
    let answered = killed.elapsed();
    eprintln!(
        "imap reading: the lease taken over {leased:?} after the kill; the mails that arrived after the kill all answered after {answered:?}"
    );
    assert!(leased < BOUND + SLACK, "{leased:?}");
    // Each mail answered exactly once, before and after the kill.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(answers(&servers, &before), vec![2; before.len()]);
    assert_eq!(answers(&servers, &after), vec![1; after.len()]);
    assert_eq!(servers.sent().len(), 2 * before.len() + after.len());
    assert!(
        servers.sent_to(&after[0])[0].text().contains("Pengaduan"),
        "the menu: {}",
        servers.sent_to(&after[0])[0].text()
    );
    assert_eq!(connections_to(survivor.pid(), servers.imap_port), 1);
    // Every mail marked handled in the mailbox.
    let flags = servers.flags().await;
    assert_eq!(flags.len(), 2 * before.len() + after.len());
    assert!(
        flags
            .iter()
            .all(|(_, f)| f.iter().any(|f| f.contains("PstbotHandled"))),
        "{flags:?}"
    );
}
