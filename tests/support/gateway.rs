//! A fake SMS gateway on 127.0.0.1 that speaks pstbot's generic gateway API and fails in
//! scripted ways: each request takes the next scripted reply (then answers 200).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the gateway answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Ok,
    Status(u16),
    /// 429 with `Retry-After: N`.
    RetryAfter(u64),
    /// Answers 200 only after this long (a slow provider).
    Slow(Duration),
}

/// One request as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub to: String,
    pub text: String,
    pub reference: String,
    pub outbox_id: u64,
    pub authorization: String,
    /// What the gateway answered.
    pub status: u16,
}

#[derive(Default)]
pub struct GatewayState {
    pub script: Mutex<VecDeque<Reply>>,
    pub received: Mutex<Vec<Received>>,
    pub changed: tokio::sync::Notify,
    /// How long every request scripted `Ok` takes to be answered (a provider's round trip).
    pub delay: Mutex<Duration>,
}

pub struct FakeGateway {
    pub addr: SocketAddr,
    pub state: Arc<GatewayState>,
}

impl FakeGateway {
    /// Starts the gateway on a free loopback port.
    pub async fn start(script: Vec<Reply>) -> FakeGateway {
        let state = Arc::new(GatewayState::default());
        state.script.lock().unwrap().extend(script);
        let app = axum::Router::new()
            .route("/send", axum::routing::post(send))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeGateway { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/send", self.addr)
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The requests answered 200 at once (the messages the gateway took).
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    }

    /// Waits (at most `limit`) until `cond` holds over the requests received.
    pub async fn wait_for(&self, limit: Duration, cond: impl Fn(&[Received]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.state.changed.notified();
            if cond(&self.received()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cond(&self.received());
            }
        }
    }
}

async fn send(
    State(state): State<Arc<GatewayState>>,
    headers: HeaderMap,
    body: axum::Json<serde_json::Value>,
) -> Response {
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Ok);
    // A slow answer is recorded as status 0: the client may have given up before it.
    let status = match &reply {
        Reply::Ok => 200,
        Reply::Slow(_) => 0,
        Reply::Status(s) => *s,
        Reply::RetryAfter(_) => 429,
    };
    let field = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    state.received.lock().unwrap().push(Received {
        at: Instant::now(),
        to: field("to"),
        text: field("text"),
        reference: field("reference"),
        outbox_id: body.get("outbox_id").and_then(|v| v.as_u64()).unwrap_or(0),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        status,
    });
    state.changed.notify_waiters();
    let n = state.received.lock().unwrap().len();
    if let Reply::Slow(d) = &reply {
        tokio::time::sleep(*d).await;
    }
    let delay = *state.delay.lock().unwrap();
    if matches!(reply, Reply::Ok) && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match reply {
        Reply::RetryAfter(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Reply::Status(s) => (
            StatusCode::from_u16(s).unwrap(),
            format!("{{\"error\":\"scripted {s}\"}}"),
        )
            .into_response(),
        _ => axum::Json(serde_json::json!({ "message_id": format!("gw-{n}") })).into_response(),
    }
}
