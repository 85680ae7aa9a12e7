//! OpenAI wire shapes of seam's answers on `/v1/chat/completions`: the
//! completion object, stream chunks and the error body the official SDKs
//! read.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::{Error, ErrorClass};
use crate::infer::{ChatResponse, StreamEvent, Usage};

/// Identity of one answer, shared by all its chunks.
pub struct Meta {
    pub id: String,
    pub created: u64,
    pub model: String,
}

impl Meta {
    pub fn new(run_id: &str, model: &str) -> Meta {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Meta {
            id: format!("chatcmpl-{run_id}"),
            created,
            model: model.to_string(),
        }
    }
}

pub fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
    })
}

fn tool_calls_json(r: &ChatResponse) -> Value {
    json!(
        r.tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect::<Vec<_>>()
    )
}

/// The `chat.completion` object.
pub fn completion(meta: &Meta, r: &ChatResponse) -> Value {
    let mut message = json!({"role": "assistant", "content": r.content, "refusal": null});
    if !r.tool_calls.is_empty() {
        message["tool_calls"] = tool_calls_json(r);
        if r.content.is_empty() {
            message["content"] = Value::Null;
        }
    }
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [{"index": 0, "message": message, "logprobs": null,
            "finish_reason": r.finish_reason.as_deref().unwrap_or("stop")}],
        "usage": usage_json(&r.usage),
        "system_fingerprint": null,
    })
}

fn chunk(meta: &Meta, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
}

pub fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

pub fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// The first chunk: the role.
pub fn role_chunk(meta: &Meta) -> Bytes {
    sse(&chunk(
        meta,
        json!({"role": "assistant", "content": ""}),
        None,
    ))
}

/// The chunk carrying one stream event, if it carries anything visible.
pub fn event_chunk(meta: &Meta, ev: &StreamEvent) -> Option<Bytes> {
    let delta = match ev {
        StreamEvent::Text(t) => json!({"content": t}),
        StreamEvent::ToolCall {
            index,
            id,
            name,
            arguments,
        } => {
            let mut call = json!({"index": index, "function": {"arguments": arguments}});
            if let Some(id) = id {
                call["id"] = json!(id);
                call["type"] = json!("function");
            }
            if let Some(name) = name {
                call["function"]["name"] = json!(name);
            }
            json!({"tool_calls": [call]})
        }
        _ => return None,
    };
    Some(sse(&chunk(meta, delta, None)))
}

pub fn finish_chunk(meta: &Meta, finish: &str) -> Bytes {
    sse(&chunk(meta, json!({}), Some(finish)))
}

pub fn usage_chunk(meta: &Meta, u: &Usage) -> Bytes {
    sse(&json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "choices": [],
        "usage": usage_json(u),
    }))
}

/// OpenAI's error `type` for a seam error class.
fn openai_type(e: &Error) -> &'static str {
    match e.class() {
        ErrorClass::Client | ErrorClass::Data => "invalid_request_error",
        ErrorClass::Budget => "insufficient_quota",
        ErrorClass::Safety => "content_filter",
        ErrorClass::Transient | ErrorClass::Configuration => "server_error",
    }
}

/// The error body: OpenAI's fields, with seam's type and class added.
pub fn error_body(e: &Error, param: Option<&str>, run_id: Option<&str>) -> Value {
    json!({"error": {
        "message": e.to_string(),
        "type": openai_type(e),
        "param": param,
        "code": e.type_name(),
        "class": e.class().as_str(),
        "run_id": run_id,
    }})
}

pub fn error_response(e: &Error, param: Option<&str>, run_id: Option<&str>) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::warn!(error_type = e.type_name(), run_id, "{e}");
    }
    let mut resp = (status, axum::Json(error_body(e, param, run_id))).into_response();
    if let Some(id) = run_id
        && let Ok(v) = id.parse()
    {
        resp.headers_mut().insert("x-seam-run-id", v);
    }
    resp
}
