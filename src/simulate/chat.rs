//! `POST /v1/chat/completions`: faults first, then a deterministic answer.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fastrand::Rng;
use hyper::Response;
use serde_json::{Value, json};

use super::faults::Fault;
use super::generate::instance::instance;
use super::generate::mutate::{fabricate, fenced, malformed, violate};
use super::generate::text::Words;
use super::http::{Body, json_response, sse_response};
use super::openai::{ApiError, ChatRequest, Format, Tool, ToolChoice};
use super::response::{Choice, Meta, Output, completion, sse_events, usage};
use super::{State, mix};

/// How the connection should end.
pub(crate) enum Outcome {
    Respond(Response<Body>),
    /// Close with RST, no response.
    Reset,
    /// Close quietly, no response.
    Close,
}

pub(crate) async fn handle(state: &State, body: &Bytes) -> Outcome {
    let req = match ChatRequest::parse(body) {
        Ok(r) => r,
        Err(e) => return Outcome::Respond(error_response(&e, &[])),
    };
    let counter = state.counter.fetch_add(1, Ordering::Relaxed);
    let conv_index = if state.faults.uses_conversations() {
        state.conversation_index(req.conversation_key())
    } else {
        0
    };
    let mut frng = Rng::with_seed(mix(state.seed, counter));
    let decision = state.faults.decide(&mut frng, conv_index);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.fault {
        Some(Fault::Reset) => return Outcome::Reset,
        Some(Fault::Timeout(d)) => {
            hold(state, d).await;
            return Outcome::Close;
        }
        Some(Fault::RateLimited(secs)) => {
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
            return Outcome::Respond(error_response(
                &e,
                &[
                    ("retry-after", &secs),
                    ("x-ratelimit-reset-requests", &reset),
                ],
            ));
        }
        Some(Fault::Unavailable(secs)) => {
            let e = server_error(
                503,
                "The server is overloaded or not ready yet.".into(),
                "server_error",
                None,
            );
            let secs = secs.map(|s| s.to_string());
            let headers: Vec<(&str, &str)> =
                secs.iter().map(|s| ("retry-after", s.as_str())).collect();
            return Outcome::Respond(error_response(&e, &headers));
        }
        Some(Fault::ServerError) => {
            let e = server_error(
                500,
                "The server had an error while processing your request. Sorry about that!".into(),
                "server_error",
                None,
            );
            return Outcome::Respond(error_response(&e, &[]));
        }
        _ => {}
    }
    Outcome::Respond(answer(state, &req, decision.fault, &mut frng, counter))
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

async fn hold(state: &State, d: Duration) {
    let mut shutdown = state.shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {}
    }
}

fn answer(
    state: &State,
    req: &ChatRequest,
    fault: Option<Fault>,
    frng: &mut Rng,
    counter: u64,
) -> Response<Body> {
    let hash = req.content_hash();
    let base = mix(
        u64::from_le_bytes([
            hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
        ]),
        state.seed,
    );
    let words = Words::new(&req.source_text());
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
        sse_response(events, &headers)
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
        let mentioned = req
            .tools
            .iter()
            .find(|t| words.mentions(&t.name) || words.mentions(&t.name.replace('_', " ")));
        mentioned.or_else(|| req.tools.get(rng.usize(0..req.tools.len().max(1))))
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
    let mut rng = Rng::with_seed(seed);
    match mode(req, words, &mut rng) {
        Mode::Tool(tool) => {
            let arguments = structured(state, &tool.parameters, words, seed, fault, frng);
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
            let content = structured(state, schema, words, seed, fault, frng);
            Choice {
                output: Output::Text(content),
                finish_reason: "stop",
            }
        }
        Mode::JsonObject => {
            let mut value = json!({
                "answer": words.sentence(&mut rng, 8..=14),
                "confidence": f64::from(rng.u8(60..=99)) / 100.0,
            });
            let content = match fault {
                Some(Fault::Malformed) => malformed(&value.to_string(), frng),
                Some(Fault::Fenced) => fenced(&value.to_string()),
                Some(Fault::Fabricate) => {
                    fabricate(&mut value, frng);
                    value.to_string()
                }
                _ => value.to_string(),
            };
            Choice {
                output: Output::Text(content),
                finish_reason: "stop",
            }
        }
        Mode::Text => Choice {
            output: Output::Text(text_answer(words, &mut rng)),
            finish_reason: "stop",
        },
    }
}

/// A schema instance as JSON text, with any content fault applied.
fn structured(
    state: &State,
    schema: &Value,
    words: &Words,
    seed: u64,
    fault: Option<Fault>,
    frng: &mut Rng,
) -> String {
    let validator = state.validators.get(schema);
    let value = instance(schema, words, seed, validator.as_deref());
    match fault {
        Some(Fault::Violate) => violate(&value, schema, frng, validator.as_deref()).to_string(),
        Some(Fault::Fabricate) => {
            let mut value = value;
            fabricate(&mut value, frng);
            value.to_string()
        }
        Some(Fault::Malformed) => malformed(&value.to_string(), frng),
        Some(Fault::Fenced) => fenced(&value.to_string()),
        _ => value.to_string(),
    }
}

const OPENERS: &[&str] = &[
    "Thanks for the details.",
    "Here is a short answer.",
    "Understood.",
    "Based on the information provided:",
];

fn text_answer(words: &Words, rng: &mut Rng) -> String {
    let opener = OPENERS[rng.usize(0..OPENERS.len())];
    let a = words.sentence(rng, 8..=14);
    let b = words.sentence(rng, 5..=9);
    format!("{opener} {a} {b}")
}

fn alnum(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| rng.alphanumeric()).collect()
}
