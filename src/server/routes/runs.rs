//! `POST /v1/pipelines/{name}/runs` and `GET /v1/runs/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::Error;
use crate::pipeline::{RunEvent, RunFailure, Runtime, execute_streaming};
use crate::server::routes::background;
use crate::server::tenant::tenant_of;
use crate::server::{ApiError, idempotency};

pub async fn create(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !rt.config.pipelines.contains_key(&name) {
        return Err(Error::PipelineNotFound(name).into());
    }
    crate::ingest::normalize::utf8::check(&body)
        .map_err(|e| Error::BadRequest(format!("body is {e}")))?;
    let input: Value = serde_json::from_slice(&body).map_err(|e| {
        Error::BadRequest(format!(
            "body is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    let tenant = tenant_of(&headers)?;
    let idem_key = idempotency::key_of(&headers)?;
    if background::wants_async(&headers) {
        let Some(key) = idem_key else {
            let queued = background::enqueue(&rt, &name, input, tenant, "api", None).await?;
            return Ok(background::accepted(&queued.id, queued.duplicate));
        };
        let enqueue = {
            let (rt, name, input, tenant) =
                (rt.clone(), name.clone(), input.clone(), tenant.clone());
            async move {
                let queued = background::enqueue(&rt, &name, input, tenant, "api", None).await?;
                Ok(background::accepted(&queued.id, queued.duplicate))
            }
        };
        let mode = idempotency::Mode::Async;
        return idempotency::run_once(rt, key, &name, &tenant, &input, mode, enqueue).await;
    }
    if wants_stream {
        if idem_key.is_some() {
            return Err(Error::BadRequest(
                "`Idempotency-Key` is not supported on streamed runs".into(),
            )
            .into());
        }
        return Ok(stream_run(rt, name, input, tenant));
    }
    match idem_key {
        Some(key) => {
            let run = sync_run(rt.clone(), name.clone(), input.clone(), tenant.clone());
            let mode = idempotency::Mode::Sync;
            idempotency::run_once(rt, key, &name, &tenant, &input, mode, run).await
        }
        None => sync_run(rt, name, input, tenant).await,
    }
}

/// The run as one answer. The run is its own task: a client that hangs up
/// must not cancel it half-way (spend without a record, an action without
/// its run).
async fn sync_run(
    rt: Arc<Runtime>,
    name: String,
    input: Value,
    tenant: String,
) -> Result<Response, ApiError> {
    let task =
        tokio::spawn(async move { execute_streaming(&rt, &name, input, &tenant, None).await });
    let result = task
        .await
        .map_err(|e| Error::Config(format!("run task failed: {e}")))??;
    Ok(Json(json!(result)).into_response())
}

/// The run as server-sent events: `run` (its id), `attempt` and `partial` while the model
/// writes, then one `result` (the checked output, after commit) or `error`.
/// A client that hangs up cancels the model call; the run is recorded as
/// cancelled with what it spent.
fn stream_run(rt: Arc<Runtime>, name: String, input: Value, tenant: String) -> Response {
    let (tx, rx) = mpsc::unbounded_channel();
    let task =
        tokio::spawn(async move { execute_streaming(&rt, &name, input, &tenant, Some(tx)).await });
    let body = futures_util::stream::unfold((rx, Some(task)), |(mut rx, task)| async move {
        if let Some(ev) = rx.recv().await {
            let name = match &ev {
                RunEvent::Started { .. } => "run",
                RunEvent::Attempt { .. } => "attempt",
                RunEvent::Partial { .. } => "partial",
            };
            return Some((Ok(sse(name, &json!(ev))), (rx, task)));
        }
        let task = task?;
        let bytes = match task.await {
            Ok(Ok(result)) => sse("result", &json!(result)),
            Ok(Err(failure)) => sse("error", &error_json(failure)),
            Err(e) => sse(
                "error",
                &error_json(Error::Config(format!("run task failed: {e}")).into()),
            ),
        };
        Some((Ok::<Bytes, std::convert::Infallible>(bytes), (rx, None)))
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn sse(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn error_json(f: RunFailure) -> Value {
    let mut error = f.to_json();
    error["status"] = json!(f.error.status());
    json!({ "error": error })
}

pub async fn get(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queued = rt.store.queue_row(&id).await.map_err(Error::from)?;
    let Some(run) = rt.store.get_run(&id).await.map_err(Error::from)? else {
        return match queued {
            Some(row) => Ok(Json(background::pending_view(&row))),
            None => Err(Error::RunNotFound(id).into()),
        };
    };
    let mut run = json!(run);
    if let Some(row) = &queued {
        // A background run between attempts, or given up on.
        match row.status.as_str() {
            "queued" => run["status"] = json!("queued"),
            "leased" => run["status"] = json!("running"),
            "dead" => run["status"] = json!("dead"),
            _ => {}
        }
    }
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
    let mut body = json!({"run": run, "layers": layers});
    if let Some(row) = queued {
        body["queue"] = json!(row);
    }
    Ok(Json(body))
}
