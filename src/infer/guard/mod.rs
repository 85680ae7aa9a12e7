//! Guards in front of each model: a circuit breaker (`breaker.rs`),
//! client-side rate limits (`rate_limit.rs`) and a retry budget
//! (`retry_budget.rs`). [`Guards`] holds one [`Guard`] per declared model,
//! built from config when the runtime starts and shared by every run, sync,
//! background or batch, of the process.
//!
//! One call through a guard:
//!
//! ```text
//! let guard = rt.guards.get(&model.name)?;
//! let admission = guard.enter(tokens, deadline).await?; // breaker, then rate limit
//! let result = provider.chat(&request).await;
//! admission.record(CallOutcome::of(&result));
//! // before a retry of the same model:
//! if !guard.may_retry() { /* budget spent: fall back instead */ }
//! ```
//!
//! `tokens` is what the provider's tokens-per-minute limit charges: the
//! prompt estimate plus the output allowance, e.g.
//! `model.tokenizer.upper_bound(&messages) + max_output_tokens` (never below
//! the simulator's ≈ chars/4 count). A slot reserved by `acquire` stays
//! used if the waiting call is dropped: the limit errs on the safe side.

mod breaker;
mod clock;
mod config;
pub(crate) mod rate_limit;
mod retry_budget;
mod window;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

pub(crate) use breaker::{Breaker, Permit};
pub use breaker::{BreakerState, Verdict};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{BreakerConfig, GuardConfig, RateLimitConfig, RetryBudgetConfig};

use self::breaker::Transition;
use self::rate_limit::{RateLimiter, Shortfall};
use self::retry_budget::RetryBudget;
use crate::config::Config;
use crate::error::ErrorClass;
use crate::infer::ProviderError;
use crate::telemetry::Metrics;

/// Why a guard did not let a call go out. Every refusal is cheap and
/// immediate, and the next model of a fallback chain may take the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardRefusal {
    #[error(
        "the circuit breaker of model `{model}` is open after repeated provider failures (next probe in {} ms)",
        retry_in.as_millis()
    )]
    BreakerOpen { model: String, retry_in: Duration },
    #[error(
        "model `{model}`'s client-side rate limit has no slot for {} ms, past the call's deadline",
        wait.as_millis()
    )]
    RateLimited { model: String, wait: Duration },
    #[error(
        "a call of up to {tokens} tokens can never fit model `{model}`'s limit of {limit} tokens per minute"
    )]
    OverTokenLimit {
        model: String,
        tokens: u64,
        limit: u64,
    },
}

impl GuardRefusal {
    pub fn class(&self) -> ErrorClass {
        match self {
            GuardRefusal::BreakerOpen { .. } | GuardRefusal::RateLimited { .. } => {
                ErrorClass::Transient
            }
            // The configured limit is smaller than one call: fix the config.
            GuardRefusal::OverTokenLimit { .. } => ErrorClass::Configuration,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            GuardRefusal::BreakerOpen { .. } => "breaker_open",
            GuardRefusal::RateLimited { .. } => "rate_limited",
            GuardRefusal::OverTokenLimit { .. } => "over_token_limit",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            GuardRefusal::BreakerOpen { .. } => 503,
            GuardRefusal::RateLimited { .. } => 429,
            GuardRefusal::OverTokenLimit { .. } => 500,
        }
    }

    /// When trying again may help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GuardRefusal::BreakerOpen { retry_in, .. } => Some(*retry_in),
            GuardRefusal::RateLimited { wait, .. } => Some(*wait),
            GuardRefusal::OverTokenLimit { .. } => None,
        }
    }

    pub fn model(&self) -> &str {
        match self {
            GuardRefusal::BreakerOpen { model, .. }
            | GuardRefusal::RateLimited { model, .. }
            | GuardRefusal::OverTokenLimit { model, .. } => model,
        }
    }
}

/// How an admitted call ended, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Success,
    /// A transient provider failure: 429, 5xx, timeout, connection, stall,
    /// unreadable body.
    Failure,
    /// The provider answered, but the call was wrong or refused (auth,
    /// 400, context length, content filter): says nothing about its health.
    Ignored,
}

impl CallOutcome {
    /// The outcome of a provider error: failures are its transient ones.
    pub fn of_error(e: &ProviderError) -> CallOutcome {
        if e.class() == ErrorClass::Transient {
            CallOutcome::Failure
        } else {
            CallOutcome::Ignored
        }
    }

    pub fn of<T>(result: &Result<T, ProviderError>) -> CallOutcome {
        match result {
            Ok(_) => CallOutcome::Success,
            Err(e) => CallOutcome::of_error(e),
        }
    }

    fn verdict(self) -> Verdict {
        match self {
            CallOutcome::Success => Verdict::Success,
            CallOutcome::Failure => Verdict::Failure,
            CallOutcome::Ignored => Verdict::Ignored,
        }
    }
}

/// Every model's guard.
#[derive(Default)]
pub struct Guards {
    by_model: BTreeMap<String, Guard>,
}

impl Guards {
    /// One guard per declared model, on the system clock.
    pub fn from_config(config: &Config, metrics: Arc<Metrics>) -> Guards {
        Guards::with_clock(config, metrics, Arc::new(SystemClock))
    }

    pub fn with_clock(config: &Config, metrics: Arc<Metrics>, clock: Arc<dyn Clock>) -> Guards {
        let by_model = config
            .models
            .values()
            .map(|m| {
                let guard = Guard::new(
                    &m.name,
                    &m.provider,
                    m.guard.clone(),
                    metrics.clone(),
                    clock.clone(),
                );
                (m.name.clone(), guard)
            })
            .collect();
        Guards { by_model }
    }

    /// The guard of a declared model.
    pub fn get(&self, model: &str) -> Option<&Guard> {
        self.by_model.get(model)
    }

    /// Every guard's state, by model name.
    pub fn snapshots(&self) -> Vec<GuardSnapshot> {
        self.by_model.values().map(Guard::snapshot).collect()
    }

    /// Set the `seam_breaker_state` gauges to the current states (an open
    /// breaker whose pause is over shows half-open before any call came).
    pub fn publish_metrics(&self) {
        for g in self.by_model.values() {
            let state = g.lock().breaker.view(g.inner.clock.now()).state;
            g.inner.metrics.breaker_state(&g.inner.model, state.gauge());
        }
    }
}

struct Inner {
    model: String,
    provider: String,
    cfg: GuardConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    rejected: AtomicU64,
    waits: AtomicU64,
    refused: AtomicU64,
    retries_denied: AtomicU64,
}

struct State {
    breaker: Breaker,
    limiter: Option<RateLimiter>,
    budget: RetryBudget,
}

/// The guard of one model; cheap to clone (shared state).
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl Guard {
    pub fn new(
        model: &str,
        provider: &str,
        cfg: GuardConfig,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Guard {
        let now = clock.now();
        let state = State {
            breaker: Breaker::new(cfg.breaker.clone(), now),
            limiter: cfg.rate_limit.map(|r| RateLimiter::new(r, now)),
            budget: RetryBudget::new(cfg.retry_budget.clone(), now),
        };
        metrics.breaker_state(model, BreakerState::Closed.gauge());
        Guard {
            inner: Arc::new(Inner {
                model: model.to_string(),
                provider: provider.to_string(),
                cfg,
                clock,
                metrics,
                state: Mutex::new(state),
                rejected: AtomicU64::new(0),
                waits: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                retries_denied: AtomicU64::new(0),
            }),
        }
    }

    pub fn model(&self) -> &str {
        &self.inner.model
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn moved(&self, transition: Transition) {
        if let Some(to) = transition {
            let m = &self.inner.metrics;
            m.breaker_state(&self.inner.model, to.gauge());
            m.breaker_transition(&self.inner.model, to.as_str());
            tracing::info!(model = %self.inner.model, state = to.as_str(), "circuit breaker");
        }
    }

    /// Ask the breaker for a call: refused at once while it is open, and in
    /// half-open beyond the probes already out.
    pub fn admit(&self) -> Result<Admission, GuardRefusal> {
        let now = self.inner.clock.now();
        let (admitted, moved) = self.lock().breaker.admit(now);
        self.moved(moved);
        match admitted {
            Ok(permit) => Ok(Admission {
                guard: self.clone(),
                permit: Some(permit),
            }),
            Err(until) => {
                self.inner.rejected.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.breaker_rejected(&self.inner.model);
                Err(GuardRefusal::BreakerOpen {
                    model: self.inner.model.clone(),
                    retry_in: until.map_or(Duration::ZERO, |u| u.saturating_duration_since(now)),
                })
            }
        }
    }

    /// Wait for a rate-limit slot for one request of `tokens` tokens (the
    /// prompt estimate plus the output allowance), or refuse at once when
    /// that slot lies past `deadline`: this never waits past it.
    pub async fn acquire(&self, tokens: u64, deadline: Instant) -> Result<(), GuardRefusal> {
        let now = self.inner.clock.now();
        let reserved = match self.lock().limiter.as_mut() {
            None => return Ok(()),
            Some(l) => l.reserve(now, tokens, deadline),
        };
        let model = &self.inner.model;
        match reserved {
            Ok(wait) if wait.is_zero() => Ok(()),
            Ok(wait) => {
                self.inner.waits.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.rate_limit_wait(model, wait);
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Err(shortfall) => {
                self.inner.refused.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.rate_limit_refused(model);
                Err(match shortfall {
                    Shortfall::Wait(wait) => GuardRefusal::RateLimited {
                        model: model.clone(),
                        wait,
                    },
                    Shortfall::TooLarge { tokens, limit } => GuardRefusal::OverTokenLimit {
                        model: model.clone(),
                        tokens,
                        limit,
                    },
                })
            }
        }
    }

    /// [`admit`](Self::admit) then [`acquire`](Self::acquire): the usual
    /// way in. A refused rate limit gives the breaker permit back.
    pub async fn enter(&self, tokens: u64, deadline: Instant) -> Result<Admission, GuardRefusal> {
        let admission = self.admit()?;
        self.acquire(tokens, deadline).await?;
        Ok(admission)
    }

    /// Whether one more retry of this model is within its retry budget;
    /// `true` takes it from the budget. Ask right before each retry (not
    /// before first attempts). The budget allows `ratio` × (recorded calls −
    /// retries granted) + `min_per_sec` × window seconds retries per window.
    pub fn may_retry(&self) -> bool {
        let now = self.inner.clock.now();
        let granted = self.lock().budget.withdraw(now);
        if !granted {
            self.inner.retries_denied.fetch_add(1, Ordering::Relaxed);
            self.inner.metrics.retry_denied(&self.inner.model);
        }
        granted
    }

    /// `made`: the call went out (it counts for the retry budget).
    fn finish(&self, permit: Permit, outcome: CallOutcome, made: bool) {
        let now = self.inner.clock.now();
        let moved = {
            let mut s = self.lock();
            if made {
                s.budget.attempt(now);
            }
            s.breaker.record(now, permit, outcome.verdict())
        };
        self.moved(moved);
    }

    /// The guard's state now.
    pub fn snapshot(&self) -> GuardSnapshot {
        let now = self.inner.clock.now();
        let (b, budget) = {
            let s = self.lock();
            (s.breaker.view(now), s.budget.view(now))
        };
        let clock = self.inner.clock.as_ref();
        let at = |i: Option<Instant>| i.map(|i| clock::rfc3339_of(clock, i));
        let total = b.successes + b.failures;
        let cfg = &self.inner.cfg;
        GuardSnapshot {
            model: self.inner.model.clone(),
            provider: self.inner.provider.clone(),
            state: b.state,
            failure_rate: if total == 0 {
                0.0
            } else {
                b.failures as f64 / total as f64
            },
            window: WindowCounts {
                secs: cfg.breaker.window.as_secs(),
                requests: total,
                failures: b.failures,
            },
            opened_at: at(b.opened_at),
            next_probe_at: at(b.next_probe_at),
            probes_in_flight: b.probes_in_flight,
            probe_successes: b.probe_successes,
            trips: b.trips,
            rejected: self.inner.rejected.load(Ordering::Relaxed),
            thresholds: Thresholds {
                failure_rate: cfg.breaker.failure_rate,
                min_requests: cfg.breaker.min_requests,
                open_secs: cfg.breaker.open_for.as_secs(),
                half_open_probes: cfg.breaker.half_open_probes,
            },
            rate_limit: cfg.rate_limit.map(|r| RateLimitCounts {
                requests_per_minute: r.requests_per_minute.map(|n| n.get()),
                tokens_per_minute: r.tokens_per_minute.map(|n| n.get()),
                waits: self.inner.waits.load(Ordering::Relaxed),
                refusals: self.inner.refused.load(Ordering::Relaxed),
            }),
            retry_budget: RetryBudgetCounts {
                ratio: cfg.retry_budget.ratio,
                min_per_sec: cfg.retry_budget.min_per_sec,
                window_secs: cfg.retry_budget.window.as_secs(),
                attempts: budget.attempts,
                retries: budget.retries,
                available: budget.available,
                denied: self.inner.retries_denied.load(Ordering::Relaxed),
            },
        }
    }
}

/// A call the breaker let through. Report how it ended with
/// [`record`](Self::record) (which also counts it as an attempt for the
/// retry budget); dropped without a record (a cancelled call, or one the
/// rate limit refused), it frees its probe slot and counts nowhere.
#[must_use = "record the call's outcome"]
pub struct Admission {
    guard: Guard,
    permit: Option<Permit>,
}

impl Admission {
    pub fn record(mut self, outcome: CallOutcome) {
        if let Some(permit) = self.permit.take() {
            self.guard.finish(permit, outcome, true);
        }
    }

    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        matches!(self.permit, Some(Permit::Probe(_)))
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.guard.finish(permit, CallOutcome::Ignored, false);
        }
    }
}

/// One guard's state, as `GET /v1/admin/breakers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GuardSnapshot {
    pub model: String,
    pub provider: String,
    pub state: BreakerState,
    /// Failures over calls in the window (0 when there were none).
    pub failure_rate: f64,
    pub window: WindowCounts,
    /// RFC 3339 UTC, while open or half-open.
    pub opened_at: Option<String>,
    /// When an open breaker lets its first probe through.
    pub next_probe_at: Option<String>,
    pub probes_in_flight: u32,
    pub probe_successes: u32,
    /// Times the breaker opened since start.
    pub trips: u64,
    /// Calls refused by the breaker since start.
    pub rejected: u64,
    pub thresholds: Thresholds,
    pub rate_limit: Option<RateLimitCounts>,
    pub retry_budget: RetryBudgetCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowCounts {
    pub secs: u64,
    pub requests: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    pub failure_rate: f64,
    pub min_requests: u64,
    pub open_secs: u64,
    pub half_open_probes: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateLimitCounts {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
    /// Calls that waited for a slot, since start.
    pub waits: u64,
    /// Calls refused because the slot was past their deadline, since start.
    pub refusals: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetryBudgetCounts {
    pub ratio: f64,
    pub min_per_sec: u32,
    pub window_secs: u64,
    /// Attempts (first ones and retries) in the window.
    pub attempts: u64,
    pub retries: u64,
    pub available: u64,
    /// Retries refused since start.
    pub denied: u64,
}

#[cfg(test)]
mod tests;
