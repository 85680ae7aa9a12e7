//! Google's error shape: `{"error": {"code", "message", "status", "details"?}}`.

use hyper::Response;
use serde_json::{Value, json};

use crate::simulate::gate::Refusal;
use crate::simulate::http::{Body, json_response};
use crate::simulate::limit::{Kind, Over};

/// A Google API error answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub status: &'static str,
    pub message: String,
    pub details: Vec<Value>,
}

impl ApiError {
    /// A 400 `INVALID_ARGUMENT`.
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            code: 400,
            status: "INVALID_ARGUMENT",
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A field that protobuf JSON parsing does not know.
    pub(crate) fn unknown_field(name: &str, at: &str) -> ApiError {
        let at = if at.is_empty() {
            String::new()
        } else {
            format!(" at '{at}'")
        };
        ApiError::invalid(format!(
            "Invalid JSON payload received. Unknown name \"{name}\"{at}: Cannot find field."
        ))
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            code: 404,
            status: "NOT_FOUND",
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub(crate) fn response(&self, headers: &[(&str, &str)]) -> Response<Body> {
        let mut error = json!({"code": self.code, "message": self.message, "status": self.status});
        if !self.details.is_empty()
            && let Some(o) = error.as_object_mut()
        {
            o.insert("details".into(), Value::Array(self.details.clone()));
        }
        json_response(self.code, &json!({ "error": error }), headers)
    }
}

/// An error fault as the Gemini API answers it.
pub(crate) fn refusal(r: Refusal, model: &str) -> Response<Body> {
    match r {
        Refusal::RateLimited(secs) => {
            let e = ApiError {
                code: 429,
                status: "RESOURCE_EXHAUSTED",
                message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.".into(),
                details: vec![
                    json!({
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                            "quotaDimensions": {"location": "global", "model": model},
                            "quotaValue": "60"
                        }]
                    }),
                    json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}),
                ],
            };
            e.response(&[("retry-after", &secs.to_string())])
        }
        Refusal::Unavailable(secs) => {
            let e = ApiError {
                code: 503,
                status: "UNAVAILABLE",
                message: "The model is overloaded. Please try again later.".into(),
                details: Vec::new(),
            };
            let retry = secs.map(|s| s.to_string());
            let headers: Vec<(&str, &str)> =
                retry.iter().map(|s| ("retry-after", s.as_str())).collect();
            e.response(&headers)
        }
        Refusal::OverLimit(over) => over_limit(&over, model),
        Refusal::ServerError => ApiError {
            code: 500,
            status: "INTERNAL",
            message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".into(),
            details: Vec::new(),
        }
        .response(&[]),
    }
}

/// A `--limit` refusal as the Gemini API words it: RESOURCE_EXHAUSTED with
/// the quota that ran out and a RetryInfo delay.
fn over_limit(over: &Over, model: &str) -> Response<Body> {
    let (metric, quota) = match over.kind {
        Kind::Requests => (
            "generativelanguage.googleapis.com/generate_content_requests",
            "GenerateRequestsPerMinutePerProjectPerModel",
        ),
        Kind::Tokens => (
            "generativelanguage.googleapis.com/generate_content_input_token_count",
            "GenerateContentInputTokensPerModelPerMinute",
        ),
    };
    let secs = over.retry_after_secs();
    let e = ApiError {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message: format!(
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: {metric}, limit: {}, model: {model}\nPlease retry in {:.3}s.",
            over.limit,
            over.retry_after.as_secs_f64()
        ),
        details: vec![
            json!({
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": metric,
                    "quotaId": quota,
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": over.limit.to_string()
                }]
            }),
            json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}),
        ],
    };
    e.response(&[("retry-after", &secs.to_string())])
}
