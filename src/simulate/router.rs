//! Request routing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::json;

use super::State;
use super::chat::Route;
use super::gate::Outcome;
use super::http::{Body, error, json_response, text_response};
use super::stats::Protocol;
use super::{anthropic, azure, chat, gemini};

const MAX_BODY: usize = 32 << 20;
const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
    "gpt-4.1",
    "seam-sim-1",
    super::openai::TINY_CTX,
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-1",
    "claude-3-5-haiku-latest",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-2.0-flash",
];

/// Why a connection is dropped without a response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Abort {
    #[error("simulated connection reset")]
    Reset,
    #[error("simulated timeout: request held, then dropped")]
    Timeout,
}

pub(crate) async fn route(
    state: Arc<State>,
    req: Request<Incoming>,
    reset: Arc<AtomicBool>,
) -> Result<Response<Body>, Abort> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let get = method == Method::GET || method == Method::HEAD;
    if let Some(call) = gemini::Call::parse(&method, &path) {
        return gemini_call(&state, call, req, &reset).await;
    }
    if let Some(deployment) = azure::parse(&method, &path) {
        return azure_call(&state, deployment, req, &reset).await;
    }
    let resp = match path.as_str() {
        "/v1/chat/completions" | "/chat/completions" if method == Method::POST => {
            state.stats.request(Protocol::OpenAi);
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(r) => return Ok(r),
            };
            end(chat::handle(&state, &body, Route::OpenAi).await, &reset)?
        }
        "/v1/messages" if method == Method::POST => {
            state.stats.request(Protocol::Anthropic);
            let headers = req.headers().clone();
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(r) => return Ok(r),
            };
            end(anthropic::handle(&state, &headers, &body).await, &reset)?
        }
        "/sim/stats" if get => json_response(200, &state.stats.json(), &[]),
        "/sim/faults" if get => json_response(200, &json!({"faults": state.faults_text()}), &[]),
        "/sim/faults" if method == Method::POST => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(r) => return Ok(r),
            };
            set_faults(&state, &body)
        }
        "/v1/models" | "/models" if get => models(),
        p if get && p.starts_with("/v1/models/") => model(&p["/v1/models/".len()..]),
        "/healthz" if get => text_response(200, "ok"),
        "/helpdesk/deliveries" if get => json_response(200, &state.helpdesk.list(), &[]),
        "/helpdesk/deliveries" if method == Method::DELETE => {
            state.helpdesk.clear();
            json_response(200, &json!({"deliveries": []}), &[])
        }
        p if p.starts_with("/helpdesk/") && method == Method::POST => {
            let key = req
                .headers()
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(r) => return Ok(r),
            };
            let (status, answer) = state.helpdesk.post(&path, key.as_deref(), &body);
            json_response(status, &answer, &[])
        }
        "/v1/chat/completions"
        | "/chat/completions"
        | "/v1/messages"
        | "/sim/stats"
        | "/sim/faults"
        | "/v1/models"
        | "/healthz"
        | "/helpdesk/deliveries" => error(
            405,
            &format!("Method {method} is not allowed for {path}."),
            "invalid_request_error",
            Some("method_not_allowed"),
        ),
        _ => error(
            404,
            &format!("Unknown request URL: {method} {path}."),
            "invalid_request_error",
            Some("unknown_url"),
        ),
    };
    Ok(resp)
}

async fn gemini_call(
    state: &State,
    call: Result<gemini::Call, gemini::ApiError>,
    req: Request<Incoming>,
    reset: &AtomicBool,
) -> Result<Response<Body>, Abort> {
    let call = match call {
        Ok(c) => c,
        Err(e) => return Ok(e.response(&[])),
    };
    if matches!(call, gemini::Call::Generate { .. }) {
        state.stats.request(Protocol::Gemini);
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let body = if call.has_body() {
        match read_body(req).await {
            Ok(b) => b,
            Err(r) => return Ok(r),
        }
    } else {
        Bytes::new()
    };
    end(
        gemini::handle(state, call, &query, &headers, &body).await,
        reset,
    )
}

async fn azure_call(
    state: &State,
    deployment: Result<String, azure::GatewayError>,
    req: Request<Incoming>,
    reset: &AtomicBool,
) -> Result<Response<Body>, Abort> {
    let deployment = match deployment {
        Ok(d) => d,
        Err(e) => return Ok(e.response()),
    };
    state.stats.request(Protocol::OpenAi);
    if let Err(e) = azure::check(req.headers(), req.uri().query().unwrap_or("")) {
        return Ok(e.response());
    }
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let route = Route::Azure {
        deployment: &deployment,
    };
    end(chat::handle(state, &body, route).await, reset)
}

/// `POST /sim/faults`: the body is a `--faults` SPEC (empty heals).
fn set_faults(state: &State, body: &Bytes) -> Response<Body> {
    let Ok(text) = std::str::from_utf8(body) else {
        return error(
            400,
            "The body must be UTF-8 text: a --faults SPEC.",
            "invalid_request_error",
            None,
        );
    };
    match state.set_faults(text) {
        Ok(()) => json_response(200, &json!({"faults": state.faults_text()}), &[]),
        Err(e) => error(
            400,
            &format!("--faults: {e}"),
            "invalid_request_error",
            Some("invalid_faults"),
        ),
    }
}

/// The response, or the fault that ends the connection without one.
fn end(outcome: Outcome, reset: &AtomicBool) -> Result<Response<Body>, Abort> {
    match outcome {
        Outcome::Respond(r) => Ok(r),
        Outcome::Reset => {
            reset.store(true, Ordering::Relaxed);
            Err(Abort::Reset)
        }
        Outcome::Close => Err(Abort::Timeout),
    }
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Response<Body>> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(error(
            413,
            "Request body too large.",
            "invalid_request_error",
            Some("request_too_large"),
        )),
        Err(e) => Err(error(
            400,
            &format!("Could not read the request body: {e}"),
            "invalid_request_error",
            None,
        )),
    }
}

fn model_json(id: &str) -> serde_json::Value {
    json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "seam-simulator"})
}

fn models() -> Response<Body> {
    let data: Vec<_> = MODELS.iter().map(|m| model_json(m)).collect();
    json_response(200, &json!({"object": "list", "data": data}), &[])
}

fn model(id: &str) -> Response<Body> {
    if MODELS.contains(&id) {
        json_response(200, &model_json(id), &[])
    } else {
        error(
            404,
            &format!("The model '{id}' does not exist"),
            "invalid_request_error",
            Some("model_not_found"),
        )
    }
}
