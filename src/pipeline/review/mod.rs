//! The human review queue. A run whose output must not act unseen — an
//! "insufficient information" answer, a low confidence (`rules.rs`),
//! retracted claims, a hallucination canary, or no answer at all — is
//! committed `escalated` through [`send_to_review`], holding its proposed
//! output and action (redacted) for a person, who approves it (the action
//! is delivered, PII restored from the sealed map) or rejects it with a
//! correction (stored as feedback): `decide.rs`, behind both the HTTP
//! routes and the CLI.

pub mod decide;
mod rules;

use std::time::Instant;

use serde_json::{Value, json};

pub use rules::{Confidence, Insufficient, ReviewPolicy};

use super::Runtime;
use super::attempts::Spent;
use super::record::Trail;
use super::run::{RunFailure, RunResult};
use crate::config::Pipeline;
use crate::error::Error;
use crate::ingest::Ingested;
use crate::store::{ReviewHold, RunRecord};

/// Why a run goes to review: the error it is recorded with, and the output
/// pointers that error is about (kept with the review, shown to the
/// reviewer).
#[derive(Debug)]
pub struct Reason {
    pub error: Error,
    pub pointers: Vec<String>,
}

impl Reason {
    pub fn new(error: Error) -> Reason {
        Reason {
            error,
            pointers: Vec::new(),
        }
    }

    pub fn at(mut self, pointers: Vec<String>) -> Reason {
        self.pointers = pointers;
        self
    }
}

impl From<Error> for Reason {
    fn from(error: Error) -> Reason {
        Reason::new(error)
    }
}

/// The answer held for the reviewer: the verified output (redacted) and
/// who gave it (a model's name, or `baseline`).
#[derive(Debug, Clone)]
pub struct Proposed {
    pub output: Value,
    pub model: String,
}

/// The `run` object a sink body may read (`/run/...`).
pub fn run_info(run_id: &str, p: &Pipeline, model: &str) -> Value {
    json!({"id": run_id, "pipeline": p.name, "model": model, "prompt_version": p.prompt.version})
}

/// Commit the run `escalated` instead of acting: the proposed output and
/// action (redacted), the idempotency key its approval will deliver
/// under, and the reason are kept with its escalation row; the PII map is
/// sealed for the reviewer. Nothing is enqueued. Every review trigger
/// ends here; the result is the reason as the run's error.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_to_review(
    rt: &Runtime,
    p: &Pipeline,
    mut record: RunRecord,
    mut trail: Trail,
    spent: Spent,
    started: Instant,
    ingested: &Ingested,
    proposed: Option<Proposed>,
    reason: Reason,
    dry_run: bool,
) -> Result<RunResult, RunFailure> {
    record.status = "escalated".into();
    let output = proposed.as_ref().map(|a| &a.output);
    let key =
        crate::act::idempotency::key(&p.name, &ingested.event_key, output.unwrap_or(&Value::Null));
    let body = proposed.as_ref().map(|a| {
        p.sink.body(
            &ingested.redacted,
            &a.output,
            &run_info(&record.id, p, &a.model),
        )
    });
    // Pointers, the key and the redacted body: no value the run redacted.
    trail.push(
        "review",
        json!({
            "state": "open",
            "reason": reason.error.type_name(),
            "class": reason.error.class().as_str(),
            "pointers": reason.pointers,
            "proposed": proposed.is_some(),
            "sink": p.sink.kind(),
            "target": p.sink.target(),
            "idempotency_key": key,
            "body": body,
            "dry_run": dry_run,
        }),
    );
    if let Some(a) = &proposed {
        record.model = Some(a.model.clone());
        record.output = Some(a.output.clone());
    }
    record.review = Some(ReviewHold {
        pointers: reason.pointers,
        input: ingested.redacted.clone(),
        proposed_output: proposed.map(|a| a.output),
        proposed_body: body,
        sink: p.sink.kind().to_string(),
        idempotency_key: key,
        dry_run,
    });
    keep_pii_for_human(&ingested.pii, &mut record, &mut trail);
    let kind = reason.error.type_name();
    let failed = super::run::fail(rt, p, record, trail, spent, started, reason.error).await;
    if failed.as_ref().err().is_some_and(|f| f.escalated) {
        rt.metrics.review_opened(&p.name, kind);
    }
    failed
}

/// An escalated run's placeholder map, kept sealed for the human who
/// finishes it (never its values in the audit).
fn keep_pii_for_human(pii: &crate::ingest::pii::PiiMap, record: &mut RunRecord, trail: &mut Trail) {
    if pii.is_empty() {
        return;
    }
    let kept = crate::ingest::pii::keep_for_escalation(pii, &record.id, crate::clock::now_ms());
    trail.push("pii", kept.audit);
    record.pii_map = kept.record;
}
