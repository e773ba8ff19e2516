//! Webhook mode (`telegram.mode = "webhook"`): Telegram posts each update to
//! `/webhook/telegram` on `pstbot serve`'s HTTP server. At start `setWebhook` registers
//! `telegram.webhook_url` with `secret_token`; Telegram sends it back in
//! `X-Telegram-Bot-Api-Secret-Token`, checked in constant time: a request without it gets 401
//! and changes nothing. The answer is 200 only once the update is durably handled; otherwise
//! 503, and Telegram delivers it again (recognised by `update_id` if it was stored after all).

use super::Telegram;
use super::inbound::process;
use crate::runtime::Runtime;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use teloxide::payloads::SetWebhookSetters;
use teloxide::prelude::Requester;
use teloxide::types::Update;
use tokio_util::sync::CancellationToken;

/// The header Telegram puts the `secret_token` in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook's state.
#[derive(Clone)]
pub struct TelegramWebhook {
    pub tg: Arc<Telegram>,
    pub rt: Arc<Runtime>,
    pub secret: String,
}

fn answer(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "status": msg }))).into_response()
}

/// The route `POST /webhook/telegram`, its body limited to
/// [`crate::channels::MAX_WEBHOOK_BODY`].
pub fn routes(hook: TelegramWebhook) -> axum::Router {
    let limit = crate::channels::MAX_WEBHOOK_BODY;
    crate::channels::webhook_route(
        "/webhook/telegram",
        axum::routing::post(webhook),
        limit,
        hook,
    )
}

/// `POST /webhook/telegram`.
pub async fn webhook(
    State(hook): State<TelegramWebhook>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if hook.secret.is_empty() || !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        return answer(
            StatusCode::UNAUTHORIZED,
            "wrong or missing X-Telegram-Bot-Api-Secret-Token",
        );
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                &format!("not a Telegram update: {e}"),
            );
        }
    };
    match process(&hook.tg, &hook.rt, &update).await {
        Ok(()) => answer(StatusCode::OK, "ok"),
        Err(e) if hook.rt.store.trouble().is_some() => {
            tracing::debug!(update = update.id.0, error = %e, "telegram webhook: refused while the store cannot write");
            answer(StatusCode::SERVICE_UNAVAILABLE, "not handled; retry later")
        }
        Err(e) => {
            tracing::warn!(update = update.id.0, error = %e, "telegram webhook: update not handled; Telegram will retry");
            answer(StatusCode::SERVICE_UNAVAILABLE, "not handled; retry later")
        }
    }
}

/// Registers the webhook (and learns the bot's username), retrying until it works or `stop`.
pub async fn register(tg: Arc<Telegram>, url: String, secret: String, stop: CancellationToken) {
    let Ok(parsed) = reqwest::Url::parse(&url) else {
        tracing::error!("telegram: `telegram.webhook_url` is not a URL; webhook not set");
        return;
    };
    let mut wait = Duration::from_secs(1);
    loop {
        let set = async {
            tg.identify().await?;
            tg.bot
                .set_webhook(parsed.clone())
                .secret_token(secret.clone())
                .await
        };
        let r = tokio::select! {
            r = set => r,
            _ = stop.cancelled() => return,
        };
        match r {
            Ok(_) => {
                tracing::info!(
                    bot = tg.username().unwrap_or_default(),
                    "telegram: webhook set"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "telegram: setWebhook failed; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => return,
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        }
    }
}
