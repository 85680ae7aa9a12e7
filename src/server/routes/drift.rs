//! `/v1/admin/drift`: contract drift. `GET` lists recorded changes
//! (`?source=`, `?status=open|all`), `POST /accept {"source"}` accepts a
//! source's open changes into its contract.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    source: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(rt): State<Arc<Runtime>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let open_only = super::admin::open_only(q.status.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = rt
        .store
        .drifts(q.source.as_deref(), open_only, limit)
        .await
        .map_err(Error::from)?;
    Ok(Json(json!({ "drift": rows })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    source: String,
}

pub async fn accept(
    State(rt): State<Arc<Runtime>>,
    Json(a): Json<Accept>,
) -> Result<Json<Value>, ApiError> {
    let n = crate::ingest::drift::accept(rt.store.as_ref(), &a.source).await?;
    Ok(Json(json!({ "accepted": n })))
}
