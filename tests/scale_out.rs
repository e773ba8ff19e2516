//! Several `pstbot serve` processes on one PostgreSQL database (a throwaway cluster the test
//! starts): every outbox row is delivered by exactly one process with each chat's rows in
//! order; a process SIGKILLed mid-send leaves its chats to the other within the stated bound
//! (8 s, `src/outbox/claims.rs`), repeating at most the one in-flight message per chat; and
//! Telegram long polling runs in one process at a time, taken over within 8 s when its holder
//! is killed (`src/runtime/lease.rs`). A web chat page open on one process sees what another
//! process logs for its session at once (`LISTEN/NOTIFY`, also after the listening connection
//! was killed); a reply queued by one process for a chat the other holds is sent at once (the
//! holder is woken, `LISTEN/NOTIFY` too); and the flood limit counts a person's messages over
//! every process.

use crate::support;

use chrono::{TimeZone, Utc};
use pstbot::dialogs::Conversation;
use pstbot::message::{ChannelKind, Identity, OutboundMessage};
use pstbot::store::postgres::PgStore;
use pstbot::store::prelude::*;
use pstbot::store::{Applied, Commit, DedupeKey, Followups};
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::gateway::{FakeGateway, Received};
use support::postgres::shared;
use support::telegram_api::{FakeBotApi, TOKEN};
use support::web_visitor;

/// The takeover bound the docs state (claims and leases: TTL 6 s + one renewal period), and
/// what a slow shared machine may add to it.
const BOUND: Duration = Duration::from_secs(8);
const SLACK: Duration = Duration::from_secs(3);

/// A child `pstbot serve`, SIGKILLed however the test ends.
struct Serving {
    child: Child,
    port: u16,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Starts `pstbot serve` on the database `url` with `extra` config, and waits for `/healthz`.
async fn serve(dir: &std::path::Path, url: &str, extra: &str) -> Serving {
    serve_limited(dir, url, extra, 0).await
}

/// [`serve`] with the flood limit (`conversation.messages_per_minute`) at `per_minute`.
async fn serve_limited(dir: &std::path::Path, url: &str, extra: &str, per_minute: u32) -> Serving {
    let port = support::free_port();
    let sub = dir.join(format!("p{port}"));
    std::fs::create_dir_all(&sub).unwrap();
    let path = support::config_file(&sub, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1)
        .replacen(
            "messages_per_minute = 0",
            &format!("messages_per_minute = {per_minute}"),
            1,
        );
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(&path)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("PSTBOT_STORE_URL", url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pstbot starts");
    let serving = Serving { child, port };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{}/healthz", serving.port))
            .send()
            .await
            && r.status() == 200
        {
            return serving;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("pstbot serve did not become healthy");
}

/// SMS through `gateway`, with the API key `key` (the gateway tells the processes apart by it).
fn sms_config(gateway: &FakeGateway, key: &str) -> String {
    format!(
        "[sms]\ngateway_url = \"{}\"\napi_key = \"{key}\"\nwebhook_secret = \"s\"\n\n\
         [delivery]\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n",
        gateway.url()
    )
}

/// Queues `per_chat` messages to each of `chats` SMS numbers (numbered from `first`), one
/// commit per message, as the processes' own commits would; returns the rows' ids per chat.
fn queue(store: &PgStore, first: usize, chats: usize, per_chat: usize) -> Vec<(String, u64)> {
    struct To(Identity, String);
    impl Followups for To {
        fn messages(&self, _: &Applied) -> Vec<OutboundMessage> {
            vec![OutboundMessage::text(self.0.clone(), self.1.clone())]
        }
        fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
            Vec::new()
        }
    }
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let mut ids = Vec::new();
    for m in 0..per_chat {
        for c in first..first + chats {
            let phone = format!("+62812{c:07}");
            let who = Identity::new(ChannelKind::Sms, &phone);
            let session = Conversation {
                lang: "id".into(),
                last_seen: Some(at),
                ..Conversation::default()
            };
            let commit = Commit::new(
                DedupeKey::new(&who, &format!("{phone}-m{m}")),
                at,
                who.clone(),
                session,
            );
            let applied = store
                .commit_with(commit, &To(who.clone(), format!("pesan {m} untuk {phone}")))
                .unwrap();
            let pstbot::store::Committed::Applied(a) = applied else {
                panic!("applied")
            };
            ids.push((phone, a.queued[0]));
        }
    }
    ids
}

/// The outbox ids each number received, in the order the gateway took them.
fn per_chat(received: &[Received]) -> BTreeMap<String, Vec<u64>> {
    let mut by: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in received.iter().filter(|r| r.status == 200) {
        by.entry(r.to.clone()).or_default().push(r.outbox_id);
    }
    by
}

/// The processes holding outbox claims now (their pids).
async fn claim_holders(db: &tokio_postgres::Client) -> BTreeSet<u32> {
    db.query(
        "SELECT DISTINCT claimed_by FROM outbox_claims WHERE claimed_until > now()",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| pid_of(r.get(0)))
    .collect()
}

/// The pid in a holder's name (`host-pid-random`).
fn pid_of(holder: &str) -> u32 {
    holder.rsplit('-').nth(1).unwrap().parse().unwrap()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn outbox_left(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM outbox", &[])
        .await
        .unwrap()
        .get(0)
}

/// An SMS as the gateway posts it to one process; `true` once acknowledged (200).
async fn sms_in(client: &reqwest::Client, to: &Serving, id: &str, from: &str, text: &str) -> bool {
    client
        .post(format!("http://127.0.0.1:{}/webhook/sms", to.port))
        .header("X-Sms-Secret", "s")
        .json(&serde_json::json!({"id": id, "from": from, "text": text}))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_every_row_once_in_each_chats_order() {
    let url = shared().fresh_database();
    let store = PgStore::open(&url, 2).unwrap();
    let db = connect(&url).await;
    let gateway = FakeGateway::start(Vec::new()).await;
    *gateway.state.delay.lock().unwrap() = Duration::from_millis(5);
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &url, &sms_config(&gateway, "key-a")).await;
    let b = serve(dir.path(), &url, &sms_config(&gateway, "key-b")).await;
    // People writing through a load balancer: each one's messages go to one process, then
    // the other, so their replies are queued (and handed off) by both in turn. Each waits for
    // a reply and a moment more, so the holder has let go of the chat and the process that
    // queued the next reply takes it (otherwise the holder, woken by the commit, keeps it).
    let client = reqwest::Client::new();
    let people: Vec<String> = (0..6).map(|p| format!("+6285{p:08}")).collect();
    let talk = people.iter().enumerate().map(|(p, phone)| {
        let (client, a, b, gateway) = (&client, &a, &b, &gateway);
        async move {
            let replies = || gateway.received().iter().filter(|r| &r.to == phone).count();
            for (j, text) in ["halo", "menu", "1", "menu"].into_iter().enumerate() {
                let to = if (p + j) % 2 == 0 { a } else { b };
                let before = replies();
                assert!(sms_in(client, to, &format!("{phone}-{j}"), phone, text).await);
                let started = Instant::now();
                while replies() == before && started.elapsed() < Duration::from_secs(10) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    });
    futures_util::future::join_all(talk).await;
    // Waves of rows both processes find on their own (the test commits them: no hand-off),
    // so both race for the same chats' claims.
    for wave in 0..6 {
        queue(&store, wave * 10, 10, 4);
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    let started = Instant::now();
    while outbox_left(&db).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "rows left undelivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Exactly once: every delivered row's every part reached the gateway once, and nothing
    // else did.
    let sent: BTreeSet<u64> = db
        .query("SELECT id FROM outbox_sent WHERE channel = 'sms'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect();
    assert!(sent.len() >= 6 * 4 + 60 * 4, "{} rows", sent.len());
    let received = gateway.received();
    let mut parts: HashMap<(u64, String), usize> = HashMap::new();
    for r in received.iter().filter(|r| r.status == 200) {
        *parts.entry((r.outbox_id, r.reference.clone())).or_default() += 1;
    }
    let repeated: Vec<_> = parts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent twice: {repeated:?}");
    let ids: BTreeSet<u64> = parts.keys().map(|(id, _)| *id).collect();
    assert_eq!(ids, sent, "every row delivered, nothing else");
    // Each chat's rows in order, whichever process sent them.
    for (phone, ids) in per_chat(&received) {
        assert!(ids.is_sorted(), "{phone}: out of order: {ids:?}");
    }
    for phone in &people {
        assert!(per_chat(&received)[phone].len() >= 4, "{phone} got replies");
    }
    // Both processes delivered, and a person's chat went from one to the other.
    let by = |key: &str| -> BTreeSet<String> {
        received
            .iter()
            .filter(|r| r.authorization == format!("Bearer {key}"))
            .map(|r| r.to.clone())
            .collect()
    };
    let (from_a, from_b) = (by("key-a"), by("key-b"));
    assert!(!from_a.is_empty() && !from_b.is_empty(), "both delivered");
    assert!(
        people
            .iter()
            .any(|p| from_a.contains(p) && from_b.contains(p)),
        "a chat was sent to by both processes in turn"
    );
}

/// Each reply to a person whose messages alternate between two processes must arrive within
/// this, measured from when their message is posted. A reply queued by one process while the
/// other still holds the chat's outbox claim (its send of the previous reply in flight, the
/// gateway answering after 200 ms) is sent by the holder once it hears of the row: with the
/// `LISTEN/NOTIFY` wake-up that is the 200 ms send plus a few commits. Without it the row
/// waits for one of the two processes' next read of the queue (every 1.5 s,
/// `src/outbox/claims.rs`): the earlier of two random phases, under 500 ms about half the
/// time, so ten replies all within 700 ms would be about one chance in a thousand.
const REPLY_BOUND: Duration = Duration::from_millis(700);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_queued_while_the_other_process_holds_the_chat_is_sent_at_once() {
    let url = shared().fresh_database();
    let gateway = FakeGateway::start(Vec::new()).await;
    // Each send stays in flight 200 ms after the gateway took it: the person's next message
    // reaches the other process while the chat's claim is still held.
    *gateway.state.delay.lock().unwrap() = Duration::from_millis(200);
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &url, &sms_config(&gateway, "key-a")).await;
    let b = serve(dir.path(), &url, &sms_config(&gateway, "key-b")).await;
    let client = reqwest::Client::new();
    let phone = "+6285900000001";
    // The newest outbox id the person was sent.
    let newest = || {
        gateway
            .received()
            .iter()
            .filter(|r| r.to == phone)
            .map(|r| r.outbox_id)
            .max()
    };
    let mut took = Vec::new();
    for j in 0..11 {
        // Message 0 (untimed) opens the chat; then a closed loop, as the load tool runs one:
        // the next message goes, to the other process, as soon as a reply arrived.
        let to = if j % 2 == 0 { &a } else { &b };
        let text = if j == 0 { "halo" } else { "menu" };
        let before = newest();
        let started = Instant::now();
        assert!(sms_in(&client, to, &format!("{phone}-{j}"), phone, text).await);
        while newest() == before {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no reply to message {j}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if j > 0 {
            took.push(started.elapsed());
        }
    }
    eprintln!("replies across two processes took {took:?}");
    let slow: Vec<_> = took.iter().filter(|t| **t > REPLY_BOUND).collect();
    assert!(
        slow.is_empty(),
        "replies slower than {REPLY_BOUND:?}: {slow:?} of {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_leaves_its_chats_to_the_other_within_the_bound() {
    let url = shared().fresh_database();
    let store = PgStore::open(&url, 2).unwrap();
    let db = connect(&url).await;
    let gateway = FakeGateway::start(Vec::new()).await;
    // A slow provider: sends are in flight when the kill comes.
    *gateway.state.delay.lock().unwrap() = Duration::from_millis(250);
    let dir = tempfile::tempdir().unwrap();
    let mut a = serve(dir.path(), &url, &sms_config(&gateway, "k")).await;
    let mut queued = queue(&store, 0, 20, 6);
    // Whoever claims first holds all 20 chats; the other starts once they are claimed.
    let started = Instant::now();
    while claim_holders(&db).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nobody claimed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut b = serve(dir.path(), &url, &sms_config(&gateway, "k")).await;
    queued.extend(queue(&store, 20, 4, 2));
    // Kill the holder once it delivered some of its rows, mid-send.
    let started = Instant::now();
    while gateway.received().len() < 30 {
        assert!(started.elapsed() < Duration::from_secs(20), "nothing sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let holders = claim_holders(&db).await;
    let (victim, survivor) = if holders.contains(&a.pid()) {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    let victim_pid = victim.pid();
    victim.kill();
    let killed = Instant::now();
    let before_kill = gateway.received().len();
    while outbox_left(&db).await > 0 {
        assert!(
            killed.elapsed() < BOUND + SLACK + Duration::from_secs(10),
            "rows left undelivered after the kill"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = gateway.received();
    assert!(
        received.len() > before_kill,
        "the survivor delivered the rest"
    );
    // The first delivery after the kill to a chat the victim held came within the bound.
    let victims_chats: BTreeSet<String> = queued[..120].iter().map(|(p, _)| p.clone()).collect();
    let first_after = received[before_kill..]
        .iter()
        .filter(|r| victims_chats.contains(&r.to))
        .map(|r| r.at)
        .min()
        .unwrap();
    eprintln!(
        "outbox takeover after the kill: {:?}; all delivered after {:?}",
        first_after.duration_since(killed),
        killed.elapsed()
    );
    assert!(
        first_after.duration_since(killed) < BOUND + SLACK,
        "taken over after {:?}",
        first_after.duration_since(killed)
    );
    assert!(
        !claim_holders(&db).await.contains(&victim_pid),
        "the dead process holds nothing"
    );
    let _ = survivor;
    // Every row delivered; each chat in order; at most the one in-flight row repeated.
    let got = per_chat(&received);
    let mut want: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (phone, id) in &queued {
        want.entry(phone.clone()).or_default().push(*id);
    }
    for (phone, ids) in &want {
        let seen = got.get(phone).cloned().unwrap_or_default();
        let mut once = seen.clone();
        once.dedup();
        assert_eq!(&once, ids, "{phone}: every row, in order ({seen:?})");
        assert!(
            seen.len() <= ids.len() + 1,
            "{phone}: more than the one in-flight row repeated ({seen:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_polling_runs_in_one_process_and_moves_when_it_is_killed() {
    let url = shared().fresh_database();
    let db = connect(&url).await;
    let api = FakeBotApi::start().await;
    let extra = format!(
        "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n",
        api.url()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut a = serve(dir.path(), &url, &extra).await;
    let mut b = serve(dir.path(), &url, &extra).await;
    let holder = || async {
        db.query_opt(
            "SELECT holder FROM leases WHERE name = 'telegram-polling' AND until > now()",
            &[],
        )
        .await
        .unwrap()
        .map(|r| pid_of(r.get(0)))
    };
    // One of them polls, and answers.
    for (i, user) in [7001u64, 7002, 7003].into_iter().enumerate() {
        api.text(user, "halo");
        assert!(
            api.wait_for(Duration::from_secs(15), |api| !api
                .sent_to(user as i64)
                .is_empty())
                .await,
            "message {i} answered"
        );
    }
    let first = holder().await.expect("a process holds the polling lease");
    assert!([a.pid(), b.pid()].contains(&first));
    // Nobody else polled meanwhile: each update was handed out once.
    assert!(
        api.state
            .handed_out
            .lock()
            .unwrap()
            .values()
            .all(|n| *n == 1),
        "an update went to two pollers: {:?}",
        api.state.handed_out.lock().unwrap()
    );
    let (victim, survivor) = if first == a.pid() {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    victim.kill();
    let killed = Instant::now();
    api.text(7004, "halo");
    assert!(
        api.wait_for(BOUND + SLACK, |api| !api.sent_to(7004).is_empty())
            .await,
        "the other process took the polling over within {:?}",
        BOUND + SLACK
    );
    let took = killed.elapsed();
    eprintln!("telegram polling taken over and answered after {took:?}");
    assert_eq!(holder().await, Some(survivor.pid()), "after {took:?}");
}

/// A web chat visitor talking to the processes over HTTP, with the token in the header (as the
/// widget's frame sends it), so that any process takes it.
struct WebVisitor {
    client: reqwest::Client,
    token: String,
}

impl WebVisitor {
    /// Starts a session on `on`.
    async fn start(on: &Serving) -> WebVisitor {
        let client = reqwest::Client::new();
        let token = web_visitor::start_session(&client, on.port)
            .await
            .expect("a session");
        WebVisitor { client, token }
    }

    /// Says `text` to `on`; returns the bot's reply texts.
    async fn say(&self, on: &Serving, id: &str, text: &str) -> String {
        let v = web_visitor::say(&self.client, on.port, &self.token, id, text).await;
        v["messages"].to_string()
    }

    /// The last sequence number of the session's log, read from `on`.
    async fn last_seq(&self, on: &Serving) -> u64 {
        web_visitor::last_seq(&self.client, on.port, &self.token).await
    }

    /// Opens the event stream on `on` after `after`.
    async fn events(&self, on: &Serving, after: u64) -> EventStream {
        let resp = self
            .client
            .get(format!(
                "http://127.0.0.1:{}/api/web/events?after={after}",
                on.port
            ))
            .header("x-pstbot-session", &self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        EventStream {
            resp,
            seen: String::new(),
        }
    }
}

/// An open event stream and what it sent so far.
struct EventStream {
    resp: reqwest::Response,
    seen: String,
}

impl EventStream {
    /// Waits up to `limit` until the stream sent `text`; how long that took.
    async fn until(&mut self, text: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        while !self.seen.contains(text) {
            let left = limit.checked_sub(started.elapsed()).unwrap_or_else(|| {
                panic!("{text:?} not on the stream within {limit:?}: {}", self.seen)
            });
            let chunk = tokio::time::timeout(left, self.resp.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!("{text:?} not on the stream within {limit:?}: {}", self.seen)
                })
                .unwrap()
                .expect("the stream stays open");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        started.elapsed()
    }

    /// The `id:` lines (the entries' sequence numbers) the stream sent, in order.
    fn ids(&self) -> Vec<u64> {
        self.seen
            .lines()
            .filter_map(|l| l.strip_prefix("id:"))
            .map(|v| v.trim().parse().unwrap())
            .collect()
    }
}

/// What the bot answers a newcomer's first message with.
const GREETING: &str = "Selamat datang";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_open_on_one_process_sees_what_another_logs_at_once() {
    let url = shared().fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &url, "").await;
    let b = serve(dir.path(), &url, "").await;
    // The session starts on B; the page's stream is held by A.
    let v = WebVisitor::start(&b).await;
    let after = v.last_seq(&a).await;
    let mut stream = v.events(&a, after).await;
    // The visitor's messages go to B (the load balancer's choice): B logs them and its
    // replies; the page on A shows them as they commit.
    let sent = Instant::now();
    let replied = v.say(&b, "w1", "halo").await;
    let answered = sent.elapsed();
    assert!(replied.contains(GREETING), "{replied}");
    let took = stream.until(GREETING, Duration::from_secs(5)).await;
    eprintln!(
        "web chat: B answered the post after {answered:?}; the stream on A had the reply {took:?} after that"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // The visitor's own words and the reply, each once, in order.
    assert!(stream.seen.contains("\"visitor\":true"), "{}", stream.seen);
    let ids = stream.ids();
    assert!(ids.len() >= 2 && ids.is_sorted(), "{ids:?}");
    let once: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(once.len(), ids.len(), "each entry once: {ids:?}");
    assert_eq!(ids[0], after + 1, "nothing skipped: {ids:?}");
    // A message to A itself still shows, after B's, with no gap.
    v.say(&a, "w2", "1").await;
    let last = v.last_seq(&b).await;
    stream
        .until(&format!("id: {last}\n"), Duration::from_secs(5))
        .await;
    assert_eq!(stream.ids(), (after + 1..=last).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listening_connection_is_made_again_when_it_is_killed() {
    let url = shared().fresh_database();
    let db = connect(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &url, "").await;
    let b = serve(dir.path(), &url, "").await;
    let listeners = || async {
        db.query_one(
            "SELECT count(*) FROM pg_stat_activity
              WHERE application_name = 'pstbot-listen' AND datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(listeners().await, 2, "one listening connection per process");
    let v = WebVisitor::start(&b).await;
    let mut stream = v.events(&a, 0).await;
    // Every listening backend killed, as a database failover or an admin would.
    let killed: i64 = db
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name = 'pstbot-listen' AND datname = current_database()) AS t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 2);
    let killed_at = Instant::now();
    // Logged on B while A's listener may be away: A reads the log again once it listens.
    v.say(&b, "r1", "halo").await;
    let took = stream.until(GREETING, Duration::from_secs(10)).await;
    eprintln!(
        "web chat: after the listener was killed, an entry logged on B reached A after {:?}",
        killed_at.elapsed()
    );
    let _ = took;
    // Listening again, and later entries arrive live.
    let started = Instant::now();
    while listeners().await < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "listening again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    v.say(&b, "r2", "1").await;
    let last = v.last_seq(&b).await;
    let took = stream
        .until(&format!("id: {last}\n"), Duration::from_secs(5))
        .await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(stream.ids(), (1..=last).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flood_limit_counts_a_persons_messages_over_every_process() {
    const LIMIT: u32 = 3;
    const SENT: usize = 9;
    let url = shared().fresh_database();
    let db = connect(&url).await;
    let gateway = FakeGateway::start(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let a = serve_limited(dir.path(), &url, &sms_config(&gateway, "k"), LIMIT).await;
    let b = serve_limited(dir.path(), &url, &sms_config(&gateway, "k"), LIMIT).await;
    let client = reqwest::Client::new();
    let phone = "+6281377700011";
    for j in 0..SENT {
        let to = if j % 2 == 0 { &a } else { &b };
        assert!(
            sms_in(&client, to, &format!("flood-{j}"), phone, "menu").await,
            "message {j} acknowledged"
        );
    }
    // Someone else is not limited by them.
    assert!(sms_in(&client, &b, "other-0", "+6281377700022", "menu").await);
    let started = Instant::now();
    while outbox_left(&db).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "rows left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every message recorded as handled (a provider's retry stays a duplicate) …
    let marks: i64 = db
        .query_one(
            "SELECT count(*) FROM dedupe_marks WHERE key LIKE 'sms:flood-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(marks, SENT as i64);
    // … LIMIT answered (one reply each: the menu), and one notice for the rest, whichever
    // process took them.
    let mut replies: BTreeMap<u64, String> = BTreeMap::new();
    for r in gateway.delivered().into_iter().filter(|r| r.to == phone) {
        replies.entry(r.outbox_id).or_default().push_str(&r.text);
    }
    let notices = replies
        .values()
        .filter(|t| t.contains("terlalu banyak pesan"))
        .count();
    assert_eq!(notices, 1, "{replies:#?}");
    assert_eq!(replies.len(), LIMIT as usize + 1, "{replies:#?}");
    assert!(
        gateway.delivered().iter().any(|r| r.to == "+6281377700022"),
        "another person is answered"
    );
    // The table holds no address.
    let rows: Vec<String> = db
        .query("SELECT identity FROM flood_windows", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| !r.contains("62813")), "{rows:?}");
}
