//! The HTTP server's routes: `/healthz` now; webhooks and the web chat join in later issues.

use crate::runtime::Runtime;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The router of `pstbot serve`.
pub fn router(rt: Arc<Runtime>) -> Router {
    Router::new().route("/healthz", get(healthz)).with_state(rt)
}

/// Liveness and a cheap store check (reading a key proves the store answers).
async fn healthz(
    State(rt): State<Arc<Runtime>>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
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
