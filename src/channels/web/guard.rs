//! What refuses a web chat request before it reaches the runtime: cross-site posts (CSRF),
//! missing or unknown sessions, oversized messages and files, file types, and rates per session
//! and per IP address. Every refusal is a JSON body with the reason in each language
//! (`{"error": key, "message": {"id": …, "en": …}}`) and a fitting status; nothing is changed.

use super::config::WebchatConfig;
use super::{WebChat, cookie_name};
use crate::text::{Texts, fill};
use axum::Json;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// The header the chat page sends with every post. A cross-site form cannot set it, and a
/// cross-site script cannot either without a CORS preflight this server never grants.
pub const CSRF_HEADER: &str = "x-pstbot-chat";

/// A refused request: its status, the system text explaining it, the text's values.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub key: &'static str,
    pub vars: Vec<(&'static str, String)>,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(status: StatusCode, key: &'static str) -> Refusal {
        Refusal {
            status,
            key,
            vars: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Refusal {
        self.vars.push((name, value.to_string()));
        self
    }

    /// The error key a client can test, derived from the text's key (`web_error_rate` → `rate`).
    pub fn code(&self) -> &'static str {
        self.key.trim_start_matches("web_error_")
    }

    pub fn bad_request() -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "web_error_bad_request")
    }

    pub fn session() -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, "web_error_session")
    }

    pub fn server() -> Refusal {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "web_error_server")
    }

    /// The service cannot take new work for a while (the store cannot write): 503, and the
    /// person is asked to try again shortly.
    pub fn unavailable() -> Refusal {
        let mut r = Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "web_error_server");
        r.retry_after = Some(Duration::from_secs(5));
        r
    }

    fn rate(wait: Duration) -> Refusal {
        let seconds = wait.as_secs().max(1);
        let mut r =
            Refusal::new(StatusCode::TOO_MANY_REQUESTS, "web_error_rate").with("seconds", seconds);
        r.retry_after = Some(Duration::from_secs(seconds));
        r
    }

    /// The JSON answer, worded in every language of the bot.
    pub fn render(&self, texts: &Texts) -> Response {
        let vars: Vec<(&str, String)> = self.vars.iter().map(|(k, v)| (*k, v.clone())).collect();
        let message: serde_json::Map<String, serde_json::Value> = texts
            .languages
            .iter()
            .map(|l| (l.clone(), fill(&texts.get(self.key, l), &vars).into()))
            .collect();
        let mut resp = (
            self.status,
            Json(serde_json::json!({ "error": self.code(), "message": message })),
        )
            .into_response();
        if let Some(wait) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<crate::store::StoreError> for Refusal {
    /// The storage engine could not read or write (a full disk, a database that is down):
    /// 503 "try again shortly" from the first such request, whether or not the store has
    /// flagged its trouble yet (issue 17, item 6; a PostgreSQL store never flags it). Other
    /// store errors (a record that cannot be read) are ours: 500.
    fn from(e: crate::store::StoreError) -> Refusal {
        if matches!(e, crate::store::StoreError::Engine(_)) {
            // Disk trouble is logged once by the store.
            tracing::debug!(error = %e, "web chat: store error");
            Refusal::unavailable()
        } else {
            tracing::error!(error = %e, "web chat: store error");
            Refusal::server()
        }
    }
}

/// Per-session and per-IP rate limiters.
pub struct Limits {
    per_session: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    sessions_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    downloads_per_session: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

impl Limits {
    pub fn new(c: &WebchatConfig) -> Limits {
        Limits {
            per_session: DefaultKeyedRateLimiter::keyed(per_minute(
                c.messages_per_minute_per_session,
            )),
            per_ip: DefaultKeyedRateLimiter::keyed(per_minute(c.messages_per_minute_per_ip)),
            sessions_per_ip: DefaultKeyedRateLimiter::keyed(per_minute(
                c.sessions_per_minute_per_ip,
            )),
            downloads_per_session: DefaultKeyedRateLimiter::keyed(per_minute(
                c.downloads_per_minute_per_session,
            )),
        }
    }

    /// Takes a message slot for this session and address, or refuses with the wait.
    pub fn message(&self, session: &str, ip: IpAddr) -> Result<(), Refusal> {
        let now = DefaultClock::default().now();
        self.per_ip
            .check_key(&ip)
            .map_err(|nu| Refusal::rate(nu.wait_time_from(now)))?;
        self.per_session
            .check_key(&session.to_string())
            .map_err(|nu| Refusal::rate(nu.wait_time_from(now)))?;
        self.forget_idle();
        Ok(())
    }

    /// Takes a new-session slot for this address.
    pub fn new_session(&self, ip: IpAddr) -> Result<(), Refusal> {
        let now = DefaultClock::default().now();
        self.sessions_per_ip
            .check_key(&ip)
            .map_err(|nu| Refusal::rate(nu.wait_time_from(now)))?;
        self.forget_idle();
        Ok(())
    }

    /// Takes a download slot for this session, or refuses with the wait.
    pub fn download(&self, session: &str) -> Result<(), Refusal> {
        let now = DefaultClock::default().now();
        self.downloads_per_session
            .check_key(&session.to_string())
            .map_err(|nu| Refusal::rate(nu.wait_time_from(now)))?;
        if self.downloads_per_session.len() > 10_000 {
            self.downloads_per_session.retain_recent();
        }
        Ok(())
    }

    /// Keeps the limiters' memory bounded: keys whose limit has fully recovered are dropped.
    fn forget_idle(&self) {
        if self.per_session.len() > 10_000 {
            self.per_session.retain_recent();
        }
        if self.per_ip.len() > 10_000 {
            self.per_ip.retain_recent();
            self.sessions_per_ip.retain_recent();
        }
    }
}

/// The open event streams, counted per session and per IP address, so that one page (or one
/// script with a stolen or its own session) cannot hold thousands of them open (issue 17,
/// item 4). A slot is given back when its stream ends.
#[derive(Default)]
pub struct Streams {
    counts: std::sync::Arc<std::sync::Mutex<StreamCounts>>,
}

#[derive(Default)]
struct StreamCounts {
    per_session: std::collections::HashMap<String, usize>,
    per_ip: std::collections::HashMap<IpAddr, usize>,
}

/// One open event stream; dropping it frees its place.
pub struct StreamSlot {
    counts: std::sync::Arc<std::sync::Mutex<StreamCounts>>,
    session: String,
    ip: IpAddr,
}

impl Streams {
    /// Takes a place for a new stream of `session` from `ip`, or refuses with 429 when the
    /// session or the address has as many open as `cfg` allows.
    pub fn open(
        &self,
        cfg: &WebchatConfig,
        session: &str,
        ip: IpAddr,
    ) -> Result<StreamSlot, Refusal> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let of_session = c.per_session.get(session).copied().unwrap_or(0);
        let of_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
        if of_session >= cfg.event_streams_per_session as usize
            || of_ip >= cfg.event_streams_per_ip as usize
        {
            tracing::info!(
                session = %crate::message::mask(session),
                "web chat: too many open event streams; one more refused"
            );
            return Err(Refusal::rate(Duration::from_secs(30)));
        }
        *c.per_session.entry(session.to_string()).or_insert(0) += 1;
        *c.per_ip.entry(ip).or_insert(0) += 1;
        Ok(StreamSlot {
            counts: self.counts.clone(),
            session: session.to_string(),
            ip,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = c.per_session.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                c.per_session.remove(&self.session);
            }
        }
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// The connection's peer address, when the server records it (`pstbot serve` does; a test
/// router may not).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The client's address: the connection's peer, or the last `X-Forwarded-For` hop when a
/// trusted reverse proxy sets it.
pub fn client_ip(cfg: &WebchatConfig, headers: &HeaderMap, peer: Peer) -> IpAddr {
    if cfg.trust_proxy_headers
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.0
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whether the visitor reached us over https (for the cookie's `Secure` flag).
pub fn is_https(cfg: &WebchatConfig, headers: &HeaderMap) -> bool {
    if cfg
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        return true;
    }
    cfg.trust_proxy_headers
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Refuses a post that a browser says comes from another site, whose `Origin` is not this
/// server, or that lacks the chat page's header.
pub fn same_origin(cfg: &WebchatConfig, headers: &HeaderMap) -> Result<(), Refusal> {
    let refuse = || Refusal::new(StatusCode::FORBIDDEN, "web_error_cross_site");
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(refuse());
    }
    if let Some(origin) = text("origin") {
        let origin = origin.trim_end_matches('/');
        let expected_public = cfg
            .public_url
            .as_deref()
            .map(|u| public_origin(u).to_string());
        let host_matches = text("host").is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
        });
        let ok = match expected_public {
            Some(p) => origin.eq_ignore_ascii_case(&p),
            None => host_matches,
        };
        if !ok {
            return Err(refuse());
        }
    }
    if text(CSRF_HEADER) != Some("1") {
        return Err(refuse());
    }
    Ok(())
}

/// `https://host[:port]` of a URL (without its path).
fn public_origin(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

/// The session token from the request's cookies: over https only the `__Host-` cookie (a
/// plain-named one may have been planted by a sibling subdomain).
pub fn cookie_token(headers: &HeaderMap, https: bool) -> Option<String> {
    let name = cookie_name(https);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The header in which the chat page sends the session token it keeps in its own storage. It
/// works where the cookie is not sent (a frame on another site), and like the page's mark it
/// cannot be set by another site's page, so it needs no CSRF defence of its own.
pub const SESSION_HEADER: &str = "x-pstbot-session";

/// The session token of a request: the page's header, else its cookie.
pub fn request_token(chat: &WebChat, headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| cookie_token(headers, is_https(&chat.config, headers)))
}

/// The session of the request's cookie, or a 401.
pub fn session(chat: &WebChat, headers: &HeaderMap) -> Result<String, Refusal> {
    let token = request_token(chat, headers).ok_or_else(Refusal::session)?;
    match chat.session_of(&token)? {
        Some(s) => Ok(s.id),
        None => {
            tracing::info!("web chat: request with an unknown session token refused");
            Err(Refusal::session())
        }
    }
}

/// The file types a visitor may upload, as extensions (`pdf`, `docx`, …).
pub fn accepted_types() -> &'static [&'static str] {
    &crate::message::DEFAULT_FILE_TYPES
}

/// Checks an upload's type by its extension and its first bytes (a renamed program is not a
/// PDF). Returns the MIME type to record.
pub fn file_type(filename: &str, bytes: &[u8]) -> Result<&'static str, Refusal> {
    let types = accepted_types().join(", ").to_uppercase();
    let refuse = || {
        Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "web_error_file_type")
            .with("types", types.clone())
    };
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .ok_or_else(refuse)?;
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let (mime, ok) = match ext.as_str() {
        "pdf" => ("application/pdf", starts(b"%PDF-")),
        "png" => ("image/png", starts(b"\x89PNG\r\n\x1a\n")),
        "jpg" | "jpeg" => ("image/jpeg", starts(&[0xFF, 0xD8, 0xFF])),
        "doc" => ("application/msword", starts(&[0xD0, 0xCF, 0x11, 0xE0])),
        "xls" => (
            "application/vnd.ms-excel",
            starts(&[0xD0, 0xCF, 0x11, 0xE0]),
        ),
        "docx" => (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            starts(b"PK\x03\x04"),
        ),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            starts(b"PK\x03\x04"),
        ),
        _ => ("", false),
    };
    if ok && accepted_types().contains(&ext.as_str()) {
        Ok(mime)
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let cfg = WebchatConfig::default();
        let ok = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
            (CSRF_HEADER, "1"),
        ]);
        assert!(same_origin(&cfg, &ok).is_ok());
        let other_site = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
            (CSRF_HEADER, "1"),
        ]);
        assert!(same_origin(&cfg, &other_site).is_err());
        let fetch_says = headers(&[("sec-fetch-site", "cross-site"), (CSRF_HEADER, "1")]);
        assert!(same_origin(&cfg, &fetch_says).is_err());
        let no_header = headers(&[("host", "127.0.0.1:8080")]);
        assert!(same_origin(&cfg, &no_header).is_err());
        let behind_proxy = WebchatConfig {
            public_url: Some("https://pst.example.go.id/".into()),
            ..WebchatConfig::default()
        };
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://pst.example.go.id"),
            (CSRF_HEADER, "1"),
        ]);
        assert!(same_origin(&behind_proxy, &proxied).is_ok());
    }

    #[test]
    fn file_types_are_checked_by_name_and_content() {
        assert_eq!(file_type("a.PDF", b"%PDF-1.4").unwrap(), "application/pdf");
        assert!(file_type("a.pdf", b"MZ\x90\x00").is_err());
        assert!(file_type("a.exe", b"MZ\x90\x00").is_err());
        assert!(file_type("noextension", b"%PDF-1.4").is_err());
        assert!(file_type("a.png", b"\x89PNG\r\n\x1a\n....").is_ok());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=b; pstbot_session=abc ; c=d")]);
        assert_eq!(cookie_token(&h, false).as_deref(), Some("abc"));
        assert_eq!(cookie_token(&headers(&[("cookie", "a=b")]), false), None);
        // Over https only the __Host- cookie counts.
        assert_eq!(cookie_token(&h, true), None);
        let both = headers(&[(
            "cookie",
            "pstbot_session=planted; __Host-pstbot_session=mine",
        )]);
        assert_eq!(cookie_token(&both, true).as_deref(), Some("mine"));
        assert_eq!(cookie_token(&both, false).as_deref(), Some("planted"));
    }
}
