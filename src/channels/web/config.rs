//! `[webchat]`: whether the chat page and its API are served, the public address behind a
//! proxy, the rate limits, the session's life and who may frame the widget.

use crate::config::{Config, ConfigError, Read, Section};
use serde::Deserialize;

/// The web chat on `pstbot serve` (docs/channels/web-chat.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebchatConfig {
    /// Serve the chat page (`/`, `/chat`), the widget (`/widget.js`) and its API.
    pub enabled: bool,
    /// The address visitors use (`https://pst.example.go.id`), when pstbot runs behind a reverse
    /// proxy: posts must come from this origin, and an `https` address makes the session
    /// cookie `Secure`. Without it, the request's own `Host` is the expected origin.
    pub public_url: Option<String>,
    /// Take the client address for the per-IP limit from `X-Forwarded-For` (and the scheme
    /// from `X-Forwarded-Proto`), set by a reverse proxy in front of pstbot. Leave off when
    /// browsers reach pstbot directly, or anyone could pick their own address.
    pub trust_proxy_headers: bool,
    /// Messages (text, choices, files) per minute from one session, and from one IP address.
    pub messages_per_minute_per_session: u32,
    pub messages_per_minute_per_ip: u32,
    /// New sessions per minute from one IP address.
    pub sessions_per_minute_per_ip: u32,
    /// How long a session cookie lasts, in days: a visitor coming back within it sees their
    /// conversation.
    pub session_days: u32,
    /// Who may show `/chat` in a frame (the widget): the CSP `frame-ancestors` value.
    pub frame_ancestors: String,
    /// Open event streams (live updates) at once from one session, and from one IP address.
    /// A page keeps one; a few tabs of the same visitor keep a few.
    pub event_streams_per_session: u32,
    pub event_streams_per_ip: u32,
    /// File downloads per minute from one session.
    pub downloads_per_minute_per_session: u32,
}

impl Default for WebchatConfig {
    fn default() -> Self {
        WebchatConfig {
            enabled: true,
            public_url: None,
            trust_proxy_headers: false,
            messages_per_minute_per_session: 30,
            messages_per_minute_per_ip: 120,
            sessions_per_minute_per_ip: 20,
            session_days: 90,
            frame_ancestors: "*".into(),
            event_streams_per_session: 6,
            event_streams_per_ip: 100,
            downloads_per_minute_per_session: 30,
        }
    }
}

impl Section for WebchatConfig {
    const NAME: &'static str = "webchat";
}

impl WebchatConfig {
    /// `[webchat]` checked; the defaults (served) when the file has no such section.
    pub fn read(config: &Config) -> Result<Read<WebchatConfig>, ConfigError> {
        let sections = &config.channels;
        let read = sections
            .read::<WebchatConfig>()?
            .unwrap_or_else(Read::empty);
        read.value.validate().map_err(|p| sections.error(p))?;
        Ok(read)
    }

    /// Checks the values an office may get wrong.
    fn validate(&self) -> Result<(), String> {
        if let Some(u) = &self.public_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(format!(
                "`webchat.public_url`: `{u}` must start with https:// (or http:// for a test)"
            ));
        }
        for (k, v) in [
            (
                "messages_per_minute_per_session",
                self.messages_per_minute_per_session,
            ),
            (
                "messages_per_minute_per_ip",
                self.messages_per_minute_per_ip,
            ),
            (
                "sessions_per_minute_per_ip",
                self.sessions_per_minute_per_ip,
            ),
            ("session_days", self.session_days),
            ("event_streams_per_session", self.event_streams_per_session),
            ("event_streams_per_ip", self.event_streams_per_ip),
            (
                "downloads_per_minute_per_session",
                self.downloads_per_minute_per_session,
            ),
        ] {
            if v == 0 {
                return Err(format!("`webchat.{k}` must be at least 1"));
            }
        }
        if self.frame_ancestors.contains([';', '\n', '\r']) {
            return Err("`webchat.frame_ancestors` must be a list of sources, without `;`".into());
        }
        Ok(())
    }
}
