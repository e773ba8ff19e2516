//! A fake Telegram Bot API on 127.0.0.1 that speaks the real HTTP API (`/bot<token>/<method>`
//! with JSON or multipart bodies, answers `{"ok": true, "result": …}`), for teloxide pointed
//! at it by its API URL. It holds updates for `getUpdates` (long polling with `offset`:
//! an update is dropped only once a later offset confirms it), records every call, keeps
//! the messages the bot sent (with their keyboards, as Telegram returns them), serves files
//! for `getFile` + `/file/bot<token>/<path>`, and answers scripted failures (429 with
//! `parameters.retry_after`, 403) for a chosen method. Updates are shaped as the Bot API
//! documents them.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "123456:TEST-token_abc";
pub const BOT_ID: u64 = 999_000;
pub const BOT_USERNAME: &str = "pst_test_bot";

/// A scripted failure for the next call of a method.
#[derive(Debug, Clone)]
pub enum Fail {
    /// 429 with `parameters.retry_after` seconds.
    TooManyRequests(u32),
    /// 403 `Forbidden: bot was blocked by the user`.
    Blocked,
}

/// One API call as the server saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub at: Instant,
    /// What the server answered (200, 429, 403).
    pub status: u16,
}

/// A message the bot sent (sendMessage or sendDocument), as Telegram keeps it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message_id: i64,
    pub chat: i64,
    /// The text as the bot sent it (HTML).
    pub html: String,
    /// The text as the person sees it (tags gone, entities decoded).
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    pub document: Option<(String, Vec<u8>)>,
    /// The `Message` object returned to the bot (what a callback query carries back).
    pub json: Value,
}

impl Sent {
    /// The inline buttons: (label, callback_data).
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(|k| k.as_array())
            .map(|rows| {
                rows.iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                    .map(|b| {
                        (
                            b["text"].as_str().unwrap_or("").to_string(),
                            b["callback_data"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the message offers Telegram's share-contact button.
    pub fn asks_contact(&self) -> bool {
        self.reply_markup
            .as_ref()
            .and_then(|m| m.get("keyboard"))
            .and_then(|k| k.as_array())
            .is_some_and(|rows| {
                rows.iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                    .any(|b| b["request_contact"] == json!(true))
            })
    }
}

#[derive(Default)]
pub struct ApiState {
    /// Updates not yet confirmed by an offset.
    pending: Mutex<Vec<Value>>,
    next_update: AtomicU32,
    next_message: AtomicI64,
    pub calls: Mutex<Vec<Call>>,
    pub sent: Mutex<Vec<Sent>>,
    script: Mutex<HashMap<String, VecDeque<Fail>>>,
    files: Mutex<HashMap<String, (String, Vec<u8>)>>,
    /// How often each update was handed out by getUpdates.
    pub handed_out: Mutex<HashMap<u32, u32>>,
    /// While set, an offset does not confirm (drop) anything: as if the bot died before its
    /// next getUpdates reached Telegram.
    hold: std::sync::atomic::AtomicBool,
    changed: tokio::sync::Notify,
    new_update: tokio::sync::Notify,
}

pub struct FakeBotApi {
    pub addr: SocketAddr,
    pub state: Arc<ApiState>,
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "PST Bot", "username": BOT_USERNAME})
}

pub fn user(id: u64, name: &str) -> Value {
    json!({"id": id, "is_bot": false, "first_name": name, "language_code": "id"})
}

pub fn chat(id: i64) -> Value {
    if id > 0 {
        json!({"id": id, "type": "private", "first_name": "Pengguna"})
    } else {
        json!({"id": id, "type": "supergroup", "title": "PST Petugas"})
    }
}

/// What a person sees of an HTML text.
pub fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl FakeBotApi {
    pub async fn start() -> FakeBotApi {
        let state = Arc::new(ApiState::default());
        state.next_update.store(100, Ordering::SeqCst);
        state.next_message.store(500, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/file/{bot}/{*path}", axum::routing::get(download))
            .route("/{bot}/{method}", axum::routing::post(method))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeBotApi { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The next call of `method` fails this way.
    pub fn fail_next(&self, method: &str, f: Fail) {
        self.state
            .script
            .lock()
            .unwrap()
            .entry(method.to_string())
            .or_default()
            .push_back(f);
    }

    /// Queues an update of `kind` (`message`, `callback_query`, …); returns its `update_id`.
    pub fn push(&self, kind: &str, body: Value) -> u32 {
        let id = self.state.next_update.fetch_add(1, Ordering::SeqCst);
        self.state
            .pending
            .lock()
            .unwrap()
            .push(json!({"update_id": id, kind: body}));
        self.state.new_update.notify_waiters();
        id
    }

    /// An update as the Bot API would post it to a webhook (not queued for getUpdates).
    pub fn update_json(&self, kind: &str, body: Value) -> Value {
        let id = self.state.next_update.fetch_add(1, Ordering::SeqCst);
        json!({"update_id": id, kind: body})
    }

    pub fn message(&self, chat_id: i64, from: u64, extra: Value) -> Value {
        let mid = self.state.next_message.fetch_add(1, Ordering::SeqCst);
        let mut m = json!({"message_id": mid, "date": now(), "chat": chat(chat_id), "from": user(from, "Budi")});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    }

    /// A person writes `text` in their private chat.
    pub fn text(&self, from: u64, text: &str) -> u32 {
        let m = self.message(from as i64, from, json!({"text": text}));
        self.push("message", m)
    }

    /// An officer writes in a group, perhaps replying to a message the bot posted there.
    pub fn group_text(&self, group: i64, from: u64, text: &str, reply_to: Option<&Sent>) -> u32 {
        let mut extra = json!({"text": text});
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .unwrap()
                .encode_utf16()
                .count();
            extra["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        if let Some(r) = reply_to {
            extra["reply_to_message"] = r.json.clone();
        }
        let m = self.message(group, from, extra);
        self.push("message", m)
    }

    /// A person presses the button labelled `label` under the bot's message `on`.
    pub fn press(&self, from: u64, on: &Sent, label: &str) -> u32 {
        let data = on
            .buttons()
            .into_iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("no button {label:?} under:\n{}", on.text))
            .1;
        let q = json!({
            "id": format!("cbq-{}", self.state.next_message.fetch_add(1, Ordering::SeqCst)),
            "from": user(from, "Budi"),
            "message": on.json,
            "chat_instance": "-5550001",
            "data": data,
        });
        self.push("callback_query", q)
    }

    /// A person sends a document; the file is then served by getFile and the download URL.
    pub fn document(&self, chat_id: i64, from: u64, name: &str, mime: &str, bytes: Vec<u8>) -> u32 {
        let file_id = format!(
            "BQAC-{}",
            self.state.next_message.fetch_add(1, Ordering::SeqCst)
        );
        let size = bytes.len();
        self.state
            .files
            .lock()
            .unwrap()
            .insert(file_id.clone(), (format!("documents/{name}"), bytes));
        let m = self.message(
            chat_id,
            from,
            json!({"document": {"file_id": file_id, "file_unique_id": format!("u{file_id}"), "file_name": name, "mime_type": mime, "file_size": size}}),
        );
        self.push("message", m)
    }

    /// A person shares a contact card (their own when `user_id` is theirs).
    pub fn contact(&self, from: u64, phone: &str, user_id: u64) -> u32 {
        let m = self.message(
            from as i64,
            from,
            json!({"contact": {"phone_number": phone, "first_name": "Budi", "user_id": user_id}}),
        );
        self.push("message", m)
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.state.sent.lock().unwrap().clone()
    }

    pub fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.chat == chat).collect()
    }

    /// Stops (or resumes) confirming updates by offset.
    pub fn hold_confirmations(&self, on: bool) {
        self.state.hold.store(on, Ordering::SeqCst);
    }

    /// Updates not yet confirmed by an offset.
    pub fn unconfirmed(&self) -> usize {
        self.state.pending.lock().unwrap().len()
    }

    /// Waits (at most `limit`) until `cond` holds.
    pub async fn wait_for(&self, limit: Duration, cond: impl Fn(&FakeBotApi) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.state.changed.notified();
            if cond(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cond(self);
            }
        }
    }

    /// Waits until a message to `chat` after the first `skip` ones contains `fragment`;
    /// returns it.
    pub async fn expect(&self, chat: i64, skip: usize, fragment: &str) -> Sent {
        let found = self
            .wait_for(Duration::from_secs(20), |api| {
                api.sent_to(chat)
                    .iter()
                    .skip(skip)
                    .any(|s| s.text.contains(fragment))
            })
            .await;
        let all = self.sent_to(chat);
        assert!(
            found,
            "no message to {chat} containing {fragment:?}; calls: {:?}; after #{skip} it got:\n{}",
            self.state
                .calls
                .lock()
                .unwrap()
                .iter()
                .map(|c| format!("{} {}", c.method, c.status))
                .collect::<Vec<_>>(),
            all.iter()
                .skip(skip)
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
                .join("\n-----\n")
        );
        all.into_iter()
            .skip(skip)
            .find(|s| s.text.contains(fragment))
            .unwrap()
    }
}

fn take_failure(state: &ApiState, method: &str) -> Option<Fail> {
    state
        .script
        .lock()
        .unwrap()
        .get_mut(method)
        .and_then(|q| q.pop_front())
}

/// Reads a request's parameters: JSON, or multipart (files as `{"filename", "bytes"}`).
async fn params(req: Request) -> Value {
    let is_multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .unwrap();
        let mut out = serde_json::Map::new();
        let mut files: HashMap<String, (String, Vec<u8>)> = HashMap::new();
        while let Some(field) = mp.next_field().await.unwrap() {
            let name = field.name().unwrap_or("").to_string();
            let filename = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.unwrap().to_vec();
            match filename {
                Some(f) => {
                    files.insert(name, (f, bytes));
                }
                None => {
                    let text = String::from_utf8_lossy(&bytes).to_string();
                    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    out.insert(name, v);
                }
            }
        }
        // A file is a part of its own, named by `attach://NAME` in its field.
        for v in out.values_mut() {
            if let Some(name) = v.as_str().and_then(|s| s.strip_prefix("attach://"))
                && let Some((f, bytes)) = files.remove(name)
            {
                *v = json!({"filename": f, "bytes": bytes});
            }
        }
        for (name, (f, bytes)) in files {
            out.insert(name, json!({"filename": f, "bytes": bytes}));
        }
        return Value::Object(out);
    }
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap();
    if body.is_empty() {
        return json!({});
    }
    serde_json::from_slice(&body).unwrap_or(json!({}))
}

async fn method(
    State(state): State<Arc<ApiState>>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    // teloxide names methods `GetMe`; Telegram's method names are case-insensitive.
    let method = {
        let mut c = method.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect::<String>(),
            None => method,
        }
    };
    let p = params(req).await;
    let failure = take_failure(&state, &method);
    let status = match failure {
        Some(Fail::TooManyRequests(_)) => 429,
        Some(Fail::Blocked) => 403,
        None => 200,
    };
    if method != "getUpdates" {
        state.calls.lock().unwrap().push(Call {
            method: method.clone(),
            params: p.clone(),
            at: Instant::now(),
            status,
        });
        state.changed.notify_waiters();
    }
    match failure {
        Some(Fail::TooManyRequests(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {secs}"),
                    "parameters": {"retry_after": secs}})),
            )
                .into_response();
        }
        Some(Fail::Blocked) => {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"ok": false, "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user"})),
            )
                .into_response();
        }
        None => {}
    }
    match method.as_str() {
        "getMe" => ok(json!({"id": BOT_ID, "is_bot": true, "first_name": "PST Bot",
            "username": BOT_USERNAME, "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false})),
        "deleteWebhook" | "setWebhook" | "answerCallbackQuery" => ok(json!(true)),
        "getUpdates" => get_updates(&state, &p).await,
        "sendMessage" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let html = p["text"].as_str().unwrap_or("").to_string();
            let text = if p["parse_mode"] == json!("HTML") {
                visible(&html)
            } else {
                html.clone()
            };
            let mid = state.next_message.fetch_add(1, Ordering::SeqCst);
            let mut m = json!({"message_id": mid, "date": now(), "chat": chat(chat_id),
                "from": bot_user(), "text": text});
            let markup = p.get("reply_markup").cloned();
            if let Some(kb) = markup.as_ref().filter(|k| k.get("inline_keyboard").is_some()) {
                m["reply_markup"] = kb.clone();
            }
            state.sent.lock().unwrap().push(Sent {
                message_id: mid,
                chat: chat_id,
                html,
                text,
                parse_mode: p["parse_mode"].as_str().map(str::to_string),
                reply_markup: markup,
                document: None,
                json: m.clone(),
            });
            state.changed.notify_waiters();
            ok(m)
        }
        "sendDocument" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let name = p["document"]["filename"].as_str().unwrap_or("").to_string();
            let bytes: Vec<u8> = serde_json::from_value(p["document"]["bytes"].clone()).unwrap_or_default();
            let mid = state.next_message.fetch_add(1, Ordering::SeqCst);
            let m = json!({"message_id": mid, "date": now(), "chat": chat(chat_id), "from": bot_user(),
                "document": {"file_id": format!("SENT-{mid}"), "file_unique_id": format!("s{mid}"),
                    "file_name": name, "file_size": bytes.len()}});
            state.sent.lock().unwrap().push(Sent {
                message_id: mid,
                chat: chat_id,
                html: String::new(),
                text: format!("[document {name}]"),
                parse_mode: None,
                reply_markup: None,
                document: Some((name, bytes)),
                json: m.clone(),
            });
            state.changed.notify_waiters();
            ok(m)
        }
        "editMessageReplyMarkup" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let mid = p["message_id"].as_i64().unwrap_or(0);
            let mut sent = state.sent.lock().unwrap();
            let Some(s) = sent
                .iter_mut()
                .find(|s| s.chat == chat_id && s.message_id == mid)
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: message to edit not found"})),
                )
                    .into_response();
            };
            s.reply_markup = p.get("reply_markup").cloned();
            match &s.reply_markup {
                Some(kb) => s.json["reply_markup"] = kb.clone(),
                None => {
                    s.json.as_object_mut().unwrap().remove("reply_markup");
                }
            }
            ok(s.json.clone())
        }
        "getFile" => {
            let id = p["file_id"].as_str().unwrap_or("").to_string();
            match state.files.lock().unwrap().get(&id) {
                Some((path, bytes)) => ok(json!({"file_id": id, "file_unique_id": format!("u{id}"),
                    "file_size": bytes.len(), "file_path": path})),
                None => (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"})),
                )
                    .into_response(),
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})),
        )
            .into_response(),
    }
}

/// `getUpdates`: confirms everything below `offset`, then returns what is left, waiting up
/// to `timeout` seconds for something new.
async fn get_updates(state: &Arc<ApiState>, p: &Value) -> Response {
    let offset = p["offset"].as_i64();
    let limit = p["limit"].as_u64().unwrap_or(100) as usize;
    let timeout = p["timeout"].as_u64().unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = state.new_update.notified();
        let batch: Vec<Value> = {
            let mut pending = state.pending.lock().unwrap();
            let o = offset.unwrap_or(0);
            if !state.hold.load(Ordering::SeqCst) {
                let before = pending.len();
                pending.retain(|u| u["update_id"].as_i64().unwrap() >= o);
                if pending.len() != before {
                    state.changed.notify_waiters();
                }
            }
            pending
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap() >= o)
                .take(limit)
                .cloned()
                .collect()
        };
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut handed = state.handed_out.lock().unwrap();
            for u in &batch {
                *handed
                    .entry(u["update_id"].as_u64().unwrap() as u32)
                    .or_default() += 1;
            }
            drop(handed);
            state.changed.notify_waiters();
            return ok(Value::Array(batch));
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

async fn download(
    State(state): State<Arc<ApiState>>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let files = state.files.lock().unwrap();
    match files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
