//! Payload contracts and their drift (see `ingest/drift`).

use serde::Serialize;

use super::Result;

/// One change to record.
#[derive(Debug, Clone)]
pub struct NewDrift {
    pub kind: String,
    pub path: String,
    pub was: Option<String>,
    pub now: Option<String>,
}

/// A recorded change.
#[derive(Debug, Clone, Serialize)]
pub struct DriftRow {
    pub id: i64,
    pub source: String,
    pub kind: String,
    pub path: String,
    pub was: Option<String>,
    pub now: Option<String>,
    pub first_run_id: Option<String>,
    pub first_at: String,
    pub last_at: String,
    pub count: u64,
    pub status: String,
}

#[async_trait::async_trait]
pub trait ContractStore: Send + Sync {
    /// Every (source, contract JSON).
    async fn contracts(&self) -> Result<Vec<(String, String)>>;
    async fn contract(&self, source: &str) -> Result<Option<String>>;
    async fn save_contract(&self, source: &str, contract: &str) -> Result<()>;
    /// Record changes (an open change seen again is counted), save the
    /// contract if given and raise a `contract_drift` alert, in one
    /// transaction. Returns whether any change was new.
    async fn record_drift(
        &self,
        source: &str,
        run_id: &str,
        changes: Vec<NewDrift>,
        contract: Option<String>,
        message: &str,
    ) -> Result<bool>;
    /// Changes, newest first, optionally of one source and only open ones.
    async fn drifts(
        &self,
        source: Option<&str>,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<DriftRow>>;
    /// Save the contract with the open changes accepted and close them.
    async fn accept_drift(&self, source: &str, contract: &str) -> Result<u64>;
}
