//! A fake WhatsApp Cloud API (Meta Graph API) on 127.0.0.1 that speaks the documented request
//! and response shapes, for pstbot pointed at it by `whatsapp.graph_api_url`:
//!
//! - `POST /v21.0/{phone-number-id}/messages` (JSON message object) answers
//!   `{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id":"wamid…"}]}`;
//! - `POST /v21.0/{phone-number-id}/media` (multipart: `messaging_product`, `type`, `file`)
//!   answers `{"id": "<media id>"}`;
//! - `GET /v21.0/{media-id}` answers `{"url","mime_type","sha256","file_size","id","messaging_product"}`
//!   and `GET /media-download/{media-id}` serves the bytes — both only with the Bearer token;
//! - scripted failures answer Graph's error object (`{"error":{"message","type","code","fbtrace_id"}}`).

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const ACCESS_TOKEN: &str = "EAAG-test-access-token";
pub const VERSION: &str = "v21.0";

/// A scripted failure of the next `/messages` call: HTTP status and Graph error code.
#[derive(Debug, Clone)]
pub struct Fail {
    pub status: u16,
    pub code: i64,
}

/// A message pstbot sent, with the wamid it was given.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub wamid: String,
    pub body: Value,
}

impl SentMessage {
    pub fn to(&self) -> &str {
        self.body["to"].as_str().unwrap_or("")
    }
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
    /// What the person reads: the text, or the interactive body, or the template's name.
    pub fn text(&self) -> String {
        match self.kind() {
            "text" => self.body["text"]["body"].as_str().unwrap_or("").into(),
            "interactive" => self.body["interactive"]["body"]["text"]
                .as_str()
                .unwrap_or("")
                .into(),
            "template" => format!("[template {}]", self.body["template"]["name"]),
            "document" => format!("[document {}]", self.body["document"]["filename"]),
            _ => String::new(),
        }
    }
    /// The ids (button ids or list row ids) of an interactive message.
    pub fn choice_ids(&self) -> Vec<String> {
        let i = &self.body["interactive"];
        let items: Vec<Value> = match i["type"].as_str() {
            Some("button") => i["action"]["buttons"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|b| b["reply"].clone())
                .collect(),
            Some("list") => i["action"]["sections"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        };
        items
            .iter()
            .map(|x| x["id"].as_str().unwrap_or("").to_string())
            .collect()
    }
    /// The titles (button or row titles) of an interactive message.
    pub fn choice_titles(&self) -> Vec<String> {
        let i = &self.body["interactive"];
        match i["type"].as_str() {
            Some("button") => i["action"]["buttons"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|b| b["reply"]["title"].as_str().unwrap_or("").to_string())
                .collect(),
            Some("list") => i["action"]["sections"][0]["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|r| r["title"].as_str().unwrap_or("").to_string())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A file pstbot uploaded.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: String,
    pub filename: String,
    pub mime: String,
    pub bytes: Vec<u8>,
    pub messaging_product: String,
}

#[derive(Default)]
pub struct GraphState {
    pub sent: Mutex<Vec<SentMessage>>,
    pub uploads: Mutex<Vec<Upload>>,
    pub fails: Mutex<VecDeque<Fail>>,
    /// Media people "sent": id → (mime, bytes).
    pub media: Mutex<HashMap<String, (String, Vec<u8>)>>,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: AtomicU64,
    pub media_fetches: AtomicU64,
    pub changed: tokio::sync::Notify,
    next: AtomicU64,
    base: Mutex<String>,
}

pub struct FakeGraph {
    pub addr: SocketAddr,
    pub state: Arc<GraphState>,
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbCdEfGhIjK"
            }
        })),
    )
        .into_response()
}

fn authorized(state: &GraphState, h: &HeaderMap) -> bool {
    let ok = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {ACCESS_TOKEN}"));
    if !ok {
        state.unauthorized.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let state = Arc::new(GraphState::default());
        let app = axum::Router::new()
            .route("/{version}/{id}/messages", axum::routing::post(messages))
            .route("/{version}/{id}/media", axum::routing::post(upload))
            .route("/{version}/{id}", axum::routing::get(media_info))
            .route("/media-download/{id}", axum::routing::get(media_bytes))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *state.base.lock().unwrap() = format!("http://{addr}");
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeGraph { addr, state }
    }

    /// The `graph_api_url` to configure.
    pub fn url(&self) -> String {
        format!("http://{}/{VERSION}", self.addr)
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.sent.lock().unwrap().clone()
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.state.uploads.lock().unwrap().clone()
    }

    /// Fails the next `/messages` calls, in order.
    pub fn fail_next(&self, fails: Vec<Fail>) {
        self.state.fails.lock().unwrap().extend(fails);
    }

    /// A file a person sent: its media id, as the webhook will carry it.
    pub fn add_media(&self, id: &str, mime: &str, bytes: Vec<u8>) {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(id.to_string(), (mime.to_string(), bytes));
    }

    /// Waits until a sent message satisfies `f` (after `from` earlier ones); returns it.
    pub async fn wait_for(
        &self,
        from: usize,
        what: &str,
        f: impl Fn(&SentMessage) -> bool,
    ) -> SentMessage {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let changed = self.state.changed.notified();
            if let Some(m) = self.sent().into_iter().skip(from).find(|m| f(m)) {
                return m;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let seen: Vec<String> = self.sent().iter().skip(from).map(|m| m.text()).collect();
                panic!("no message {what}; sent since: {seen:#?}");
            }
        }
    }
}

async fn messages(
    State(state): State<Arc<GraphState>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorized(&state, &headers) {
        return graph_error(
            401,
            190,
            "Error validating access token: Session has expired",
        );
    }
    if id != PHONE_NUMBER_ID {
        return graph_error(400, 100, "Unsupported post request. Object does not exist");
    }
    if body["messaging_product"] != "whatsapp" {
        return graph_error(400, 100, "The parameter messaging_product is required.");
    }
    if let Some(f) = state.fails.lock().unwrap().pop_front() {
        state.changed.notify_waiters();
        return graph_error(f.status, f.code, "scripted failure");
    }
    let n = state.next.fetch_add(1, Ordering::Relaxed) + 1;
    let wamid = format!("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjB{n:08}");
    let to = body["to"].as_str().unwrap_or("").to_string();
    state.sent.lock().unwrap().push(SentMessage {
        wamid: wamid.clone(),
        body,
    });
    state.changed.notify_waiters();
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": wamid }]
    }))
    .into_response()
}

async fn upload(State(state): State<Arc<GraphState>>, req: Request) -> Response {
    if !authorized(&state, req.headers()) {
        return graph_error(401, 190, "Error validating access token");
    }
    let mut mp = match axum::extract::Multipart::from_request(req, &()).await {
        Ok(m) => m,
        Err(_) => return graph_error(400, 100, "expected multipart/form-data"),
    };
    let mut up = Upload {
        id: String::new(),
        filename: String::new(),
        mime: String::new(),
        bytes: Vec::new(),
        messaging_product: String::new(),
    };
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                up.filename = field.file_name().unwrap_or("").to_string();
                up.bytes = field.bytes().await.unwrap_or_default().to_vec();
            }
            "type" => up.mime = field.text().await.unwrap_or_default(),
            "messaging_product" => up.messaging_product = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    if up.messaging_product != "whatsapp" || up.bytes.is_empty() {
        return graph_error(400, 100, "messaging_product and file are required");
    }
    let n = state.next.fetch_add(1, Ordering::Relaxed) + 1;
    up.id = format!("{}", 9_000_000_000u64 + n);
    let id = up.id.clone();
    state.uploads.lock().unwrap().push(up);
    axum::Json(json!({ "id": id })).into_response()
}

async fn media_info(
    State(state): State<Arc<GraphState>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&state, &headers) {
        return graph_error(401, 190, "Error validating access token");
    }
    let media = state.media.lock().unwrap().get(&id).cloned();
    let Some((mime, bytes)) = media else {
        return graph_error(404, 100, "Unsupported get request. Object does not exist");
    };
    let base = state.base.lock().unwrap().clone();
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("{base}/media-download/{id}"),
        "mime_type": mime,
        "sha256": "ignored",
        "file_size": bytes.len(),
        "id": id,
    }))
    .into_response()
}

async fn media_bytes(
    State(state): State<Arc<GraphState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    state.media_fetches.fetch_add(1, Ordering::Relaxed);
    match state.media.lock().unwrap().get(&id).cloned() {
        Some((mime, bytes)) => ([("content-type", mime)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
