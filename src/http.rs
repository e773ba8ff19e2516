//! The HTTP server's routes: `/healthz`, and the webhook of each configured channel
//! (`/webhook/sms`, `/webhook/telegram`, `/webhook/whatsapp`). Bodies are limited before any
//! handler reads them (413 beyond).

use crate::channels::telegram::webhook::TelegramWebhook;
use crate::runtime::Runtime;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The largest webhook body accepted.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The router of `pstbot serve`: `/healthz`, plus the webhooks of the channels configured
/// (without Telegram's: see [`routes`]).
pub fn router(rt: Arc<Runtime>, config: &crate::config::Config) -> Router {
    routes(rt, config, None)
}

/// [`router`], with `/webhook/telegram` when Telegram runs in webhook mode.
pub fn routes(
    rt: Arc<Runtime>,
    config: &crate::config::Config,
    telegram: Option<TelegramWebhook>,
) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .with_state(rt.clone());
    if let Some(sms) = &config.sms
        && let Some(secret) = &sms.webhook_secret
    {
        let hook = crate::channels::sms::SmsWebhook {
            rt: rt.clone(),
            secret: secret.expose().to_string(),
        };
        r = r.merge(
            Router::new()
                .route(
                    "/webhook/sms",
                    axum::routing::post(crate::channels::sms::webhook),
                )
                .with_state(hook),
        );
    }
    if let Some(wa) = crate::channels::whatsapp::Whatsapp::from_config(config, rt.clock.clone()) {
        use crate::channels::whatsapp::webhook;
        let limit = wa.max_body;
        let hook = webhook::WhatsappWebhook { wa, rt: rt.clone() };
        r = r.merge(
            Router::new()
                .route(
                    "/webhook/whatsapp",
                    get(webhook::verify).post(webhook::receive),
                )
                .layer(axum::extract::DefaultBodyLimit::max(limit))
                .with_state(hook),
        );
    }
    if let Some(hook) = telegram {
        r = r.merge(
            Router::new()
                .route(
                    "/webhook/telegram",
                    axum::routing::post(crate::channels::telegram::webhook::webhook),
                )
                .with_state(hook),
        );
    }
    r.layer(axum::extract::DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
}

/// Liveness and a cheap store check (reading a key proves the store answers); 503 while the
/// store cannot write (disk full or read-only).
async fn healthz(
    State(rt): State<Arc<Runtime>>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    if let Some(trouble) = rt.store.trouble() {
        // Logged once by the store when the trouble started.
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "store unavailable", "reason": trouble })),
        );
    }
    let probe = crate::store::DedupeKey("healthz:probe".into());
    match rt.store.is_handled(&probe) {
        Ok(_) => (
            axum::http::StatusCode::OK,
            Json(
                serde_json::json!({ "status": "ok", "schema": crate::store::SCHEMA_VERSION, "office": rt.bot.office_name }),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: store does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "store unavailable" })),
            )
        }
    }
}
