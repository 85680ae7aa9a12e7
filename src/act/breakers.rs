//! A circuit breaker per sink (per pipeline, since each pipeline declares
//! its own sink): a sink that keeps failing is left alone for a while
//! instead of being hammered with every due delivery. While it is open,
//! due deliveries are deferred to its next probe without spending an
//! attempt; half-open, a few probes test it.
//!
//! Only transient failures (timeouts, connection errors, 5xx, 429) count;
//! a delivery the sink refused for its content says nothing about its
//! health.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::config::Config;
use crate::infer::guard::{Breaker, BreakerConfig, BreakerState, Permit, Verdict};
use crate::telemetry::Metrics;

/// How long a deferred delivery waits when the half-open breaker has every
/// probe out.
const PROBE_WAIT: Duration = Duration::from_secs(1);

pub struct SinkBreakers {
    by_pipeline: BTreeMap<String, Mutex<Breaker>>,
    metrics: Arc<Metrics>,
}

/// A delivery the breaker let through.
pub struct SinkPermit(Permit);

/// One sink breaker's state, for `GET /v1/admin/breakers`.
#[derive(Debug, Serialize)]
pub struct SinkBreakerView {
    pub pipeline: String,
    pub sink: &'static str,
    pub state: BreakerState,
    pub requests: u64,
    pub failures: u64,
    pub trips: u64,
}

impl SinkBreakers {
    pub fn from_config(config: &Config, metrics: Arc<Metrics>) -> SinkBreakers {
        let now = Instant::now();
        let by_pipeline = config
            .pipelines
            .keys()
            .map(|name| {
                metrics.sink_breaker_state(name, BreakerState::Closed.gauge());
                (
                    name.clone(),
                    Mutex::new(Breaker::new(BreakerConfig::default(), now)),
                )
            })
            .collect();
        SinkBreakers {
            by_pipeline,
            metrics,
        }
    }

    /// Let a delivery to `pipeline`'s sink go out, or say how long to wait.
    pub fn admit(&self, pipeline: &str) -> Result<Option<SinkPermit>, Duration> {
        let Some(b) = self.by_pipeline.get(pipeline) else {
            return Ok(None);
        };
        let now = Instant::now();
        let (admitted, moved) = lock(b).admit(now);
        self.moved(pipeline, moved);
        match admitted {
            Ok(permit) => Ok(Some(SinkPermit(permit))),
            Err(until) => Err(until.map_or(PROBE_WAIT, |u| u.saturating_duration_since(now))),
        }
    }

    /// How the delivery let through by `permit` ended.
    pub fn record(&self, pipeline: &str, permit: Option<SinkPermit>, verdict: Verdict) {
        let (Some(b), Some(SinkPermit(p))) = (self.by_pipeline.get(pipeline), permit) else {
            return;
        };
        let moved = lock(b).record(Instant::now(), p, verdict);
        self.moved(pipeline, moved);
    }

    fn moved(&self, pipeline: &str, to: Option<BreakerState>) {
        if let Some(to) = to {
            self.metrics.sink_breaker_state(pipeline, to.gauge());
            tracing::info!(pipeline, state = to.as_str(), "sink circuit breaker");
        }
    }

    pub fn views(&self, config: &Config) -> Vec<SinkBreakerView> {
        let now = Instant::now();
        self.by_pipeline
            .iter()
            .map(|(name, b)| {
                let v = lock(b).view(now);
                SinkBreakerView {
                    pipeline: name.clone(),
                    sink: config.pipelines.get(name).map_or("", |p| p.sink.kind()),
                    state: v.state,
                    requests: v.successes + v.failures,
                    failures: v.failures,
                    trips: v.trips,
                }
            })
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_pipelines_pass_and_record_nothing() {
        let b = SinkBreakers {
            by_pipeline: BTreeMap::new(),
            metrics: Arc::new(Metrics::new()),
        };
        assert!(matches!(b.admit("nope"), Ok(None)));
        b.record("nope", None, Verdict::Failure);
    }

    #[test]
    fn repeated_transient_failures_open_the_sink_breaker() {
        let mut by_pipeline = BTreeMap::new();
        by_pipeline.insert(
            "triage".to_string(),
            Mutex::new(Breaker::new(BreakerConfig::default(), Instant::now())),
        );
        let b = SinkBreakers {
            by_pipeline,
            metrics: Arc::new(Metrics::new()),
        };
        let min = BreakerConfig::default().min_requests;
        for _ in 0..min {
            let permit = b.admit("triage").unwrap();
            b.record("triage", permit, Verdict::Failure);
        }
        let wait = b.admit("triage").err().unwrap();
        assert!(wait > Duration::from_secs(1) && wait <= BreakerConfig::default().open_for);
    }
}
