//! `Idempotency-Key` on `POST /v1/pipelines/{name}/runs`, with Stripe's
//! semantics: the first answer under a key (errors included) is stored and
//! replayed, with `Idempotent-Replayed: true`, to every repeat with the same
//! body; another body under the key is a 409 `idempotency`; a repeat while
//! the first is still running is a 409 `idempotency_in_flight`. Keys are
//! per tenant and kept 24 hours.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;
use crate::store::{IdemBegin, IdemClaim};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key and its answer are kept.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest stored answer; larger bodies are not runs' answers.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Whether the request asked for the answer (sync) or a 202 (async):
/// part of what a repeat must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Async,
}

/// The request's key, if it sent one: 1 to 255 visible ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_string())),
        _ => Err(Error::BadRequest(
            "`Idempotency-Key` must be 1 to 255 visible ASCII characters".into(),
        )),
    }
}

/// Run `run` at most once per key: claim the key, run, store the answer
/// (in the same task, so a client that hangs up does not leave the key
/// claimed), or answer from what the key already holds.
pub async fn run_once<F>(
    rt: Arc<Runtime>,
    key: String,
    pipeline: &str,
    tenant: &str,
    input: &Value,
    mode: Mode,
    run: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    let run_timeout = rt
        .config
        .pipelines
        .get(pipeline)
        .map(|p| p.run_timeout)
        .unwrap_or(Duration::from_secs(60));
    let claim = IdemClaim {
        tenant: tenant.to_string(),
        key: key.clone(),
        pipeline: pipeline.to_string(),
        body_sha256: crate::canonical::sha256_hex(format!(
            "{mode:?}\n{}",
            crate::canonical::to_string(input)
        )),
        // Past the run's own deadline, the holder must have died.
        lock: run_timeout + Duration::from_secs(60),
        ttl: TTL,
    };
    match rt.store.idem_begin(claim).await.map_err(Error::from)? {
        IdemBegin::Fresh => {}
        IdemBegin::Replay { status, body } => return Ok(replayed(status, body)),
        IdemBegin::Mismatch => return Err(Error::IdempotencyMismatch(key).into()),
        IdemBegin::InFlight => return Err(Error::IdempotencyInFlight(key).into()),
    }
    let store = rt.store.clone();
    let tenant = tenant.to_string();
    let task = tokio::spawn(async move {
        let resp = run.await.unwrap_or_else(IntoResponse::into_response);
        let (parts, body) = resp.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(e) => {
                let e = Error::Config(format!("run answer unreadable: {e}"));
                return ApiError::from(e).into_response();
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(e) = store
            .idem_finish(tenant, key, parts.status.as_u16(), text)
            .await
        {
            // The run stands; a repeat waits out the key's lock, then runs.
            tracing::warn!("idempotency answer not stored: {e}");
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    task.await
        .map_err(|e| Error::Config(format!("run task failed: {e}")).into())
}

fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body_text = body.clone();
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    // An accepted async run: point at it again, as the first answer did.
    if status == StatusCode::ACCEPTED
        && let Some(id) = serde_json::from_str::<Value>(&body_text)
            .ok()
            .and_then(|v| v["run_id"].as_str().map(str::to_string))
        && let Ok(v) = HeaderValue::from_str(&format!("/v1/runs/{id}"))
    {
        h.insert(header::LOCATION, v);
        h.insert(
            "preference-applied",
            HeaderValue::from_static("respond-async"),
        );
    }
    resp
}
