//! The HTTP server's routes: `/healthz`, and the routes of every channel started (their
//! webhooks, the web chat's pages and API; see each channel's `routes`), each with its own body
//! limit (413 beyond) before any handler reads the body.

use crate::runtime::Runtime;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The largest webhook body accepted (unless a channel says otherwise).
pub use crate::channels::MAX_WEBHOOK_BODY;

/// The router of `pstbot serve` for `config`: `/healthz`, plus the routes of the channels
/// configured (started for `rt`; their senders and tasks are left unused).
pub fn router(rt: Arc<Runtime>, config: &crate::config::Config) -> crate::Result<Router> {
    let cx = crate::channels::Context::new(rt.clone(), tokio_util::sync::CancellationToken::new());
    Ok(routes(rt, crate::channels::start(config, &cx)?.routes))
}

/// `/healthz` with the channels' `routes` merged in.
pub fn routes(rt: Arc<Runtime>, channels: Router) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(rt)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .merge(channels)
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
