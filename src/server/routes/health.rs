//! `GET /healthz`, `GET /readyz`, `GET /metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::pipeline::Runtime;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the store answers.
pub async fn readyz(State(rt): State<Arc<Runtime>>) -> impl IntoResponse {
    match rt.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {e}"),
        ),
    }
}

pub async fn metrics(State(rt): State<Arc<Runtime>>) -> impl IntoResponse {
    let open = rt.store.outbox_open().await.ok();
    // Budget gauges are read from the ledger, the source of truth.
    if let Err(e) = rt.budgets.refresh_metrics().await {
        tracing::warn!(error = %e, "budget gauges not refreshed");
    }
    rt.guards.publish_metrics();
    let mut text = rt.metrics.encode();
    if let Some(open) = open {
        // Queue depth read from the store at scrape time.
        let gauge = format!(
            "# HELP seam_outbox_open Outbox actions not yet delivered or dead.\n# TYPE seam_outbox_open gauge\nseam_outbox_open {open}\n"
        );
        text = match text.strip_suffix("# EOF\n") {
            Some(head) => format!("{head}{gauge}# EOF\n"),
            None => format!("{text}{gauge}"),
        };
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
