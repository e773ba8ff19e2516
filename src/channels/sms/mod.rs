//! The SMS channel, through a generic HTTP SMS gateway.
//!
//! Inbound: the gateway posts each received SMS to `/webhook/sms` as JSON
//! `{"id": "…", "from": "+62…", "text": "…"}` (or the same fields form-encoded), with the shared
//! secret in the `X-Sms-Secret` header. The secret is checked in constant time; a wrong or
//! missing one gets 401 and changes nothing. The answer is 200 only after the message is
//! handled and on disk; a repeated `id` is recognised and ignored.
//!
//! Outbound: one `POST {gateway_url}` per SMS part with JSON
//! `{"to", "from", "text", "reference", "outbox_id"}` and `Authorization: Bearer {api_key}`;
//! `reference` (the outbox row's idempotency key and the part number) is the same on a resend,
//! so a gateway that keeps references can drop the repeat. 2xx is
//! delivered (its JSON `message_id` or `id` is kept); 429 (with `Retry-After`), 408 and 5xx are
//! retried; other 4xx are permanent. Choices are numbered lines; long texts are split at
//! 160 GSM-7 / 70 UCS-2 characters (153/67 per part with a `(1/3)` marker).

pub mod config;

pub use config::SmsConfig;

use crate::channels::{Context, Started};
use crate::config::{Config, ConfigError, Section};
use crate::message::{ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage};
use crate::outbox::{DeliveryContext, SendError, SendFuture, Sender};
use crate::runtime::Runtime;
use crate::store::OutboxRow;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The GSM 03.38 basic character set (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table (two septets each).
const GSM7_EXT: &str = "^{}\\[~]|€\u{c}";

fn septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXT.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Splits a text into SMS parts: one part of up to 160 GSM-7 septets (70 UCS-2 characters),
/// or parts of 153 (67) with a `(i/n)` marker counted in. Parts break after a space or a line
/// break when one is in the second half of the part, so words stay whole; the parts joined
/// (markers removed) are the text.
pub fn split_sms(text: &str) -> Vec<String> {
    let gsm = text.chars().all(|c| septets(c).is_some());
    let cost = |c: char| {
        if gsm {
            septets(c).unwrap_or(1)
        } else {
            c.len_utf16()
        }
    };
    let total: usize = text.chars().map(cost).sum();
    let (single, multi) = if gsm { (160, 153) } else { (70, 67) };
    if total <= single {
        return vec![text.to_string()];
    }
    // Markers take up to 8 characters ("(12/34) "); reserve them from each part.
    let room = multi - 8;
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars() {
        let k = cost(c);
        if used + k > room {
            // Break after the last space or line break in the second half, if any.
            let at = cur
                .iter()
                .rposition(|x| *x == ' ' || *x == '\n')
                .filter(|i| *i + 1 > cur.len() / 2)
                .map(|i| i + 1)
                .unwrap_or(cur.len());
            let rest = cur.split_off(at);
            parts.push(cur.iter().collect());
            used = rest.iter().map(|x| cost(*x)).sum();
            cur = rest;
        }
        cur.push(c);
        used += k;
    }
    if !cur.is_empty() {
        parts.push(cur.iter().collect());
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("({}/{n}) {p}", i + 1))
        .collect()
}

/// Typographic characters outside GSM-7 replaced by their plain look-alikes, so a reply
/// written with bullets or dashes still goes as 160-character GSM-7 parts instead of
/// 70-character UCS-2 ones (a consent text: 4 SMS instead of 9). Anything else (emoji,
/// other scripts) is left alone; the text is then sent as UCS-2.
pub fn fold_to_gsm(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '•' | '·' | '–' | '—' | '−' => out.push('-'),
            '‘' | '’' | '‚' | '′' => out.push('\''),
            '“' | '”' | '„' | '«' | '»' | '″' => out.push('"'),
            '…' => out.push_str("..."),
            '×' => out.push('x'),
            '✓' | '✔' => out.push('v'),
            '\u{a0}' | '\u{2009}' | '\u{202f}' => out.push(' '),
            '\u{fe0f}' | '\u{200b}' => {}
            _ => out.push(c),
        }
    }
    out
}

/// The plain text of a message for SMS: no markup, choices as numbered lines, files named,
/// typography folded to GSM-7 ([`fold_to_gsm`]).
pub fn render(m: &OutboundMessage) -> String {
    let mut s = m.text.replace('*', "");
    for f in &m.files {
        s.push_str(&format!("\n[berkas/file: {}]", f.filename));
    }
    for (i, c) in m.choices.iter().enumerate() {
        s.push_str(&format!("\n{}. {}", i + 1, c.label));
    }
    fold_to_gsm(&s)
}

/// The sending side: a reqwest client on the gateway URL.
pub struct SmsChannel {
    client: reqwest::Client,
    url: String,
    api_key: String,
    sender: Option<String>,
}

impl SmsChannel {
    pub fn new(url: String, api_key: String, sender: Option<String>, timeout: Duration) -> Self {
        SmsChannel {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a TLS backend is compiled in"),
            url,
            api_key,
            sender,
        }
    }

    async fn send_part(
        &self,
        to: &str,
        text: &str,
        reference: &str,
        outbox_id: u64,
    ) -> Result<Option<String>, SendError> {
        let body = serde_json::json!({
            "to": to,
            "from": self.sender,
            "text": text,
            "reference": reference,
            "outbox_id": outbox_id,
        });
        let resp = self
            .client
            .post(&self.url)
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            let id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message_id").or_else(|| v.get("id")).map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                });
            return Ok(id);
        }
        Err(SendError::from_status(status, &text, retry_after))
    }
}

/// A `Retry-After` header in seconds.
pub fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Network trouble is worth retrying: the provider may be back soon.
pub fn transport_error(e: reqwest::Error) -> SendError {
    SendError::Transient {
        reason: if e.is_timeout() {
            "the provider did not answer in time".into()
        } else if e.is_connect() {
            "cannot connect to the provider".into()
        } else {
            format!("transport error: {e}")
        },
        retry_after: None,
    }
}

impl Sender for SmsChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, _cx: &'a dyn DeliveryContext) -> SendFuture<'a> {
        Box::pin(async move {
            let parts = split_sms(&render(&row.msg));
            let mut first = None;
            for (i, p) in parts.iter().enumerate() {
                let id = self
                    .send_part(
                        &row.msg.to.address,
                        p,
                        &format!("{}/{}", row.key, i + 1),
                        row.id,
                    )
                    .await?;
                first = first.or(id);
            }
            Ok(first.into())
        })
    }
}

/// The webhook's view of the gateway: the shared secret.
#[derive(Clone)]
pub struct SmsWebhook {
    pub rt: Arc<Runtime>,
    pub secret: String,
}

#[derive(Debug, Deserialize)]
struct InboundSms {
    id: String,
    from: String,
    text: String,
}

/// Longest accepted SMS text (ten concatenated parts).
const MAX_TEXT: usize = 1600;

fn answer(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "status": msg }))).into_response()
}

/// Reads a gateway post (a form or JSON with `id`, `from` and `text`) into our message, or
/// says what is wrong with it (and the status to answer with). Pure: the webhook checks the
/// secret first, and the fuzz target calls this directly.
pub fn parse_inbound(body: &[u8], is_form: bool) -> Result<InboundMessage, (StatusCode, String)> {
    let parsed: Result<InboundSms, String> = if is_form {
        serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    let sms = parsed.map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("expected id, from and text: {e}"),
        )
    })?;
    if sms.id.is_empty() || sms.id.len() > 128 {
        return Err((
            StatusCode::BAD_REQUEST,
            "`id` must be 1–128 characters".into(),
        ));
    }
    if sms.text.chars().count() > MAX_TEXT {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "`text` is longer than 1600 characters".into(),
        ));
    }
    let Ok(phone) = crate::message::normalize_phone(&sms.from, false) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "`from` is not a phone number".into(),
        ));
    };
    Ok(InboundMessage {
        id: sms.id,
        from: Identity::new(ChannelKind::Sms, phone),
        body: InboundBody::Text(sms.text),
        reply_to: None,
        trust: crate::message::Trust::Proven,
    })
}

/// The route `POST /webhook/sms`, its body limited to [`crate::channels::MAX_WEBHOOK_BODY`].
pub fn routes(hook: SmsWebhook) -> axum::Router {
    let limit = crate::channels::MAX_WEBHOOK_BODY;
    crate::channels::webhook_route("/webhook/sms", axum::routing::post(webhook), limit, hook)
}

/// The SMS channel as a plug-in: sends through `sms.gateway_url`; receives on
/// `/webhook/sms` when `sms.webhook_secret` is set.
pub struct Plugin;

impl crate::channels::Channel for Plugin {
    fn section(&self) -> Option<&'static str> {
        Some(SmsConfig::NAME)
    }

    fn load(&self, config: &Config) -> Result<Vec<String>, ConfigError> {
        Ok(crate::channels::unknown_keys(SmsConfig::read(config)?))
    }

    fn start(&self, config: &Config, cx: &Context) -> crate::Result<Option<Started>> {
        let Some(sms) = SmsConfig::from_config(config)? else {
            return Ok(None);
        };
        let url = sms
            .gateway_url
            .clone()
            .ok_or_else(|| config.channels.error("`sms.gateway_url` is required"))?;
        let key = sms
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .unwrap_or_default();
        let sender = SmsChannel::new(url, key, sms.sender.clone(), config.delivery.send_timeout);
        let routes = sms.webhook_secret.as_ref().map(|secret| {
            routes(SmsWebhook {
                rt: cx.rt.clone(),
                secret: secret.expose().to_string(),
            })
        });
        Ok(Some(Started {
            senders: vec![(ChannelKind::Sms, Arc::new(sender))],
            routes,
            tasks: Vec::new(),
        }))
    }
}

/// `POST /webhook/sms`.
pub async fn webhook(
    State(hook): State<SmsWebhook>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let given = headers
        .get("x-sms-secret")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if hook.secret.is_empty() || !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        return answer(StatusCode::UNAUTHORIZED, "wrong or missing X-Sms-Secret");
    }
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let msg = match parse_inbound(&body, is_form) {
        Ok(m) => m,
        Err((status, problem)) => return answer(status, &problem),
    };
    let from = msg.from.clone();
    match hook.rt.handle(msg).await {
        Ok(_) => answer(StatusCode::OK, "ok"),
        Err(e) => {
            hook.rt.log_unhandled("sms webhook", &from, &e);
            answer(StatusCode::SERVICE_UNAVAILABLE, "not stored; retry later")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_one_part() {
        assert_eq!(split_sms("Halo"), vec!["Halo".to_string()]);
        let t = "a".repeat(160);
        assert_eq!(split_sms(&t).len(), 1);
    }

    /// The parts' texts joined again without their `(i/n) ` markers.
    fn unmarked(parts: &[String]) -> String {
        parts
            .iter()
            .map(|p| p.split_once(") ").unwrap().1)
            .collect()
    }

    #[test]
    fn long_gsm_texts_split_with_markers() {
        let t = "a".repeat(400);
        let parts = split_sms(&t);
        assert_eq!(parts.len(), 3);
        assert!(parts[0].starts_with("(1/3) "));
        assert!(parts.iter().all(|p| p.chars().count() <= 153));
        assert_eq!(unmarked(&parts), t);
    }

    #[test]
    fn parts_break_between_words() {
        let t = "Sebelum melanjutkan, kami meminta persetujuan Bapak/Ibu untuk memproses data pribadi. ".repeat(4);
        let parts = split_sms(&t);
        assert!(parts.len() > 1);
        for p in &parts[..parts.len() - 1] {
            assert!(p.ends_with(' '), "{p:?}");
        }
        assert_eq!(unmarked(&parts), t);
    }

    #[test]
    fn bullets_and_dashes_keep_a_text_in_gsm_7() {
        let m = OutboundMessage::text(
            Identity::new(ChannelKind::Sms, "+628"),
            "Data pribadi:\n• Tujuan – layanan\n• Hak “Anda” … ×2",
        );
        let s = render(&m);
        assert_eq!(
            s,
            "Data pribadi:\n- Tujuan - layanan\n- Hak \"Anda\" ... x2"
        );
        assert!(s.chars().all(|c| septets(c).is_some()));
        // Emoji stay: that text goes as UCS-2.
        assert_eq!(fold_to_gsm("Terima kasih 🙏"), "Terima kasih 🙏");
    }

    #[test]
    fn unicode_texts_use_the_70_character_limit() {
        let t = "Terima kasih 🙏".repeat(6);
        let parts = split_sms(&t);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= 67));
    }
}
