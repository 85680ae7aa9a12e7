//! `POST /v1/messages`: the Anthropic Messages front-end. Faults come from
//! the shared [`gate`](super::gate); errors, answers and streams are
//! Anthropic's.

mod cache;
mod error;
mod request;
mod response;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use fastrand::Rng;
use hyper::{HeaderMap, Response};

use super::State;
use super::answer::{
    alnum, base_seed, break_text, cut_at_stop, pick_tool, structured_text, structured_value,
    text_answer, truncate_tokens,
};
use super::faults::Fault;
use super::gate::{Ask, Gate, Outcome, Pass, gate};
use super::generate::text::Words;
use super::http::{Body, json_response, sse_response};
use super::{mix, stream};
pub(crate) use cache::PromptCache;
use error::{ApiError, refusal};
use request::{CONTEXT_WINDOW, MessagesRequest, ToolChoice};
use response::{Block, InputUsage, Reply};

/// API versions the simulator accepts in `anthropic-version`.
const VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];
/// Frames a stall lets through: message_start, content_block_start, ping and
/// the first delta.
const STALL_AFTER: usize = 4;

pub(crate) async fn handle(state: &State, headers: &HeaderMap, body: &Bytes) -> Outcome {
    let request_id = format!("req_011C{}", alnum(&mut Rng::new(), 20));
    let req = match check_headers(headers).and_then(|()| MessagesRequest::parse(body)) {
        Ok(r) => r,
        Err(e) => return Outcome::Respond(e.response(&request_id, &[])),
    };
    let input = req.input_tokens();
    if input > CONTEXT_WINDOW {
        let e = ApiError::invalid(format!(
            "prompt is too long: {input} tokens > {CONTEXT_WINDOW} maximum"
        ));
        return Outcome::Respond(e.response(&request_id, &[]));
    }
    let key = super::gate::conversation_key(&req.model, req.first_user_text());
    let ask = Ask {
        model: &req.model,
        tokens: req.rate_tokens(),
    };
    match gate(state, ask, key, req.stream).await {
        Gate::Pass(pass) => Outcome::Respond(answer(state, &req, pass, &request_id)),
        Gate::Refuse(r) => Outcome::Respond(refusal(r, &request_id)),
        Gate::Drop(outcome) => outcome,
    }
}

fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get("x-api-key").is_none_or(|k| k.is_empty()) {
        return Err(ApiError {
            status: 401,
            kind: "authentication_error",
            message: "x-api-key header is required".into(),
        });
    }
    match headers.get("anthropic-version").map(|v| v.to_str()) {
        None => Err(ApiError::invalid("anthropic-version: header is required")),
        Some(Ok(v)) if VERSIONS.contains(&v) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "anthropic-version: invalid version. Supported versions: 2023-06-01, 2023-01-01",
        )),
    }
}

fn answer(
    state: &State,
    req: &MessagesRequest,
    mut pass: Pass,
    request_id: &str,
) -> Response<Body> {
    let base = base_seed(&req.content_hash(), state.seed);
    let words = Words::new(&super::answer::source_text(req.user_texts()));
    let mut rng = Rng::with_seed(base);
    let mut idrng = Rng::with_seed(mix(state.seed ^ 0xA17C, pass.counter));
    let (blocks, mut stop_reason) =
        content(state, req, &words, base, &mut rng, &mut pass, &mut idrng);
    let mut reply = Reply {
        id: format!("msg_01{}", alnum(&mut idrng, 22)),
        model: req.model.clone(),
        blocks,
        stop_reason: "end_turn",
        stop_sequence: None,
        usage: input_usage(state, req),
    };
    if let Some(Block::Text(text)) = reply.blocks.last_mut()
        && stop_reason == "end_turn"
        && let Some(stop) = cut_at_stop(text, &req.stop_sequences)
    {
        stop_reason = "stop_sequence";
        reply.stop_sequence = Some(stop);
    }
    reply.stop_reason = stop_reason;
    cut_to_max_tokens(&mut reply, req.max_tokens);
    let headers = [("request-id", request_id)];
    if req.stream {
        let events = reply.sse_events(&mut rng);
        let body = stream::body(
            events,
            pass.control(STALL_AFTER),
            state.stats.open_stream(),
            state.shutdown.clone(),
        );
        sse_response(body, &headers)
    } else {
        json_response(200, &reply.json(), &headers)
    }
}

/// The answer's blocks and its stop reason before any cut.
fn content(
    state: &State,
    req: &MessagesRequest,
    words: &Words,
    seed: u64,
    rng: &mut Rng,
    pass: &mut Pass,
    idrng: &mut Rng,
) -> (Vec<Block>, &'static str) {
    // A classifier refusal before any output: no blocks, no tool call.
    if pass.fault == Some(Fault::Refuse) {
        return (Vec::new(), "refusal");
    }
    let names = req.tools.iter().map(|t| t.name.as_str());
    let (tool, preamble) = match &req.tool_choice {
        ToolChoice::None => (None, false),
        ToolChoice::Tool(name) => (Some(name.as_str()), false),
        ToolChoice::Any => (pick_tool(names, words, rng), false),
        // After a tool result, or with a required output format, Claude answers in text.
        ToolChoice::Auto if req.answers_tool_result() || req.output_schema.is_some() => {
            (None, false)
        }
        ToolChoice::Auto => (pick_tool(names, words, rng), true),
    };
    let tool = tool.and_then(|name| req.tools.iter().find(|t| t.name == name));
    if let Some(tool) = tool {
        let input = structured_value(
            state,
            &tool.input_schema,
            words,
            seed,
            pass.fault,
            &mut pass.frng,
        );
        let partial_json = break_text(input.to_string(), pass.fault, &mut pass.frng);
        let mut blocks = Vec::with_capacity(2);
        if preamble {
            blocks.push(Block::Text(format!(
                "I'll use the {} tool for this.",
                tool.name
            )));
        }
        blocks.push(Block::ToolUse {
            id: format!("toolu_01{}", alnum(idrng, 22)),
            name: tool.name.clone(),
            input,
            partial_json,
        });
        return (blocks, "tool_use");
    }
    let text = match &req.output_schema {
        Some(schema) => structured_text(state, schema, words, seed, pass.fault, &mut pass.frng),
        None => text_answer(words, rng),
    };
    (vec![Block::Text(text)], "end_turn")
}

/// Cut the last block to what `max_tokens` leaves; a cut tool call keeps
/// its streamed prefix and an empty `input`.
fn cut_to_max_tokens(reply: &mut Reply, max: u64) {
    let before: u64 = reply
        .blocks
        .iter()
        .rev()
        .skip(1)
        .map(|b| match b {
            Block::Text(t) => super::openai::tokens(t),
            Block::ToolUse { .. } => 0,
        })
        .sum();
    let left = max.saturating_sub(before);
    let cut = match reply.blocks.last_mut() {
        Some(Block::Text(t)) => truncate_tokens(t, left),
        Some(Block::ToolUse {
            name,
            input,
            partial_json,
            ..
        }) => {
            let cut = truncate_tokens(
                partial_json,
                left.saturating_sub(super::openai::tokens(name)),
            );
            if cut {
                *input = serde_json::json!({});
            }
            cut
        }
        None => false,
    };
    if cut {
        reply.stop_reason = "max_tokens";
        reply.stop_sequence = None;
    }
}

fn input_usage(state: &State, req: &MessagesRequest) -> InputUsage {
    let total = req.input_tokens();
    if !req.system_cached {
        return InputUsage {
            input: total,
            ..InputUsage::default()
        };
    }
    let prefix = req.prefix_tokens();
    let rest = total.saturating_sub(prefix);
    if state.prompt_cache.hit(req.prefix_key()) {
        InputUsage {
            input: rest,
            cache_creation: 0,
            cache_read: prefix,
        }
    } else {
        InputUsage {
            input: rest,
            cache_creation: prefix,
            cache_read: 0,
        }
    }
}
