//! The validated guard settings of one model (`[models.NAME.breaker]`,
//! `[models.NAME.rate_limit]`, `[models.NAME.retry_budget]`), with their
//! defaults. Parsing and checking live in `config/guard.rs`.

use std::num::NonZeroU64;
use std::time::Duration;

/// All three guards of one model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuardConfig {
    pub breaker: BreakerConfig,
    /// `None`: no client-side limit.
    pub rate_limit: Option<RateLimitConfig>,
    pub retry_budget: RetryBudgetConfig,
}

/// Circuit breaker: open at `failure_rate` failures over at least
/// `min_requests` calls within `window`; after `open_for`, let
/// `half_open_probes` calls through at a time and close after that many
/// successes in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Between 0 (exclusive) and 1.
    pub failure_rate: f64,
    pub min_requests: u64,
    pub window: Duration,
    pub open_for: Duration,
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(30),
            open_for: Duration::from_secs(15),
            half_open_probes: 3,
        }
    }
}

/// The provider's limits for this model, per minute. Tokens are counted as
/// the prompt estimate plus the full output allowance, as providers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub requests_per_minute: Option<NonZeroU64>,
    pub tokens_per_minute: Option<NonZeroU64>,
}

/// Retries allowed: at most `ratio` of the first attempts seen in `window`,
/// plus `min_per_sec` retries per second of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudgetConfig {
    /// Between 0 and 1.
    pub ratio: f64,
    pub min_per_sec: u32,
    pub window: Duration,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        RetryBudgetConfig {
            ratio: 0.2,
            min_per_sec: 2,
            window: Duration::from_secs(10),
        }
    }
}
