//! `POST /v1/chat/completions`: the OpenAI-compatible endpoint. The model
//! is a declared model (routed with its fallbacks through the gateway) or a
//! pipeline (the last user message is its JSON input; the answer is the
//! verified output).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;

use super::openai_wire::{self as wire, Meta};
use crate::error::Error;
use crate::gateway::request::{ChatCall, Format};
use crate::gateway::{self, Tracker};
use crate::infer::{ChatResponse, ChatStream, Role, StreamEvent, Usage, finish};
use crate::pipeline::{Runtime, execute_streaming};
use crate::server::tenant::tenant_of;

pub async fn completions(
    State(rt): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = match ChatCall::parse(&body) {
        Ok(c) => c,
        Err(bad) => {
            let param = (!bad.param.is_empty()).then_some(bad.param.as_str());
            return wire::error_response(&Error::BadRequest(bad.message), param, None);
        }
    };
    call.tenant = match tenant_of(&headers) {
        Ok(t) => t,
        Err(e) => return wire::error_response(&e, None, None),
    };
    if let Some(chain) = gateway::chain(&rt, &call.model) {
        if call.stream {
            return match gateway::open_stream(&rt, &chain, &call).await {
                Ok((stream, tracker)) => sse_response(stream, tracker, call),
                Err((run_id, e)) => wire::error_response(&e, None, Some(&run_id)),
            };
        }
        return match gateway::complete(&rt, &chain, &call).await {
            Ok(done) => {
                let meta = Meta::new(&done.run_id, &call.model);
                let mut resp = axum::Json(wire::completion(&meta, &done.response)).into_response();
                let h = resp.headers_mut();
                h.insert(
                    "x-seam-cache",
                    HeaderValue::from_static(if done.cached { "hit" } else { "miss" }),
                );
                if let Ok(v) = done.run_id.parse() {
                    h.insert("x-seam-run-id", v);
                }
                resp
            }
            Err((run_id, e)) => wire::error_response(&e, None, Some(&run_id)),
        };
    }
    if rt.config.pipelines.contains_key(&call.model) {
        return pipeline_completion(rt, call).await;
    }
    let e = Error::BadRequest(format!(
        "The model `{}` does not exist: it is neither a declared model nor a pipeline",
        call.model
    ));
    let mut resp = wire::error_response(&e, Some("model"), None);
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

/// Stream state: the upstream stream and the tracker that records the run.
struct Streaming {
    upstream: ChatStream,
    tracker: Option<Tracker>,
    meta: Meta,
    schema: Option<Arc<crate::schema::JsonSchema>>,
    include_usage: bool,
    started: bool,
    finish: Option<String>,
    ended: bool,
}

fn sse_response(upstream: ChatStream, tracker: Tracker, call: ChatCall) -> Response {
    let meta = Meta::new(tracker.run_id(), &call.model);
    let run_id = tracker.run_id().to_string();
    let schema = match &call.format {
        Format::JsonSchema { schema, .. } => Some(schema.clone()),
        _ => None,
    };
    let state = Streaming {
        upstream,
        tracker: Some(tracker),
        meta,
        schema,
        include_usage: call.include_usage,
        started: false,
        finish: None,
        ended: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let chunk = next_chunk(&mut st).await?;
        Some((Ok::<Bytes, std::convert::Infallible>(chunk), st))
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = run_id.parse() {
        h.insert("x-seam-run-id", v);
    }
    resp
}

/// The next bytes of the SSE body, or `None` when it is over.
async fn next_chunk(st: &mut Streaming) -> Option<Bytes> {
    if st.ended {
        return None;
    }
    if !st.started {
        st.started = true;
        return Some(wire::role_chunk(&st.meta));
    }
    loop {
        match st.upstream.next().await {
            Some(Ok(ev)) => {
                if let Some(t) = st.tracker.as_mut() {
                    t.observe(&ev);
                }
                if let StreamEvent::Finish(f) = &ev {
                    st.finish = Some(f.clone());
                }
                if let Some(bytes) = wire::event_chunk(&st.meta, &ev) {
                    return Some(bytes);
                }
            }
            Some(Err(e)) => return Some(end(st, Some(e.into())).await),
            None => return Some(end(st, None).await),
        }
    }
}

/// The closing bytes: the finish chunk, usage and `[DONE]`, or an error
/// event; the run is recorded first.
async fn end(st: &mut Streaming, error: Option<Error>) -> Bytes {
    st.ended = true;
    let Some(tracker) = st.tracker.take() else {
        return wire::done();
    };
    let run_id = tracker.run_id().to_string();
    if let Some(e) = error {
        tracker.end_stream(Some(&e)).await;
        let mut out = wire::sse(&wire::error_body(&e, None, Some(&run_id))).to_vec();
        out.extend_from_slice(&wire::done());
        return Bytes::from(out);
    }
    // The checks run on the complete output before the stream is closed.
    let mut verdict = None;
    if let Some(schema) = &st.schema {
        let peek = tracker_text(&tracker);
        if let Err(rejected) = crate::output::check(schema, &peek) {
            verdict = Some(Error::OutputInvalid {
                attempts: tracker.attempts(),
                detail: rejected.summary(),
            });
        }
    }
    let response = tracker.end_stream(verdict.as_ref()).await;
    let mut out = Vec::new();
    match verdict {
        Some(e) => out.extend_from_slice(&wire::sse(&wire::error_body(&e, None, Some(&run_id)))),
        None => {
            let f = st
                .finish
                .clone()
                .unwrap_or_else(|| finish::STOP.to_string());
            out.extend_from_slice(&wire::finish_chunk(&st.meta, &f));
            if st.include_usage {
                out.extend_from_slice(&wire::usage_chunk(&st.meta, &response.usage));
            }
        }
    }
    out.extend_from_slice(&wire::done());
    Bytes::from(out)
}

fn tracker_text(t: &Tracker) -> String {
    t.peek_content()
}

/// A pipeline used as a model: the last user message is the input.
async fn pipeline_completion(rt: Arc<Runtime>, call: ChatCall) -> Response {
    let Some(last) = call.messages.iter().rev().find(|m| m.role == Role::User) else {
        let e = Error::BadRequest(
            "a pipeline model needs a user message holding its JSON input".into(),
        );
        return wire::error_response(&e, Some("messages"), None);
    };
    let input: Value = match serde_json::from_str(&last.content) {
        Ok(v) => v,
        Err(e) => {
            let e = Error::BadRequest(format!(
                "the last user message must be the pipeline's JSON input (line {}, column {}): {e}",
                e.line(),
                e.column()
            ));
            return wire::error_response(&e, Some("messages"), None);
        }
    };
    let name = call.model.clone();
    let task_rt = rt.clone();
    // Like the run API: the run is its own task, so a hang-up cannot cut it.
    let tenant = call.tenant.clone();
    let result =
        tokio::spawn(async move { execute_streaming(&task_rt, &name, input, &tenant, None).await })
            .await;
    let result = match result {
        Ok(Ok(r)) => r,
        Ok(Err(f)) => {
            let mut resp = wire::error_response(&f.error, None, f.run_id.as_deref());
            if f.error.field_errors().is_empty() {
                return resp;
            }
            let body = serde_json::json!({"error": {
                "message": f.error.to_string(), "type": "invalid_request_error", "param": "messages",
                "code": f.error.type_name(), "class": f.error.class().as_str(), "run_id": f.run_id,
                "errors": f.error.field_errors()}});
            let status = resp.status();
            resp = (status, axum::Json(body)).into_response();
            return resp;
        }
        Err(e) => {
            return wire::error_response(
                &Error::Config(format!("run task failed: {e}")),
                None,
                None,
            );
        }
    };
    let response = ChatResponse {
        content: result.output.to_string(),
        tool_calls: Vec::new(),
        usage: Usage {
            input_tokens: result.usage.input_tokens,
            output_tokens: result.usage.output_tokens,
            ..result.usage
        },
        finish_reason: Some(finish::STOP.into()),
        response_id: None,
    };
    let meta = Meta::new(&result.run_id, &call.model);
    if call.stream {
        let mut out = wire::role_chunk(&meta).to_vec();
        for ev in crate::infer::stream::events_of(response.clone()) {
            if let Some(b) = wire::event_chunk(&meta, &ev) {
                out.extend_from_slice(&b);
            }
        }
        out.extend_from_slice(&wire::finish_chunk(&meta, finish::STOP));
        if call.include_usage {
            out.extend_from_slice(&wire::usage_chunk(&meta, &response.usage));
        }
        out.extend_from_slice(&wire::done());
        let mut resp = Response::new(Body::from(out));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        return resp;
    }
    axum::Json(wire::completion(&meta, &response)).into_response()
}
