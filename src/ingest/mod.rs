//! Layer 1: validate the event against the input schema and redact PII
//! before anything downstream sees it.

pub mod drift;
pub mod pii;
pub mod webhook;

use serde_json::Value;

pub use crate::schema::FieldError;
pub use pii::{PiiMap, redact};

use crate::config::Pipeline;

/// What ingest hands to the prompt layer.
#[derive(Debug)]
pub struct Ingested {
    /// The input with PII replaced by placeholders.
    pub redacted: Value,
    /// Placeholder → original value, kept in memory for re-association only.
    pub pii: PiiMap,
    /// Hash of the canonical original input (identifies the event).
    pub input_sha256: String,
    /// The event identity as stored and audited (PII redacted).
    pub event_id: String,
    /// SHA-256 of the raw event identity, for idempotency keys: distinct
    /// events stay distinct even when their ids redact alike.
    pub event_key: String,
}

/// Validate and redact. On failure every schema error is returned with its
/// JSON pointer and nothing downstream runs.
pub fn ingest(pipeline: &Pipeline, input: &Value) -> Result<Ingested, Vec<FieldError>> {
    let errors = pipeline.input_schema.validate(input);
    if !errors.is_empty() {
        return Err(errors);
    }
    let input_sha256 = crate::canonical::sha256_hex(crate::canonical::to_string(input));
    let event_id = pipeline
        .event_id
        .as_deref()
        .and_then(|ptr| input.pointer(ptr))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => crate::canonical::to_string(other),
        })
        .unwrap_or_else(|| input_sha256.clone());
    let (redacted, mut pii) = pii::redact_with(&pipeline.pii, input);
    let event_key = crate::canonical::sha256_hex(&event_id);
    // The event id is stored and audited: it must not carry PII either.
    let event_id = pii.redact_text(&event_id);
    Ok(Ingested {
        redacted,
        pii,
        input_sha256,
        event_id,
        event_key,
    })
}
