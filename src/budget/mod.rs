//! Budgets and cost: `[[budgets]]` reserved atomically before each call and
//! settled with the actual usage after it (`Budgets`, `Reservation`), the
//! per-run limits of multi-call runs (`run_budget`), the daily-cost anomaly
//! check (`anomaly`), the cost report (`report`) and the monthly projection
//! (`projection`). The ledger in the store is the source of truth.

pub mod anomaly;
pub mod day;
pub mod projection;
pub mod report;
pub mod rule;
pub mod run_budget;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use day::Day;
pub use rule::{BudgetRule, Period, Scope};
pub use run_budget::{RunBudget, RunLimitRefusal, RunLimits};

use crate::error::Error;
use crate::store::{BudgetStore, LedgerKey, LedgerRow, ReserveOutcome, ReserveRequest};
use crate::telemetry::Metrics;

/// How long a reservation made by [`Budgets::reserve`] may stay unsettled
/// before a sweep counts it at its estimate. Longer than any run.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(600);

/// Why a budget refused a call; names the budget, never the call's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "budget {budget} cannot cover a call estimated at {requested_micros} micro-dollars: limit {limit_micros}, spent {spent_micros}, reserved {reserved_micros}; refused before any tokens were spent"
)]
pub struct BudgetRefusal {
    /// e.g. `pipeline "triage" per day (2026-11-23)`.
    pub budget: String,
    pub key: LedgerKey,
    pub limit_micros: u64,
    pub spent_micros: u64,
    pub reserved_micros: u64,
    pub requested_micros: u64,
}

/// The configured budgets over the store's ledger.
pub struct Budgets {
    rules: Vec<BudgetRule>,
    store: Arc<dyn BudgetStore>,
    metrics: Arc<Metrics>,
}

/// Money held for one call. Settle it with what the call cost; dropped
/// unsettled (an error path, a cancelled task), it settles at its estimate;
/// lost with its process, the next start (or a sweep after its hold) does.
#[must_use = "settle the reservation with the call's actual cost"]
pub struct Reservation {
    held: Option<Held>,
}

struct Held {
    id: String,
    estimate_micros: u64,
    store: Arc<dyn BudgetStore>,
}

impl Reservation {
    /// A reservation that holds nothing (no budget applies).
    pub fn none() -> Reservation {
        Reservation { held: None }
    }

    /// The ledger's reservation id; `None` when no budget applied.
    pub fn id(&self) -> Option<&str> {
        self.held.as_ref().map(|h| h.id.as_str())
    }

    pub fn estimate_micros(&self) -> u64 {
        self.held.as_ref().map_or(0, |h| h.estimate_micros)
    }

    /// Move the reservation into spent at `actual_micros` (lower or higher
    /// than the estimate). On a store error the reservation stays held and
    /// is counted at its estimate by a later sweep.
    pub async fn settle(mut self, actual_micros: u64) -> Result<(), Error> {
        if let Some(h) = self.held.take() {
            h.store.settle(&h.id, actual_micros).await?;
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(h) = self.held.take() else {
            return;
        };
        // Conservative: an unsettled call is assumed to have cost its
        // estimate. Without a runtime the hold's expiry does the same.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = h.store.settle(&h.id, h.estimate_micros).await {
                    tracing::warn!(reservation = %h.id, error = %e, "unsettled budget reservation left to expire");
                }
            });
        }
    }
}

/// One budget's state in the current period, for `/v1/admin/budgets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetStatus {
    pub scope: Scope,
    /// The configured name (`*`: each pipeline or tenant separately).
    pub name: String,
    /// The pipeline or tenant counted (`*` for global budgets).
    pub subject: String,
    pub period: Period,
    pub period_key: String,
    pub limit_micros: u64,
    pub spent_micros: u64,
    pub reserved_micros: u64,
    pub remaining_micros: u64,
    pub refusals: u64,
}

impl Budgets {
    pub fn new(
        rules: Vec<BudgetRule>,
        store: Arc<dyn BudgetStore>,
        metrics: Arc<Metrics>,
    ) -> Budgets {
        Budgets {
            rules,
            store,
            metrics,
        }
    }

    pub fn rules(&self) -> &[BudgetRule] {
        &self.rules
    }

    /// Reserve `estimate_micros` on every budget that applies to a call of
    /// `pipeline` for `tenant`, atomically: all of them or none. Refused
    /// with [`Error::BudgetExceeded`] (class budget, HTTP 402, type
    /// `budget_exceeded`) naming the first budget that cannot cover it.
    /// With no budget applying, nothing is written.
    pub async fn reserve(
        &self,
        tenant: &str,
        pipeline: &str,
        estimate_micros: u64,
    ) -> Result<Reservation, Error> {
        self.reserve_for(tenant, pipeline, estimate_micros, DEFAULT_HOLD)
            .await
    }

    /// [`Budgets::reserve`] with the time after which an unsettled
    /// reservation is counted at its estimate (e.g. the run's remaining
    /// deadline plus a margin).
    pub async fn reserve_for(
        &self,
        tenant: &str,
        pipeline: &str,
        estimate_micros: u64,
        hold: Duration,
    ) -> Result<Reservation, Error> {
        let today = Day::today();
        let mut rows: Vec<(LedgerKey, u64)> = Vec::new();
        for rule in &self.rules {
            if let Some(subject) = rule.subject(tenant, pipeline) {
                let key = rule.key(subject, today);
                if !rows.iter().any(|(k, _)| *k == key) {
                    rows.push((key, rule.limit_micros));
                }
            }
        }
        if rows.is_empty() {
            return Ok(Reservation::none());
        }
        let id = uuid::Uuid::now_v7().to_string();
        let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
        let request = ReserveRequest {
            id: id.clone(),
            amount_micros: estimate_micros,
            rows,
            expires_ms: crate::clock::now_ms().saturating_add(hold_ms),
        };
        match self.store.reserve(request).await? {
            ReserveOutcome::Reserved => Ok(Reservation {
                held: Some(Held {
                    id,
                    estimate_micros,
                    store: self.store.clone(),
                }),
            }),
            ReserveOutcome::Refused(row) => {
                self.metrics
                    .budget_refused(&row.key.scope, &row.key.subject, &row.key.period);
                Err(Error::BudgetExceeded(Box::new(BudgetRefusal {
                    budget: rule::describe(&row.key),
                    limit_micros: row.limit_micros,
                    spent_micros: row.spent_micros,
                    reserved_micros: row.reserved_micros,
                    requested_micros: estimate_micros,
                    key: row.key,
                })))
            }
        }
    }

    /// Count at their estimate the reservations whose hold has passed.
    pub async fn sweep(&self) -> Result<u64, Error> {
        Ok(self
            .store
            .expire_reservations(crate::clock::now_ms())
            .await?)
    }

    /// Every budget's state in the current day and month: one entry per
    /// named budget (zero when nothing was reserved yet) and one per
    /// subject of a `*` budget that has a ledger row.
    pub async fn status(&self) -> Result<Vec<BudgetStatus>, Error> {
        let today = Day::today();
        let keys = vec![Period::Day.key(today), Period::Month.key(today)];
        let rows = self.store.ledger(keys).await?;
        let mut out = Vec::new();
        for rule in &self.rules {
            let current = rule.period.key(today);
            let mut found = false;
            for row in rows
                .iter()
                .filter(|r| rule.owns(&r.key) && r.key.period_key == current)
            {
                found = true;
                out.push(status_of(rule, row));
            }
            if !found && rule.name != rule::EACH {
                let subject = match rule.scope {
                    Scope::Global => rule::EACH.to_string(),
                    _ => rule.name.clone(),
                };
                out.push(status_of(
                    rule,
                    &LedgerRow {
                        key: rule.key(&subject, today),
                        limit_micros: rule.limit_micros,
                        spent_micros: 0,
                        reserved_micros: 0,
                        refusals: 0,
                        updated_at: String::new(),
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Set the budget gauges from the ledger (called at scrape time).
    pub async fn refresh_metrics(&self) -> Result<(), Error> {
        if self.rules.is_empty() {
            return Ok(());
        }
        // Two budgets over the same subject and period (a named one and a
        // `*` one) share labels: show the larger spend and tighter limit.
        let mut merged: BTreeMap<(String, String, String), (u64, u64, u64)> = BTreeMap::new();
        for s in self.status().await? {
            let e = merged
                .entry((
                    s.scope.as_str().to_string(),
                    s.subject.clone(),
                    s.period.as_str().to_string(),
                ))
                .or_insert((0, 0, u64::MAX));
            e.0 = e.0.max(s.spent_micros);
            e.1 = e.1.max(s.reserved_micros);
            e.2 = e.2.min(s.limit_micros);
        }
        self.metrics.budget_gauges_clear();
        for ((scope, name, period), (spent, reserved, limit)) in merged {
            self.metrics
                .budget_gauges(&scope, &name, &period, spent, reserved, limit);
        }
        Ok(())
    }
}

fn status_of(rule: &BudgetRule, row: &LedgerRow) -> BudgetStatus {
    BudgetStatus {
        scope: rule.scope,
        name: rule.name.clone(),
        subject: row.key.subject.clone(),
        period: rule.period,
        period_key: row.key.period_key.clone(),
        limit_micros: rule.limit_micros,
        spent_micros: row.spent_micros,
        reserved_micros: row.reserved_micros,
        remaining_micros: rule
            .limit_micros
            .saturating_sub(row.spent_micros)
            .saturating_sub(row.reserved_micros),
        refusals: row.refusals,
    }
}
