//! Stored `seam eval` results (one per variant per run of a golden set).

use serde::Serialize;
use serde_json::Value;

use super::Result;

/// One variant's result. `id` is assigned by the store (ignored on insert).
#[derive(Debug, Clone, Serialize)]
pub struct EvalRun {
    pub id: i64,
    pub pipeline: String,
    /// `default`, `model:NAME`, `prompt:VERSION` or both.
    pub variant: String,
    pub models: Vec<String>,
    pub prompt_version: String,
    pub set_path: String,
    pub set_sha256: String,
    pub cases: u64,
    pub score: f64,
    /// Field → `{rule, score, cases}`.
    pub fields: Value,
    pub hallucination_rate: f64,
    pub refusal_rate: f64,
    pub latency_p50_ms: u64,
    pub latency_p95_ms: u64,
    pub cost_micros_total: u64,
    pub cost_micros_per_item: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The gate's verdict when it ran.
    pub passed: bool,
    pub seam_version: String,
    pub started_at: String,
    pub finished_at: String,
}

#[async_trait::async_trait]
pub trait EvalStore: Send + Sync {
    /// Store a result; its id.
    async fn add_eval_run(&self, run: EvalRun) -> Result<i64>;
    /// The latest result for this pipeline, variant and set: the baseline.
    async fn last_eval_run(
        &self,
        pipeline: &str,
        variant: &str,
        set_sha256: &str,
    ) -> Result<Option<EvalRun>>;
    /// A pipeline's results (of one set when given), oldest first, the
    /// latest `limit`.
    async fn eval_runs(
        &self,
        pipeline: &str,
        set_sha256: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EvalRun>>;
}
