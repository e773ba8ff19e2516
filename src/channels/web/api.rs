//! The web chat's HTTP API (`/api/web/…`), used by the page in `web/`:
//!
//! | route | what |
//! |---|---|
//! | `GET /api/web/config` | office name, service hours, languages, page texts, limits |
//! | `POST /api/web/session` | resumes the session of the page's token or cookie, or starts one (sets the cookie; the token is in the answer too) |
//! | `GET /api/web/history` | the session's last messages |
//! | `POST /api/web/messages` | `{id, text}` or `{id, choice, label}` (`silent`: not shown as typed) |
//! | `POST /api/web/files` | multipart `id` + `file` |
//! | `GET /api/web/files/{blob}` | a file of the session's conversation |
//! | `GET /api/web/events?after=N` | Server-Sent Events: each new message, `id` = its sequence |
//!
//! Posts answer with the messages they added to the log (the visitor's and the bot's replies);
//! the same messages also arrive on the event stream, so a page dedupes them by sequence.

use super::guard::{self, Refusal};
use super::{HISTORY, WebChat, entry_of, identity, mark_sent, row_key};
use crate::message::{Attachment, InboundBody, InboundMessage};
use crate::store::{WebLogEntry, WebSession};
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) type Shared = State<Arc<WebChat>>;

/// A handler's result: its JSON, or a refusal worded for the visitor.
pub struct Answer(Result<Response, Refusal>, Arc<WebChat>);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut resp = match self.0 {
            Ok(r) => r,
            // While the store cannot write, a failure is that: "try again shortly", with 503.
            Err(refusal)
                if refusal.status == StatusCode::INTERNAL_SERVER_ERROR
                    && self.1.rt.store.trouble().is_some() =>
            {
                Refusal::unavailable().render(&self.1.texts)
            }
            Err(refusal) => refusal.render(&self.1.texts),
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// A log entry as the page reads it.
pub fn entry_json(seq: u64, e: &WebLogEntry) -> Value {
    json!({
        "seq": seq,
        "at": e.at.to_rfc3339(),
        "visitor": e.visitor,
        "officer": e.officer,
        "text": e.text,
        "choices": e.choices.iter().map(|c| json!({"value": c.value, "label": c.label})).collect::<Vec<_>>(),
        "files": e.files.iter().map(|f| json!({
            "name": f.filename,
            "size": f.size,
            "url": format!("/api/web/files/{}", f.blob),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/web/config`: what the page shows before the conversation.
pub async fn config(State(chat): Shared) -> Response {
    let bot = &chat.rt.bot;
    let max_mb = bot.max_attachment_bytes.div_ceil(1024 * 1024);
    let types = guard::accepted_types().join(", ").to_uppercase();
    let texts: serde_json::Map<String, Value> = bot
        .languages
        .iter()
        .map(|l| {
            let vars = [
                ("hours", bot.calendar.hours_text(l)),
                ("mb", max_mb.to_string()),
                ("types", types.clone()),
            ];
            let t: serde_json::Map<String, Value> = chat
                .texts
                .system
                .keys()
                .filter(|k| k.starts_with("web_"))
                .map(|k| {
                    (
                        k.trim_start_matches("web_").to_string(),
                        crate::text::fill(&chat.texts.get(k, l), &vars).into(),
                    )
                })
                .collect();
            (l.clone(), Value::Object(t))
        })
        .collect();
    // The hint an optional question carries: the page offers a skip button with it.
    let skip_hint: serde_json::Map<String, Value> = bot
        .languages
        .iter()
        .map(|l| (l.clone(), chat.texts.get("skip_hint", l).into()))
        .collect();
    let mut resp = Json(json!({
        "office": bot.office_name,
        "skip_hint": skip_hint,
        "address": bot.office_address,
        "languages": bot.languages,
        "default_language": bot.default_lang(),
        "texts": texts,
        "max_upload_bytes": bot.max_attachment_bytes,
        "max_upload_mb": max_mb,
        "accept": guard::accepted_types().iter().map(|t| format!(".{t}")).collect::<Vec<_>>().join(","),
        "max_message_chars": bot.max_message_chars,
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `POST /api/web/session`: the session of the cookie, or a new one with its cookie.
pub async fn session(State(chat): Shared, peer: guard::Peer, headers: HeaderMap) -> Answer {
    let c = chat.clone();
    Answer(start_session(&c, peer, &headers), chat)
}

fn start_session(
    chat: &WebChat,
    peer: guard::Peer,
    headers: &HeaderMap,
) -> Result<Response, Refusal> {
    guard::same_origin(&chat.config, headers)?;
    let https = guard::is_https(&chat.config, headers);
    if let Some(token) = guard::request_token(chat, headers)
        && chat.session_of(&token)?.is_some()
    {
        // The page keeps the token in its own storage too (a frame on another site gets no
        // cookie); only a same-origin page can read this answer.
        return Ok(Json(json!({ "resumed": true, "token": token })).into_response());
    }
    chat.limits
        .new_session(guard::client_ip(&chat.config, headers, peer))?;
    let token = super::new_token().map_err(|e| {
        tracing::error!(error = %e, "web chat: the system's random source failed");
        Refusal::server()
    })?;
    let id = super::session_id(&token);
    chat.rt.store.put_web_session(&WebSession {
        id: id.clone(),
        created_at: chat.rt.clock.now(),
    })?;
    chat.rt.store.flush()?;
    tracing::info!(session = %crate::message::mask(&id), "web chat: new session");
    // Over https the `__Host-` name: Secure, Path=/ and no Domain, so no sibling subdomain
    // can set or overwrite it.
    let mut cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        super::cookie_name(https),
        u64::from(chat.config.session_days) * 86_400
    );
    if https {
        cookie.push_str("; Secure");
    }
    let mut resp = Json(json!({ "resumed": false, "token": token })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| Refusal::server())?,
    );
    Ok(resp)
}

/// `GET /api/web/history`: the last messages of the session.
pub async fn history(State(chat): Shared, headers: HeaderMap) -> Answer {
    let r = (|| {
        let session = guard::session(&chat, &headers)?;
        let log = chat.rt.store.web_log_tail(&session, HISTORY)?;
        let messages: Vec<Value> = log.iter().map(|(s, e)| entry_json(*s, e)).collect();
        Ok(Json(json!({ "messages": messages })).into_response())
    })();
    Answer(r, chat)
}

/// The body of `POST /api/web/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostedMessage {
    /// Chosen by the page, unique per message: a message posted twice is handled once.
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    /// The value of a pressed button, with its label to show.
    #[serde(default)]
    pub choice: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    /// Sent by the page itself (opening the menu, switching language): not shown as typed.
    #[serde(default)]
    pub silent: bool,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /api/web/messages`.
pub async fn message(
    State(chat): Shared,
    peer: guard::Peer,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Answer {
    let r = match body {
        Ok(body) => post_message(&chat, peer, &headers, &body).await,
        // Over the route's body limit: far more than the longest message allowed.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "web_error_too_long",
        )
        .with("max", chat.rt.bot.max_message_chars)),
        Err(_) => Err(Refusal::bad_request()),
    };
    Answer(r, chat)
}

async fn post_message(
    chat: &WebChat,
    peer: guard::Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Refusal> {
    guard::same_origin(&chat.config, headers)?;
    let session = guard::session(chat, headers)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(Refusal::bad_request());
    }
    let posted: PostedMessage = serde_json::from_slice(body).map_err(|_| Refusal::bad_request())?;
    if !valid_id(&posted.id) {
        return Err(Refusal::bad_request());
    }
    let max = chat.rt.bot.max_message_chars;
    let too_long = |s: &str| s.chars().count() > max;
    let (body, shown) = match (&posted.text, &posted.choice) {
        (Some(t), None) => {
            if too_long(t) {
                return Err(
                    Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "web_error_too_long")
                        .with("max", max),
                );
            }
            if t.trim().is_empty() {
                return Err(Refusal::bad_request());
            }
            (InboundBody::Text(t.clone()), t.clone())
        }
        (None, Some(c)) => {
            if too_long(c) || posted.label.as_deref().is_some_and(too_long) {
                return Err(
                    Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "web_error_too_long")
                        .with("max", max),
                );
            }
            let label = posted.label.clone().unwrap_or_else(|| c.clone());
            (InboundBody::Choice(c.clone()), label)
        }
        _ => return Err(Refusal::bad_request()),
    };
    chat.limits
        .message(&session, guard::client_ip(&chat.config, headers, peer))?;
    let entry = (!posted.silent).then(|| WebLogEntry {
        at: chat.rt.clock.now(),
        visitor: true,
        text: shown,
        choices: Vec::new(),
        files: Vec::new(),
        officer: false,
    });
    let out = converse(chat, &session, &posted.id, body, entry).await?;
    Ok(Json(json!({ "messages": out })).into_response())
}

/// Logs what the visitor sent, lets the runtime handle it, and delivers the replies to the
/// visitor into the log at once (other messages, e.g. to the officers, go by the outbox).
async fn converse(
    chat: &WebChat,
    session: &str,
    id: &str,
    body: InboundBody,
    visitor_entry: Option<WebLogEntry>,
) -> Result<Vec<Value>, Refusal> {
    let _turn = chat.turn(session).lock().await;
    let mut out = Vec::new();
    if let Some(e) = visitor_entry {
        let seq = chat.log(session, &format!("in:{id}"), e.clone())?;
        out.push(entry_json(seq, &e));
    }
    let who = identity(session);
    let msg = InboundMessage {
        id: format!("{session}/{id}"),
        from: who.clone(),
        body,
        reply_to: None,
        trust: crate::message::Trust::Proven,
    };
    // The rows' idempotency keys, as the commit gave them (`web:SESSION/ID#N`): the store
    // numbers every row a commit queues, in order (`OutboxRow::key_for`), and `handle_queued`
    // returns them all in that order (throttled too; none for a duplicate). The delivery
    // record keeps the key, as the outbox worker's does.
    let dedupe = crate::store::DedupeKey::new(&who, &msg.id);
    let queued = chat.rt.handle_queued(msg).await.map_err(|e| {
        chat.rt.log_unhandled("web chat", &who, &e);
        let engine = matches!(
            e,
            crate::runtime::RuntimeError::Store(crate::store::StoreError::Engine(_))
        );
        if engine || chat.rt.store.trouble().is_some() {
            Refusal::unavailable()
        } else {
            Refusal::server()
        }
    })?;
    for (n, (row, m)) in queued.into_iter().enumerate() {
        if m.to != who {
            continue;
        }
        let entry = entry_of(&m, chat.rt.clock.now());
        let seq = chat.log(session, &row_key(row), entry.clone())?;
        let key = crate::store::OutboxRow::key_for(&dedupe.0, n);
        mark_sent(&chat.rt, row, key, &who, seq)?;
        out.push(entry_json(seq, &entry));
    }
    Ok(out)
}

/// `POST /api/web/files`: multipart with the fields `id` and `file`.
pub async fn upload(
    State(chat): Shared,
    peer: guard::Peer,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Answer {
    let r = post_file(&chat, peer, &headers, multipart).await;
    Answer(r, chat)
}

async fn post_file(
    chat: &WebChat,
    peer: guard::Peer,
    headers: &HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, Refusal> {
    guard::same_origin(&chat.config, headers)?;
    let session = guard::session(chat, headers)?;
    let max = chat.rt.bot.max_attachment_bytes;
    let too_big = || {
        Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "web_error_too_big")
            .with("mb", max.div_ceil(1024 * 1024))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + MULTIPART_OVERHEAD) {
        return Err(too_big());
    }
    let mut multipart = multipart.map_err(|_| Refusal::bad_request())?;
    chat.limits
        .message(&session, guard::client_ip(&chat.config, headers, peer))?;
    let mut id = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    let field_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            Refusal::bad_request()
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(field_error)? {
        match field.name() {
            Some("id") => {
                let v = field.text().await.map_err(field_error)?;
                id = Some(v);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_string();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(field_error)? {
                    if (bytes.len() + chunk.len()) as u64 > max {
                        return Err(too_big());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, bytes));
            }
            _ => return Err(Refusal::bad_request()),
        }
    }
    let (Some(id), Some((name, bytes))) = (id, file) else {
        return Err(Refusal::bad_request());
    };
    if !valid_id(&id) || bytes.is_empty() {
        return Err(Refusal::bad_request());
    }
    let mime = guard::file_type(&name, &bytes)?;
    let attachment = Attachment {
        filename: crate::runtime::sanitize_filename(&name),
        mime: mime.to_string(),
        bytes,
    };
    let (aref, _) = crate::runtime::attachment_ref(&attachment);
    let entry = WebLogEntry {
        at: chat.rt.clock.now(),
        visitor: true,
        text: aref.filename.clone(),
        choices: Vec::new(),
        files: vec![aref],
        officer: false,
    };
    let out = converse(
        chat,
        &session,
        &id,
        InboundBody::Attachment(attachment),
        Some(entry),
    )
    .await?;
    Ok(Json(json!({ "messages": out })).into_response())
}

/// Room for the multipart framing and the `id` field around a file of the largest size.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// `GET /api/web/files/{blob}`: a file that is part of this session's conversation (found
/// through the session's file index, not by reading its log; a few downloads a minute).
pub async fn download(State(chat): Shared, headers: HeaderMap, Path(blob): Path<String>) -> Answer {
    let r: Result<Response, Refusal> = async {
        let session = guard::session(&chat, &headers)?;
        chat.limits.download(&session)?;
        let not_found = || Refusal::new(StatusCode::NOT_FOUND, "web_error_bad_request");
        let f = chat
            .files
            .find(chat.rt.store.as_ref(), &session, &blob)
            .await?
            .ok_or_else(not_found)?;
        let bytes = chat.rt.store.blob(&f.blob)?.ok_or_else(not_found)?;
        let ascii: String = f
            .filename
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut resp = bytes.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&f.mime)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Ok(resp)
    }
    .await;
    Answer(r, chat)
}
