//! `POST /v1/runs/{id}/feedback`: ground truth for a run — `{"output":
//! {...}}` (the whole true output) or `{"fields": {...}}` (some true
//! values), optional `note`. Answers which fields the run got right and
//! the pipeline's rolling field accuracy.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::pipeline::Runtime;
use crate::pipeline::feedback::{FeedbackInput, record};
use crate::server::ApiError;

pub async fn post(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
    Json(input): Json<FeedbackInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(record(&rt, &id, input, "api").await?))
}
