//! Why a context step failed. Messages name the connector and the step,
//! statuses and SQLSTATEs, never a URL's query, a parameter, a token or a
//! response body.

use crate::error::ErrorClass;

/// What went wrong, which decides the class of a run that needed the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Timeouts, lost connections, 408/429/5xx, a rate limit past the
    /// deadline: worth trying the run again later.
    Transient,
    /// The credentials or the token endpoint were refused (401/403).
    Auth,
    /// The system refused the request (another 4xx) or the query (SQLSTATE).
    Rejected,
    /// The answer was not what the step expects (not JSON, too large, no
    /// items where the pagination points).
    Response,
    /// The input has no value where a query parameter points.
    Input,
    /// A knowledge base cannot answer as configured (its embedder, or
    /// vectors stored by another embedder).
    Setup,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Auth => "auth",
            FailureKind::Rejected => "rejected",
            FailureKind::Response => "response",
            FailureKind::Input => "input",
            FailureKind::Setup => "setup",
        }
    }
}

/// A connector call that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct Failure {
    pub kind: FailureKind,
    /// Fixed text, safe for the audit and logs.
    pub reason: String,
}

impl Failure {
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Failure {
        Failure {
            kind,
            reason: reason.into(),
        }
    }

    pub fn transient(reason: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Transient, reason)
    }
}

/// A required context step failed: the run fails with it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("context step `{step}` (connector `{connector}`) failed: {failure}")]
pub struct StepError {
    pub step: String,
    pub connector: String,
    pub failure: Failure,
}

impl StepError {
    pub fn class(&self) -> ErrorClass {
        match self.failure.kind {
            FailureKind::Transient => ErrorClass::Transient,
            FailureKind::Auth | FailureKind::Setup => ErrorClass::Configuration,
            FailureKind::Rejected | FailureKind::Response | FailureKind::Input => ErrorClass::Data,
        }
    }
}
