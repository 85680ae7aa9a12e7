//! Anthropic's error shape: `{"type":"error","error":{"type","message"},"request_id"}`.

use std::time::{Duration, SystemTime};

use hyper::Response;
use serde_json::json;

use crate::simulate::gate::Refusal;
use crate::simulate::http::{Body, json_response};
use crate::simulate::limit::{Kind, Over};

/// Requests per minute the simulated organisation may send.
const RPM: &str = "50";

/// An Anthropic error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            message: message.into(),
        }
    }

    /// `{path}: Field required`.
    pub(crate) fn missing(path: &str) -> ApiError {
        ApiError::invalid(format!("{path}: Field required"))
    }

    /// `{path}: Input should be a valid {what}`.
    pub(crate) fn not_a(path: &str, what: &str) -> ApiError {
        ApiError::invalid(format!("{path}: Input should be a valid {what}"))
    }

    pub(crate) fn response(&self, request_id: &str, headers: &[(&str, &str)]) -> Response<Body> {
        let body = json!({
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
            "request_id": request_id,
        });
        let mut all = vec![("request-id", request_id)];
        all.extend_from_slice(headers);
        json_response(self.status, &body, &all)
    }
}

/// An error fault as Anthropic answers it; overload is its 529.
pub(crate) fn refusal(r: Refusal, request_id: &str) -> Response<Body> {
    match r {
        Refusal::RateLimited(secs) => {
            let e = ApiError {
                status: 429,
                kind: "rate_limit_error",
                message: format!(
                    "This request would exceed the rate limit for your organization (org-seam-sim) of {RPM} requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."
                ),
            };
            let retry = secs.to_string();
            let reset =
                humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(secs))
                    .to_string();
            e.response(
                request_id,
                &[
                    ("retry-after", &retry),
                    ("anthropic-ratelimit-requests-limit", RPM),
                    ("anthropic-ratelimit-requests-remaining", "0"),
                    ("anthropic-ratelimit-requests-reset", &reset),
                ],
            )
        }
        Refusal::Unavailable(secs) => {
            let e = ApiError {
                status: 529,
                kind: "overloaded_error",
                message: "Overloaded".into(),
            };
            let retry = secs.map(|s| s.to_string());
            let headers: Vec<(&str, &str)> =
                retry.iter().map(|s| ("retry-after", s.as_str())).collect();
            e.response(request_id, &headers)
        }
        Refusal::OverLimit(over) => over_limit(&over, request_id),
        Refusal::ServerError => ApiError {
            status: 500,
            kind: "api_error",
            message: "Internal server error".into(),
        }
        .response(request_id, &[]),
    }
}

/// A `--limit` refusal as Anthropic words it, with its
/// `anthropic-ratelimit-*` headers.
fn over_limit(over: &Over, request_id: &str) -> Response<Body> {
    let (what, short) = match over.kind {
        Kind::Requests => ("requests", "requests"),
        Kind::Tokens => ("tokens", "tokens"),
    };
    let e = ApiError {
        status: 429,
        kind: "rate_limit_error",
        message: format!(
            "This request would exceed the rate limit for your organization (org-seam-sim) of {} {what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
            over.limit
        ),
    };
    let retry = over.retry_after_secs().to_string();
    let limit = over.limit.to_string();
    let remaining = over.limit.saturating_sub(over.used).to_string();
    let reset = humantime::format_rfc3339_seconds(SystemTime::now() + over.retry_after).to_string();
    let names = [
        format!("anthropic-ratelimit-{short}-limit"),
        format!("anthropic-ratelimit-{short}-remaining"),
        format!("anthropic-ratelimit-{short}-reset"),
    ];
    e.response(
        request_id,
        &[
            ("retry-after", &retry),
            (&names[0], &limit),
            (&names[1], &remaining),
            (&names[2], &reset),
        ],
    )
}
