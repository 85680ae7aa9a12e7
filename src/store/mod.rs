//! State behind small per-concern traits; `Store` combines them and the
//! rest of seam holds an `Arc<dyn Store>`. SQLite (`sqlite/`) is the
//! embedded default.

mod budget;
pub mod sqlite;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    #[error("the store writer has stopped")]
    WriterGone,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The tenant of work that names none.
pub const DEFAULT_TENANT: &str = "default";

/// A finished run (its result row).
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub pipeline: String,
    /// Whose work it was (budgets and cost reports by tenant);
    /// [`DEFAULT_TENANT`] when the caller named none.
    pub tenant: String,
    /// `succeeded`, `failed`, `escalated` (failed and queued for a human),
    /// `rejected` (input invalid) or `cancelled`.
    pub status: String,
    pub event_id: Option<String>,
    pub input_sha256: Option<String>,
    pub prompt_sha256: Option<String>,
    pub prompt_version: Option<String>,
    pub model: Option<String>,
    pub output: Option<Value>,
    pub error_type: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub attempts: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: u64,
    pub latency_ms: u64,
    pub created_at: String,
    pub finished_at: String,
}

/// A run a human must finish (status `escalated`): why it could not be
/// answered. The redacted input is in the run's audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub run_id: String,
    pub pipeline: String,
    pub event_id: Option<String>,
    pub reason_type: String,
    pub reason_class: String,
    pub reason: String,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// An audit record to append; the store assigns `seq` and links the hash.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub run_id: Option<String>,
    pub layer: &'static str,
    pub at: String,
    pub body: Value,
}

/// An audit record as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAudit {
    pub seq: i64,
    pub run_id: Option<String>,
    pub layer: String,
    pub at: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An action to deliver, written with its run.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    pub pipeline: String,
    pub idempotency_key: String,
    pub body: Value,
}

/// A claimed outbox row.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub run_id: String,
    pub pipeline: String,
    pub idempotency_key: String,
    pub body: Value,
    /// Attempts including the one just claimed.
    pub attempts: u32,
}

#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { at_ms: i64, error: String },
    Dead { error: String },
}

#[async_trait::async_trait]
pub trait RunStore: Send + Sync {
    /// Write the run, its audit records and its outbox row atomically.
    /// Returns whether the outbox row was new (false: same key existed).
    async fn commit_run(
        &self,
        run: RunRecord,
        audit: Vec<AuditEntry>,
        outbox: Option<NewOutbox>,
    ) -> Result<bool>;
    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>>;
    /// The escalation queue (runs committed with status `escalated`), in
    /// `status` (`open`/`resolved`; all when `None`), oldest first.
    async fn escalations(&self, status: Option<&str>, limit: usize) -> Result<Vec<Escalation>>;
}

#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Lease up to `limit` due rows (pending and due, or leased and expired).
    async fn claim_outbox(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxItem>>;
    /// Record attempt `attempt`'s outcome with its audit record. The audit
    /// record is always written; the row changes only if that attempt still
    /// holds the lease (the result says whether it did).
    async fn finish_outbox(
        &self,
        id: i64,
        attempt: u32,
        outcome: DeliveryOutcome,
        audit: AuditEntry,
    ) -> Result<bool>;
    /// Rows not yet delivered or dead.
    async fn outbox_open(&self) -> Result<u64>;
    /// Unix ms of the earliest pending row, if any.
    async fn outbox_next_due(&self) -> Result<Option<i64>>;
}

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<()>;
    async fn audit_for_run(&self, run_id: &str) -> Result<Vec<StoredAudit>>;
    /// Records with `seq > after`, in order, at most `limit`.
    async fn audit_scan(&self, after: i64, limit: usize) -> Result<Vec<StoredAudit>>;
}

pub use budget::{
    Alert, BudgetStore, CostStore, DaySpend, LedgerKey, LedgerRow, ModelSpend, NewAlert,
    ReserveOutcome, ReserveRequest, SettleOutcome, SpendRow,
};

#[async_trait::async_trait]
pub trait Store: RunStore + OutboxStore + AuditStore + BudgetStore + CostStore {
    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> Result<()>;
}
