//! `POST /hooks/{pipeline}`: a webhook delivery. The signature is checked
//! before anything else; a forged, expired or unsigned delivery is answered
//! 401 and recorded in the audit as rejected (which check failed, never the
//! payload). A verified delivery is committed to the queue, deduplicated by
//! the pipeline's `event_id` pointer or else the delivery id, and only then
//! acknowledged with 202; a duplicate is acknowledged and not queued again.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::background;
use crate::error::Error;
use crate::pipeline::Runtime;
use crate::server::ApiError;
use crate::store::{AuditEntry, DEFAULT_TENANT};

pub async fn receive(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = rt
        .config
        .pipelines
        .get(&name)
        .ok_or_else(|| Error::PipelineNotFound(name.clone()))?;
    let Some(verifier) = p.webhook.as_ref() else {
        return Err(Error::BadRequest(format!(
            "pipeline `{name}` takes no webhooks: it declares no [pipelines.{name}.webhook]"
        ))
        .into());
    };
    let verified = match verifier.verify(&headers, &body, SystemTime::now()) {
        Ok(v) => v,
        Err(e) => {
            reject(&rt, &name, e.check()).await;
            return Err(Error::from(e).into());
        }
    };
    crate::ingest::normalize::utf8::check(&body)
        .map_err(|e| Error::BadRequest(format!("the delivery is {e}")))?;
    let input: Value = serde_json::from_slice(&body).map_err(|e| {
        Error::BadRequest(format!(
            "the delivery is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let dedupe_key = p
        .event_id
        .as_deref()
        .and_then(|ptr| input.pointer(ptr))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .or(verified.delivery_id);
    let queued = background::enqueue(
        &rt,
        &name,
        input,
        DEFAULT_TENANT.to_string(),
        "webhook",
        dedupe_key,
    )
    .await?;
    rt.metrics.webhook(
        &name,
        if queued.duplicate {
            "duplicate"
        } else {
            "accepted"
        },
    );
    Ok(background::accepted(&queued.id, queued.duplicate))
}

/// A refused delivery leaves a trace: which pipeline, which check failed.
async fn reject(rt: &Runtime, pipeline: &str, check: &str) {
    rt.metrics.webhook(pipeline, "rejected");
    let entry = AuditEntry {
        run_id: None,
        layer: "webhook",
        at: crate::clock::now_rfc3339(),
        body: json!({"pipeline": pipeline, "status": "rejected", "check": check}),
    };
    if let Err(e) = rt.store.append_audit(vec![entry]).await {
        tracing::warn!(pipeline, error = %e, "rejected webhook delivery not recorded");
    }
}
