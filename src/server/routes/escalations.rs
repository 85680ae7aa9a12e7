//! `GET /v1/admin/escalations`: the runs a human must finish, oldest first.
//! `?status=open` (default), `resolved` or `all`; `?limit=N` (default 100,
//! at most 1000).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    status: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(rt): State<Arc<Runtime>>,
    Query(q): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let status = match q.status.as_deref().unwrap_or("open") {
        "all" => None,
        s @ ("open" | "resolved") => Some(s),
        other => {
            return Err(Error::BadRequest(format!(
                "status `{other}` is not one of `open`, `resolved`, `all`"
            ))
            .into());
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let items = rt
        .store
        .escalations(status, limit)
        .await
        .map_err(Error::from)?;
    Ok(Json(json!({"escalations": items})))
}
