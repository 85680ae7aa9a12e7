//! Background runs over HTTP: `Prefer: respond-async` on the run endpoint
//! queues the event durably and answers 202 with the run id and its
//! `Location`; `GET /v1/runs/{id}` shows a queued run's state.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;
use crate::store::NewQueued;

/// Whether the client asked for an asynchronous answer (RFC 7240).
pub fn wants_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// Queue `input` for pipeline `name`; answered only once the row is
/// committed, so an acknowledged event is never lost.
pub async fn enqueue(
    rt: &Runtime,
    name: &str,
    input: Value,
    tenant: String,
    source: &'static str,
    dedupe_key: Option<String>,
) -> Result<crate::store::Enqueued, ApiError> {
    let queued = rt
        .store
        .enqueue(NewQueued {
            id: uuid::Uuid::now_v7().to_string(),
            pipeline: name.to_string(),
            tenant,
            source,
            dedupe_key,
            input,
        })
        .await
        .map_err(Error::from)?;
    if !queued.duplicate {
        rt.queue_wake.notify_one();
    }
    Ok(queued)
}

/// The 202 answer for a queued run.
pub fn accepted(id: &str, duplicate: bool) -> Response {
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(json!({"run_id": id, "status": "queued", "duplicate": duplicate})),
    )
        .into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/runs/{id}")) {
        h.insert(header::LOCATION, v);
    }
    h.insert(
        "preference-applied",
        HeaderValue::from_static("respond-async"),
    );
    resp
}

/// A queued run's view for `GET /v1/runs/{id}` when it has no run row yet:
/// `queued`, `running` (leased) or `dead`.
pub fn pending_view(row: &crate::store::QueueRow) -> Value {
    let status = match row.status.as_str() {
        "leased" => "running",
        other => other,
    };
    json!({"run": {"id": row.id, "pipeline": row.pipeline, "status": status}, "queue": row, "layers": []})
}
