//! What every model call passes before it goes out, in one place for the
//! pipeline runs and the OpenAI-compatible endpoint: the preflight (window
//! and the model's cost cap), the caller's per-call cap, the model's circuit
//! breaker and rate limits, the budgets (reserved atomically at the call's
//! worst-case cost), and the run's own limits of calls and money. Local,
//! cheap checks come first; a refusal anywhere spends nothing and holds
//! nothing. After the call, [`Admitted::settle`] reports the outcome to the
//! breaker and settles the budgets at the actual cost.

use std::time::Duration;

use tokio::time::Instant;

use crate::budget::{Reservation, RunBudget};
use crate::config::ModelConfig;
use crate::error::Error;
use crate::infer::guard::{Admission, CallOutcome};
use crate::infer::{ChatMessage, ChatResponse, ProviderError};

use super::Runtime;

/// Who a call is for, and the caps that apply to it.
pub struct CallScope<'a> {
    pub tenant: &'a str,
    /// The pipeline name (`chat.completions` for the endpoint).
    pub pipeline: &'a str,
    /// The pipeline's per-inference cap, micro-dollars.
    pub max_cost_per_call: Option<u64>,
}

/// A call cleared to go out.
#[must_use = "settle the call with its outcome"]
pub struct Admitted {
    admission: Option<Admission>,
    reservation: Reservation,
    /// Worst-case cost of the call, micro-dollars.
    pub estimate_micros: u64,
}

/// Clear one call of `model` with `messages` and `max_output` tokens.
pub async fn admit(
    rt: &Runtime,
    model: &ModelConfig,
    scope: &CallScope<'_>,
    messages: &[ChatMessage],
    max_output: u32,
    deadline: Instant,
    run_budget: &mut RunBudget,
) -> Result<Admitted, Error> {
    let preflight = model.preflight(messages, max_output)?;
    let estimate = preflight.cost_micros;
    if let Some(cap) = scope.max_cost_per_call
        && estimate > cap
    {
        let exact = model.worst_cost_exact(messages, max_output);
        if exact > cap {
            return Err(Error::CostCap {
                model: model.name.clone(),
                estimate_micros: exact,
                cap_micros: cap,
            });
        }
    }
    let guard = rt.guards.get(&model.name);
    let admission = match guard {
        Some(g) => Some(g.admit()?),
        None => None,
    };
    if let Some(g) = guard {
        g.acquire(preflight.prompt_tokens + u64::from(max_output), deadline)
            .await?;
    }
    // The hold outlives the call: a process that dies mid-call leaves the
    // reservation to be counted at its estimate once the hold passes.
    let hold = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(60);
    let (reservation, estimate) = match rt
        .budgets
        .reserve_for(scope.tenant, scope.pipeline, estimate, hold)
        .await
    {
        Ok(r) => (r, estimate),
        // The byte bound overstates the prompt; near the limit, count it
        // exactly before refusing, so a budget never refuses falsely.
        Err(Error::BudgetExceeded(_)) if !model.tokenizer.bound_is_exact() => {
            let exact = model.worst_cost_exact(messages, max_output);
            let r = rt
                .budgets
                .reserve_for(scope.tenant, scope.pipeline, exact, hold)
                .await?;
            (r, exact)
        }
        Err(e) => return Err(e),
    };
    if let Err(e) = run_budget.charge(estimate) {
        // Nothing was spent: give the money back rather than let the drop
        // count it at its estimate.
        reservation.settle(0).await?;
        return Err(e);
    }
    Ok(Admitted {
        admission,
        reservation,
        estimate_micros: estimate,
    })
}

impl Admitted {
    /// A stream opened: the breaker counts the call a success, and the
    /// budget reservation is handed over, to be settled at the actual cost
    /// when the stream ends (or at its estimate if it is dropped).
    pub fn opened(mut self) -> Reservation {
        if let Some(a) = self.admission.take() {
            a.record(CallOutcome::Success);
        }
        self.reservation
    }

    /// The call's outcome to the breaker, its actual cost to the budgets
    /// and the run. A failed call costs nothing unless it was billed.
    pub async fn settle(
        mut self,
        result: &Result<ChatResponse, ProviderError>,
        actual_micros: u64,
        run_budget: &mut RunBudget,
    ) {
        if let Some(a) = self.admission.take() {
            a.record(CallOutcome::of(result));
        }
        run_budget.settle(actual_micros);
        if let Err(e) = self.reservation.settle(actual_micros).await {
            // Counted at its estimate by the next sweep: never under.
            tracing::warn!(error = %e, "budget reservation not settled");
        }
    }
}
