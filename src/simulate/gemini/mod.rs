//! The Gemini API front-end: `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (SSE with `alt=sse`, else a JSON array) and
//! `:countTokens`, plus the model list. Faults come from the shared
//! [`gate`](super::gate); errors are Google's.

mod error;
mod models;
mod request;
mod response;
mod schema;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use fastrand::Rng;
use hyper::{HeaderMap, Method, Response};
use serde_json::{Value, json};

use super::State;
use super::answer::{
    alnum, base_seed, cut_at_stop, json_object_text, pick_tool, structured_text, structured_value,
    text_answer, truncate_tokens,
};
use super::faults::Fault;
use super::gate::{Ask, Gate, Outcome, Pass, conversation_key, gate};
use super::generate::text::Words;
use super::http::{Body, json_response, sse_response};
use super::{mix, stream};
pub(crate) use error::ApiError;
use error::refusal;
use request::{GenerateRequest, INPUT_LIMIT, Mode, Output};
use response::{Candidate, HARM_CATEGORIES, Part, Reply};

/// Chunks a stall lets through.
const STALL_AFTER: usize = 1;

/// A request to the Gemini API, from its method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    List,
    Get(String),
    Generate { model: String, stream: bool },
    CountTokens(String),
}

impl Call {
    /// Recognise a Gemini path (`/v1beta/...`, or `/v1/models/{m}:{verb}`).
    pub(crate) fn parse(method: &Method, path: &str) -> Option<Result<Call, ApiError>> {
        let rest = path
            .strip_prefix("/v1beta/models")
            .or_else(|| path.strip_prefix("/v1/models").filter(|r| r.contains(':')))?;
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let get = method == Method::GET || method == Method::HEAD;
        let call = match rest.split_once(':') {
            None if rest.is_empty() && get => Call::List,
            None if get => Call::Get(rest.to_string()),
            Some((model, verb)) if *method == Method::POST && !model.is_empty() => match verb {
                "generateContent" => Call::Generate {
                    model: model.to_string(),
                    stream: false,
                },
                "streamGenerateContent" => Call::Generate {
                    model: model.to_string(),
                    stream: true,
                },
                "countTokens" => Call::CountTokens(model.to_string()),
                _ => {
                    return Some(Err(ApiError::not_found(format!(
                        "Method not found: {verb}."
                    ))));
                }
            },
            _ => {
                return Some(Err(ApiError::not_found(format!(
                    "The requested URL {path} was not found on this server."
                ))));
            }
        };
        Some(Ok(call))
    }

    /// Whether the call reads a request body.
    pub(crate) fn has_body(&self) -> bool {
        matches!(self, Call::Generate { .. } | Call::CountTokens(_))
    }
}

fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn check_key(headers: &HeaderMap, query: &str) -> Result<(), ApiError> {
    let header = headers.get("x-goog-api-key").is_some_and(|k| !k.is_empty());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let param = query_param(query, "key").is_some_and(|k| !k.is_empty());
    if header || bearer || param {
        return Ok(());
    }
    Err(ApiError {
        code: 403,
        status: "PERMISSION_DENIED",
        message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.".into(),
        details: Vec::new(),
    })
}

/// Answer a parsed [`Call`].
pub(crate) async fn handle(
    state: &State,
    call: Call,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Outcome {
    if let Err(e) = check_key(headers, query) {
        return Outcome::Respond(e.response(&[]));
    }
    let respond = |r: Result<Value, ApiError>| match r {
        Ok(v) => Outcome::Respond(json_response(200, &v, &[])),
        Err(e) => Outcome::Respond(e.response(&[])),
    };
    let (model, stream) = match call {
        Call::List => return respond(Ok(models::list())),
        Call::Get(id) => return respond(models::get(&id)),
        Call::CountTokens(model) => {
            let counted = GenerateRequest::parse(&model, body)
                .map(|r| json!({"totalTokens": r.prompt_tokens()}));
            return respond(counted);
        }
        Call::Generate { model, stream } => (model, stream),
    };
    let req = match GenerateRequest::parse(&model, body) {
        Ok(r) => r,
        Err(e) => return Outcome::Respond(e.response(&[])),
    };
    let prompt = req.prompt_tokens();
    if prompt > INPUT_LIMIT {
        let e = ApiError::invalid(format!(
            "The input token count ({prompt}) exceeds the maximum number of tokens allowed ({INPUT_LIMIT})."
        ));
        return Outcome::Respond(e.response(&[]));
    }
    let sse = stream && query_param(query, "alt") == Some("sse");
    let key = conversation_key(&req.model, req.first_user_text());
    let ask = Ask {
        model: &req.model,
        tokens: req.rate_tokens(),
    };
    match gate(state, ask, key, sse).await {
        Gate::Pass(pass) => Outcome::Respond(answer(state, &req, pass, stream, sse)),
        Gate::Refuse(r) => Outcome::Respond(refusal(r, &req.model)),
        Gate::Drop(outcome) => outcome,
    }
}

fn answer(
    state: &State,
    req: &GenerateRequest,
    mut pass: Pass,
    stream: bool,
    sse: bool,
) -> Response<Body> {
    let base = base_seed(&req.content_hash(), state.seed);
    let words = Words::new(&super::answer::source_text(req.user_texts()));
    let candidates = (0..req.candidate_count)
        .map(|i| {
            let seed = if i == 0 { base } else { mix(base, i as u64) };
            candidate(state, req, &words, seed, &mut pass)
        })
        .collect();
    let mut idrng = Rng::with_seed(mix(state.seed ^ 0x6E31, pass.counter));
    let reply = Reply {
        candidates,
        prompt_tokens: req.prompt_tokens(),
        model: req.model.clone(),
        response_id: alnum(&mut idrng, 22),
    };
    if !stream {
        return json_response(200, &reply.json(), &[]);
    }
    let chunks = reply.chunks(&mut Rng::with_seed(base));
    if !sse {
        return json_response(200, &Value::Array(chunks), &[]);
    }
    let body = stream::body(
        response::sse(&chunks),
        pass.control(STALL_AFTER),
        state.stats.open_stream(),
        state.shutdown.clone(),
    );
    sse_response(body, &[])
}

fn candidate(
    state: &State,
    req: &GenerateRequest,
    words: &Words,
    seed: u64,
    pass: &mut Pass,
) -> Candidate {
    let mut rng = Rng::with_seed(seed);
    if pass.fault == Some(Fault::Refuse) {
        let category = HARM_CATEGORIES[rng.usize(0..HARM_CATEGORIES.len())];
        return Candidate {
            part: Part::Blocked(category),
            finish: "SAFETY",
        };
    }
    let callable = req
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| req.allowed.is_empty() || req.allowed.iter().any(|a| a == n));
    let function = match req.mode {
        Mode::None => None,
        Mode::Any => pick_tool(callable, words, &mut rng),
        // After a function response, or in JSON mode, Gemini answers in text.
        Mode::Auto if req.answers_function_response() || req.output != Output::Text => None,
        Mode::Auto => pick_tool(callable, words, &mut rng),
    };
    if let Some(f) = function.and_then(|n| req.functions.iter().find(|f| f.name == n)) {
        let args = structured_value(
            state,
            &f.parameters,
            words,
            seed,
            pass.fault,
            &mut pass.frng,
        );
        return Candidate {
            part: Part::Call {
                name: f.name.clone(),
                args,
            },
            finish: "STOP",
        };
    }
    let mut text = match &req.output {
        Output::Text => text_answer(words, &mut rng),
        Output::Json(Some(schema)) => {
            structured_text(state, schema, words, seed, pass.fault, &mut pass.frng)
        }
        Output::Json(None) => json_object_text(words, &mut rng, pass.fault, &mut pass.frng),
        Output::Enum(values) => values[rng.usize(0..values.len())].clone(),
    };
    cut_at_stop(&mut text, &req.stop_sequences);
    let finish = match req.max_output_tokens {
        Some(max) if truncate_tokens(&mut text, max) => "MAX_TOKENS",
        _ => "STOP",
    };
    Candidate {
        part: Part::Text(text),
        finish,
    }
}
