//! `POST /v1/chat/completions`: the OpenAI front-end, also behind the Azure
//! OpenAI route. Faults come from the shared [`gate`](super::gate); errors
//! and answers are OpenAI's, but for Azure's content filter.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fastrand::Rng;
use hyper::Response;
use serde_json::Value;

use super::answer::{alnum, base_seed, json_object_text, pick_tool, structured_text, text_answer};
use super::faults::Fault;
use super::gate::{Ask, Gate, Outcome, Pass, Refusal, gate};
use super::generate::text::Words;
use super::http::{Body, json_response, sse_response};
use super::limit::{Kind, Over};
use super::openai::{ApiError, ChatRequest, Format, Tool, ToolChoice};
use super::response::{Choice, Meta, Output, completion, sse_events, usage};
use super::{State, azure, mix, stream};

/// Which door a chat request came in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/v1/chat/completions`.
    OpenAi,
    /// Azure OpenAI's `/openai/deployments/{deployment}/chat/completions`.
    Azure { deployment: &'a str },
}

pub(crate) async fn handle(state: &State, body: &Bytes, route: Route<'_>) -> Outcome {
    let parsed = match route {
        Route::OpenAi => ChatRequest::parse(body),
        Route::Azure { deployment } => ChatRequest::parse_for_deployment(body, deployment),
    };
    let req = match parsed.and_then(|r| r.check_context().map(|()| r)) {
        Ok(r) => r,
        Err(e) => return Outcome::Respond(error_response(&e, &[])),
    };
    let ask = Ask {
        model: &req.model,
        tokens: req.rate_tokens(),
    };
    match gate(state, ask, req.conversation_key(), req.stream).await {
        // Azure's prompt filter refuses before the model answers.
        Gate::Pass(pass)
            if pass.fault == Some(Fault::Refuse) && matches!(route, Route::Azure { .. }) =>
        {
            Outcome::Respond(azure::content_filter())
        }
        Gate::Pass(pass) => Outcome::Respond(answer(state, &req, pass)),
        Gate::Refuse(r) => Outcome::Respond(refusal(&req, r)),
        Gate::Drop(outcome) => outcome,
    }
}

/// An error fault as OpenAI answers it.
fn refusal(req: &ChatRequest, r: Refusal) -> Response<Body> {
    match r {
        Refusal::RateLimited(secs) => {
            let e = server_error(
                429,
                format!(
                    "Rate limit reached for {} in organization org-seam-sim on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in {secs}s.",
                    req.model
                ),
                "requests",
                Some("rate_limit_exceeded"),
            );
            let secs = secs.to_string();
            let reset = format!("{secs}s");
            error_response(
                &e,
                &[
                    ("retry-after", &secs),
                    ("x-ratelimit-reset-requests", &reset),
                ],
            )
        }
        Refusal::Unavailable(secs) => {
            let e = server_error(
                503,
                "The server is overloaded or not ready yet.".into(),
                "server_error",
                None,
            );
            let secs = secs.map(|s| s.to_string());
            let headers: Vec<(&str, &str)> =
                secs.iter().map(|s| ("retry-after", s.as_str())).collect();
            error_response(&e, &headers)
        }
        Refusal::OverLimit(over) => over_limit(&req.model, &over),
        Refusal::ServerError => {
            let e = server_error(
                500,
                "The server had an error while processing your request. Sorry about that!".into(),
                "server_error",
                None,
            );
            error_response(&e, &[])
        }
    }
}

/// A `--limit` refusal as OpenAI words it, with its `x-ratelimit-*` headers.
fn over_limit(model: &str, over: &Over) -> Response<Body> {
    let (what, short, kind) = match over.kind {
        Kind::Requests => ("requests per min (RPM)", "requests", "requests"),
        Kind::Tokens => ("tokens per min (TPM)", "tokens", "tokens"),
    };
    let wait = over.retry_after.as_secs_f64();
    let e = server_error(
        429,
        format!(
            "Rate limit reached for {model} in organization org-seam-sim on {what}: Limit {}, Used {}, Requested {}. Please try again in {wait:.3}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            over.limit, over.used, over.requested
        ),
        kind,
        Some("rate_limit_exceeded"),
    );
    let retry = over.retry_after_secs().to_string();
    let limit = over.limit.to_string();
    let remaining = over.limit.saturating_sub(over.used).to_string();
    let reset = format!("{wait:.3}s");
    let names = [
        format!("x-ratelimit-limit-{short}"),
        format!("x-ratelimit-remaining-{short}"),
        format!("x-ratelimit-reset-{short}"),
    ];
    error_response(
        &e,
        &[
            ("retry-after", &retry),
            (&names[0], &limit),
            (&names[1], &remaining),
            (&names[2], &reset),
        ],
    )
}

fn server_error(
    status: u16,
    message: String,
    kind: &'static str,
    code: Option<&'static str>,
) -> ApiError {
    ApiError {
        status,
        message,
        kind,
        param: None,
        code,
    }
}

fn error_response(e: &ApiError, headers: &[(&str, &str)]) -> Response<Body> {
    json_response(e.status, &e.body(), headers)
}

fn answer(state: &State, req: &ChatRequest, mut pass: Pass) -> Response<Body> {
    let (fault, counter) = (pass.fault, pass.counter);
    let frng = &mut pass.frng;
    let base = base_seed(&req.content_hash(), state.seed);
    let words = Words::new(&req.source_text()).citing(&req.user_text());
    let mut choices = Vec::with_capacity(req.n);
    for i in 0..req.n {
        let seed = if i == 0 { base } else { mix(base, i as u64) };
        let mut choice = produce(state, req, &words, seed, fault, frng);
        if let Some(max) = req.max_tokens
            && choice.output.truncate(max)
        {
            choice.finish_reason = "length";
        }
        choices.push(choice);
    }
    let completion_tokens: u64 = choices.iter().map(|c| c.output.tokens()).sum();
    let usage = usage(req.prompt_tokens(), completion_tokens);
    let mut idrng = Rng::with_seed(mix(state.seed ^ 0x5EA3, counter));
    let id = format!("chatcmpl-{}", alnum(&mut idrng, 29));
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let meta = Meta {
        id: &id,
        created,
        model: &req.model,
    };
    let request_id = format!("req_{}", alnum(&mut idrng, 24));
    let headers = [
        ("x-request-id", request_id.as_str()),
        ("openai-processing-ms", "1"),
    ];
    if req.stream {
        let mut rng = Rng::with_seed(base);
        let events = sse_events(
            &meta,
            &choices,
            req.include_usage.then_some(usage),
            &mut rng,
        );
        // A stall lets the role chunk and the first piece of content through.
        let body = stream::body(
            events,
            pass.control(2),
            state.stats.open_stream(),
            state.shutdown.clone(),
        );
        sse_response(body, &headers)
    } else {
        json_response(200, &completion(&meta, &choices, usage), &headers)
    }
}

enum Mode<'r> {
    Tool(&'r Tool),
    Schema(&'r Value),
    JsonObject,
    Text,
}

fn mode<'r>(req: &'r ChatRequest, words: &Words, rng: &mut Rng) -> Mode<'r> {
    let pick = |rng: &mut Rng| {
        let name = pick_tool(req.tools.iter().map(|t| t.name.as_str()), words, rng)?;
        req.tools.iter().find(|t| t.name == name)
    };
    let tool = match &req.tool_choice {
        ToolChoice::None => None,
        ToolChoice::Named(n) => req.tools.iter().find(|t| &t.name == n),
        ToolChoice::Required => pick(rng),
        // A model answers in text after a tool result, and structured output wins over tools.
        ToolChoice::Auto if req.last_role() == "tool" || req.format != Format::Text => None,
        ToolChoice::Auto => pick(rng),
    };
    match (tool, &req.format) {
        (Some(t), _) => Mode::Tool(t),
        (None, Format::JsonSchema { schema, .. }) => Mode::Schema(schema),
        (None, Format::JsonObject) => Mode::JsonObject,
        (None, Format::Text) => Mode::Text,
    }
}

fn produce(
    state: &State,
    req: &ChatRequest,
    words: &Words,
    seed: u64,
    fault: Option<Fault>,
    frng: &mut Rng,
) -> Choice {
    if fault == Some(Fault::Refuse) {
        return refused(req);
    }
    let mut rng = Rng::with_seed(seed);
    match mode(req, words, &mut rng) {
        Mode::Tool(tool) => {
            let arguments = structured_text(state, &tool.parameters, words, seed, fault, frng);
            let id = format!("call_{}", alnum(&mut rng, 24));
            Choice {
                output: Output::ToolCall {
                    id,
                    name: tool.name.clone(),
                    arguments,
                },
                finish_reason: "tool_calls",
            }
        }
        Mode::Schema(schema) => {
            let content = structured_text(state, schema, words, seed, fault, frng);
            Choice {
                output: Output::Text(content),
                finish_reason: "stop",
            }
        }
        Mode::JsonObject => Choice {
            output: Output::Text(json_object_text(words, &mut rng, fault, frng)),
            finish_reason: "stop",
        },
        Mode::Text => Choice {
            output: Output::Text(text_answer(words, &mut rng)),
            finish_reason: "stop",
        },
    }
}

/// What the model says when it refuses a structured-output request.
pub(crate) const REFUSAL: &str = "I'm sorry, I can't help with that.";

/// A content-filter refusal as OpenAI answers it: a `refusal` message under
/// a `json_schema` response format, else an empty answer cut by the filter.
fn refused(req: &ChatRequest) -> Choice {
    match req.format {
        Format::JsonSchema { .. } => Choice {
            output: Output::Refusal(REFUSAL.to_string()),
            finish_reason: "stop",
        },
        Format::Text | Format::JsonObject => Choice {
            output: Output::Filtered,
            finish_reason: "content_filter",
        },
    }
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
