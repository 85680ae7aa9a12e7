//! The model gateway behind `/v1/chat/completions`: a declared model and its
//! fallbacks, each call bounded by a timeout and retried on transient
//! errors with backoff; identical deterministic requests served from the
//! cache; JSON-schema answers validated; every call recorded as a run with
//! its audit trail (hashes, usage, cost — never the message text).

pub mod cache;
mod record;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

pub use record::Tracker;
use request::{ChatCall, Format};

use crate::budget::{RunBudget, RunLimits};
use crate::config::ModelConfig;
use crate::error::Error;
use crate::infer::{
    ChatMessage, ChatRequest, ChatResponse, ChatStream, ResponseFormat, RetryPolicy,
    StructuredMode, stream,
};
use crate::pipeline::Runtime;
use crate::pipeline::admission::{self, CallScope};

/// Retries per model for transient errors.
const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(100),
    max_delay: Duration::from_millis(2000),
};
/// Output tokens when the request sets no limit (and the window allows).
const DEFAULT_MAX_TOKENS: u32 = 4096;
/// A stream may run this long in total; stalls are cut sooner by the
/// provider's timeout applied between events.
const STREAM_TOTAL: Duration = Duration::from_secs(600);
/// Feedback rounds for a JSON-schema answer that fails validation.
const MAX_REPAIRS: u32 = 1;
/// How long a call may wait for its model's rate-limit slot, retries and
/// fallbacks included (a stream's answer is bounded by [`STREAM_TOTAL`]).
const CALL_DEADLINE: Duration = Duration::from_secs(120);

/// The models to try for a requested name: it, then its fallbacks.
pub fn chain(rt: &Runtime, name: &str) -> Option<Vec<Arc<ModelConfig>>> {
    let first = rt.config.models.get(name)?;
    let mut out = vec![first.clone()];
    for f in &first.fallbacks {
        if let Some(m) = rt.config.models.get(f) {
            out.push(m.clone());
        }
    }
    Some(out)
}

/// The cache key of a deterministic request to `model`, when caching is on.
fn cache_key(model: &ModelConfig, call: &ChatCall) -> Option<(String, Duration)> {
    let ttl = model.cache_ttl?;
    if !call.deterministic() {
        return None;
    }
    let format = match &call.format {
        Format::Text => json!("text"),
        Format::JsonObject => json!("json_object"),
        Format::JsonSchema { name, schema } => json!({"name": name, "schema": schema.source}),
    };
    let tools: Vec<_> = call.tools.iter().map(|t| json!(t)).collect();
    let key = json!({
        "model": model.name,
        "messages": call.messages,
        "tools": tools,
        "tool_choice": format!("{:?}", call.tool_choice),
        "format": format,
        "max_tokens": call.max_tokens,
        "stop": call.stop,
        "seed": call.seed,
    });
    Some((
        crate::canonical::sha256_hex(crate::canonical::to_string(&key)),
        ttl,
    ))
}

/// The output allowance when the request sets none: [`DEFAULT_MAX_TOKENS`]
/// or what the window leaves, counting exactly only when the cheap bound
/// says the window is close.
fn default_max_tokens(model: &ModelConfig, messages: &[ChatMessage]) -> u32 {
    let window = u64::from(model.context_window);
    let mut prompt = model.tokenizer.upper_bound(messages);
    if window.saturating_sub(prompt) < u64::from(DEFAULT_MAX_TOKENS) {
        prompt = model.tokenizer.count_messages(messages);
    }
    let room = window.saturating_sub(prompt);
    u32::try_from(room.min(u64::from(DEFAULT_MAX_TOKENS)))
        .unwrap_or(DEFAULT_MAX_TOKENS)
        .max(1)
}

/// A finished non-streaming call.
pub struct Completion {
    pub run_id: String,
    pub response: ChatResponse,
    pub cached: bool,
}

/// How an answer arrives.
enum Answer {
    Full(ChatResponse),
    Stream(ChatStream),
}

/// Answer `call` in one piece.
pub async fn complete(
    rt: &Arc<Runtime>,
    chain: &[Arc<ModelConfig>],
    call: &ChatCall,
) -> Result<Completion, (String, Error)> {
    let mut tracker = Tracker::new(rt.clone(), call, false);
    if let Some((key, _)) = chain.first().and_then(|m| cache_key(m, call))
        && let Some(hit) = rt.chat_cache.get(&key)
    {
        tracker.cache_hit(&hit.model);
        let run_id = tracker.run_id().to_string();
        tracker.succeed(&hit.response).await;
        return Ok(Completion {
            run_id,
            response: hit.response,
            cached: true,
        });
    }
    match call_chain(rt, chain, call, false, &mut tracker).await {
        Ok((Answer::Full(response), model)) => {
            if let Some((key, ttl)) = cache_key(&model, call) {
                rt.chat_cache.put(
                    key,
                    cache::Cached {
                        response: response.clone(),
                        model: model.name.clone(),
                    },
                    ttl,
                );
            }
            let run_id = tracker.run_id().to_string();
            tracker.succeed(&response).await;
            Ok(Completion {
                run_id,
                response,
                cached: false,
            })
        }
        Ok((Answer::Stream(_), _)) => {
            let run_id = tracker.run_id().to_string();
            let e = Error::Config("a stream answered a non-streaming call".into());
            tracker.fail(&e).await;
            Err((run_id, e))
        }
        Err(e) => {
            let run_id = tracker.run_id().to_string();
            tracker.fail(&e).await;
            Err((run_id, e))
        }
    }
}

/// Open a stream for `call`: retries and fallbacks happen until the first
/// byte; after that a failure ends the stream with an error event. The
/// tracker records the run when the stream ends or is dropped.
pub async fn open_stream(
    rt: &Arc<Runtime>,
    chain: &[Arc<ModelConfig>],
    call: &ChatCall,
) -> Result<(ChatStream, Tracker), (String, Error)> {
    let mut tracker = Tracker::new(rt.clone(), call, true);
    if let Some((key, _)) = chain.first().and_then(|m| cache_key(m, call))
        && let Some(hit) = rt.chat_cache.get(&key)
    {
        tracker.cache_hit(&hit.model);
        let events = stream::events_of(hit.response);
        let s: ChatStream = Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)));
        return Ok((s, tracker));
    }
    match call_chain(rt, chain, call, true, &mut tracker).await {
        Ok((Answer::Stream(s), model)) => {
            let idle = rt
                .config
                .providers
                .get(&model.provider)
                .map_or(Duration::from_secs(30), |p| p.timeout);
            tracker.streaming_from(&model, &call.messages);
            Ok((stream::with_idle_timeout(s, idle), tracker))
        }
        Ok((Answer::Full(r), model)) => {
            tracker.streaming_from(&model, &call.messages);
            let s: ChatStream = Box::pin(futures_util::stream::iter(
                stream::events_of(r).into_iter().map(Ok),
            ));
            Ok((s, tracker))
        }
        Err(e) => {
            let run_id = tracker.run_id().to_string();
            tracker.fail(&e).await;
            Err((run_id, e))
        }
    }
}

/// Try each model of the chain, retrying transient errors with backoff.
async fn call_chain(
    rt: &Runtime,
    chain: &[Arc<ModelConfig>],
    call: &ChatCall,
    streaming: bool,
    tracker: &mut Tracker,
) -> Result<(Answer, Arc<ModelConfig>), Error> {
    let mut last_err = Error::Config("no model in the chain is usable".into());
    let deadline = tokio::time::Instant::now() + CALL_DEADLINE;
    // The endpoint has no per-run limits; budgets and caps still apply.
    let mut run_budget = RunBudget::new(RunLimits::default());
    let scope = CallScope {
        tenant: &call.tenant,
        pipeline: record::CHAT_PIPELINE,
        max_cost_per_call: None,
    };
    for model in chain {
        let (Some(provider), Some(provider_cfg)) = (
            rt.providers.get(&model.provider),
            rt.config.providers.get(&model.provider),
        ) else {
            last_err = Error::Config(format!("model `{}` has no usable provider", model.name));
            continue;
        };
        let max_tokens = match call.max_tokens {
            Some(n) => n,
            None => default_max_tokens(model, &call.messages),
        };
        let mode = StructuredMode::choose(provider.structured_modes(), model.structured);
        let format = match &call.format {
            Format::Text => ResponseFormat::Text,
            Format::JsonObject => ResponseFormat::JsonObject,
            Format::JsonSchema { name, schema } => ResponseFormat::JsonSchema {
                name,
                schema: &schema.source,
                mode,
            },
        };
        let mut messages: Vec<ChatMessage> = call.messages.clone();
        let mut transient = 0u32;
        let mut repairs = 0u32;
        loop {
            let timeout = if streaming {
                STREAM_TOTAL
            } else {
                provider_cfg.timeout
            };
            let admitted = match admission::admit(
                rt,
                model,
                &scope,
                &messages,
                max_tokens,
                deadline,
                &mut run_budget,
            )
            .await
            {
                Ok(a) => a,
                Err(e) => {
                    // Too long, too dear, breaker open or rate-limited:
                    // nothing was spent; the next model may take it.
                    tracker.refused(model, &e);
                    last_err = e;
                    break;
                }
            };
            let request = ChatRequest {
                model: &model.upstream,
                messages: &messages,
                format,
                tools: &call.tools,
                tool_choice: &call.tool_choice,
                max_tokens,
                temperature: call.temperature,
                stop: &call.stop,
                seed: call.seed,
                timeout,
            };
            let started = std::time::Instant::now();
            let result = if streaming {
                provider.stream(&request).await.map(Answer::Stream)
            } else {
                provider.chat(&request).await.map(Answer::Full)
            };
            let took = started.elapsed();
            let result = match result {
                Ok(Answer::Stream(s)) => {
                    tracker.hold(admitted.opened());
                    tracker.attempt(model, took.as_millis() as u64, Ok(None));
                    return Ok((Answer::Stream(s), model.clone()));
                }
                Ok(Answer::Full(r)) => Ok(r),
                Err(e) => Err(e),
            };
            let cost = result.as_ref().map_or(0, |r| model.cost_micros(&r.usage));
            admitted.settle(&result, cost, &mut run_budget).await;
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    tracker.attempt(model, took.as_millis() as u64, Err(&e));
                    rt.metrics.provider_call(&model.name, e.type_name());
                    if e.falls_back() && !e.class().retryable() {
                        last_err = e.into();
                        break;
                    }
                    if !e.class().retryable() {
                        return Err(e.into());
                    }
                    transient += 1;
                    if transient >= RETRY.max_attempts
                        || !rt.guards.get(&model.name).is_none_or(|g| g.may_retry())
                    {
                        // Out of attempts, or of this model's retry budget.
                        last_err = e.into();
                        break;
                    }
                    tokio::time::sleep(RETRY.delay(transient, e.retry_after())).await;
                    continue;
                }
            };
            rt.metrics.provider_call(&model.name, "ok");
            tracker.attempt(model, took.as_millis() as u64, Ok(Some(&response)));
            let Format::JsonSchema { schema, .. } = &call.format else {
                return Ok((Answer::Full(response), model.clone()));
            };
            match crate::output::check(schema, &response.content) {
                Ok(verified) => {
                    let mut response = response;
                    if !verified.repairs.is_empty() {
                        response.content = verified.value.to_string();
                    }
                    return Ok((Answer::Full(response), model.clone()));
                }
                Err(rejected) if repairs < MAX_REPAIRS => {
                    repairs += 1;
                    messages.push(ChatMessage::assistant(response.content));
                    messages.push(ChatMessage::user(rejected.feedback()));
                }
                Err(rejected) => {
                    return Err(Error::OutputInvalid {
                        attempts: tracker.attempts(),
                        detail: rejected.summary(),
                    });
                }
            }
        }
    }
    Err(last_err)
}
