//! State behind small per-concern traits; `Store` combines them and the
//! rest of seam holds an `Arc<dyn Store>`. SQLite (`sqlite/`) is the
//! embedded default.

mod batch;
mod budget;
mod contracts;
mod eval;
mod feedback;
mod idempotency;
mod review;
mod kb;
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
    /// A background run finished after its lease was taken over (its
    /// worker stalled past the lease): the newer attempt decides.
    #[error("queued run `{0}` is no longer leased by this attempt; its outcome is not recorded")]
    LeaseLost(String),
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
    /// The queue item this run settles (background runs): committed with
    /// the run, in its transaction. Not stored in the row.
    #[serde(skip)]
    pub queue_item: Option<QueueSettle>,
    /// The sealed PII map an escalated run keeps for the human who
    /// finishes it: written in the run's transaction. Not in the row.
    #[serde(skip)]
    pub pii_map: Option<KeptPii>,
    /// What an escalated run keeps for its reviewer (the proposed output
    /// and action): written with the escalation. Not in the row.
    #[serde(skip)]
    pub review: Option<ReviewHold>,
}

/// A run's PII placeholder map, sealed (see `ingest::pii`), kept until
/// `expires_at_ms` (Unix ms).
#[derive(Debug, Clone)]
pub struct KeptPii {
    pub sealed: Vec<u8>,
    pub expires_at_ms: i64,
}

/// An event to queue for a background run.
#[derive(Debug, Clone)]
pub struct NewQueued {
    pub id: String,
    pub pipeline: String,
    pub tenant: String,
    /// `api` or `webhook`.
    pub source: &'static str,
    /// A second event with the same key (for the pipeline) is a duplicate.
    pub dedupe_key: Option<String>,
    pub input: Value,
}

/// What queueing did: the id of the row holding the event, and whether it
/// was already there (a duplicate, acknowledged and not queued again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub id: String,
    pub duplicate: bool,
}

/// A claimed queue row.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub id: String,
    pub pipeline: String,
    pub tenant: String,
    pub input: Value,
    /// Attempts including the one just claimed.
    pub attempts: u32,
}

/// A queue row as stored (no input: it may hold PII).
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    pub id: String,
    pub pipeline: String,
    pub tenant: String,
    pub source: String,
    pub dedupe_key: Option<String>,
    /// `queued`, `leased`, `done` or `dead`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub error_type: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// What a background run's commit makes of its queue row, by the run's
/// status: answered (by a model or the baseline) or escalated to a human
/// ends it (`done`); input that breaks the contract is dead-lettered
/// (`dead`); anything else (a transient failure, a cancelled run) leaves
/// it to its worker, which retries or gives up (`None`).
pub fn queue_status_after(run_status: &str) -> Option<&'static str> {
    match run_status {
        "succeeded" | "escalated" => Some("done"),
        "rejected" => Some("dead"),
        _ => None,
    }
}

/// How a worker ends an attempt whose run did not settle the row.
#[derive(Debug, Clone)]
pub enum QueueOutcome {
    /// Try again at `at_ms` (Unix ms).
    Retry { at_ms: i64 },
    /// Give up: the row goes to the dead-letter queue.
    Dead,
}

/// Why work was given up on: the error's type, class and message, and the
/// layer it failed at.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error_type: String,
    pub class: String,
    pub layer: String,
    pub message: String,
}

/// Which dead-letter entries a command acts on.
#[derive(Debug, Clone, Default)]
pub struct DeadFilter {
    /// The run id (a dead delivery is named by its run).
    pub id: Option<String>,
    pub pipeline: Option<String>,
    pub error_type: Option<String>,
    /// `ingest`, `prompt`, `infer`, `output` (runs) or `act` (deliveries).
    pub layer: Option<String>,
}

/// One entry of the dead-letter queue: a background run given up on, or
/// an action whose delivery was.
#[derive(Debug, Clone, Serialize)]
pub struct DeadEntry {
    /// The run's id; a dead delivery is named by its run.
    pub id: String,
    /// `run` or `delivery`.
    pub kind: String,
    pub pipeline: String,
    /// The layer it failed at; a retry re-enters there.
    pub layer: Option<String>,
    /// Attempts since it was last queued.
    pub attempts: u32,
    /// Times it was taken out of the dead-letter queue before.
    pub retries: u32,
    pub error_type: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub created_at: String,
    pub died_at: Option<String>,
}

/// How a background run's queue item ends when its run commits.
#[derive(Debug, Clone)]
pub struct QueueSettle {
    pub id: String,
    /// The lease's attempt: a worker whose lease was taken over must not
    /// settle the newer attempt's item.
    pub attempt: u32,
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
    Retry {
        at_ms: i64,
        error: String,
    },
    /// Given up on: the delivery goes to the dead-letter queue.
    Dead(Failure),
    /// Not attempted (the sink's breaker is open): due again at `at_ms`,
    /// and the claim does not count as an attempt.
    Deferred {
        at_ms: i64,
    },
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
    /// The sealed PII map run `run_id` kept, unless it expired by `now_ms`.
    async fn pii_map(&self, run_id: &str, now_ms: i64) -> Result<Option<Vec<u8>>>;
    /// Delete the PII maps expired by `now_ms`; returns how many.
    async fn sweep_pii_maps(&self, now_ms: i64) -> Result<u64>;
}

/// The durable queue of background runs and its dead-letter queue.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Commit the event (durably) before it is acknowledged.
    async fn enqueue(&self, item: NewQueued) -> Result<Enqueued>;
    /// Lease up to `limit` due rows of `pipeline` (queued and due, or
    /// leased with an expired lease: its worker died).
    async fn claim_queue(
        &self,
        pipeline: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<QueueItem>>;
    /// End attempt `attempt` of row `id` when its run did not settle it
    /// (a transient failure); only while that attempt holds the lease.
    async fn finish_queue(
        &self,
        id: &str,
        attempt: u32,
        outcome: QueueOutcome,
        failure: Failure,
    ) -> Result<bool>;
    /// Extend the leases these (row, attempt) pairs still hold.
    async fn renew_queue_leases(&self, held: Vec<(String, u32)>, lease: Duration) -> Result<()>;
    async fn queue_row(&self, id: &str) -> Result<Option<QueueRow>>;
    /// Rows in `status` (all when `None`), optionally of one pipeline,
    /// oldest first.
    async fn queue_rows(
        &self,
        status: Option<&str>,
        pipeline: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRow>>;
}

/// The dead-letter queue: background runs and deliveries given up on.
#[async_trait::async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Matching entries, oldest death first.
    async fn dead_entries(&self, filter: DeadFilter, limit: usize) -> Result<Vec<DeadEntry>>;
    /// Take matching entries out of the dead-letter queue where they
    /// failed: a run is queued again under its id (attempts start over,
    /// its audit history stays), a delivery is due again with its stored
    /// action and idempotency key (no new model call). Each retry is
    /// audited. Returns how many.
    async fn retry_dead(&self, filter: DeadFilter) -> Result<u64>;
    /// Delete matching entries (the run and its audit stay); audited.
    /// Returns how many.
    async fn purge_dead(&self, filter: DeadFilter) -> Result<u64>;
}

#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Lease up to `limit` due rows (pending and due, or leased and expired).
    async fn claim_outbox(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxItem>>;
    /// Record attempt `attempt`'s outcome with its audit record (if any).
    /// The audit record is always written; the row changes only if that
    /// attempt still holds the lease (the result says whether it did).
    async fn finish_outbox(
        &self,
        id: i64,
        attempt: u32,
        outcome: DeliveryOutcome,
        audit: Option<AuditEntry>,
    ) -> Result<bool>;
    /// Extend the leases these (row, attempt) pairs still hold.
    async fn renew_outbox_leases(&self, held: Vec<(i64, u32)>, lease: Duration) -> Result<()>;
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

pub use batch::{BatchKey, BatchLine, BatchRow, BatchStore, BatchWrite};
pub use budget::{
    Alert, BudgetStore, CostStore, DaySpend, LedgerKey, LedgerRow, ModelSpend, NewAlert,
    ReserveOutcome, ReserveRequest, SettleOutcome, SpendRow,
};

pub use contracts::{ContractStore, DriftRow, NewDrift};
pub use eval::{EvalRun, EvalStore};
pub use feedback::{Accuracy, FeedbackRow, FeedbackStore, NewFeedback};
pub use idempotency::{IdemBegin, IdemClaim, IdempotencyStore};
pub use review::{
    Decided, ReviewDecision, ReviewFilter, ReviewHold, ReviewReason, ReviewRow, ReviewStore,
};
pub use kb::{KbChunk, KbDocument, KbStore, NewKbDocument};

#[async_trait::async_trait]
pub trait Store:
    RunStore
    + OutboxStore
    + AuditStore
    + QueueStore
    + DeadLetterStore
    + ContractStore
    + EvalStore
    + FeedbackStore
    + BudgetStore
    + CostStore
    + BatchStore
    + IdempotencyStore
    + ReviewStore
    + KbStore
{
    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> Result<()>;
}
