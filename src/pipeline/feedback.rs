//! Ground truth for a run: the true values of some or all of its output
//! fields (from an API client, or a reviewer's correction). Each field is
//! judged against what the run answered; the pipeline's rolling field
//! accuracy is updated; the truth is kept redacted (placeholders like the
//! run's own output) so it can become a golden case.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Runtime;
use crate::error::Error;
use crate::store::NewFeedback;

/// Feedback rows the rolling accuracy spans.
pub const WINDOW: u32 = 100;

/// The body of `POST /v1/runs/{id}/feedback`: exactly one of `output`
/// (the whole true output) or `fields` (the true values of some fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    pub output: Option<Map<String, Value>>,
    pub fields: Option<Map<String, Value>>,
    pub note: Option<String>,
}

/// Judge and store the feedback; returns what the API answers.
pub async fn record(
    rt: &Runtime,
    run_id: &str,
    input: FeedbackInput,
    source: &str,
) -> Result<Value, Error> {
    let run = rt
        .store
        .get_run(run_id)
        .await?
        .ok_or_else(|| Error::RunNotFound(run_id.to_string()))?;
    let p = rt.config.pipelines.get(&run.pipeline).ok_or_else(|| {
        Error::BadRequest(format!("pipeline `{}` is no longer declared", run.pipeline))
    })?;
    // A run held for review without any answer can still be given its
    // whole true output (every field then counts as corrected).
    let nothing = Map::new();
    let answered = match run.output.as_ref().and_then(Value::as_object) {
        Some(answered) => answered,
        None if run.status == "escalated" && input.output.is_some() => &nothing,
        None => {
            return Err(Error::BadRequest(format!(
                "run `{run_id}` has no output to judge (status `{}`)",
                run.status
            )));
        }
    };
    let truth = match (input.output, input.fields) {
        (Some(o), None) => o,
        (None, Some(f)) => f,
        _ => {
            return Err(Error::BadRequest(
                "send exactly one of `output` (the whole true output) or `fields` (some true values)"
                    .into(),
            ));
        }
    };
    if truth.is_empty() {
        return Err(Error::BadRequest("the feedback names no field".into()));
    }
    let declared = p.output_schema.source["properties"].as_object();
    if let Some(unknown) = truth
        .keys()
        .find(|k| declared.is_some_and(|d| !d.contains_key(*k)))
    {
        return Err(Error::BadRequest(format!(
            "`{unknown}` is not a field of pipeline `{}`'s output schema",
            run.pipeline
        )));
    }
    // The corrected output must itself satisfy the output contract.
    let mut corrected = answered.clone();
    corrected.extend(truth.clone());
    let errors = p.output_schema.validate(&Value::Object(corrected));
    if !errors.is_empty() {
        return Err(Error::InputInvalid(errors));
    }
    // Kept as the run's output is: PII as placeholders.
    let (truth, _) = crate::ingest::pii::redact_with(&p.pii, &Value::Object(truth));
    let fields = truth.as_object().cloned().unwrap_or_default();
    let correct: Vec<&String> = fields
        .iter()
        .filter(|(k, v)| answered.get(*k) == Some(v))
        .map(|(k, _)| k)
        .collect();
    let wrong: Vec<&String> = fields.keys().filter(|k| !correct.contains(k)).collect();
    let row = NewFeedback {
        run_id: run_id.to_string(),
        pipeline: run.pipeline.clone(),
        truth: truth.clone(),
        fields_total: fields.len() as u32,
        fields_correct: correct.len() as u32,
        source: source.to_string(),
        note: input.note,
    };
    let (id, accuracy) = rt.store.add_feedback(row, WINDOW).await?;
    rt.metrics
        .feedback(&run.pipeline, wrong.is_empty(), accuracy.ratio());
    Ok(json!({
        "feedback_id": id,
        "run_id": run_id,
        "correct": correct,
        "corrected": wrong,
        "accuracy": {
            "pipeline": run.pipeline,
            "window": accuracy.feedback,
            "fields_correct": accuracy.fields_correct,
            "fields_total": accuracy.fields_total,
            "ratio": accuracy.ratio(),
        },
    }))
}

/// Golden cases from a pipeline's feedback: each judged run's redacted
/// input (from its ingest record) and the expected output (its answer
/// with the true values over it), in the `{"input", "expected"}` form of
/// `examples/*/eval.jsonl`.
pub async fn golden_cases(
    store: &dyn crate::store::Store,
    pipeline: &str,
) -> Result<Vec<Value>, Error> {
    let mut cases = Vec::new();
    for f in store.feedback(pipeline, usize::MAX >> 1).await? {
        let Some(run) = store.get_run(&f.run_id).await? else {
            continue;
        };
        let input = store
            .audit_for_run(&f.run_id)
            .await?
            .into_iter()
            .filter(|r| r.layer == "ingest")
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
            .find_map(|b| b.get("input").cloned());
        let Some(input) = input else {
            continue;
        };
        let mut expected = match run.output {
            Some(Value::Object(o)) => o,
            None => Map::new(),
            Some(_) => continue,
        };
        if let Value::Object(truth) = f.truth {
            expected.extend(truth);
        }
        cases.push(json!({"input": input, "expected": expected, "run_id": f.run_id}));
    }
    Ok(cases)
}
