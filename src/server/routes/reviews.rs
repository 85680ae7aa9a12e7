//! `/v1/admin/reviews`: the human review queue (the escalation queue with
//! what each run proposed). `GET` lists (`?status=open|approved|rejected|all`,
//! `?pipeline=`, `?limit=`), `GET /{run_id}` shows one with its reason,
//! redacted input, proposed output and action and the pointers its trail
//! retracted or found diverging; `POST /{run_id}/approve` (`{"by", "note"?,
//! "output"?}`) delivers the action, `POST /{run_id}/reject` (`{"by",
//! "note"?, "correction"?}`) stores the correction as feedback. A second
//! decision answers 409 with the first.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::pipeline::Runtime;
use crate::pipeline::review::decide::{self, Approve, Reject};
use crate::server::ApiError;
use crate::store::ReviewFilter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    pipeline: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(rt): State<Arc<Runtime>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = ReviewFilter {
        status: decide::parse_status(q.status.as_deref())?,
        pipeline: q.pipeline,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = decide::list(rt.store.as_ref(), filter, limit).await?;
    Ok(Json(json!({ "reviews": rows })))
}

pub async fn show(
    State(rt): State<Arc<Runtime>>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(decide::show(rt.store.as_ref(), &run_id).await?))
}

pub async fn approve(
    State(rt): State<Arc<Runtime>>,
    Path(run_id): Path<String>,
    Json(body): Json<Approve>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(decide::approve(&rt, &run_id, body).await?))
}

pub async fn reject(
    State(rt): State<Arc<Runtime>>,
    Path(run_id): Path<String>,
    Json(body): Json<Reject>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(decide::reject(&rt, &run_id, body).await?))
}
