//! Gemini's errors (`{"error":{"code","message","status","details"}}`) in
//! seam's classes, the provider's message kept.

use std::time::Duration;

use serde_json::Value;

use crate::infer::ProviderError;
use crate::infer::http::{self, ErrorAnswer};

/// Map an error answer to seam's classes.
pub fn classify(a: ErrorAnswer<'_>) -> ProviderError {
    let body: Value = serde_json::from_str(a.body).unwrap_or(Value::Null);
    let message = http::error_message(a.body, "/error/message");
    classify_parts(a.status, a.retry_after, &body, message)
}

/// An error object that arrives inside a stream.
pub fn classify_value(error: &Value) -> ProviderError {
    let status = error
        .pointer("/error/code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let message = error
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("error in the stream")
        .to_string();
    classify_parts(status, None, error, message)
}

fn classify_parts(
    status: u16,
    retry_after: Option<Duration>,
    body: &Value,
    message: String,
) -> ProviderError {
    let reason = |wanted: &str| {
        body.pointer("/error/details")
            .and_then(Value::as_array)
            .is_some_and(|ds| {
                ds.iter()
                    .any(|d| d.get("reason").and_then(Value::as_str) == Some(wanted))
            })
    };
    match status {
        // Google answers a bad key with 400 INVALID_ARGUMENT, reason
        // API_KEY_INVALID.
        400 if reason("API_KEY_INVALID") => ProviderError::Auth { status, message },
        400 if http::says_context_length(&message) => ProviderError::ContextLength { message },
        429 => ProviderError::RateLimited {
            retry_after: retry_after.or_else(|| retry_delay(body)),
            message,
        },
        _ => ProviderError::from_status(status, retry_after, message),
    }
}

/// `RetryInfo.retryDelay` (a protobuf Duration such as `"22s"` or
/// `"1.5s"`) from the error's details.
fn retry_delay(body: &Value) -> Option<Duration> {
    body.pointer("/error/details")?
        .as_array()?
        .iter()
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .and_then(|d| d.trim().strip_suffix('s'))
        .and_then(|secs| secs.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<Duration>, body: &str) -> ProviderError {
        classify(ErrorAnswer {
            status,
            retry_after,
            body,
        })
    }

    const QUOTA: &str = r#"{"error": {"code": 429,
      "message": "You exceeded your current quota, please check your plan and billing details.",
      "status": "RESOURCE_EXHAUSTED",
      "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "22s"}]}}"#;

    #[test]
    fn rate_limits_take_the_retry_delay_unless_a_header_says_otherwise() {
        let e = answer(429, None, QUOTA);
        assert!(matches!(e, ProviderError::RateLimited { .. }));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(22)));
        assert!(e.to_string().contains("exceeded your current quota"));
        let e = answer(429, Some(Duration::from_secs(3)), QUOTA);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = answer(429, None, &QUOTA.replace("22s", "1.5s"));
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn real_error_bodies_classify() {
        let e = answer(
            503,
            None,
            r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
        );
        assert!(matches!(e, ProviderError::Server { status: 503, .. }));
        assert_eq!(e.type_name(), "provider_overloaded");
        assert!(e.to_string().contains("The model is overloaded"));

        let e = answer(
            500,
            None,
            r#"{"error": {"code": 500, "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "status": "INTERNAL"}}"#,
        );
        assert!(matches!(e, ProviderError::Server { status: 500, .. }));

        let e = answer(
            400,
            None,
            r#"{"error": {"code": 400, "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}"#,
        );
        assert!(matches!(e, ProviderError::ContextLength { .. }));

        let e = answer(
            400,
            None,
            r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                         "metadata": {"service": "generativelanguage.googleapis.com"}}]}}"#,
        );
        assert!(matches!(e, ProviderError::Auth { status: 400, .. }));

        let e = answer(
            403,
            None,
            r#"{"error": {"code": 403, "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "status": "PERMISSION_DENIED"}}"#,
        );
        assert!(matches!(e, ProviderError::Auth { status: 403, .. }));

        let e = answer(
            400,
            None,
            r#"{"error": {"code": 400, "message": "* GenerateContentRequest.generation_config.response_schema.properties[\"a\"].enum: only allowed for STRING type\n", "status": "INVALID_ARGUMENT"}}"#,
        );
        assert!(matches!(e, ProviderError::Rejected { status: 400, .. }));
        assert!(e.to_string().contains("only allowed for STRING type"));
    }

    #[test]
    fn stream_errors_use_their_code() {
        let v: Value = serde_json::from_str(
            r#"{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}"#,
        )
        .unwrap();
        assert_eq!(classify_value(&v).type_name(), "provider_overloaded");
    }
}
