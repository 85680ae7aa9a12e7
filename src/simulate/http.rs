//! Response bodies and small response helpers.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;

/// The body type of every simulator response.
/// An error ends the body early: the connection is cut mid-response.
pub(crate) type Body = BoxBody<Bytes, std::io::Error>;

fn build(
    status: u16,
    content_type: &'static str,
    headers: &[(&str, &str)],
    body: Body,
) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

/// A JSON response.
pub(crate) fn json_response(status: u16, body: &Value, headers: &[(&str, &str)]) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    build(
        status,
        "application/json",
        headers,
        Full::new(Bytes::from(bytes))
            .map_err(|never| match never {})
            .boxed(),
    )
}

/// A plain-text response.
pub(crate) fn text_response(status: u16, text: &'static str) -> Response<Body> {
    build(
        status,
        "text/plain; charset=utf-8",
        &[],
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    )
}

/// A server-sent events response over a streamed body (chunked encoding).
pub(crate) fn sse_response(body: Body, headers: &[(&str, &str)]) -> Response<Body> {
    let mut resp = build(200, "text/event-stream", headers, body);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// An OpenAI-style error response.
pub(crate) fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response<Body> {
    let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    json_response(status, &body, &[])
}
