//! Admin routes under `/v1/admin/`: thin reads of the runtime's state, one
//! function per route.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::pipeline::Runtime;

/// `GET /v1/admin/breakers`: each model's circuit breaker (state, failure
/// rate and counts in its window, when it opened and when it probes next),
/// its rate limits and its retry budget.
pub async fn breakers(State(rt): State<Arc<Runtime>>) -> Json<Value> {
    Json(json!({ "breakers": rt.guards.snapshots() }))
}
