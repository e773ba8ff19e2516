//! `/webhook/whatsapp`: Meta's verification request and its event posts.
//!
//! - `GET` with `hub.mode=subscribe` and the configured `hub.verify_token` answers 200 with
//!   `hub.challenge`; anything else 403.
//! - `POST`: the body is limited (413 beyond `whatsapp.max_body_bytes`); the
//!   `X-Hub-Signature-256` header must be `sha256=` + hex HMAC-SHA256 of the raw body with
//!   the app secret, checked in constant time before the body is parsed (401 otherwise,
//!   nothing stored); a body that is not a Cloud API payload gets 400. Each message is
//!   handled by the runtime (one durable transaction, deduplicated by `wamid`), files are
//!   downloaded first; statuses update the sent record. The answer is 200 only when all of
//!   it is on disk; otherwise 503 and Meta delivers the post again (what was stored is
//!   recognised by its `wamid`).

use super::Whatsapp;
use super::graph::{Fetch, is_transient_code};
use super::translate::{self, Event, Incoming, Kind, StatusUpdate};
use crate::message::{
    Attachment, ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage,
};
use crate::runtime::{Runtime, RuntimeError};
use crate::store::{DedupeKey, DeliveryStatus, Store};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The header Meta signs posts in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The dedupe prefix of a message sent again after a `failed` status (sent again only once).
pub const RESEND_PREFIX: &str = "whatsapp-resend:";

/// The webhook's state.
#[derive(Clone)]
pub struct WhatsappWebhook {
    pub wa: Arc<Whatsapp>,
    pub rt: Arc<Runtime>,
}

fn answer(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "status": msg }))).into_response()
}

/// The routes `GET` and `POST /webhook/whatsapp`, the body limited to
/// `whatsapp.max_body_bytes`.
pub fn routes(hook: WhatsappWebhook) -> axum::Router {
    let limit = hook.wa.max_body;
    let route = axum::routing::get(verify).post(receive);
    crate::channels::webhook_route("/webhook/whatsapp", route, limit, hook)
}

/// `GET /webhook/whatsapp`: the verification handshake.
pub async fn verify(
    State(hook): State<WhatsappWebhook>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let expected = hook.wa.verify_token.as_bytes();
    let ok = mode == Some("subscribe")
        && !expected.is_empty()
        && bool::from(token.as_bytes().ct_eq(expected));
    match (ok, q.get("hub.challenge")) {
        (true, Some(challenge)) => {
            tracing::info!("whatsapp: webhook verified by Meta");
            (StatusCode::OK, challenge.clone()).into_response()
        }
        _ => answer(StatusCode::FORBIDDEN, "verification refused"),
    }
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with `secret`.
pub fn signature_ok(secret: &str, body: &[u8], header: Option<&[u8]>) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix(b"sha256=")) else {
        return false;
    };
    let Ok(given) = hex::decode(given) else {
        return false;
    };
    if secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// `POST /webhook/whatsapp`.
pub async fn receive(
    State(hook): State<WhatsappWebhook>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let given = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if !signature_ok(&hook.wa.app_secret, &body, given) {
        return answer(
            StatusCode::UNAUTHORIZED,
            "wrong or missing X-Hub-Signature-256",
        );
    }
    let events = match translate::parse(&body, &hook.wa.phone_number_id) {
        Ok(e) => e,
        Err(e) => return answer(StatusCode::BAD_REQUEST, &e),
    };
    let mut statuses = false;
    for ev in events {
        let r = match ev {
            Event::Message(inc) => message(&hook, inc).await,
            Event::Status(s) => {
                statuses = true;
                status(&hook.rt, s).await
            }
        };
        if let Err(e) = r {
            if hook.rt.store.trouble().is_some() {
                tracing::debug!(error = %e, "whatsapp webhook: refused while the store cannot write");
            } else {
                tracing::warn!(error = %e, "whatsapp webhook: not handled; Meta will deliver it again");
            }
            return answer(StatusCode::SERVICE_UNAVAILABLE, "not handled; retry later");
        }
    }
    if statuses {
        let store = hook.rt.store.clone();
        match tokio::task::spawn_blocking(move || store.flush()).await {
            Ok(Ok(())) => {}
            _ => return answer(StatusCode::SERVICE_UNAVAILABLE, "not stored; retry later"),
        }
    }
    answer(StatusCode::OK, "ok")
}

#[derive(Debug, thiserror::Error)]
enum HandleError {
    #[error("cannot download the file now: {0}")]
    Download(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The text of our message a person quoted (an officer's reply to a forwarded case message).
fn quoted_text(store: &dyn Store, wamid: &str) -> Option<String> {
    [ChannelKind::Whatsapp, ChannelKind::Officers]
        .into_iter()
        .find_map(|c| store.sent_by_ref(c, wamid).ok().flatten())
        .and_then(|r| r.msg)
        .map(|m| m.text)
}

async fn message(hook: &WhatsappWebhook, inc: Incoming) -> Result<(), HandleError> {
    let rt = &hook.rt;
    let key_of_message = DedupeKey::new(&inc.from, &inc.id);
    if rt.store.is_handled(&key_of_message)? {
        tracing::debug!(from = %inc.from.masked(), "whatsapp: repeated message ignored");
        return Ok(());
    }
    let max = rt.bot.max_attachment_bytes;
    let polite = |key: &str| {
        let text = crate::channels::polite(&rt.bot.texts, key, max);
        let m = OutboundMessage::text(inc.from.clone(), text);
        rt.record(key_of_message.clone(), &inc.from, vec![m])
    };
    let body = match inc.kind {
        Kind::Ready(b) => b,
        Kind::Ignore(why) => {
            tracing::debug!(why, "whatsapp: message ignored");
            return Ok(());
        }
        Kind::Answer(text) => {
            polite(text).await?;
            return Ok(());
        }
        Kind::Media {
            media_id,
            filename,
            mime,
        } => match hook.wa.graph.download(&media_id, max).await {
            Ok(bytes) => InboundBody::Attachment(Attachment {
                filename,
                mime,
                bytes,
            }),
            Err(Fetch::TooBig) => {
                polite(crate::channels::FILE_TOO_BIG).await?;
                return Ok(());
            }
            Err(Fetch::Refused(why)) => {
                tracing::warn!(from = %inc.from.masked(), %why, "whatsapp: media refused by the Graph API");
                polite(crate::channels::FILE_FAILED).await?;
                return Ok(());
            }
            Err(Fetch::Later(why)) => return Err(HandleError::Download(why)),
        },
    };
    let reply_to = inc
        .quoted
        .as_deref()
        .and_then(|w| quoted_text(rt.store.as_ref(), w));
    rt.handle(InboundMessage {
        id: inc.id,
        from: inc.from,
        body,
        reply_to,
        trust: crate::message::Trust::Proven,
    })
    .await?;
    Ok(())
}

/// Records a delivery status; a `failed` one is sent again once (a temporary error) or
/// reported to the officers.
async fn status(rt: &Runtime, s: StatusUpdate) -> Result<(), HandleError> {
    let store = rt.store.as_ref();
    let rec = match store.sent_by_ref(ChannelKind::Whatsapp, &s.wamid)? {
        Some(r) => r,
        None => match store.sent_by_ref(ChannelKind::Officers, &s.wamid)? {
            Some(r) => r,
            None => {
                tracing::debug!(status = ?s.status, "whatsapp: status of a message pstbot does not know");
                return Ok(());
            }
        },
    };
    let at = s.at.unwrap_or_else(|| rt.clock.now());
    store.outbox_status(rec.id, s.status, at)?;
    if s.status != DeliveryStatus::Failed || rec.to.channel == ChannelKind::Officers {
        if s.status == DeliveryStatus::Failed {
            tracing::warn!(error = ?s.error, "whatsapp: an officers' post failed");
        }
        return Ok(());
    }
    let (code, title) = s.error.clone().unwrap_or((0, "unknown error".into()));
    let again = is_transient_code(code) && !rec.key.starts_with(RESEND_PREFIX);
    let who = Identity::new(ChannelKind::Whatsapp, format!("+{}", s.recipient));
    match (&rec.msg, again) {
        (Some(msg), true) => {
            tracing::warn!(to = %rec.to.masked(), code, "whatsapp: message failed after it was sent; sending it again");
            rt.record(
                DedupeKey(format!("{RESEND_PREFIX}{}", s.wamid)),
                &who,
                vec![msg.clone()],
            )
            .await?;
        }
        _ => {
            tracing::error!(to = %rec.to.masked(), code, "whatsapp: message failed after it was sent; officers told");
            let preview = rec
                .msg
                .as_ref()
                .map(|m| crate::message::clip(&m.text, 80))
                .unwrap_or_default();
            let notice = OutboundMessage::text(
                Identity::officers(),
                rt.bot.texts.officer(
                    "officers_whatsapp_failed",
                    &[
                        ("to", crate::message::identity_shown(&rec.to)),
                        ("code", code.to_string()),
                        ("title", title.clone()),
                        ("preview", preview),
                    ],
                ),
            );
            rt.record(
                DedupeKey(format!("whatsapp-failed:{}", s.wamid)),
                &who,
                vec![notice],
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"test-app-secret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_ok("test-app-secret", body, Some(good.as_bytes())));
        assert!(!signature_ok("other", body, Some(good.as_bytes())));
        assert!(!signature_ok(
            "test-app-secret",
            b"{}",
            Some(good.as_bytes())
        ));
        assert!(!signature_ok("test-app-secret", body, None));
        assert!(!signature_ok("test-app-secret", body, Some(b"sha256=zz")));
        assert!(!signature_ok(
            "test-app-secret",
            body,
            Some(good.trim_start_matches("sha256=").as_bytes())
        ));
    }
}
