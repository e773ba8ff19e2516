//! The chat page, the widget and the privacy page, compiled into the binary from `web/`: the
//! page works offline on the office network (no CDN, no external fonts, no trackers).

use super::WebChat;
use super::{api, events};
use crate::message::escape_html;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../../../web/index.html");
const CHAT_CSS: &str = include_str!("../../../web/chat.css");
const CHAT_JS: &str = include_str!("../../../web/chat.js");
const WIDGET_JS: &str = include_str!("../../../web/widget.js");

/// The routes of the web chat: pages, assets and the API.
pub fn routes(chat: Arc<WebChat>) -> Router {
    let upload_limit = usize::try_from(chat.rt.bot.max_attachment_bytes + api::MULTIPART_OVERHEAD)
        .unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(index))
        .route("/chat", get(index))
        .route("/privacy", get(privacy))
        .route("/widget.js", get(widget))
        .route("/assets/chat.css", get(css))
        .route("/assets/chat.js", get(js))
        .route("/api/web/config", get(api::config))
        .route("/api/web/session", post(api::session))
        .route("/api/web/history", get(api::history))
        .route(
            "/api/web/messages",
            post(api::message).layer(axum::extract::DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/api/web/files",
            post(api::upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/web/files/{blob}", get(api::download))
        .route("/api/web/events", get(events::events))
        .with_state(chat)
}

/// A static asset with its type, a short cache time and the page's security headers.
fn asset(body: &'static str, content_type: &'static str, chat: &WebChat) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if content_type.starts_with("text/html") {
        let csp = format!(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
             frame-ancestors {}",
            chat.config.frame_ancestors
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    resp
}

async fn index(State(chat): State<Arc<WebChat>>) -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8", &chat)
}

async fn css(State(chat): State<Arc<WebChat>>) -> Response {
    asset(CHAT_CSS, "text/css; charset=utf-8", &chat)
}

async fn js(State(chat): State<Arc<WebChat>>) -> Response {
    asset(CHAT_JS, "text/javascript; charset=utf-8", &chat)
}

async fn widget(State(chat): State<Arc<WebChat>>) -> Response {
    // The embedding page's language is unknown: the bubble is labelled in every language.
    let all = |key: &str| crate::channels::in_every_language(&chat.texts, key, &[], " / ");
    let labels = serde_json::json!({
        "open": all("web_open_chat"),
        "title": format!("{} — {}", chat.rt.bot.office_name, all("web_conversation")),
    });
    let body = WIDGET_JS.replace("__PSTBOT_LABELS__", &labels.to_string());
    let mut r = asset("", "text/javascript; charset=utf-8", &chat);
    *r.body_mut() = axum::body::Body::from(body);
    // Other sites load the widget with a <script> tag.
    r.headers_mut().insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    r
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

/// `GET /privacy?lang=en`: the personal data consent text of the guest book (the same words
/// the chat asks consent with), the cookie note, and the way back to the chat.
async fn privacy(State(chat): State<Arc<WebChat>>, Query(q): Query<LangQuery>) -> Response {
    let bot = &chat.rt.bot;
    let lang = q
        .lang
        .filter(|l| bot.languages.contains(l))
        .unwrap_or_else(|| bot.default_lang().to_string());
    let consent = bot
        .dialogs
        .get("guestbook")
        .and_then(|d| d.step("consent"))
        .map(|s| crate::text::pick(&s.prompt, &lang, bot.default_lang()))
        .unwrap_or_default();
    // The explanation without its question ("Apakah Bapak/Ibu setuju? (ya/tidak)"): a static
    // page asks nothing.
    let paragraphs: String = consent
        .lines()
        .filter(|l| !l.trim().is_empty() && !asks(l))
        .map(|l| format!("<p>{}</p>\n", escape_html(&l.replace('*', ""))))
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — {office}</title>\n<link rel=\"stylesheet\" href=\"/assets/chat.css\">\n\
         </head>\n<body class=\"doc\">\n<main class=\"privacy\">\n<h1>{title}</h1>\n\
         <p class=\"office\">{office}</p>\n<p>{intro}</p>\n<blockquote>\n{paragraphs}</blockquote>\n\
         <p>{cookie}</p>\n<p><a href=\"/chat\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        title = escape_html(&chat.texts.get("web_privacy_title", &lang)),
        office = escape_html(&bot.office_name),
        intro = escape_html(&chat.texts.get("web_privacy_intro", &lang)),
        cookie = escape_html(&chat.texts.get("web_privacy_cookie", &lang)),
        back = escape_html(&chat.texts.get("web_back_to_chat", &lang)),
    );
    let mut resp = asset("", "text/html; charset=utf-8", &chat);
    *resp.body_mut() = axum::body::Body::from(page);
    resp
}

/// Whether a line of the consent text is its question (it ends with `?`, perhaps followed by
/// the answers in brackets).
fn asks(line: &str) -> bool {
    let l = line.trim_end();
    let l = match l.rfind('(') {
        Some(i) if l.ends_with(')') => l[..i].trim_end(),
        _ => l,
    };
    l.ends_with('?')
}
