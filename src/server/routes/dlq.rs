//! `/v1/admin/dlq`: the dead-letter queue — background runs and deliveries
//! given up on. `GET` lists (`?pipeline=`, `?error_type=`, `?layer=`,
//! `?limit=`), `GET /{id}` shows one with its run and audit trail, `POST
//! /retry` sends entries back where they failed, `POST /purge` deletes
//! them (with `"confirm": true`). Retry and purge take `{"id"}` or
//! `{"all": true}` with optional `pipeline`, `error_type` and `layer`
//! filters.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;
use crate::store::DeadFilter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pipeline: Option<String>,
    error_type: Option<String>,
    layer: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(rt): State<Arc<Runtime>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let filter = DeadFilter {
        id: None,
        pipeline: q.pipeline,
        error_type: q.error_type,
        layer: q.layer,
    };
    let rows = rt
        .store
        .dead_entries(filter, limit)
        .await
        .map_err(Error::from)?;
    Ok(Json(json!({ "dead": rows })))
}

pub async fn show(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::pipeline::dead_letters::show(rt.store.as_ref(), &id)
        .await
        .map_err(Error::from)?
        .map(Json)
        .ok_or_else(|| Error::RunNotFound(id).into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    id: Option<String>,
    #[serde(default)]
    all: bool,
    pipeline: Option<String>,
    error_type: Option<String>,
    layer: Option<String>,
    #[serde(default)]
    confirm: bool,
}

impl Select {
    fn filter(self) -> Result<DeadFilter, Error> {
        if self.id.is_none() && !self.all {
            return Err(Error::BadRequest(
                "name an entry with `id`, or set `all: true` (narrowed by `pipeline`, `error_type`, `layer`)".into(),
            ));
        }
        Ok(DeadFilter {
            id: self.id,
            pipeline: self.pipeline,
            error_type: self.error_type,
            layer: self.layer,
        })
    }
}

pub async fn retry(
    State(rt): State<Arc<Runtime>>,
    Json(s): Json<Select>,
) -> Result<Json<Value>, ApiError> {
    let n = rt
        .store
        .retry_dead(s.filter()?)
        .await
        .map_err(Error::from)?;
    if n > 0 {
        rt.queue_wake.notify_waiters();
        rt.outbox_wake.notify_one();
    }
    Ok(Json(json!({ "retried": n })))
}

pub async fn purge(
    State(rt): State<Arc<Runtime>>,
    Json(s): Json<Select>,
) -> Result<Json<Value>, ApiError> {
    if !s.confirm {
        return Err(Error::BadRequest(
            "purging deletes the entries and their events for good: send `\"confirm\": true`"
                .into(),
        )
        .into());
    }
    let n = rt
        .store
        .purge_dead(s.filter()?)
        .await
        .map_err(Error::from)?;
    Ok(Json(json!({ "purged": n })))
}
