//! `POST /v1/pipelines/{name}/runs` and `GET /v1/runs/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::{Runtime, execute};
use crate::server::ApiError;

pub async fn create(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if !rt.config.pipelines.contains_key(&name) {
        return Err(Error::PipelineNotFound(name).into());
    }
    let input: Value = serde_json::from_slice(&body).map_err(|e| {
        Error::BadRequest(format!(
            "body is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    // The run is its own task: a client that hangs up must not cancel it
    // half-way (spend without a record, an action without its run).
    let task = tokio::spawn(async move { execute(&rt, &name, input).await });
    let result = task
        .await
        .map_err(|e| Error::Config(format!("run task failed: {e}")))??;
    Ok(Json(json!(result)))
}

pub async fn get(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = rt
        .store
        .get_run(&id)
        .await
        .map_err(Error::from)?
        .ok_or(Error::RunNotFound(id.clone()))?;
    let records = rt.store.audit_for_run(&id).await.map_err(Error::from)?;
    let layers: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "layer": r.layer,
                "at": r.at,
                "hash": r.hash,
                "record": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({"run": run, "layers": layers})))
}
