//! The HTTP part every remote provider shares: POST a JSON body with the
//! call's timeout, map transport failures, and hand error statuses to the
//! provider's own classifier with the provider's message kept.

use std::time::Duration;

use serde_json::Value;

use super::ProviderError;
use super::error::parse_retry_after;
use crate::config::Secret;

/// How long the provider asked us to wait: OpenAI's and Azure's
/// millisecond `retry-after-ms` when present (it is the more precise),
/// else the standard `Retry-After` (seconds or an HTTP date).
pub fn retry_after_of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    text("retry-after-ms")
        .and_then(|ms| ms.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| text("retry-after").and_then(parse_retry_after))
}

/// An error answer, as the provider's classifier sees it.
pub struct ErrorAnswer<'a> {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: &'a str,
}

/// How a provider authenticates.
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer KEY`.
    Bearer(&'a Secret),
    /// The key in a named header (`x-api-key`, `api-key`, `x-goog-api-key`).
    Header(&'static str, &'a Secret),
}

/// POST `body` to `url`. A 2xx answer is returned for the provider to read;
/// anything else becomes the error `classify` makes of it.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    auth: Auth<'_>,
    headers: &[(&'static str, &str)],
    body: &Value,
    timeout: Duration,
    classify: fn(ErrorAnswer<'_>) -> ProviderError,
) -> Result<reqwest::Response, ProviderError> {
    let timeout_ms = timeout.as_millis() as u64;
    let mut builder = client.post(url).timeout(timeout).json(body);
    builder = match auth {
        Auth::None => builder,
        Auth::Bearer(key) => builder.bearer_auth(key.expose()),
        Auth::Header(name, key) => builder.header(name, key.expose()),
    };
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let resp = builder
        .send()
        .await
        .map_err(|e| transport_error(&e, timeout_ms))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(resp);
    }
    let retry_after = retry_after_of(resp.headers());
    let text = resp
        .text()
        .await
        .map_err(|e| transport_error(&e, timeout_ms))?;
    Err(classify(ErrorAnswer {
        status,
        retry_after,
        body: &text,
    }))
}

/// Read a 2xx body as JSON of type `T`.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    timeout: Duration,
    what: &str,
) -> Result<T, ProviderError> {
    let text = resp
        .text()
        .await
        .map_err(|e| transport_error(&e, timeout.as_millis() as u64))?;
    serde_json::from_str(&text).map_err(|e| ProviderError::BadResponse(format!("not {what}: {e}")))
}

/// The message at `pointer` in a JSON error body, or the body itself,
/// at most 500 characters.
pub fn error_message(body: &str, pointer: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let msg = from_json.unwrap_or_else(|| body.to_string());
    msg.chars().take(500).collect()
}

/// A transport failure, with the URL (which may carry a key in its query)
/// removed from the message.
pub fn transport_error(e: &reqwest::Error, timeout_ms: u64) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout(timeout_ms);
    }
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<provider>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    ProviderError::Connection(text)
}

/// Whether a provider's message says the prompt is too long for the model.
pub fn says_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "prompt is too long",
        "too many tokens",
        "input token count",
        "exceeds the maximum number of tokens",
    ]
    .iter()
    .any(|p| m.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_of(&h), None);
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after_of(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", HeaderValue::from_static("1250"));
        assert_eq!(retry_after_of(&h), Some(Duration::from_millis(1250)));
        h.insert("retry-after-ms", HeaderValue::from_static("soon"));
        assert_eq!(retry_after_of(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn messages_come_from_json_or_raw_text() {
        assert_eq!(
            error_message(r#"{"error":{"message":"nope"}}"#, "/error/message"),
            "nope"
        );
        assert_eq!(error_message("plain", "/error/message"), "plain");
        assert_eq!(error_message(&"x".repeat(900), "/a").len(), 500);
    }

    #[test]
    fn context_length_messages_are_recognised() {
        assert!(says_context_length(
            "This model's maximum context length is 128000 tokens."
        ));
        assert!(says_context_length(
            "prompt is too long: 210000 tokens > 200000 maximum"
        ));
        assert!(says_context_length(
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
        ));
        assert!(!says_context_length("Invalid value for temperature"));
    }
}
