//! Anthropic's errors (`{"type":"error","error":{"type","message"}}`) in
//! seam's classes, the provider's message kept.

use serde_json::Value;

use crate::infer::ProviderError;
use crate::infer::http::{self, ErrorAnswer};

/// Map an error answer to seam's classes.
pub fn classify(a: ErrorAnswer<'_>) -> ProviderError {
    let message = http::error_message(a.body, "/error/message");
    let kind = serde_json::from_str::<Value>(a.body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/type")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    match (a.status, kind.as_str()) {
        (400 | 413, _) if too_long(&message) => ProviderError::ContextLength { message },
        // The status carries the class: 429 rate_limit_error, 529
        // overloaded_error, 500 api_error, 401/403, other 4xx rejected.
        (status, _) => ProviderError::from_status(status, a.retry_after, message),
    }
}

/// An error that arrives inside a stream (`event: error`), which has a
/// type but no status.
pub fn classify_type(kind: &str, message: String) -> ProviderError {
    let status = match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        "timeout_error" => 504,
        _ => 500,
    };
    if status == 400 && too_long(&message) {
        return ProviderError::ContextLength { message };
    }
    ProviderError::from_status(status, None, message)
}

/// "prompt is too long: 210000 tokens > 200000 maximum", or "input length
/// and `max_tokens` exceed context limit: 188240 + 21333 > 200000".
fn too_long(message: &str) -> bool {
    http::says_context_length(message) || message.contains("exceed context limit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answer(
        status: u16,
        retry_after: Option<Duration>,
        kind: &str,
        message: &str,
    ) -> ProviderError {
        let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
        .to_string();
        classify(ErrorAnswer {
            status,
            retry_after,
            body: &body,
        })
    }

    #[test]
    fn real_error_bodies_classify() {
        let e = answer(
            429,
            Some(Duration::from_secs(7)),
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50,000 input tokens per minute.",
        );
        assert!(
            matches!(e, ProviderError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
        assert!(e.to_string().contains("50,000 input tokens"));

        let e = answer(529, None, "overloaded_error", "Overloaded");
        assert!(matches!(e, ProviderError::Server { status: 529, .. }));
        assert_eq!(e.type_name(), "provider_overloaded");

        let e = answer(500, None, "api_error", "Internal server error");
        assert!(matches!(e, ProviderError::Server { status: 500, .. }));

        for status in [401, 403] {
            let e = answer(status, None, "authentication_error", "invalid x-api-key");
            assert!(matches!(e, ProviderError::Auth { .. }), "{status}");
            assert!(e.to_string().contains("invalid x-api-key"));
        }

        let e = answer(
            400,
            None,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        );
        assert!(matches!(e, ProviderError::ContextLength { .. }));
        let e = answer(
            400,
            None,
            "invalid_request_error",
            "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again",
        );
        assert!(matches!(e, ProviderError::ContextLength { .. }));

        let e = answer(
            400,
            None,
            "invalid_request_error",
            "messages: roles must alternate between \"user\" and \"assistant\"",
        );
        assert!(matches!(e, ProviderError::Rejected { status: 400, .. }));
        assert!(e.to_string().contains("roles must alternate"));
    }

    #[test]
    fn stream_error_types_classify_without_a_status() {
        assert_eq!(
            classify_type("overloaded_error", "Overloaded".into()).type_name(),
            "provider_overloaded"
        );
        assert_eq!(
            classify_type("rate_limit_error", "slow".into()).type_name(),
            "provider_rate_limited"
        );
        assert_eq!(
            classify_type("api_error", "boom".into()).type_name(),
            "provider_unavailable"
        );
        assert_eq!(
            classify_type("authentication_error", "key".into()).type_name(),
            "provider_auth"
        );
        assert_eq!(
            classify_type("invalid_request_error", "prompt is too long".into()).type_name(),
            "context_length_exceeded"
        );
    }
}
