//! The fake providers the bot under load sends its replies to, on 127.0.0.1: the WhatsApp
//! Cloud API (`POST /{version}/{phone_number_id}/messages`) and the Telegram Bot API
//! (`POST /bot{token}/{method}`). Each reply is handed to the simulated person it is
//! addressed to, with the instant it arrived: that is when the reply left the bot's outbox.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const ACCESS_TOKEN: &str = "bench-access-token";
pub const BOT_TOKEN: &str = "123456:BENCH-load-token";
pub const BOT_ID: u64 = 123456;

/// A reply the bot sent to a person.
#[derive(Debug)]
pub struct Reply {
    pub at: Instant,
    pub text: String,
}

/// Who gets which reply: WhatsApp numbers by their digits, Telegram chats as `tg{id}`.
#[derive(Default)]
pub struct Inboxes {
    pub by_address: RwLock<HashMap<String, UnboundedSender<Reply>>>,
    /// Replies addressed to nobody the generator plays (e.g. officers).
    pub unrouted: AtomicU64,
    /// All replies received.
    pub total: AtomicU64,
    /// Requests refused (wrong token, phone number id or method).
    pub refused: AtomicU64,
    next_id: AtomicU64,
}

impl Inboxes {
    pub fn register(&self, address: String, tx: UnboundedSender<Reply>) {
        self.by_address.write().unwrap().insert(address, tx);
    }

    fn deliver(&self, address: &str, text: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let at = Instant::now();
        let sent = match self.by_address.read().unwrap().get(address) {
            Some(tx) => tx.send(Reply { at, text }).is_ok(),
            None => false,
        };
        if !sent {
            self.unrouted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts both fake APIs on `listen`; returns the bound address.
pub async fn start(listen: &str, inboxes: Arc<Inboxes>) -> std::io::Result<SocketAddr> {
    let app = axum::Router::new()
        .route(
            "/{version}/{id}/messages",
            axum::routing::post(graph_messages),
        )
        .route("/{bot}/{method}", axum::routing::post(bot_method))
        .with_state(inboxes);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("fake provider stopped: {e}");
        }
    });
    Ok(addr)
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({"error": {"message": message, "type": "OAuthException", "code": code}})),
    )
        .into_response()
}

/// The text a person sees of a Cloud API message: body, buttons and list rows.
fn whatsapp_text(body: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |v: &Value| {
        if let Some(s) = v.as_str() {
            parts.push(s.to_string());
        }
    };
    push(&body["text"]["body"]);
    let i = &body["interactive"];
    push(&i["header"]["text"]);
    push(&i["body"]["text"]);
    push(&i["footer"]["text"]);
    if let Some(buttons) = i["action"]["buttons"].as_array() {
        buttons.iter().for_each(|b| push(&b["reply"]["title"]));
    }
    if let Some(sections) = i["action"]["sections"].as_array() {
        for s in sections {
            if let Some(rows) = s["rows"].as_array() {
                rows.iter().for_each(|r| push(&r["title"]));
            }
        }
    }
    parts.join("\n")
}

async fn graph_messages(
    State(inboxes): State<Arc<Inboxes>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {ACCESS_TOKEN}"));
    if !authorized {
        inboxes.refused.fetch_add(1, Ordering::Relaxed);
        return graph_error(401, 190, "Error validating access token");
    }
    if id != PHONE_NUMBER_ID || body["messaging_product"] != "whatsapp" {
        inboxes.refused.fetch_add(1, Ordering::Relaxed);
        return graph_error(400, 100, "Unsupported post request");
    }
    let to = body["to"].as_str().unwrap_or("").to_string();
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    inboxes.deliver(&digits, whatsapp_text(&body));
    let n = inboxes.next_id.fetch_add(1, Ordering::Relaxed);
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": digits}],
        "messages": [{"id": format!("wamid.LOAD{n:012}")}]
    }))
    .into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn chat(id: i64) -> Value {
    if id > 0 {
        json!({"id": id, "type": "private", "first_name": "Pengguna"})
    } else {
        json!({"id": id, "type": "supergroup", "title": "PST Petugas"})
    }
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "PST Bot", "username": "pst_load_bot"})
}

/// The visible text of a Bot API HTML text.
fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

async fn bot_method(
    State(inboxes): State<Arc<Inboxes>>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if bot != format!("bot{BOT_TOKEN}") {
        inboxes.refused.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    let p: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(json!({}))
    };
    // teloxide names methods `SendMessage`; Telegram's method names are case-insensitive.
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "PST Bot",
            "username": "pst_load_bot", "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false}),
        ),
        "setwebhook" | "deletewebhook" | "answercallbackquery" => ok(json!(true)),
        "sendmessage" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let html = p["text"].as_str().unwrap_or("");
            let mut text = visible(html);
            if let Some(rows) = p["reply_markup"]["inline_keyboard"].as_array() {
                for b in rows.iter().flat_map(|r| r.as_array().into_iter().flatten()) {
                    if let Some(t) = b["text"].as_str() {
                        text.push('\n');
                        text.push_str(t);
                    }
                }
            }
            let n = inboxes.next_id.fetch_add(1, Ordering::Relaxed) as i64 + 1;
            inboxes.deliver(&format!("tg{chat_id}"), text.clone());
            ok(
                json!({"message_id": n, "date": unix_now(), "chat": chat(chat_id),
                "from": bot_user(), "text": text}),
            )
        }
        "editmessagereplymarkup" | "editmessagetext" => {
            let chat_id = p["chat_id"].as_i64().unwrap_or(0);
            let mid = p["message_id"].as_i64().unwrap_or(1);
            ok(
                json!({"message_id": mid, "date": unix_now(), "chat": chat(chat_id),
                "from": bot_user(), "text": "…"}),
            )
        }
        _ => {
            inboxes.refused.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})),
            )
                .into_response()
        }
    }
}
