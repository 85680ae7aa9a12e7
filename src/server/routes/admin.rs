//! Admin routes under `/v1/admin/`: thin reads of the runtime's state, one
//! function per route.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;

/// `GET /v1/admin/budgets`: every budget in its current day or month:
/// limit, spent, reserved, remaining and refusals, from the ledger.
pub async fn budgets(State(rt): State<Arc<Runtime>>) -> Result<Json<Value>, ApiError> {
    let budgets = rt.budgets.status().await?;
    Ok(Json(json!({ "budgets": budgets })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
}

/// `?status=open|all` (default open): whether to list open records only.
pub(super) fn open_only(status: Option<&str>) -> Result<bool, Error> {
    match status.unwrap_or("open") {
        "open" => Ok(true),
        "all" => Ok(false),
        other => Err(Error::BadRequest(format!(
            "status `{other}` is not one of `open`, `all`"
        ))),
    }
}

/// `GET /v1/admin/alerts[?status=open|all]`: alert records, newest first.
pub async fn alerts(
    State(rt): State<Arc<Runtime>>,
    Query(q): Query<AlertsQuery>,
) -> Result<Json<Value>, ApiError> {
    let open_only = open_only(q.status.as_deref())?;
    let alerts = rt.store.alerts(open_only).await.map_err(Error::from)?;
    Ok(Json(json!({ "alerts": alerts })))
}

/// `GET /v1/admin/breakers`: each model's circuit breaker (state, failure
/// rate and counts in its window, when it opened and when it probes next),
/// its rate limits and its retry budget.
pub async fn breakers(State(rt): State<Arc<Runtime>>) -> Json<Value> {
    Json(json!({
        "breakers": rt.guards.snapshots(),
        "sinks": rt.sink_breakers.views(&rt.config),
    }))
}
