//! Running a pipeline's context steps: all at once, each within the run's
//! deadline; answers redacted with the run's placeholders before the prompt
//! sees them; one audit record per step, without values.

use std::time::Instant as StdInstant;

use futures_util::future::join_all;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::error::{Failure, FailureKind, StepError};
use super::step::{ContextStep, StepRequest};
use super::{Connector, Connectors};
use crate::error::ErrorClass;
use crate::ingest::PiiMap;
use crate::kb::{KbError, Kbs, Mode};
use crate::telemetry::Metrics;

/// The steps' results.
#[derive(Debug)]
pub struct Gathered {
    /// `name → value` (redacted; `null` for a failed optional step): the
    /// template's `context`.
    pub context: Value,
    /// One audit record per step, in declaration order.
    pub records: Vec<Value>,
    /// The first required step that failed: the run fails with it.
    pub failed: Option<StepError>,
}

/// What one step got, before redaction.
struct Got {
    value: Value,
    pages: Option<u32>,
    truncated: bool,
    cache_hit: bool,
    attempts: u32,
    /// `kb` steps: each chunk's id, fused score and ranks (for the audit).
    hits: Option<Value>,
}

impl Connectors {
    /// Run `steps` for `input` (the original, unredacted input: the values
    /// go to declared, trusted systems only).
    pub async fn gather(
        &self,
        steps: &[ContextStep],
        kbs: &Kbs,
        input: &Value,
        pii: &mut PiiMap,
        deadline: Instant,
        metrics: &Metrics,
    ) -> Gathered {
        let outcomes = join_all(steps.iter().map(|s| async move {
            let started = StdInstant::now();
            let got = match &s.request {
                StepRequest::Kb { query, top_k } => {
                    retrieve(kbs, &s.connector, query, *top_k, input, deadline).await
                }
                _ => self.step(s, input, deadline).await,
            };
            (got, started.elapsed())
        }))
        .await;
        let mut context = Map::new();
        let mut records = Vec::new();
        let mut failed = None;
        for (step, (got, took)) in steps.iter().zip(outcomes) {
            let kind = match step.request {
                StepRequest::Kb { .. } => "kb",
                _ => self.kind_of(&step.connector),
            };
            let mut record = json!({
                "step": step.name,
                "kind": kind,
                "required": step.required,
                "latency_ms": took.as_millis() as u64,
            });
            record[if kind == "kb" { "kb" } else { "connector" }] = json!(step.connector);
            match got {
                Ok(got) => {
                    let outcome = if got.cache_hit { "cache_hit" } else { "ok" };
                    metrics.connector_call(&step.connector, outcome, took);
                    record["status"] = json!("ok");
                    record["cache_hit"] = json!(got.cache_hit);
                    record["attempts"] = json!(got.attempts);
                    record["truncated"] = json!(got.truncated);
                    if let Some(pages) = got.pages {
                        record["pages"] = json!(pages);
                    }
                    if let Some(hits) = got.hits {
                        record["chunks"] = hits;
                    } else if let Value::Array(a) = &got.value {
                        record[if kind == "postgres" { "rows" } else { "items" }] = json!(a.len());
                    }
                    context.insert(step.name.clone(), redact(&got.value, pii));
                }
                Err(failure) => {
                    metrics.connector_call(&step.connector, failure.kind.as_str(), took);
                    record["status"] = json!("failed");
                    record["error"] = json!({
                        "kind": failure.kind.as_str(),
                        "reason": failure.reason,
                    });
                    context.insert(step.name.clone(), Value::Null);
                    if step.required && failed.is_none() {
                        failed = Some(StepError {
                            step: step.name.clone(),
                            connector: step.connector.clone(),
                            failure,
                        });
                    }
                }
            }
            records.push(record);
        }
        Gathered {
            context: Value::Object(context),
            records,
            failed,
        }
    }

    fn kind_of(&self, connector: &str) -> &'static str {
        match self.get(connector) {
            Some(Connector::Http(_)) => "http",
            Some(Connector::Postgres(_)) => "postgres",
            None => "unknown",
        }
    }

    async fn step(
        &self,
        step: &ContextStep,
        input: &Value,
        deadline: Instant,
    ) -> Result<Got, Failure> {
        let connector = self
            .get(&step.connector)
            .ok_or_else(|| Failure::new(FailureKind::Rejected, "the connector is not running"))?;
        match (&step.request, connector) {
            (
                StepRequest::Http {
                    path,
                    query,
                    paginate,
                },
                Connector::Http(http),
            ) => {
                let mut pairs = Vec::with_capacity(query.len());
                for (k, source) in query {
                    let v = source.resolve(input).ok_or_else(|| missing(k))?;
                    pairs.push((k.clone(), scalar(v).ok_or_else(|| not_scalar(k))?));
                }
                let f = http
                    .fetch(path, &pairs, paginate.as_ref(), deadline)
                    .await?;
                Ok(Got {
                    value: f.value,
                    pages: Some(f.pages),
                    truncated: f.truncated,
                    cache_hit: f.cache_hit,
                    attempts: f.attempts,
                    hits: None,
                })
            }
            (StepRequest::Sql { sql, params }, Connector::Postgres(pg)) => {
                let mut values = Vec::with_capacity(params.len());
                for (i, source) in params.iter().enumerate() {
                    let name = format!("${}", i + 1);
                    values.push(source.resolve(input).ok_or_else(|| missing(&name))?);
                }
                let rows = pg.query(sql, &values, deadline).await?;
                Ok(Got {
                    value: Value::Array(rows.rows),
                    pages: None,
                    truncated: rows.truncated,
                    cache_hit: false,
                    attempts: 1,
                    hits: None,
                })
            }
            _ => Err(Failure::new(
                FailureKind::Rejected,
                "the step does not fit its connector's kind",
            )),
        }
    }
}

/// A `kb` step: the chunks best matching the input's question, as
/// `{id, title, source, text}` sources.
async fn retrieve(
    kbs: &Kbs,
    kb: &str,
    pointer: &str,
    top_k: usize,
    input: &Value,
    deadline: Instant,
) -> Result<Got, Failure> {
    let question = match input.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => return Err(missing("query")),
        Some(_) => {
            return Err(Failure::new(
                FailureKind::Input,
                "the input's value for `query` is not a string",
            ));
        }
    };
    let kb = kbs.get(kb).map_err(|e| kb_failure(&e))?;
    let hits = tokio::time::timeout_at(deadline, kb.search(&question, top_k, Mode::Hybrid))
        .await
        .map_err(|_| {
            Failure::transient("the knowledge base did not answer within the run's deadline")
        })?
        .map_err(|e| kb_failure(&e))?;
    let value = hits
        .iter()
        .map(|h| json!({"id": h.id, "title": h.title, "source": h.source, "text": h.text}))
        .collect();
    let audit = hits
        .iter()
        .map(|h| {
            json!({"id": h.id, "score": h.score, "bm25_rank": h.bm25_rank,
                   "vector_rank": h.vector_rank})
        })
        .collect();
    Ok(Got {
        value: Value::Array(value),
        pages: None,
        truncated: false,
        cache_hit: false,
        attempts: 1,
        hits: Some(Value::Array(audit)),
    })
}

/// A knowledge-base error as a step failure (its message names no text).
fn kb_failure(e: &KbError) -> Failure {
    let kind = match e.class() {
        ErrorClass::Transient => FailureKind::Transient,
        ErrorClass::Data | ErrorClass::Client => FailureKind::Input,
        _ => FailureKind::Setup,
    };
    Failure::new(kind, e.to_string())
}

fn missing(what: &str) -> Failure {
    Failure::new(
        FailureKind::Input,
        format!("the input has no value for `{what}`"),
    )
}

fn not_scalar(what: &str) -> Failure {
    Failure::new(
        FailureKind::Input,
        format!("the input's value for `{what}` is not a string, number or boolean"),
    )
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Redact every string (and object key) of a connector's answer with the
/// run's placeholders, so the same e-mail gets the same `<EMAIL_n>` as in
/// the input and the output can be restored.
pub fn redact(value: &Value, pii: &mut PiiMap) -> Value {
    match value {
        Value::String(s) => Value::String(pii.redact_text(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact(v, pii)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (pii.redact_text(k), redact(v, pii)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_share_the_runs_placeholders() {
        let mut pii = PiiMap::default();
        assert_eq!(pii.redact_text("jo@example.com"), "<EMAIL_1>");
        let answer =
            json!({"contacts": [{"jo@example.com": "primary", "other": "al@example.org"}]});
        let red = redact(&answer, &mut pii);
        assert_eq!(
            red,
            json!({"contacts": [{"<EMAIL_1>": "primary", "other": "<EMAIL_2>"}]})
        );
        assert_eq!(pii.restore(&red), answer);
    }
}
