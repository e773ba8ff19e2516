//! A web chat visitor as the chat page is one, against `pstbot serve` processes on 127.0.0.1:
//! its posts carry what the API asks of the page (its own `Origin`, `Sec-Fetch-Site`, the
//! `X-PSTBot-Chat` header and the session token in `X-PSTBot-Session`); it reads its log back
//! through the API (`/api/web/history`, `/api/web/events`) and can keep an event stream open
//! that connects again with `Last-Event-ID` when it breaks, as a browser's `EventSource` does.

use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A post from the chat page served by the process on `port`.
pub fn post(
    client: &reqwest::Client,
    port: u16,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let r = client
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("origin", format!("http://127.0.0.1:{port}"))
        .header("sec-fetch-site", "same-origin")
        .header("x-pstbot-chat", "1");
    match token {
        Some(t) => r.header("x-pstbot-session", t),
        None => r,
    }
}

/// A new session on `port`: its token, or `None` when the request failed.
pub async fn start_session(client: &reqwest::Client, port: u16) -> Option<String> {
    let r = post(client, port, "/api/web/session", None)
        .json(&serde_json::json!({}))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    assert_eq!(v["resumed"], false, "{v}");
    Some(v["token"].as_str()?.to_string())
}

/// Says `text` as message `id` in the session `token` on `port`; the bot's answer as the API
/// gives it (its `messages`).
pub async fn say(client: &reqwest::Client, port: u16, token: &str, id: &str, text: &str) -> Value {
    let r = post(client, port, "/api/web/messages", Some(token))
        .json(&serde_json::json!({"id": id, "text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{text:?} is taken");
    r.json().await.unwrap()
}

/// The last sequence number of the session's log, read from the process on `port`.
pub async fn last_seq(client: &reqwest::Client, port: u16, token: &str) -> u64 {
    let history: Value = client
        .get(format!("http://127.0.0.1:{port}/api/web/history"))
        .header("x-pstbot-session", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    entries(&history).last().map_or(0, |e| e.seq)
}

/// One entry of a session's log, as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub visitor: bool,
    pub text: String,
}

impl Entry {
    pub fn of(v: &Value) -> Entry {
        Entry {
            seq: v["seq"].as_u64().expect("seq"),
            visitor: v["visitor"].as_bool().expect("visitor"),
            text: v["text"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// The entries of an answer `{"messages": [...]}`.
pub fn entries(v: &Value) -> Vec<Entry> {
    v["messages"]
        .as_array()
        .map(|a| a.iter().map(Entry::of).collect())
        .unwrap_or_default()
}

/// Server-Sent Events as they arrive in chunks: each complete event's entry (its `id` is the
/// entry's sequence).
#[derive(Default)]
pub struct SseParser {
    buf: String,
}

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Entry> {
        self.buf.push_str(&String::from_utf8_lossy(chunk));
        let mut out = Vec::new();
        while let Some(end) = self.buf.find("\n\n") {
            let event: String = self.buf.drain(..end + 2).collect();
            let field = |name: &str| {
                event
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_string)
            };
            // A keep-alive comment has neither.
            if let (Some(id), Some(data)) = (field("id: "), field("data: ")) {
                let e = Entry::of(&serde_json::from_str(&data).expect("an entry"));
                assert_eq!(id.parse::<u64>().ok(), Some(e.seq), "{event}");
                out.push(e);
            }
        }
        out
    }
}

/// An event stream of the session from `after` (sent as `Last-Event-ID`), or why not.
async fn open(
    client: &reqwest::Client,
    port: u16,
    token: &str,
    after: u64,
) -> Result<reqwest::Response, String> {
    let r = client
        .get(format!("http://127.0.0.1:{port}/api/web/events"))
        .header("x-pstbot-session", token)
        .header("last-event-id", after.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 200 {
        return Err(format!("{}", r.status()));
    }
    Ok(r)
}

/// The session's whole log read back from `port`: the last sequence from the history, then
/// every entry up to it from the event stream (which sends a long log whole).
pub async fn read_log(client: &reqwest::Client, port: u16, token: &str) -> Vec<Entry> {
    let last = last_seq(client, port, token).await;
    let mut resp = open(client, port, token, 0).await.unwrap();
    let mut sse = SseParser::default();
    let mut log = Vec::new();
    while log.last().map_or(0, |e: &Entry| e.seq) < last {
        let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
            .await
            .expect("the log read back within 20 s")
            .unwrap()
            .expect("the stream goes on");
        log.extend(sse.feed(&chunk));
    }
    log
}

/// A page keeping the session's event stream open on a process picked at random; when the
/// stream breaks (its process killed, the database restarted) it connects again to a process
/// picked again, with `Last-Event-ID` = the last entry it got; it runs until aborted. What
/// it got is in `seen`, in order; `reconnects` counts the streams opened after the first.
pub async fn follow(
    ports: Arc<Vec<u16>>,
    token: String,
    seen: Arc<Mutex<Vec<Entry>>>,
    reconnects: Arc<AtomicUsize>,
) {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut first = true;
    loop {
        let port = ports[fastrand::usize(..ports.len())];
        let after = seen.lock().unwrap().last().map_or(0, |e| e.seq);
        let Ok(mut resp) = open(&client, port, &token, after).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if !first {
            reconnects.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        let mut sse = SseParser::default();
        // A keep-alive comes every 15 s: a silent minute is a broken stream.
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(60), resp.chunk()).await
        {
            seen.lock().unwrap().extend(sse.feed(&chunk));
        }
    }
}
