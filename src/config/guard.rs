//! Checking a model's `breaker`, `rate_limit` and `retry_budget` tables.

use std::num::NonZeroU64;
use std::time::Duration;

use super::load::Report;
use super::raw::{RawBreaker, RawRateLimit, RawRetryBudget};
use crate::infer::guard::{BreakerConfig, GuardConfig, RateLimitConfig, RetryBudgetConfig};

pub(super) fn check_guard(
    r: &mut Report<'_>,
    model: &str,
    breaker: Option<RawBreaker>,
    rate_limit: Option<RawRateLimit>,
    retry_budget: Option<RawRetryBudget>,
) -> Option<GuardConfig> {
    let breaker = check_breaker(r, model, breaker.unwrap_or_default());
    let rate_limit = match rate_limit {
        Some(l) => check_rate_limit(r, model, l).map(Some),
        None => Some(None),
    };
    let retry_budget = check_retry_budget(r, model, retry_budget.unwrap_or_default());
    Some(GuardConfig {
        breaker: breaker?,
        rate_limit: rate_limit?,
        retry_budget: retry_budget?,
    })
}

/// Collects the problems of one table; `ok()` is false once any was found.
struct Table<'r, 'a> {
    r: &'r mut Report<'a>,
    model: &'r str,
    table: &'static str,
    ok: bool,
}

impl Table<'_, '_> {
    fn bad(&mut self, key: &str, message: &str) {
        self.r.at(&["models", self.model, self.table, key], message);
        self.ok = false;
    }

    /// A count of at least 1.
    fn positive(&mut self, key: &str, value: Option<u64>, default: u64) -> u64 {
        match value {
            Some(0) => {
                self.bad(key, "must be at least 1");
                default
            }
            v => v.unwrap_or(default),
        }
    }

    /// A share between `low` and 1.
    fn share(&mut self, key: &str, value: Option<f64>, default: f64, zero_ok: bool) -> f64 {
        let v = value.unwrap_or(default);
        let fits = v.is_finite() && v <= 1.0 && (v > 0.0 || (zero_ok && v == 0.0));
        if !fits {
            let range = if zero_ok {
                "between 0 and 1"
            } else {
                "greater than 0 and at most 1"
            };
            self.bad(
                key,
                &format!("must be {range} (a share, e.g. 0.5), not {v}"),
            );
        }
        v
    }
}

fn check_breaker(r: &mut Report<'_>, model: &str, b: RawBreaker) -> Option<BreakerConfig> {
    let d = BreakerConfig::default();
    let mut t = Table {
        r,
        model,
        table: "breaker",
        ok: true,
    };
    let failure_rate = t.share("failure_rate", b.failure_rate, d.failure_rate, false);
    let min_requests = t.positive("min_requests", b.min_requests, d.min_requests);
    let window = t.positive("window_secs", b.window_secs, d.window.as_secs());
    let open = t.positive("open_secs", b.open_secs, d.open_for.as_secs());
    let probes = t.positive(
        "half_open_probes",
        b.half_open_probes.map(u64::from),
        u64::from(d.half_open_probes),
    );
    t.ok.then(|| BreakerConfig {
        failure_rate,
        min_requests,
        window: Duration::from_secs(window),
        open_for: Duration::from_secs(open),
        half_open_probes: u32::try_from(probes).unwrap_or(u32::MAX),
    })
}

fn check_rate_limit(r: &mut Report<'_>, model: &str, l: RawRateLimit) -> Option<RateLimitConfig> {
    let mut t = Table {
        r,
        model,
        table: "rate_limit",
        ok: true,
    };
    if l.requests_per_minute.is_none() && l.tokens_per_minute.is_none() {
        t.r.at(
            &["models", model, "rate_limit"],
            "give requests_per_minute, tokens_per_minute or both (leave the table out for no limit)",
        );
        return None;
    }
    let mut limit = |key: &str, v: Option<u64>| match v.map(NonZeroU64::new) {
        Some(None) => {
            t.bad(key, "must be at least 1 (leave it out for no limit)");
            None
        }
        Some(n) => n,
        None => None,
    };
    let requests_per_minute = limit("requests_per_minute", l.requests_per_minute);
    let tokens_per_minute = limit("tokens_per_minute", l.tokens_per_minute);
    t.ok.then_some(RateLimitConfig {
        requests_per_minute,
        tokens_per_minute,
    })
}

fn check_retry_budget(
    r: &mut Report<'_>,
    model: &str,
    b: RawRetryBudget,
) -> Option<RetryBudgetConfig> {
    let d = RetryBudgetConfig::default();
    let mut t = Table {
        r,
        model,
        table: "retry_budget",
        ok: true,
    };
    let ratio = t.share("ratio", b.ratio, d.ratio, true);
    let window = t.positive("window_secs", b.window_secs, d.window.as_secs());
    t.ok.then(|| RetryBudgetConfig {
        ratio,
        min_per_sec: b.min_per_sec.unwrap_or(d.min_per_sec),
        window: Duration::from_secs(window),
    })
}
