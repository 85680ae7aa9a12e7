//! The Azure OpenAI route:
//! `POST /openai/deployments/{deployment}/chat/completions?api-version=V`,
//! answered by the OpenAI chat handler. What is Azure's: the `api-key`
//! header, the `api-version` query parameter, the deployment standing in
//! for the model, its `{"error": {"code", "message"}}` gateway errors and
//! its 400 content-filter refusal.

use hyper::{HeaderMap, Method, Response};
use serde_json::json;

use super::http::{Body, json_response};

/// Where Azure OpenAI paths start.
const PREFIX: &str = "/openai/";

const FILTERED: &str = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";

/// Recognise an Azure OpenAI path: `None` when it is not one, the
/// deployment of a chat completions call, or Azure's 404 for anything else
/// under `/openai/`.
pub(crate) fn parse(method: &Method, path: &str) -> Option<Result<String, GatewayError>> {
    let rest = path.strip_prefix(PREFIX)?;
    let deployment = rest
        .strip_prefix("deployments/")
        .and_then(|r| r.strip_suffix("/chat/completions"))
        .filter(|d| valid_deployment(d));
    match deployment {
        Some(d) if *method == Method::POST => Some(Ok(d.to_string())),
        _ => Some(Err(NOT_FOUND)),
    }
}

/// Deployment names: letters, digits, `-`, `_` and `.`, at most 64.
fn valid_deployment(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The key, then the API version: 401 without `api-key`, 404 without
/// `api-version`, 400 for a version that is not `YYYY-MM-DD[-preview]`.
pub(crate) fn check(headers: &HeaderMap, query: &str) -> Result<(), GatewayError> {
    if headers.get("api-key").is_none_or(|k| k.is_empty()) {
        return Err(ACCESS_DENIED);
    }
    let version = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "api-version")
        .map(|(_, v)| v);
    match version {
        None | Some("") => Err(NOT_FOUND),
        Some(v) if valid_version(v) => Ok(()),
        Some(_) => Err(BAD_VERSION),
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DD-preview`.
fn valid_version(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// An error of Azure's gateway: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GatewayError {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
}

impl GatewayError {
    pub(crate) fn response(self) -> Response<Body> {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        json_response(self.status, &body, &[])
    }
}

const NOT_FOUND: GatewayError = GatewayError {
    status: 404,
    code: "404",
    message: "Resource not found",
};

const ACCESS_DENIED: GatewayError = GatewayError {
    status: 401,
    code: "401",
    message: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
};

const BAD_VERSION: GatewayError = GatewayError {
    status: 400,
    code: "BadRequest",
    message: "API version not supported",
};

/// The `refuse` fault on Azure: the prompt filter's 400.
pub(crate) fn content_filter() -> Response<Body> {
    let safe = json!({"filtered": false, "severity": "safe"});
    let body = json!({"error": {
        "message": FILTERED,
        "type": null,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": safe,
                "jailbreak": {"filtered": false, "detected": false},
                "self_harm": safe,
                "sexual": safe,
                "violence": {"filtered": true, "severity": "high"},
            },
        },
    }});
    json_response(400, &body, &[])
}

#[cfg(test)]
#[path = "azure_tests.rs"]
mod tests;
