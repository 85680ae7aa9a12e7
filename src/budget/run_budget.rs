//! The per-run budget of multi-call (agent-style) runs:
//! `[pipelines.NAME.limits] max_calls_per_run / max_cost_micros_per_run`.

use crate::error::Error;

/// A pipeline's per-run limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunLimits {
    pub max_calls: Option<u32>,
    pub max_cost_micros: Option<u64>,
    /// The per-inference cap: checked by the call's admission, not here.
    pub max_cost_micros_per_call: Option<u64>,
}

/// Why a run may not make another call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunLimitRefusal {
    #[error("the run has made {made} model call(s), its limit of max_calls_per_run = {limit}")]
    Calls { limit: u32, made: u32 },
    #[error(
        "the next call could cost up to {estimate_micros} micro-dollars; the run has spent {spent_micros} of its limit of max_cost_micros_per_run = {limit_micros}"
    )]
    Cost {
        limit_micros: u64,
        spent_micros: u64,
        estimate_micros: u64,
    },
}

/// Counts one run's calls and money against its limits. Before each model
/// call: `charge(estimate)`; after it: `settle(actual)`.
#[derive(Debug, Clone)]
pub struct RunBudget {
    limits: RunLimits,
    calls: u32,
    spent_micros: u64,
}

impl RunBudget {
    pub fn new(limits: RunLimits) -> RunBudget {
        RunBudget {
            limits,
            calls: 0,
            spent_micros: 0,
        }
    }

    /// Admit one more call whose worst case is `estimate_micros`: refused
    /// (a budget-class error, nothing counted) when it would be one call
    /// too many or could take the run's spend past its limit; else the
    /// call is counted.
    pub fn charge(&mut self, estimate_micros: u64) -> Result<(), Error> {
        if let Some(limit) = self.limits.max_calls
            && self.calls >= limit
        {
            return Err(Error::RunBudgetExceeded(RunLimitRefusal::Calls {
                limit,
                made: self.calls,
            }));
        }
        if let Some(limit_micros) = self.limits.max_cost_micros
            && self.spent_micros.saturating_add(estimate_micros) > limit_micros
        {
            return Err(Error::RunBudgetExceeded(RunLimitRefusal::Cost {
                limit_micros,
                spent_micros: self.spent_micros,
                estimate_micros,
            }));
        }
        self.calls += 1;
        Ok(())
    }

    /// Add what an admitted call actually cost (0 when it failed unbilled).
    pub fn settle(&mut self, actual_micros: u64) {
        self.spent_micros = self.spent_micros.saturating_add(actual_micros);
    }

    pub fn calls(&self) -> u32 {
        self.calls
    }

    pub fn spent_micros(&self) -> u64 {
        self.spent_micros
    }

    pub fn limits(&self) -> RunLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn unlimited_admits_everything() {
        let mut b = RunBudget::new(RunLimits::default());
        for _ in 0..1000 {
            b.charge(u64::MAX / 2).unwrap();
            b.settle(u64::MAX / 2);
        }
        assert_eq!(b.calls(), 1000);
    }

    #[test]
    fn calls_and_money_are_capped() {
        let mut b = RunBudget::new(RunLimits {
            max_calls: Some(3),
            max_cost_micros: Some(1_000),
            max_cost_micros_per_call: None,
        });
        b.charge(400).unwrap();
        b.settle(300);
        b.charge(700).unwrap(); // 300 + 700 = 1000: exactly at the limit
        b.settle(650);
        // 950 spent: a call that may cost 51 could pass 1000.
        let e = b.charge(51).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Budget);
        assert_eq!(e.status(), 402);
        assert_eq!(e.type_name(), "run_budget_exceeded");
        assert!(e.to_string().contains("spent 950"), "{e}");
        assert_eq!(b.calls(), 2, "a refused call is not counted");
        b.charge(50).unwrap();
        b.settle(50);
        let e = b.charge(0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::RunBudgetExceeded(RunLimitRefusal::Calls { limit: 3, made: 3 })
            ),
            "{e:?}"
        );
        assert_eq!(b.spent_micros(), 1_000);
    }
}
