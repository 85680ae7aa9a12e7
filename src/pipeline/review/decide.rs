//! A person's decision on a review, shared by `/v1/admin/reviews` and
//! `seam review`: list, show, approve (deliver the action with the real
//! values, in one transaction with the decision and its audit record),
//! reject (no action; a correction becomes feedback with source `review`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::Runtime;
use super::super::feedback::{self, FeedbackInput};
use crate::error::Error;
use crate::ingest::pii;
use crate::schema::FieldError;
use crate::store::{
    AuditEntry, Decided, NewOutbox, ReviewDecision, ReviewFilter, ReviewRow, Store,
};

/// `POST /v1/admin/reviews/{run_id}/approve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    pub by: String,
    pub note: Option<String>,
    /// A corrected output to act on instead of the proposal (placeholders
    /// such as `<EMAIL_1>` stand for the run's real values).
    pub output: Option<Map<String, Value>>,
}

/// `POST /v1/admin/reviews/{run_id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    pub by: String,
    pub note: Option<String>,
    /// The true values of some output fields, stored as feedback.
    pub correction: Option<Map<String, Value>>,
}

/// `open`, `approved`, `rejected` or `all` (`None`).
pub fn parse_status(s: Option<&str>) -> Result<Option<String>, Error> {
    match s.unwrap_or("open") {
        "all" => Ok(None),
        s @ ("open" | "approved" | "rejected") => Ok(Some(s.to_string())),
        other => Err(Error::BadRequest(format!(
            "status `{other}` is not one of `open`, `approved`, `rejected`, `all`"
        ))),
    }
}

pub async fn list(
    store: &dyn Store,
    filter: ReviewFilter,
    limit: usize,
) -> Result<Vec<ReviewRow>, Error> {
    Ok(store.reviews(filter, limit).await?)
}

/// A review with what the trail says about the output: the retracted
/// claims and the diverging fields, by pointer (no values).
pub async fn show(store: &dyn Store, run_id: &str) -> Result<Value, Error> {
    let row = store
        .review(run_id)
        .await?
        .ok_or_else(|| Error::NotInReview(run_id.to_string()))?;
    let mut retracted = Vec::new();
    let mut diverging = Vec::new();
    for record in store.audit_for_run(run_id).await? {
        let Ok(body) = serde_json::from_str::<Value>(&record.body) else {
            continue;
        };
        for (key, into) in [("retracted", &mut retracted), ("diverging", &mut diverging)] {
            if let Some(items) = body.get(key).and_then(Value::as_array) {
                into.extend(items.iter().cloned());
            }
        }
    }
    let mut view = serde_json::to_value(&row).map_err(|e| Error::Config(e.to_string()))?;
    view["trail"] = json!({"retracted": retracted, "diverging": diverging});
    Ok(view)
}

/// The open review of `run_id`, or why it cannot be decided.
async fn open_review(store: &dyn Store, run_id: &str) -> Result<ReviewRow, Error> {
    let row = store
        .review(run_id)
        .await?
        .ok_or_else(|| Error::NotInReview(run_id.to_string()))?;
    if row.status != "open" {
        return Err(already(row));
    }
    Ok(row)
}

fn already(row: ReviewRow) -> Error {
    Error::AlreadyDecided {
        decision: row.decision_json(),
        run_id: row.run_id,
    }
}

fn who(by: &str) -> Result<String, Error> {
    let by = by.trim();
    if by.is_empty() {
        return Err(Error::BadRequest("`by` must name who decides".into()));
    }
    Ok(by.to_string())
}

/// Approve: the proposed action (or one built from the corrected output)
/// with the run's PII restored, enqueued under the run's idempotency key
/// with the decision and its audit record. The outbox worker delivers it.
pub async fn approve(rt: &Runtime, run_id: &str, a: Approve) -> Result<Value, Error> {
    let by = who(&a.by)?;
    let row = open_review(rt.store.as_ref(), run_id).await?;
    let p = rt.config.pipelines.get(&row.pipeline).ok_or_else(|| {
        Error::ReviewCannotAct(format!("pipeline `{}` is no longer declared", row.pipeline))
    })?;
    if row.dry_run {
        return Err(Error::ReviewCannotAct("a dry run never acts".into()));
    }
    let (Some(input), Some(key)) = (&row.input, &row.idempotency_key) else {
        return Err(Error::ReviewCannotAct(
            "the run was escalated before reviews kept its input and action".into(),
        ));
    };
    if row.proposed_output.is_none() && a.output.is_none() {
        return Err(Error::InputInvalid(vec![FieldError {
            pointer: "/output".into(),
            schema_path: String::new(),
            message:
                "required: the run has no proposed output; approve it with a corrected `output`"
                    .into(),
        }]));
    }
    let kept = match &p.pii.keep {
        Some(keep) => pii::load_kept(rt.store.as_ref(), &keep.key, run_id)
            .await
            .map_err(|e| Error::ReviewCannotAct(format!("the run's PII map: {e}")))?,
        None => None,
    };
    let mut map = kept.unwrap_or_default().with_policy(p.pii.clone());
    let (body, corrected) = match a.output {
        Some(output) => {
            let output = map.restore(&Value::Object(output));
            let errors: Vec<FieldError> = p
                .output_schema
                .validate(&output)
                .into_iter()
                .map(|mut e| {
                    e.pointer = format!("/output{}", e.pointer);
                    e
                })
                .collect();
            if !errors.is_empty() {
                return Err(Error::InputInvalid(errors));
            }
            let model = rt
                .store
                .get_run(run_id)
                .await?
                .and_then(|r| r.model)
                .unwrap_or_else(|| "review".into());
            let run = super::run_info(run_id, p, &model);
            let body = p.sink.body(&map.restore(input), &output, &run);
            (body, Some(map.redact_value(&output)))
        }
        None => {
            let proposed = row
                .proposed_body
                .as_ref()
                .ok_or_else(|| Error::ReviewCannotAct("the proposed action was not kept".into()))?;
            (map.restore(proposed), None)
        }
    };
    if pii::has_placeholders(&body) && map.is_empty() && pii::has_placeholders(input) {
        return Err(Error::ReviewCannotAct(
            "the run's PII map was not kept (no [pii].key) or has expired: the action cannot carry the real values".into(),
        ));
    }
    let fields: Vec<String> = match (&corrected, &row.proposed_output) {
        (Some(Value::Object(c)), Some(Value::Object(prop))) => c
            .iter()
            .filter(|(k, v)| prop.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .chain(prop.keys().filter(|k| !c.contains_key(*k)).cloned())
            .collect(),
        (Some(Value::Object(c)), _) => c.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let audit = AuditEntry {
        run_id: Some(run_id.to_string()),
        layer: "review",
        at: crate::clock::now_rfc3339(),
        body: json!({
            "decision": "approved",
            "by": by,
            "corrected_fields": fields,
            "sink": p.sink.kind(),
            "idempotency_key": key,
        }),
    };
    let decided = rt
        .store
        .decide_review(ReviewDecision {
            run_id: run_id.to_string(),
            decision: "approved",
            by: by.clone(),
            note: a.note,
            output: corrected.clone(),
            outbox: Some(NewOutbox {
                pipeline: p.name.clone(),
                idempotency_key: key.clone(),
                body,
            }),
            audit,
        })
        .await?;
    match decided {
        Decided::Recorded { enqueued } => {
            rt.metrics.review_decided(&p.name, "approved");
            if enqueued {
                rt.outbox_wake.notify_one();
            }
            // The corrected output is ground truth: feedback (source
            // `review`), recorded once the approval has landed.
            let feedback_id = match corrected {
                Some(Value::Object(output)) if !fields.is_empty() => {
                    let truth = FeedbackInput {
                        output: Some(output),
                        fields: None,
                        note: None,
                    };
                    match feedback::record(rt, run_id, truth, "review").await {
                        Ok(f) => f["feedback_id"].clone(),
                        Err(e) => {
                            tracing::warn!(run_id, error = %e, "the approved correction was not stored as feedback");
                            Value::Null
                        }
                    }
                }
                _ => Value::Null,
            };
            Ok(json!({
                "run_id": run_id,
                "decision": "approved",
                "by": by,
                "corrected_fields": fields,
                "feedback_id": feedback_id,
                "action": {"sink": p.sink.kind(), "idempotency_key": key, "enqueued": enqueued},
            }))
        }
        Decided::Already(row) => Err(already(*row)),
        Decided::NotFound => Err(Error::NotInReview(run_id.to_string())),
    }
}

/// Reject: no action. A correction is judged against the proposal and
/// stored as feedback (source `review`) before the decision commits.
pub async fn reject(rt: &Runtime, run_id: &str, r: Reject) -> Result<Value, Error> {
    let by = who(&r.by)?;
    let row = open_review(rt.store.as_ref(), run_id).await?;
    let feedback = match r.correction {
        Some(fields) => {
            // Without a proposal, the correction is the whole output.
            let input = if row.proposed_output.is_some() {
                FeedbackInput {
                    output: None,
                    fields: Some(fields),
                    note: r.note.clone(),
                }
            } else {
                FeedbackInput {
                    output: Some(fields),
                    fields: None,
                    note: r.note.clone(),
                }
            };
            Some(feedback::record(rt, run_id, input, "review").await?)
        }
        None => None,
    };
    let feedback_id = feedback.as_ref().map(|f| f["feedback_id"].clone());
    let audit = AuditEntry {
        run_id: Some(run_id.to_string()),
        layer: "review",
        at: crate::clock::now_rfc3339(),
        body: json!({"decision": "rejected", "by": by, "feedback_id": feedback_id}),
    };
    let decided = rt
        .store
        .decide_review(ReviewDecision {
            run_id: run_id.to_string(),
            decision: "rejected",
            by: by.clone(),
            note: r.note,
            output: None,
            outbox: None,
            audit,
        })
        .await?;
    match decided {
        Decided::Recorded { .. } => {
            rt.metrics.review_decided(&row.pipeline, "rejected");
            Ok(json!({"run_id": run_id, "decision": "rejected", "by": by, "feedback": feedback}))
        }
        Decided::Already(row) => Err(already(*row)),
        Decided::NotFound => Err(Error::NotInReview(run_id.to_string())),
    }
}
