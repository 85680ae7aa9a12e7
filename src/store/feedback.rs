//! Ground truth for runs (`POST /v1/runs/{id}/feedback`).

use serde::Serialize;
use serde_json::Value;

use super::Result;

#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub run_id: String,
    pub pipeline: String,
    /// Field → true value.
    pub truth: Value,
    pub fields_total: u32,
    pub fields_correct: u32,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedbackRow {
    pub id: i64,
    pub run_id: String,
    pub pipeline: String,
    pub truth: Value,
    pub fields_total: u32,
    pub fields_correct: u32,
    pub source: String,
    pub note: Option<String>,
    pub created_at: String,
}

/// Field accuracy over a pipeline's latest feedback.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Accuracy {
    pub feedback: u32,
    pub fields_total: u64,
    pub fields_correct: u64,
}

impl Accuracy {
    /// Correct fields over judged fields (1 when nothing was judged).
    pub fn ratio(&self) -> f64 {
        if self.fields_total == 0 {
            1.0
        } else {
            self.fields_correct as f64 / self.fields_total as f64
        }
    }
}

#[async_trait::async_trait]
pub trait FeedbackStore: Send + Sync {
    /// Store the feedback (audited under the run) and return the
    /// pipeline's accuracy over its latest `window` feedback rows.
    async fn add_feedback(&self, f: NewFeedback, window: u32) -> Result<(i64, Accuracy)>;
    /// A pipeline's feedback, oldest first.
    async fn feedback(&self, pipeline: &str, limit: usize) -> Result<Vec<FeedbackRow>>;
}
