//! The model-call loop of a run: each model of the chain in turn; on a
//! transient error, back off (full jitter, Retry-After honoured) and retry
//! up to the pipeline's limit; on an output that fails its checks, feed the
//! errors back and ask again; never past the run's deadline.

use std::time::Instant as StdInstant;

use serde_json::json;
use tokio::time::Instant;

use super::Runtime;
use super::admission::{self, CallScope};
use super::record::Trail;
use crate::budget::RunBudget;
use crate::config::ModelConfig;
use crate::config::Pipeline;
use crate::error::Error;
use futures_util::StreamExt;

use super::progress::{Progress, RunEvent};
use crate::infer::stream::{self, Collector};
use crate::infer::{
    ChatMessage, ChatRequest, ChatResponse, Provider, ProviderError, ResponseFormat,
    StreamEvent, StructuredMode, Usage,
};
use crate::output::{self, Verified};
use crate::prompt::RenderedPrompt;

/// A verified answer and the model that gave it.
pub struct Answer {
    pub verified: Verified,
    pub model: String,
}

/// What the run spent, whether it succeeded or not.
#[derive(Default)]
pub struct Spent {
    pub attempts: u32,
    pub usage: Usage,
    pub cost_micros: u64,
    /// Each model of the chain that did not answer, and why, in order.
    pub declined: Vec<serde_json::Value>,
}

impl Spent {
    /// Add what another call loop of the same run spent (its declines are
    /// its own: they are in the trail).
    pub fn absorb(&mut self, other: Spent) {
        self.attempts += other.attempts;
        self.usage.add(other.usage);
        self.cost_micros += other.cost_micros;
    }

    fn decline(&mut self, model: &str, e: &Error) {
        self.declined
            .push(json!({"model": model, "error": error_json(e)}));
    }
}

/// An error as the audit and the API show it: type, class, message.
pub fn error_json(e: &Error) -> serde_json::Value {
    json!({"type": e.type_name(), "class": e.class().as_str(), "message": e.to_string()})
}

/// Which models a call loop tries, at which temperature, within which
/// run budget (one per run: a second generation spends from the same).
pub struct Chain<'a> {
    pub tenant: &'a str,
    pub models: &'a [String],
    pub temperature: f64,
    pub budget: &'a mut RunBudget,
}

impl<'a> Chain<'a> {
    /// The pipeline's own chain and temperature.
    pub fn of(p: &'a Pipeline, tenant: &'a str, budget: &'a mut RunBudget) -> Self {
        Chain {
            tenant,
            models: &p.models,
            temperature: p.temperature,
            budget,
        }
    }
}

pub async fn call_models(
    rt: &Runtime,
    p: &Pipeline,
    chain: Chain<'_>,
    prompt: &RenderedPrompt,
    deadline: Instant,
    trail: &mut Trail,
    progress: Option<&Progress>,
) -> (Result<Answer, Error>, Spent) {
    let mut spent = Spent::default();
    let run_budget = chain.budget;
    let scope = CallScope {
        tenant: chain.tenant,
        pipeline: &p.name,
        max_cost_per_call: p.limits.max_cost_micros_per_call,
    };
    let mut last_err = Error::Config(format!("pipeline `{}` has no usable model", p.name));
    for model_name in chain.models {
        let model = rt.config.models.get(model_name);
        let provider_cfg = model.and_then(|m| rt.config.providers.get(&m.provider));
        let (Some(model), Some(provider_cfg), Some(provider)) = (
            model,
            provider_cfg,
            model.and_then(|m| rt.providers.get(&m.provider)),
        ) else {
            last_err = Error::Config(format!(
                "model `{model_name}` or its provider is not available"
            ));
            spent.decline(model_name, &last_err);
            continue;
        };
        let per_call = p.request_timeout.unwrap_or(provider_cfg.timeout);
        let mode = StructuredMode::choose(provider.structured_modes(), model.structured);
        let mut messages: Vec<ChatMessage> = prompt.messages.clone();
        let mut transient = 0u32;
        let mut repairs = 0u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return (
                    Err(Error::Deadline(p.run_timeout.as_millis() as u64)),
                    spent,
                );
            }
            // Priced, guarded and budgeted before it goes out; a refusal
            // spends nothing and passes to the next model of the chain.
            let admitted = match admission::admit(
                rt,
                model,
                &scope,
                &messages,
                p.max_output_tokens,
                deadline,
                run_budget,
            )
            .await
            {
                Ok(a) => a,
                Err(e) => {
                    trail.push(
                        "infer",
                        json!({"model": model.name, "status": "refused", "error": error_json(&e)}),
                    );
                    if matches!(e, Error::RunBudgetExceeded(_)) {
                        // The run's own limit: no other model changes that.
                        return (Err(e), spent);
                    }
                    spent.decline(&model.name, &e);
                    last_err = e;
                    break;
                }
            };
            let now = Instant::now();
            let request = ChatRequest::simple(
                &model.upstream,
                &messages,
                ResponseFormat::JsonSchema {
                    name: &p.name,
                    // seam's own `x-seam-*` marks stay home unless the
                    // provider reads them.
                    schema: if provider.reads_seam_marks() {
                        &p.output_schema.source
                    } else {
                        p.output_schema.wire()
                    },
                    mode,
                },
                p.max_output_tokens,
                chain.temperature,
                per_call.min(deadline - now),
            );
            let started = StdInstant::now();
            spent.attempts += 1;
            let result = match progress {
                None => provider.chat(&request).await,
                Some(tx) => {
                    let _ = tx.send(RunEvent::Attempt {
                        attempt: spent.attempts,
                        model: model.name.clone(),
                    });
                    let idle = per_call.min(deadline - now);
                    match streamed(provider.as_ref(), &request, model, idle, tx, spent.attempts)
                        .await
                    {
                        Some(r) => r,
                        // Dropping `admitted` counts the call at its estimate.
                        None => return (Err(Error::Cancelled), spent),
                    }
                }
            };
            let took = started.elapsed();
            let cost = result.as_ref().map_or(0, |r| model.cost_micros(&r.usage));
            let estimate = admitted.estimate_micros;
            admitted.settle(&result, cost, run_budget).await;
            rt.metrics.layer(&p.name, "infer", took);
            let base = json!({
                "model": model.name,
                "provider": model.provider,
                "upstream": model.upstream,
                "attempt": spent.attempts,
                "estimate_micros": estimate,
                "params": {"max_tokens": p.max_output_tokens, "temperature": chain.temperature, "structured_output": mode.as_str()},
                "latency_ms": took.as_millis() as u64,
            });
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    rt.metrics.provider_call(&model.name, e.type_name());
                    trail.push(
                        "infer",
                        merge(
                            base,
                            json!({"status": "error", "error": provider_error_json(&e)}),
                        ),
                    );
                    if e.falls_back() && !e.class().retryable() {
                        // Too long for this model: a larger one may take it.
                        last_err = e.into();
                        spent.decline(&model.name, &last_err);
                        break;
                    }
                    if !e.class().retryable() {
                        return (Err(e.into()), spent);
                    }
                    transient += 1;
                    let delay = p.retry.delay(transient, e.retry_after());
                    if transient >= p.retry.max_attempts || Instant::now() + delay >= deadline {
                        // Out of attempts or of time for this model: next in the chain.
                        last_err = e.into();
                        spent.decline(&model.name, &last_err);
                        break;
                    }
                    if !rt.guards.get(&model.name).is_none_or(|g| g.may_retry()) {
                        // A failing provider is not hammered: its retries
                        // are capped at a fraction of its calls.
                        trail.push(
                            "infer",
                            json!({"model": model.name, "status": "retry_denied", "reason": "the model's retry budget is spent"}),
                        );
                        last_err = e.into();
                        spent.decline(&model.name, &last_err);
                        break;
                    }
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            spent.usage.add(response.usage);
            spent.cost_micros += cost;
            rt.metrics.provider_call(&model.name, "ok");
            rt.metrics.usage(
                &p.name,
                &model.name,
                response.usage.input_tokens,
                response.usage.output_tokens,
                cost,
            );
            trail.push(
                "infer",
                merge(
                    base,
                    json!({
                        "status": "ok",
                        "usage": response.usage,
                        "cost_micros": cost,
                        "finish_reason": response.finish_reason,
                        "response_id": response.response_id,
                        "raw_output": response.content,
                    }),
                ),
            );
            let checking = StdInstant::now();
            let checked = output::check(&p.output_schema, &response.content);
            rt.metrics.layer(&p.name, "output", checking.elapsed());
            match checked {
                Ok(verified) => {
                    trail.push("output", json!({"valid": true, "repairs": verified.repairs, "parsed": verified.value}));
                    return (
                        Ok(Answer {
                            verified,
                            model: model.name.clone(),
                        }),
                        spent,
                    );
                }
                Err(rejected) => {
                    trail.push(
                        "output",
                        json!({
                            "valid": false,
                            "stage": rejected.stage,
                            "repairs": rejected.repairs,
                            "errors": rejected.errors,
                            "feedback_sent": repairs < p.max_repairs,
                        }),
                    );
                    if repairs >= p.max_repairs {
                        let detail = rejected.summary();
                        return (
                            Err(Error::OutputInvalid {
                                attempts: spent.attempts,
                                detail,
                            }),
                            spent,
                        );
                    }
                    repairs += 1;
                    messages.push(ChatMessage::assistant(response.content));
                    messages.push(ChatMessage::user(rejected.feedback()));
                }
            }
        }
    }
    (Err(last_err), spent)
}

/// One call as a stream: text goes to the client as it arrives, and the
/// whole answer comes back for the checks. `None`: the client hung up, and
/// the upstream call was dropped.
async fn streamed(
    provider: &dyn Provider,
    request: &ChatRequest<'_>,
    model: &ModelConfig,
    idle: std::time::Duration,
    tx: &Progress,
    attempt: u32,
) -> Option<Result<ChatResponse, ProviderError>> {
    let opened = tokio::select! {
        opened = provider.stream(request) => opened,
        () = tx.closed() => return None,
    };
    let mut upstream = match opened {
        Ok(s) => stream::with_idle_timeout(s, idle),
        Err(e) => return Some(Err(e)),
    };
    let mut collector = Collector::default();
    loop {
        let next = tokio::select! {
            next = upstream.next() => next,
            () = tx.closed() => return None,
        };
        match next {
            Some(Ok(ev)) => {
                if let StreamEvent::Text(t) = &ev {
                    let _ = tx.send(RunEvent::Partial {
                        attempt,
                        delta: t.clone(),
                    });
                }
                collector.push(&ev);
            }
            Some(Err(e)) => return Some(Err(e)),
            None => break,
        }
    }
    let counted = collector.finish_counted(model.tokenizer, || {
        model.tokenizer.count_messages(request.messages)
    });
    Some(Ok(counted.0))
}

fn provider_error_json(e: &ProviderError) -> serde_json::Value {
    json!({"type": e.type_name(), "class": e.class().as_str(), "message": e.to_string()})
}

fn merge(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}
