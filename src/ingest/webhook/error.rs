//! Why a webhook delivery was refused. Messages name the check that failed,
//! never a secret or the signature that was expected.

/// A refused delivery; every variant answers 401 `webhook_unauthorized`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing signature header `{0}`")]
    MissingHeader(String),
    #[error("malformed signature: {0}")]
    Malformed(String),
    #[error("no signature matches the body")]
    BadSignature,
    #[error("timestamp is {age_secs} s old, beyond the tolerance of {tolerance_secs} s")]
    Expired { age_secs: i64, tolerance_secs: i64 },
    #[error(
        "timestamp is {ahead_secs} s in the future, beyond the tolerance of {tolerance_secs} s"
    )]
    Future {
        ahead_secs: i64,
        tolerance_secs: i64,
    },
}

impl WebhookError {
    /// A short name of the failed check, for metrics and rejected-delivery records.
    pub fn check(&self) -> &'static str {
        match self {
            WebhookError::MissingHeader(_) => "missing_header",
            WebhookError::Malformed(_) => "malformed",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::Expired { .. } => "expired",
            WebhookError::Future { .. } => "future",
        }
    }
}
