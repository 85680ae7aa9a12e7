//! Run a golden set through one variant's runtime: every case through all
//! layers as a dry run (recorded, no action queued), `concurrency` at a
//! time, then each case's outcome read back from its stored run and trail.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::Value;

use super::report::CaseOutcome;
use super::set::{Case, GoldenSet};
use crate::pipeline::{RunOptions, Runtime, execute_as};
use crate::store::{DEFAULT_TENANT, StoredAudit};

/// Outcomes in set order. `progress` hears each finished case.
pub async fn run_cases(
    rt: &Arc<Runtime>,
    pipeline: &str,
    set: &GoldenSet,
    concurrency: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<CaseOutcome> {
    let mut done = 0usize;
    let mut out = Vec::with_capacity(set.cases.len());
    let mut stream = futures_util::stream::iter(set.cases.iter())
        .map(|case| one(rt, pipeline, case))
        .buffered(concurrency.max(1));
    while let Some(o) = stream.next().await {
        done += 1;
        progress(done);
        out.push(o);
    }
    out
}

async fn one(rt: &Arc<Runtime>, pipeline: &str, case: &Case) -> CaseOutcome {
    let started = Instant::now();
    let opts = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let result = execute_as(rt, pipeline, case.input.clone(), DEFAULT_TENANT, None, opts).await;
    let wall_ms = started.elapsed().as_millis() as u64;
    let (run_id, error_type) = match &result {
        Ok(r) => (Some(r.run_id.clone()), None),
        Err(f) => (f.run_id.clone(), Some(f.error.type_name().to_string())),
    };
    let mut outcome = CaseOutcome {
        line: case.line,
        run_id: run_id.clone(),
        status: "error".into(),
        error_type,
        output: None,
        flagged: false,
        latency_ms: wall_ms,
        cost_micros: 0,
        input_tokens: 0,
        output_tokens: 0,
    };
    let Some(id) = run_id else { return outcome };
    // The stored run is the record: its (redacted) output, status and spend.
    match rt.store.get_run(&id).await {
        Ok(Some(run)) => {
            outcome.status = run.status;
            outcome.output = run.output;
            outcome.latency_ms = run.latency_ms;
            outcome.cost_micros = run.cost_micros;
            outcome.input_tokens = run.input_tokens;
            outcome.output_tokens = run.output_tokens;
            if run.error_type.is_some() {
                outcome.error_type = run.error_type;
            }
        }
        Ok(None) => {}
        Err(e) => outcome.error_type = Some(format!("store: {e}")),
    }
    if let Ok(trail) = rt.store.audit_for_run(&id).await {
        outcome.flagged = flagged(&trail);
    }
    outcome
}

/// A hallucination flag in a trail: a grounding check that retracted
/// something, or dual generation that diverged.
pub fn flagged(trail: &[StoredAudit]) -> bool {
    trail.iter().any(|r| {
        let decision = || {
            serde_json::from_str::<Value>(&r.body)
                .ok()
                .and_then(|b| b.get("decision")?.as_str().map(str::to_string))
        };
        match r.layer.as_str() {
            "grounding" => decision().is_some_and(|d| d != "grounded"),
            "dual" => decision().is_some_and(|d| d == "diverged"),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(layer: &str, body: &str) -> StoredAudit {
        StoredAudit {
            seq: 1,
            run_id: None,
            layer: layer.into(),
            at: String::new(),
            body: body.into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn flags_retractions_and_divergence_only() {
        assert!(!flagged(&[
            rec("ingest", "{}"),
            rec("grounding", r#"{"decision":"grounded"}"#)
        ]));
        assert!(flagged(&[rec(
            "grounding",
            r#"{"decision":"act_without"}"#
        )]));
        assert!(flagged(&[rec("grounding", r#"{"decision":"review"}"#)]));
        assert!(flagged(&[rec("dual", r#"{"decision":"diverged"}"#)]));
        assert!(!flagged(&[rec("dual", r#"{"decision":"agreed"}"#)]));
    }
}
