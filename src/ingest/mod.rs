//! Layer 1: normalise the event's declared fields, validate it against the
//! input schema and redact PII before anything downstream sees it.

pub mod drift;
pub mod normalize;
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
    /// Hash of the canonical normalised input (identifies the event).
    pub input_sha256: String,
    /// The normalised input, PII included: what the sink's `/input/...`
    /// fields read. Never stored or audited.
    pub normalized: Value,
    /// Where normalisation changed a value (pointers PII-redacted, no values).
    pub normalizations: Vec<normalize::Normalized>,
    /// The event identity as stored and audited (PII redacted).
    pub event_id: String,
    /// SHA-256 of the raw event identity, for idempotency keys: distinct
    /// events stay distinct even when their ids redact alike.
    pub event_key: String,
}

/// Normalise, validate and redact. On failure every normalisation and
/// schema error is returned with its JSON pointer and nothing downstream
/// runs.
pub fn ingest(pipeline: &Pipeline, input: &Value) -> Result<Ingested, Vec<FieldError>> {
    ingest_with(pipeline, input, true)
}

/// [`ingest`] for a replay of a stored run's redacted input: its
/// placeholders are not held to the schema's `format`s.
pub fn ingest_replayed(pipeline: &Pipeline, input: &Value) -> Result<Ingested, Vec<FieldError>> {
    ingest_with(pipeline, input, false)
}

fn ingest_with(
    pipeline: &Pipeline,
    input: &Value,
    formats: bool,
) -> Result<Ingested, Vec<FieldError>> {
    let (normalized, normalizations, mut errors) = pipeline.normalize.apply(input);
    let input = &normalized;
    // A value that could not be normalised fails its schema for the same
    // reason: report it once.
    let schema_errors = if formats {
        pipeline.input_schema.validate(input)
    } else {
        pipeline.input_schema.validate_except_formats(input)
    };
    let bad: Vec<String> = errors.iter().map(|e| e.pointer.clone()).collect();
    errors.extend(
        schema_errors
            .into_iter()
            .filter(|e| !bad.contains(&e.pointer)),
    );
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
    let normalizations = normalizations
        .into_iter()
        .map(|n| normalize::Normalized {
            pointer: pii.redact_text(&n.pointer),
            kind: n.kind,
        })
        .collect();
    Ok(Ingested {
        redacted,
        pii,
        normalized,
        normalizations,
        input_sha256,
        event_id,
        event_key,
    })
}
