//! One run, layer by layer: ingest → prompt → infer/output → act → commit
//! (run, audit trail and outbox row in one transaction) → answer.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use super::attempts::{Chain, Spent, call_models};
use super::progress::Progress;
use super::record::Trail;
use super::review::{Proposed, Reason, send_to_review};
use super::{RunOptions, Runtime};
use crate::act::idempotency;
use crate::config::Pipeline;
use crate::error::{Error, ErrorClass};
use crate::flags::Flag;
use crate::infer::Usage;
use crate::store::{NewOutbox, QueueItem, QueueSettle, RunRecord};

/// A successful run, as the API returns it.
#[derive(Debug, Serialize)]
pub struct RunResult {
    pub run_id: String,
    pub pipeline: String,
    pub status: &'static str,
    pub output: Value,
    pub model: String,
    pub attempts: u32,
    pub usage: Usage,
    pub cost_micros: u64,
    pub latency_ms: u64,
    pub prompt_sha256: String,
    pub prompt_version: String,
    pub action: Option<Action>,
    /// Which step of the fallback chain answered.
    pub answered_by: AnsweredBy,
    /// The steps before it that did not answer, and why, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declined: Vec<Value>,
}

/// The step of the chain (model → cheaper model → baseline rules) that
/// gave a run its output.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum AnsweredBy {
    Model { model: String },
    Baseline { rule: String },
}

#[derive(Debug, Serialize)]
pub struct Action {
    pub sink: &'static str,
    pub idempotency_key: String,
    /// False when an identical action was already in the outbox.
    pub enqueued: bool,
}

/// A failed run; `run_id` is set when the run was recorded.
#[derive(Debug)]
pub struct RunFailure {
    pub run_id: Option<String>,
    /// The status the run was recorded with (`None`: not recorded).
    pub status: Option<String>,
    pub error: Error,
    /// The run went to the escalation queue for a human.
    pub escalated: bool,
    /// Each step of the chain that did not answer, and why.
    pub declined: Vec<Value>,
}

impl From<Error> for RunFailure {
    fn from(error: Error) -> Self {
        RunFailure {
            run_id: None,
            status: None,
            error,
            escalated: false,
            declined: Vec::new(),
        }
    }
}

impl RunFailure {
    /// The `error` object every interface shows: type, class, message,
    /// run id, field errors, and whether (and why) the run escalated.
    pub fn to_json(&self) -> Value {
        let mut error = json!({
            "type": self.error.type_name(),
            "class": self.error.class().as_str(),
            "message": self.error.to_string(),
            "run_id": self.run_id,
        });
        if !self.error.field_errors().is_empty() {
            error["errors"] = json!(self.error.field_errors());
        }
        if self.escalated {
            error["escalated"] = json!(true);
        }
        if !self.declined.is_empty() {
            error["declined"] = json!(self.declined);
        }
        if let Error::AlreadyDecided { decision, .. } = &self.error {
            error["decision"] = decision.clone();
        }
        error
    }
}

/// Run `input` through pipeline `name`.
pub async fn execute(rt: &Runtime, name: &str, input: Value) -> Result<RunResult, RunFailure> {
    execute_streaming(rt, name, input, crate::store::DEFAULT_TENANT, None).await
}

/// Run `input` through pipeline `name`, streaming model output to
/// `progress` as it arrives. If the receiver goes away (the client hung
/// up), the model call is cancelled and the run recorded as cancelled.
pub async fn execute_streaming(
    rt: &Runtime,
    name: &str,
    input: Value,
    tenant: &str,
    progress: Option<Progress>,
) -> Result<RunResult, RunFailure> {
    execute_as(rt, name, input, tenant, progress, RunOptions::default()).await
}

/// Run a queued event (a background run): the run takes the queue row's
/// id, and its commit settles the row in the same transaction. A
/// transient failure is not escalated: the worker tries again later, then
/// dead-letters it.
pub async fn execute_queued(rt: &Runtime, item: &QueueItem) -> Result<RunResult, RunFailure> {
    let opts = RunOptions {
        run_id: Some(item.id.clone()),
        queue: Some(QueueSettle {
            id: item.id.clone(),
            attempt: item.attempts,
        }),
        ..RunOptions::default()
    };
    execute_as(
        rt,
        &item.pipeline,
        item.input.clone(),
        &item.tenant,
        None,
        opts,
    )
    .await
}

/// [`execute_streaming`] with [`RunOptions`]: the run id chosen by the
/// caller (a batch checkpoints it first, to know after a crash whether the
/// run committed), and a replay's dry run and source run.
pub async fn execute_as(
    rt: &Runtime,
    name: &str,
    input: Value,
    tenant: &str,
    progress: Option<Progress>,
    opts: RunOptions,
) -> Result<RunResult, RunFailure> {
    let p = rt
        .config
        .pipelines
        .get(name)
        .ok_or_else(|| Error::PipelineNotFound(name.to_string()))?
        .clone();
    if p.flag == Flag::Off {
        return Err(Error::Disabled(name.to_string()).into());
    }
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + p.run_timeout;
    let created_at = crate::clock::now_rfc3339();
    let run_id = opts
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut trail = Trail::new(&run_id);
    if let Some(of) = &opts.replay_of {
        trail.push(
            "replay",
            json!({"replay_of": of, "dry_run": opts.dry_run, "models": p.models}),
        );
    }
    if let Some(tx) = &progress {
        let _ = tx.send(super::progress::RunEvent::Started {
            run_id: run_id.clone(),
            pipeline: p.name.clone(),
        });
    }
    let mut record = RunRecord {
        id: run_id.clone(),
        pipeline: p.name.clone(),
        tenant: tenant.into(),
        status: "failed".into(),
        event_id: None,
        input_sha256: None,
        prompt_sha256: None,
        prompt_version: Some(p.prompt.version.clone()),
        model: None,
        output: None,
        error_type: None,
        error_class: None,
        error_message: None,
        attempts: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost_micros: 0,
        latency_ms: 0,
        created_at,
        finished_at: String::new(),
        queue_item: opts.queue.clone(),
        pii_map: None,
        review: None,
    };

    // Layer 1: ingest. A payload whose shape drifted from its source's
    // contract is recorded (and, for a strict source, refused unparsed).
    let t = Instant::now();
    let drift = match rt.contracts.check(&p.name, p.drift, &input, &run_id).await {
        Ok(checked) => checked.to_json(),
        Err(e) => {
            rt.metrics.layer(&p.name, "ingest", t.elapsed());
            trail.push("ingest", json!({"valid": false, "drift": e.to_string()}));
            record.status = "rejected".into();
            return fail(rt, &p, record, trail, Spent::default(), started, e).await;
        }
    };
    let ingested = if opts.replay_of.is_some() {
        crate::ingest::ingest_replayed(&p, &input)
    } else {
        crate::ingest::ingest(&p, &input)
    };
    rt.metrics.layer(&p.name, "ingest", t.elapsed());
    let mut ingested = match ingested {
        Ok(i) => i,
        Err(errors) => {
            // The input is not stored: it failed its contract and may hold
            // unredacted PII. Only where it failed is recorded.
            let located: Vec<_> = errors
                .iter()
                .map(|e| json!({"pointer": e.pointer, "schema_path": e.schema_path}))
                .collect();
            trail.push("ingest", json!({"valid": false, "errors": located}));
            record.status = "rejected".into();
            return fail(
                rt,
                &p,
                record,
                trail,
                Spent::default(),
                started,
                Error::InputInvalid(errors),
            )
            .await;
        }
    };
    record.event_id = Some(ingested.event_id.clone());
    record.input_sha256 = Some(ingested.input_sha256.clone());
    trail.push(
        "ingest",
        json!({
            "valid": true,
            "event_id": ingested.event_id,
            "input_sha256": ingested.input_sha256,
            "input": ingested.redacted,
            "redactions": ingested.pii.summary(),
            "drift": drift,
            "normalized": ingested.normalizations.iter().map(|n| n.to_json()).collect::<Vec<_>>(),
        }),
    );

    // Context steps (`connectors/`): fetched with the original input from
    // declared systems, redacted with this run's placeholders.
    let mut context = json!({});
    if !p.context.is_empty() {
        let t = Instant::now();
        let gathered = rt
            .connectors
            .gather(
                &p.context,
                &rt.kbs,
                &input,
                &mut ingested.pii,
                deadline,
                &rt.metrics,
            )
            .await;
        rt.metrics.layer(&p.name, "context", t.elapsed());
        for step in gathered.records {
            trail.push("context", step);
        }
        if let Some(e) = gathered.failed {
            let e = Error::Context(e);
            return fail(rt, &p, record, trail, Spent::default(), started, e).await;
        }
        context = gathered.context;
        // Each step's answers have a contract of their own.
        let steps: Vec<(String, Value)> = context
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        for (step, answer) in steps.iter().filter(|(_, v)| !v.is_null()) {
            let source = format!("{}.context.{step}", p.name);
            match rt.contracts.check(&source, p.drift, answer, &run_id).await {
                Ok(crate::ingest::drift::Checked::Drifted(changes)) => {
                    trail.push(
                        "context",
                        json!({"step": step, "drift": {"changes": changes}}),
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    trail.push("context", json!({"step": step, "drift": e.to_string()}));
                    record.status = "rejected".into();
                    return fail(rt, &p, record, trail, Spent::default(), started, e).await;
                }
            }
        }
    }

    // Layer 2: prompt, fitted to the first model's window when it declares
    // fields that may give way.
    let t = Instant::now();
    let (fitted, context, window) = fit_window(rt, &p, &ingested.redacted, context);
    let rendered = p.prompt.render_with(&p.name, &fitted, &context);
    rt.metrics.layer(&p.name, "prompt", t.elapsed());
    let prompt = match rendered {
        Ok(r) => r,
        Err(e) => {
            return fail(
                rt,
                &p,
                record,
                trail,
                Spent::default(),
                started,
                Error::Prompt(e),
            )
            .await;
        }
    };
    record.prompt_sha256 = Some(prompt.sha256.clone());
    trail.push(
        "prompt",
        json!({
            "template": p.prompt.path.display().to_string(),
            "version": p.prompt.version,
            "sha256": prompt.sha256,
            "window": window,
            "messages": prompt.messages,
        }),
    );

    // Layers 3 and 4: infer, then parse and verify the output.
    let mut budget = crate::budget::RunBudget::new(p.limits);
    let (answer, mut spent) = call_models(
        rt,
        &p,
        Chain::of(&p, tenant, &mut budget),
        &prompt,
        deadline,
        &mut trail,
        progress.as_ref(),
    )
    .await;
    let (redacted_output, answered_by) = match answer {
        Ok(a) => (a.verified.value, AnsweredBy::Model { model: a.model }),
        Err(e) => match baseline(&p, &ingested.redacted, &e, &mut trail) {
            Some(answered) => answered,
            None => {
                // No model and no rule could answer: a human finishes it,
                // unless it is a background run that can simply be tried
                // again later.
                let retry_later = opts.queue.is_some() && e.class() == ErrorClass::Transient;
                if matches!(e, Error::Cancelled) || retry_later {
                    record.status = if retry_later { "failed" } else { "cancelled" }.into();
                    return fail(rt, &p, record, trail, spent, started, e).await;
                }
                return send_to_review(
                    rt,
                    &p,
                    record,
                    trail,
                    spent,
                    started,
                    &ingested,
                    None,
                    Reason::new(e),
                    opts.dry_run,
                )
                .await;
            }
        },
    };
    let model_name = match &answered_by {
        AnsweredBy::Model { model } => model.clone(),
        AnsweredBy::Baseline { .. } => "baseline".to_string(),
    };
    // High-stakes fields are generated a second time and compared: a
    // divergence (a hallucination canary) holds the run for review with
    // the first answer proposed. Then grounded claims and citations the
    // sources do not support are retracted (review, the model's output
    // proposed as it came, or act without them); then `[review]`'s rules.
    let from_model = matches!(answered_by, AnsweredBy::Model { .. });
    let dual = if from_model {
        let ask = super::dual::Second {
            tenant,
            prompt: &prompt,
            deadline,
            answered_by: &model_name,
        };
        let first = &redacted_output;
        super::dual::check(rt, &p, ask, first, &mut budget, &mut spent, &mut trail).await
    } else {
        Ok(())
    };
    let held = match dual {
        Err((e, pointers)) => Err((redacted_output, Reason::new(e).at(pointers))),
        Ok(()) => {
            let checked = if from_model {
                let output = redacted_output.clone();
                ground(rt, &p, output, &fitted, &context, &mut trail)
            } else {
                Ok(redacted_output.clone())
            };
            match checked {
                Ok(grounded) => match p.review.check(&grounded, from_model) {
                    Some((error, pointers)) => {
                        Err((grounded, Reason::new(error).at(pointers)))
                    }
                    None => Ok(grounded),
                },
                Err(reason) => Err((redacted_output, reason)),
            }
        }
    };
    let redacted_output = match held {
        Ok(output) => output,
        Err((output, reason)) => {
            let proposed = Proposed {
                output,
                model: model_name,
            };
            return send_to_review(
                rt,
                &p,
                record,
                trail,
                spent,
                started,
                &ingested,
                Some(proposed),
                reason,
                opts.dry_run,
            )
            .await;
        }
    };
    let declined = std::mem::take(&mut spent.declined);

    // Layer 5: act. The action is built from the verified output with PII
    // put back; the audit sees the redacted form only.
    let t = Instant::now();
    let output = ingested.pii.restore(&redacted_output);
    let run_info = super::review::run_info(&run_id, &p, &model_name);
    let key = idempotency::key(&p.name, &ingested.event_key, &redacted_output);
    let body = p.sink.body(&ingested.normalized, &output, &run_info);
    trail.push(
        "act",
        json!({
            "sink": p.sink.kind(),
            "target": p.sink.target(),
            "idempotency_key": key,
            "body": p.sink.body(&ingested.redacted, &redacted_output, &run_info),
            "state": if opts.dry_run { "dry_run" } else { "enqueued" },
        }),
    );
    rt.metrics.layer(&p.name, "act", t.elapsed());

    record.status = "succeeded".into();
    record.model = Some(model_name.clone());
    record.output = Some(redacted_output);
    let latency_ms = finish(&mut record, &spent, started);
    trail.push(
        "result",
        json!({
            "status": "succeeded",
            "model": model_name,
            "answered_by": answered_by,
            "declined": declined,
            "attempts": spent.attempts,
            "usage": spent.usage,
            "cost_micros": spent.cost_micros,
            "latency_ms": latency_ms,
        }),
    );
    let outbox = NewOutbox {
        pipeline: p.name.clone(),
        idempotency_key: key.clone(),
        body,
    };
    let t = Instant::now();
    let enqueued = rt
        .store
        .commit_run(
            record,
            trail.into_entries(),
            (!opts.dry_run).then_some(outbox),
        )
        .await
        .map_err(|e| RunFailure::from(Error::from(e)))?;
    rt.metrics.layer(&p.name, "commit", t.elapsed());
    rt.metrics.run_finished(&p.name, "succeeded");
    if enqueued {
        rt.outbox_wake.notify_one();
    }
    Ok(RunResult {
        run_id,
        pipeline: p.name.clone(),
        status: "succeeded",
        output,
        model: model_name,
        attempts: spent.attempts,
        usage: spent.usage,
        cost_micros: spent.cost_micros,
        latency_ms,
        prompt_sha256: prompt.sha256,
        prompt_version: p.prompt.version.clone(),
        action: Some(Action {
            sink: p.sink.kind(),
            idempotency_key: key,
            enqueued,
        }),
        answered_by,
        declined,
    })
}

/// Check the grounded claims and citations the output schema marks against
/// the input and context the prompt was rendered from. The output without
/// what was retracted, or `RetractedClaims` when the run must go to review:
/// the pipeline says so, or the output no longer satisfies its schema.
fn ground(
    rt: &Runtime,
    p: &Pipeline,
    output: Value,
    input: &Value,
    context: &Value,
    trail: &mut Trail,
) -> Result<Value, Reason> {
    use crate::output::grounding::{self, OnRetraction, Sources};
    let schema = &p.output_schema.source;
    if !grounding::declares_any(schema) {
        return Ok(output);
    }
    let t = Instant::now();
    let checked = grounding::check(
        schema,
        &output,
        &Sources::gather(input, context),
        &p.grounding,
    );
    for r in &checked.retracted {
        rt.metrics.grounding_retraction(&p.name, r.reason);
    }
    let valid_without = checked.retracted.is_empty() || p.output_schema.is_valid(&checked.output);
    let decision = if checked.retracted.is_empty() {
        "grounded"
    } else if !valid_without {
        "review_required_field"
    } else if p.grounding.on_retraction == OnRetraction::Act {
        "act_without"
    } else {
        "review"
    };
    // Pointers and reasons only: no quote or source text.
    trail.push(
        "grounding",
        json!({
            "decision": decision,
            "retracted": checked.retracted,
            "latency_us": t.elapsed().as_micros() as u64,
        }),
    );
    rt.metrics.layer(&p.name, "grounding", t.elapsed());
    match decision {
        "grounded" | "act_without" => Ok(checked.output),
        _ => Err(Reason::new(Error::RetractedClaims {
            count: checked.retracted.len(),
            detail: checked
                .retracted
                .iter()
                .take(5)
                .map(|r| format!("{} ({})", r.pointer, r.reason))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .at(checked
            .retracted
            .iter()
            .map(|r| r.pointer.clone())
            .collect())),
    }
}

/// The baseline's answer when every model failed for a transient reason
/// (unavailable, rate-limited, timed out) or gave output that failed its
/// checks, recorded in the trail. A budget refusal goes to a human, as the
/// budget's owner decided; so do a safety refusal and a configuration error
/// (a rejected key or request), which must be seen, not papered over.
fn baseline(
    p: &Pipeline,
    input: &Value,
    error: &Error,
    trail: &mut Trail,
) -> Option<(Value, AnsweredBy)> {
    let rules = p.baseline.as_ref()?;
    if matches!(error, Error::Cancelled)
        || !matches!(error.class(), ErrorClass::Transient | ErrorClass::Data)
    {
        return None;
    }
    let t = Instant::now();
    let answer = rules.answer(input, &p.output_schema);
    trail.push(
        "baseline",
        json!({
            "because": super::attempts::error_json(error),
            "rule": answer.as_ref().map(|a| a.rule.clone()),
            "output": answer.as_ref().map(|a| a.output.clone()),
            "latency_us": t.elapsed().as_micros() as u64,
        }),
    );
    let a = answer?;
    Some((a.output, AnsweredBy::Baseline { rule: a.rule }))
}

fn finish(record: &mut RunRecord, spent: &Spent, started: Instant) -> u64 {
    let latency_ms = started.elapsed().as_millis() as u64;
    record.attempts = spent.attempts;
    record.input_tokens = spent.usage.input_tokens;
    record.output_tokens = spent.usage.output_tokens;
    record.cost_micros = spent.cost_micros;
    record.latency_ms = latency_ms;
    record.finished_at = crate::clock::now_rfc3339();
    latency_ms
}

/// The input and context the prompt is rendered from: cut by
/// `[[pipelines.NAME.window]]` (pointers into the input, or into context
/// steps' answers when they start with `/context/`) until the prompt,
/// counted with the first model's tokenizer, fits its window minus the
/// reserved output; with the audit report of the cuts.
fn fit_window(rt: &Runtime, p: &Pipeline, input: &Value, context: Value) -> (Value, Value, Value) {
    let model = p.models.first().and_then(|m| rt.config.models.get(m));
    let (Some(model), false) = (model, p.window.is_empty()) else {
        return (input.clone(), context, Value::Null);
    };
    let budget = u64::from(model.context_window).saturating_sub(u64::from(p.max_output_tokens));
    let fields: Vec<_> = p
        .window
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if !f.pointer.starts_with("/context/") {
                f.pointer = format!("/input{}", f.pointer);
            }
            f
        })
        .collect();
    let both = json!({"input": input, "context": context});
    let count = |v: &Value| {
        p.prompt
            .render_with(&p.name, &v["input"], &v["context"])
            .map(|r| model.tokenizer.count_messages(&r.messages))
    };
    match crate::prompt::window::fit(&fields, &both, budget, count) {
        Ok(f) => {
            let mut fitted = f.input;
            let mut report = f.report.unwrap_or(Value::Null);
            // Report pointers as declared.
            if let Some(cuts) = report["cut"].as_array_mut() {
                for c in cuts {
                    if let Some(p) = c["pointer"].as_str().and_then(|p| p.strip_prefix("/input")) {
                        c["pointer"] = json!(p);
                    }
                }
            }
            (fitted["input"].take(), fitted["context"].take(), report)
        }
        // The render fails again right after, with its own error.
        Err(_) => (input.clone(), both["context"].clone(), Value::Null),
    }
}

/// Record a failed run with its trail, then return the error with its id.
pub(super) async fn fail(
    rt: &Runtime,
    p: &Pipeline,
    mut record: RunRecord,
    mut trail: Trail,
    spent: Spent,
    started: Instant,
    error: Error,
) -> Result<RunResult, RunFailure> {
    let latency_ms = finish(&mut record, &spent, started);
    if matches!(error, Error::Cancelled) {
        record.status = "cancelled".into();
    }
    let escalated = record.status == "escalated";
    record.error_type = Some(error.type_name().to_string());
    record.error_class = Some(error.class().as_str().to_string());
    record.error_message = Some(error.to_string());
    trail.push(
        "result",
        json!({
            "status": record.status,
            "error": super::attempts::error_json(&error),
            "declined": spent.declined,
            "attempts": spent.attempts,
            "usage": spent.usage,
            "cost_micros": spent.cost_micros,
            "latency_ms": latency_ms,
        }),
    );
    let outcome = record.status.clone();
    let run_id = record.id.clone();
    match rt
        .store
        .commit_run(record, trail.into_entries(), None)
        .await
    {
        Ok(_) => {
            rt.metrics.run_finished(&p.name, &outcome);
            Err(RunFailure {
                run_id: Some(run_id),
                status: Some(outcome),
                error,
                escalated,
                declined: spent.declined,
            })
        }
        Err(store) => {
            tracing::error!(run_id, error = %store, "could not record a failed run");
            Err(RunFailure {
                run_id: None,
                status: None,
                error,
                escalated: false,
                declined: spent.declined,
            })
        }
    }
}
