//! `seam::Error` and its six classes.
//!
//! Every error a run can end with is one variant here; each variant belongs
//! to exactly one [`ErrorClass`], and the class decides whether the error is
//! retried and (unless the variant needs a more precise one) the HTTP status.

use serde::Serialize;

use crate::budget::{BudgetRefusal, RunLimitRefusal};
use crate::infer::ProviderError;
use crate::infer::guard::GuardRefusal;
use crate::ingest::webhook::WebhookError;
use crate::schema::FieldError;
use crate::store::StoreError;

/// The six classes of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Worth retrying later: upstream outages, timeouts, store hiccups.
    Transient,
    /// The caller sent something wrong (bad JSON, unknown pipeline).
    Client,
    /// Data broke a contract: input or model output failed its schema.
    Data,
    /// seam or a provider is misconfigured (bad key, bad config).
    Configuration,
    /// A cost cap or budget refused the work.
    Budget,
    /// A safety check refused the work.
    Safety,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Client => "client",
            ErrorClass::Data => "data",
            ErrorClass::Configuration => "configuration",
            ErrorClass::Budget => "budget",
            ErrorClass::Safety => "safety",
        }
    }

    /// Whether work that failed with this class may be tried again.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorClass::Transient)
    }

    /// The default HTTP status for the class.
    pub fn status(self) -> u16 {
        match self {
            ErrorClass::Transient => 503,
            ErrorClass::Client => 400,
            ErrorClass::Data => 422,
            ErrorClass::Configuration => 500,
            ErrorClass::Budget => 402,
            ErrorClass::Safety => 403,
        }
    }
}

/// An error that ends a run or a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("pipeline `{0}` is not declared")]
    PipelineNotFound(String),
    #[error("run `{0}` not found")]
    RunNotFound(String),
    #[error("input failed normalisation or validation against the pipeline's input schema ({} error(s))", .0.len())]
    InputInvalid(Vec<FieldError>),
    #[error("the payload no longer matches the learned contract of `{contract}`: {summary}")]
    ContractDrift { contract: String, summary: String },
    #[error("prompt could not be rendered: {0}")]
    Prompt(String),
    #[error("model output failed the output schema after {attempts} attempt(s): {detail}")]
    OutputInvalid { attempts: u32, detail: String },
    #[error("provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("run deadline of {0} ms exceeded")]
    Deadline(u64),
    #[error("pipeline `{0}` is switched off")]
    Disabled(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the client closed the connection before the answer was complete")]
    Cancelled,
    #[error(
        "a call to model `{model}` could cost up to {estimate_micros} micro-dollars, over its cap of {cap_micros}; refused before any tokens were spent"
    )]
    CostCap {
        model: String,
        estimate_micros: u64,
        cap_micros: u64,
    },
    /// A `[[budgets]]` budget cannot cover the call's estimate.
    #[error("{0}")]
    BudgetExceeded(Box<BudgetRefusal>),
    /// The run has used its `[pipelines.NAME.limits]`.
    #[error("per-run budget: {0}")]
    RunBudgetExceeded(RunLimitRefusal),
    /// A model's circuit breaker or client-side rate limit refused the call.
    #[error("{0}")]
    Guard(#[from] GuardRefusal),
    /// An `Idempotency-Key` was used before with another request body.
    #[error("Idempotency-Key `{0}` was already used with a different request")]
    IdempotencyMismatch(String),
    /// The first request with this `Idempotency-Key` is still running.
    #[error("a request with Idempotency-Key `{0}` is still in flight; retry later")]
    IdempotencyInFlight(String),
    /// A webhook delivery failed its signature or timestamp check.
    #[error("webhook refused: {0}")]
    WebhookUnauthorized(#[from] WebhookError),
    /// A required context step (`connectors/`) failed.
    #[error("{0}")]
    Context(#[from] crate::connectors::StepError),
    /// Grounded claims or citations of the output were retracted, and the
    /// pipeline sends such runs to review (or cannot act without them).
    #[error("{count} claim(s) or citation(s) retracted from the model output: {detail}")]
    RetractedClaims { count: usize, detail: String },
    /// Dual generation: the two answers disagree on a high-stakes field
    /// (a hallucination canary), or the second could not be made.
    #[error("hallucination canary: {detail}")]
    HallucinationCanary { detail: String },
    /// The output answered with a value `[pipelines.NAME.review]` lists as
    /// "insufficient information": a human finishes the run.
    #[error(
        "the model answered `{value}` at `{pointer}`: insufficient information; held for review"
    )]
    InsufficientInformation { pointer: String, value: String },
    /// The output's confidence is below `min_confidence` (or missing).
    #[error("{}", low_confidence(pointer, *confidence, *min))]
    LowConfidence {
        pointer: String,
        confidence: Option<f64>,
        min: f64,
    },
    /// No run with this id is in the review queue.
    #[error("run `{0}` is not in the review queue")]
    NotInReview(String),
    /// The review was decided before; `decision` is that decision.
    #[error("run `{run_id}` was already {}", decision["decision"].as_str().unwrap_or("decided"))]
    AlreadyDecided {
        run_id: String,
        decision: serde_json::Value,
    },
    /// The review cannot be approved as asked (no action can be built).
    #[error("cannot approve: {0}")]
    ReviewCannotAct(String),
}

fn low_confidence(pointer: &str, confidence: Option<f64>, min: f64) -> String {
    match confidence {
        Some(c) => format!(
            "confidence {c} at `{pointer}` is below the pipeline's min_confidence {min}; held for review"
        ),
        None => format!(
            "the output has no numeric confidence at `{pointer}` (min_confidence {min}); held for review"
        ),
    }
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::BadRequest(_)
            | Error::PipelineNotFound(_)
            | Error::RunNotFound(_)
            | Error::Cancelled
            | Error::WebhookUnauthorized(_)
            | Error::IdempotencyMismatch(_)
            | Error::IdempotencyInFlight(_)
            | Error::NotInReview(_)
            | Error::AlreadyDecided { .. }
            | Error::ReviewCannotAct(_) => ErrorClass::Client,
            Error::InsufficientInformation { .. } | Error::LowConfidence { .. } => ErrorClass::Data,
            Error::InputInvalid(_)
            | Error::OutputInvalid { .. }
            | Error::ContractDrift { .. }
            | Error::RetractedClaims { .. }
            | Error::HallucinationCanary { .. } => ErrorClass::Data,
            Error::Provider(e) => e.class(),
            Error::Deadline(_) | Error::Store(_) => ErrorClass::Transient,
            Error::Prompt(_) | Error::Disabled(_) | Error::Config(_) => ErrorClass::Configuration,
            Error::CostCap { .. } | Error::BudgetExceeded(_) | Error::RunBudgetExceeded(_) => {
                ErrorClass::Budget
            }
            Error::Guard(g) => g.class(),
            Error::Context(e) => e.class(),
        }
    }

    /// The stable `type` string of the JSON error body.
    pub fn type_name(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "invalid_request",
            Error::PipelineNotFound(_) | Error::RunNotFound(_) => "not_found",
            Error::InputInvalid(_) => "input_invalid",
            Error::ContractDrift { .. } => "contract_drift",
            Error::Prompt(_) => "prompt_error",
            Error::OutputInvalid { .. } => "output_invalid",
            Error::Provider(e) => e.type_name(),
            Error::Deadline(_) => "deadline_exceeded",
            Error::Disabled(_) => "pipeline_disabled",
            Error::Config(_) => "configuration",
            Error::Store(_) => "store_unavailable",
            Error::Cancelled => "cancelled",
            Error::CostCap { .. } => "cost_cap_exceeded",
            Error::BudgetExceeded(_) => "budget_exceeded",
            Error::RunBudgetExceeded(_) => "run_budget_exceeded",
            Error::Guard(g) => g.type_name(),
            Error::WebhookUnauthorized(_) => "webhook_unauthorized",
            Error::IdempotencyMismatch(_) => "idempotency",
            Error::IdempotencyInFlight(_) => "idempotency_in_flight",
            Error::Context(_) => "context_failed",
            Error::RetractedClaims { .. } => "retracted_claims",
            Error::HallucinationCanary { .. } => "hallucination_canary",
            Error::InsufficientInformation { .. } => "insufficient_information",
            Error::LowConfidence { .. } => "low_confidence",
            Error::NotInReview(_) => "not_found",
            Error::AlreadyDecided { .. } => "already_decided",
            Error::ReviewCannotAct(_) => "review_cannot_act",
        }
    }

    /// The layer a run failed at, for the dead-letter queue: where a
    /// retried run is expected to fail or pass again.
    pub fn layer(&self) -> &'static str {
        match self {
            Error::BadRequest(_) | Error::InputInvalid(_) | Error::ContractDrift { .. } => "ingest",
            Error::Prompt(_) => "prompt",
            Error::OutputInvalid { .. }
            | Error::RetractedClaims { .. }
            | Error::HallucinationCanary { .. }
            | Error::InsufficientInformation { .. }
            | Error::LowConfidence { .. } => "output",
            Error::Provider(_)
            | Error::Deadline(_)
            | Error::CostCap { .. }
            | Error::BudgetExceeded(_)
            | Error::RunBudgetExceeded(_)
            | Error::Guard(_)
            | Error::Cancelled => "infer",
            Error::Store(_) => "store",
            Error::Context(_) => "context",
            Error::PipelineNotFound(_)
            | Error::RunNotFound(_)
            | Error::Disabled(_)
            | Error::Config(_)
            | Error::WebhookUnauthorized(_)
            | Error::IdempotencyMismatch(_)
            | Error::IdempotencyInFlight(_)
            | Error::NotInReview(_)
            | Error::AlreadyDecided { .. }
            | Error::ReviewCannotAct(_) => "pipeline",
        }
    }

    /// HTTP status: the class default, refined where a client can act on it.
    pub fn status(&self) -> u16 {
        match self {
            Error::PipelineNotFound(_) | Error::RunNotFound(_) | Error::NotInReview(_) => 404,
            Error::AlreadyDecided { .. } | Error::ReviewCannotAct(_) => 409,
            // The model, not the caller, produced the bad data.
            Error::OutputInvalid { .. }
            | Error::RetractedClaims { .. }
            | Error::HallucinationCanary { .. } => 502,
            Error::Deadline(_) => 504,
            Error::WebhookUnauthorized(_) => 401,
            Error::IdempotencyMismatch(_) | Error::IdempotencyInFlight(_) => 409,
            Error::Disabled(_) => 503,
            // nginx's "client closed request": nobody reads it, logs do.
            Error::Cancelled => 499,
            Error::Provider(e) => e.status(),
            Error::Guard(g) => g.status(),
            other => other.class().status(),
        }
    }

    /// Field errors with JSON pointers, for `input_invalid`.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::InputInvalid(errors) => errors,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_is_retryable() {
        for class in [
            ErrorClass::Client,
            ErrorClass::Data,
            ErrorClass::Configuration,
            ErrorClass::Budget,
            ErrorClass::Safety,
        ] {
            assert!(!class.retryable(), "{class:?}");
        }
        assert!(ErrorClass::Transient.retryable());
    }

    #[test]
    fn statuses_follow_classes() {
        assert_eq!(Error::InputInvalid(vec![]).status(), 422);
        assert_eq!(Error::PipelineNotFound("x".into()).status(), 404);
        assert_eq!(Error::BadRequest("x".into()).status(), 400);
        assert_eq!(Error::Deadline(5).class(), ErrorClass::Transient);
        let refused = Error::from(WebhookError::BadSignature);
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.class(), ErrorClass::Client);
        assert_eq!(refused.type_name(), "webhook_unauthorized");
    }
}
