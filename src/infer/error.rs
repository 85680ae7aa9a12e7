//! Provider failures, each mapped to an error class that decides retry.

use std::time::Duration;

use crate::error::ErrorClass;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// 429: slow down; `retry_after` is the provider's own hint.
    #[error("rate limited by the provider (HTTP 429): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// 5xx and 529 overloaded.
    #[error("provider error (HTTP {status}): {message}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("provider call timed out after {0} ms")]
    Timeout(u64),
    /// Connection refused, reset, or the body broke off.
    #[error("connection to the provider failed: {0}")]
    Connection(String),
    /// 200 with a body that is not the provider's wire format.
    #[error("provider answered with an unreadable body: {0}")]
    BadResponse(String),
    /// 401/403: a key or permission problem; never retried.
    #[error("provider refused the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// 400/404/422: the request itself is wrong; never retried.
    #[error("provider rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// The prompt (plus the output reserve) does not fit the model's
    /// context window; a model with a larger window may still take it.
    #[error("prompt exceeds the model's context window: {message}")]
    ContextLength { message: String },
    /// The provider's safety system refused the prompt or the answer.
    #[error("provider content filter refused the request: {message}")]
    ContentFilter { message: String },
    /// A stream sent nothing for this many milliseconds and was cut.
    #[error("provider stream stalled: nothing received for {0} ms")]
    Stalled(u64),
    /// The provider cannot answer this request (an offline classifier
    /// asked for a field it cannot fill); the next model of a chain may.
    #[error("the provider declined the request: {message}")]
    Declined { message: String },
}

impl ProviderError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ProviderError::RateLimited { .. }
            | ProviderError::Server { .. }
            | ProviderError::Timeout(_)
            | ProviderError::Connection(_)
            | ProviderError::BadResponse(_)
            | ProviderError::Stalled(_) => ErrorClass::Transient,
            ProviderError::Auth { .. } | ProviderError::Rejected { .. } => {
                ErrorClass::Configuration
            }
            ProviderError::ContextLength { .. } | ProviderError::Declined { .. } => {
                ErrorClass::Data
            }
            ProviderError::ContentFilter { .. } => ErrorClass::Safety,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "provider_rate_limited",
            ProviderError::Server {
                status: 503 | 529, ..
            } => "provider_overloaded",
            ProviderError::Server { .. }
            | ProviderError::Connection(_)
            | ProviderError::BadResponse(_) => "provider_unavailable",
            ProviderError::Timeout(_) => "provider_timeout",
            ProviderError::Auth { .. } => "provider_auth",
            ProviderError::Rejected { .. } => "provider_rejected",
            ProviderError::ContextLength { .. } => "context_length_exceeded",
            ProviderError::ContentFilter { .. } => "content_filtered",
            ProviderError::Stalled(_) => "provider_stalled",
            ProviderError::Declined { .. } => "provider_declined",
        }
    }

    /// Status for the caller of seam: the provider failed, not the caller.
    pub fn status(&self) -> u16 {
        match self {
            ProviderError::Timeout(_) | ProviderError::Stalled(_) => 504,
            ProviderError::ContextLength { .. } => 413,
            ProviderError::ContentFilter { .. } | ProviderError::Declined { .. } => 422,
            e if e.class() == ErrorClass::Transient => 503,
            _ => 502,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the next model of a fallback chain may succeed where this
    /// one failed: outages, prompts too long for this model's window, and
    /// requests this provider declines.
    pub fn falls_back(&self) -> bool {
        self.class().retryable()
            || matches!(
                self,
                ProviderError::ContextLength { .. } | ProviderError::Declined { .. }
            )
    }

    /// Classify an HTTP error status.
    pub fn from_status(
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    ) -> ProviderError {
        match status {
            429 => ProviderError::RateLimited {
                retry_after,
                message,
            },
            401 | 403 => ProviderError::Auth { status, message },
            413 => ProviderError::ContextLength { message },
            408 | 500..=599 => ProviderError::Server {
                status,
                retry_after,
                message,
            },
            _ => ProviderError::Rejected { status, message },
        }
    }
}

/// Parse a `Retry-After` header: delta-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert!(
            ProviderError::from_status(429, None, String::new())
                .class()
                .retryable()
        );
        assert!(
            ProviderError::from_status(503, None, String::new())
                .class()
                .retryable()
        );
        assert!(
            ProviderError::from_status(529, None, String::new())
                .class()
                .retryable()
        );
        for s in [400, 401, 403, 404, 422] {
            assert!(
                !ProviderError::from_status(s, None, String::new())
                    .class()
                    .retryable(),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        let future = std::time::SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(future)).unwrap();
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
