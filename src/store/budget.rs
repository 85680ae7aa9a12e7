//! The budget ledger, alert records and the cost read-outs, as store
//! traits. The ledger is the source of truth for what each budget has
//! spent and holds reserved.

use serde::Serialize;

use super::Result;

/// One ledger row: a budget, the subject it counts and its period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LedgerKey {
    /// `pipeline`, `tenant` or `global`.
    pub scope: String,
    /// The budget's configured name: a pipeline, a tenant, or `*`.
    pub name: String,
    /// The pipeline or tenant counted (`*` for global budgets).
    pub subject: String,
    /// `day` or `month`.
    pub period: String,
    /// `2026-11-23` or `2026-11` (UTC calendar).
    pub period_key: String,
}

/// Reserve `amount_micros` on every row of `rows` at once, or on none.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    /// Unique id of the reservation.
    pub id: String,
    pub amount_micros: u64,
    /// Each row with the limit config gives it now.
    pub rows: Vec<(LedgerKey, u64)>,
    /// Unix ms after which a sweep settles it at its amount.
    pub expires_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Held on every row.
    Reserved,
    /// Nothing held: this row (as it stood) cannot take the amount.
    Refused(LedgerRow),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The reservation moved into spent at the actual amount.
    Settled,
    /// A sweep had already counted it at its estimate; spent was corrected
    /// by the difference.
    CorrectedAfterExpiry,
    /// No such reservation (already settled).
    Unknown,
}

/// A ledger row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    #[serde(flatten)]
    pub key: LedgerKey,
    pub limit_micros: u64,
    pub spent_micros: u64,
    pub reserved_micros: u64,
    pub refusals: u64,
    pub updated_at: String,
}

/// An alert to raise; deduplicated by (kind, subject, day).
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: String,
    pub subject: String,
    pub day: String,
    pub observed_micros: u64,
    pub baseline_micros: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub day: String,
    pub observed_micros: u64,
    pub baseline_micros: u64,
    pub message: String,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Spend of the runs of one (day, pipeline, tenant, model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendRow {
    pub day: String,
    pub pipeline: String,
    pub tenant: String,
    /// The model that answered (`None`: no model answered).
    pub model: Option<String>,
    pub runs: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: u64,
}

/// Spend per model counted per call (from the audit's `infer` records;
/// runs without them, such as chat completions, by their answering model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSpend {
    pub model: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: u64,
}

/// One pipeline's spend on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySpend {
    pub pipeline: String,
    pub day: String,
    pub cost_micros: u64,
}

#[async_trait::async_trait]
pub trait BudgetStore: Send + Sync {
    /// All-or-nothing, in one transaction: for every row,
    /// `spent + reserved + amount <= limit`, else nothing is held and the
    /// first row that cannot take it is returned (its refusal counted).
    async fn reserve(&self, request: ReserveRequest) -> Result<ReserveOutcome>;
    /// Move a reservation into spent at `actual_micros` (lower or higher
    /// than the estimate).
    async fn settle(&self, id: &str, actual_micros: u64) -> Result<SettleOutcome>;
    /// Settle at their estimate the open reservations that expired by
    /// `now_ms` (their holder crashed or lost them); forget expired ones
    /// older than a day. Returns how many were settled.
    async fn expire_reservations(&self, now_ms: i64) -> Result<u64>;
    /// Ledger rows of the given period keys (all rows when empty).
    async fn ledger(&self, period_keys: Vec<String>) -> Result<Vec<LedgerRow>>;
    /// Raise an alert; false when one for its kind, subject and day exists
    /// (its observed amount is updated).
    async fn raise_alert(&self, alert: NewAlert) -> Result<bool>;
    /// Alerts, newest first; only open ones when `open_only`.
    async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>>;
}

/// Read-outs of spend from the stored runs and audit.
#[async_trait::async_trait]
pub trait CostStore: Send + Sync {
    /// Spend grouped by day, pipeline, tenant and answering model, of runs
    /// created on or after `since` (RFC 3339 or a date).
    async fn spend(&self, since: Option<String>) -> Result<Vec<SpendRow>>;
    /// Spend per model, per call.
    async fn spend_by_model(&self, since: Option<String>) -> Result<Vec<ModelSpend>>;
    /// (input, output) tokens of each run that used any, optionally of one
    /// pipeline, created on or after `since`.
    async fn run_usage(
        &self,
        pipeline: Option<String>,
        since: Option<String>,
    ) -> Result<Vec<(u64, u64)>>;
    /// Spend per pipeline and day for days `from..=to` (`YYYY-MM-DD`).
    async fn daily_spend(&self, from: String, to: String) -> Result<Vec<DaySpend>>;
    /// (pipeline, `YYYY-MM-DD` of its first run), for every pipeline.
    async fn first_days(&self) -> Result<Vec<(String, String)>>;
}
