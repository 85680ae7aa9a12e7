//! The human review queue: escalated runs with what their reviewer needs
//! (the redacted input, the proposed output and action), and the decision.

use serde::Serialize;
use serde_json::Value;

use super::{AuditEntry, NewOutbox, Result};

/// What an escalated run keeps for its reviewer, written with its
/// escalation row. Everything is redacted (PII as placeholders).
#[derive(Debug, Clone, Default)]
pub struct ReviewHold {
    /// The output pointers the reason names (a low confidence, retracted
    /// claims, diverging fields).
    pub pointers: Vec<String>,
    pub input: Value,
    pub proposed_output: Option<Value>,
    /// The action body as it would have been sent, placeholders included.
    pub proposed_body: Option<Value>,
    pub sink: String,
    /// The key the action is delivered under once approved.
    pub idempotency_key: String,
    /// A dry run is never acted on, approved or not.
    pub dry_run: bool,
}

/// A review as stored. `status`: `open`, `approved` or `rejected`.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewRow {
    pub run_id: String,
    pub pipeline: String,
    pub event_id: Option<String>,
    pub status: String,
    pub reason: ReviewReason,
    pub input: Option<Value>,
    pub proposed_output: Option<Value>,
    pub proposed_body: Option<Value>,
    pub sink: Option<String>,
    pub idempotency_key: Option<String>,
    pub dry_run: bool,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// The output the reviewer approved instead of the proposal (redacted).
    pub decided_output: Option<Value>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

/// Why the run is in review.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewReason {
    #[serde(rename = "type")]
    pub kind: String,
    pub class: String,
    pub message: String,
    pub pointers: Vec<String>,
}

impl ReviewRow {
    /// The decision as a 409 shows it (no values).
    pub fn decision_json(&self) -> Value {
        serde_json::json!({
            "decision": self.status,
            "by": self.decided_by,
            "note": self.note,
            "at": self.decided_at,
        })
    }
}

/// Which reviews to list.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    /// `open`, `approved`, `rejected`; all when `None`.
    pub status: Option<String>,
    pub pipeline: Option<String>,
}

/// A decision to commit: the row's new state, the action to deliver (an
/// approval) and the audit record, in one transaction.
#[derive(Debug, Clone)]
pub struct ReviewDecision {
    pub run_id: String,
    /// `approved` or `rejected`.
    pub decision: &'static str,
    pub by: String,
    pub note: Option<String>,
    /// A corrected output (redacted) the approval acts on.
    pub output: Option<Value>,
    pub outbox: Option<NewOutbox>,
    pub audit: AuditEntry,
}

/// What committing a decision did.
#[derive(Debug, Clone)]
pub enum Decided {
    /// Recorded; `enqueued`: the action's outbox row was new.
    Recorded {
        enqueued: bool,
    },
    /// Someone decided first: nothing changed.
    Already(Box<ReviewRow>),
    NotFound,
}

#[async_trait::async_trait]
pub trait ReviewStore: Send + Sync {
    /// Reviews oldest first, at most `limit`.
    async fn reviews(&self, filter: ReviewFilter, limit: usize) -> Result<Vec<ReviewRow>>;
    async fn review(&self, run_id: &str) -> Result<Option<ReviewRow>>;
    /// Commit a decision unless the review was decided already.
    async fn decide_review(&self, d: ReviewDecision) -> Result<Decided>;
}
