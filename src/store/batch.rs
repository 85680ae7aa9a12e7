//! Checkpoints of `seam run --input` batches: which line was given which
//! run id, and which lines are done. Results stay out of the store (they
//! hold restored PII); they are in the batch's journal file.

use super::Result;

/// A batch's identity: its pipeline, the SHA-256 of its input, its output.
#[derive(Debug, Clone)]
pub struct BatchKey {
    pub pipeline: String,
    pub input_sha256: String,
    pub output: String,
}

/// A batch as stored.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub id: String,
    pub lines: u64,
    pub finished: bool,
}

/// A checkpointed line.
#[derive(Debug, Clone)]
pub struct BatchLine {
    pub line: u64,
    pub run_id: String,
    /// `started` (its run may or may not have committed) or `done`.
    pub status: String,
    /// Whether a run with `run_id` is in the store.
    pub run_committed: bool,
}

/// A write to the batch checkpoint tables (applied by the store's writer).
#[derive(Debug, Clone)]
pub enum BatchWrite {
    /// Create the batch unless one with the same key exists.
    Open {
        id: String,
        key: BatchKey,
        lines: u64,
    },
    /// Drop a batch's checkpoint (to run it again from the start).
    Forget { id: String },
    /// Record a line's run id and status.
    Line {
        batch_id: String,
        line: u64,
        run_id: String,
        status: &'static str,
    },
    /// Mark the batch complete.
    Finish { id: String },
}

#[async_trait::async_trait]
pub trait BatchStore: Send + Sync {
    /// Apply one write durably.
    async fn batch_write(&self, write: BatchWrite) -> Result<()>;
    /// The batch with this key, if any.
    async fn batch_find(&self, key: &BatchKey) -> Result<Option<BatchRow>>;
    /// Every checkpointed line of a batch, in line order.
    async fn batch_lines(&self, batch_id: &str) -> Result<Vec<BatchLine>>;
    /// Ids of a pipeline's runs created in `[since, until)` (RFC 3339),
    /// oldest first, at most `limit`: the runs a backfill replays.
    async fn runs_between(
        &self,
        pipeline: &str,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<Vec<String>>;
}
