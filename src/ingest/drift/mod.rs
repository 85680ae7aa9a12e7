//! Contract drift: each source's payload shape (field paths and types) is
//! learned from its first events; afterwards a payload with a new, missing
//! or retyped field produces a drift record, a metric and an alert. A
//! `strict` source sends such events to the dead-letter queue instead of
//! parsing them, until the drift is accepted (`seam drift accept`).
//!
//! The hot path is one lookup: a payload whose shape (fingerprint) was
//! already judged costs a hash of its paths and no store access.

mod shape;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

pub use shape::{Change, Contract, fingerprint, shape_of};

use crate::error::Error;
use crate::store::{NewDrift, Store};
use crate::telemetry::Metrics;

/// What a pipeline does about drift (`[pipelines.NAME.drift]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftMode {
    Off,
    /// Record, count and alert; the event goes on.
    Observe,
    /// Record, count and alert; the event is dead-lettered.
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriftPolicy {
    pub mode: DriftMode,
    /// Events learned from before drift is judged.
    pub learn_events: u64,
}

impl Default for DriftPolicy {
    fn default() -> Self {
        DriftPolicy {
            mode: DriftMode::Observe,
            learn_events: 20,
        }
    }
}

/// Every source's contract, shared by the runs of a process and kept in
/// the store.
pub struct Contracts {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    by_source: Mutex<HashMap<String, Contract>>,
}

/// What a check found.
#[derive(Debug, PartialEq)]
pub enum Checked {
    /// The shape was known or matches the contract.
    Known,
    /// Still learning the contract.
    Learning,
    /// Drift, recorded; the event goes on (observe mode).
    Drifted(Vec<Change>),
}

impl Checked {
    /// For the ingest audit record: field paths and types, never values.
    pub fn to_json(&self) -> Value {
        match self {
            Checked::Known => json!("known"),
            Checked::Learning => json!("learning"),
            Checked::Drifted(changes) => json!({ "changes": changes }),
        }
    }
}

fn summary(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match (c.was.as_deref(), c.now.as_deref()) {
            (Some(was), Some(now)) => format!("{} {} ({was} → {now})", c.kind, c.path),
            _ => format!("{} {}", c.kind, c.path),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Contracts {
    /// Contracts are loaded from the store on first use of each source.
    pub fn new(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Contracts {
        Contracts {
            store,
            metrics,
            by_source: Mutex::new(HashMap::new()),
        }
    }

    async fn ensure_loaded(&self, source: &str) -> Result<(), Error> {
        if self.lock().contains_key(source) {
            return Ok(());
        }
        let stored = match self.store.contract(source).await? {
            Some(text) => serde_json::from_str::<Contract>(&text).unwrap_or_else(|e| {
                tracing::warn!(source, error = %e, "unreadable contract; learning it again");
                Contract::default()
            }),
            None => Contract::default(),
        };
        self.lock().entry(source.to_string()).or_insert(stored);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Contract>> {
        self.by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Judge one payload of `source` (run `run_id`).
    pub async fn check(
        &self,
        source: &str,
        policy: DriftPolicy,
        payload: &Value,
        run_id: &str,
    ) -> Result<Checked, Error> {
        if policy.mode == DriftMode::Off {
            return Ok(Checked::Known);
        }
        self.ensure_loaded(source).await?;
        let shape = shape_of(payload);
        let fp = fingerprint(&shape);
        let (changes, save) = {
            let mut all = self.lock();
            let c = all.entry(source.to_string()).or_default();
            // Every learning event counts, known shape or not: a path is
            // required when it was in all of them.
            if c.events < policy.learn_events {
                c.learn(&shape, &fp);
                (None, Some(serde_json::to_string(c).unwrap_or_default()))
            } else if c.fingerprints.contains(&fp) {
                return Ok(Checked::Known);
            } else {
                let changes = c.diff(&shape);
                if changes.is_empty() || policy.mode == DriftMode::Observe {
                    c.accept(&changes);
                    c.remember(&fp);
                    (
                        Some(changes),
                        Some(serde_json::to_string(c).unwrap_or_default()),
                    )
                } else {
                    (Some(changes), None)
                }
            }
        };
        let Some(changes) = changes else {
            if let Some(text) = save {
                self.store.save_contract(source, &text).await?;
            }
            return Ok(Checked::Learning);
        };
        if changes.is_empty() {
            if let Some(text) = save {
                self.store.save_contract(source, &text).await?;
            }
            return Ok(Checked::Known);
        }
        if policy.mode == DriftMode::Strict && self.accepted_meanwhile(source, &shape).await? {
            return Ok(Checked::Known);
        }
        let rows: Vec<NewDrift> = changes
            .iter()
            .map(|c| NewDrift {
                kind: c.kind.clone(),
                path: c.path.clone(),
                was: c.was.clone(),
                now: c.now.clone(),
            })
            .collect();
        let message = format!("payload shape of `{source}` changed: {}", summary(&changes));
        let new = self
            .store
            .record_drift(source, run_id, rows, save, &message)
            .await?;
        for c in &changes {
            self.metrics.contract_drift(source, &c.kind);
        }
        if new {
            tracing::warn!(source, changes = %summary(&changes), "contract drift");
        }
        match policy.mode {
            DriftMode::Strict => Err(Error::ContractDrift {
                contract: source.to_string(),
                summary: summary(&changes),
            }),
            _ => Ok(Checked::Drifted(changes)),
        }
    }

    /// A strict source's drift may have been accepted since this process
    /// loaded the contract (by `seam drift accept`): reload it and judge
    /// again.
    async fn accepted_meanwhile(&self, source: &str, shape: &shape::Shape) -> Result<bool, Error> {
        let Some(text) = self.store.contract(source).await? else {
            return Ok(false);
        };
        let Ok(mut stored) = serde_json::from_str::<Contract>(&text) else {
            return Ok(false);
        };
        let ok = stored.diff(shape).is_empty();
        if ok {
            stored.remember(&fingerprint(shape));
        }
        self.lock().insert(source.to_string(), stored);
        Ok(ok)
    }
}

/// Accept the open drift of `source` into its stored contract; returns how
/// many drift records it closed.
pub async fn accept(store: &dyn Store, source: &str) -> Result<u64, Error> {
    let Some(text) = store.contract(source).await? else {
        return Ok(0);
    };
    let mut contract: Contract = serde_json::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "the stored contract of `{source}` is unreadable: {e}"
        ))
    })?;
    let open = store.drifts(Some(source), true, 10_000).await?;
    let changes: Vec<Change> = open
        .iter()
        .map(|d| Change {
            kind: d.kind.clone(),
            path: d.path.clone(),
            was: d.was.clone(),
            now: d.now.clone(),
        })
        .collect();
    contract.accept(&changes);
    let text = serde_json::to_string(&contract).unwrap_or_default();
    Ok(store.accept_drift(source, &text).await?)
}
