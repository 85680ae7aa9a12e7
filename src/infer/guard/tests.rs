//! The guard as the call loop uses it, on a manual clock.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn guard(rate_limit: Option<RateLimitConfig>, clock: &ManualClock) -> (Guard, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let cfg = GuardConfig {
        breaker: BreakerConfig {
            failure_rate: 0.5,
            min_requests: 4,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
        },
        rate_limit,
        retry_budget: RetryBudgetConfig {
            ratio: 0.5,
            min_per_sec: 0,
            window: Duration::from_secs(10),
        },
    };
    let g = Guard::new(
        "small",
        "sim",
        cfg,
        metrics.clone(),
        Arc::new(clock.clone()),
    );
    (g, metrics)
}

fn failure() -> ProviderError {
    ProviderError::Server {
        status: 503,
        retry_after: None,
        message: "overloaded".into(),
    }
}

#[test]
fn outcomes_classify_provider_errors() {
    assert_eq!(CallOutcome::of::<()>(&Ok(())), CallOutcome::Success);
    for e in [
        failure(),
        ProviderError::RateLimited {
            retry_after: None,
            message: String::new(),
        },
        ProviderError::Timeout(5),
        ProviderError::Connection("reset".into()),
        ProviderError::Stalled(5),
    ] {
        assert_eq!(CallOutcome::of_error(&e), CallOutcome::Failure, "{e}");
    }
    for e in [
        ProviderError::Auth {
            status: 401,
            message: String::new(),
        },
        ProviderError::Rejected {
            status: 400,
            message: String::new(),
        },
        ProviderError::ContextLength {
            message: String::new(),
        },
        ProviderError::ContentFilter {
            message: String::new(),
        },
    ] {
        assert_eq!(CallOutcome::of_error(&e), CallOutcome::Ignored, "{e}");
    }
}

#[test]
fn the_breaker_opens_refuses_probes_and_recovers() {
    let clock = ManualClock::new();
    let (g, metrics) = guard(None, &clock);
    // Client errors do not open it.
    for _ in 0..10 {
        g.admit().unwrap().record(CallOutcome::Ignored);
    }
    for _ in 0..4 {
        g.admit()
            .unwrap()
            .record(CallOutcome::of::<()>(&Err(failure())));
    }
    let refused = g.admit().err().unwrap();
    assert_eq!(
        refused,
        GuardRefusal::BreakerOpen {
            model: "small".into(),
            retry_in: Duration::from_secs(5)
        }
    );
    assert_eq!(crate::error::Error::from(refused.clone()).status(), 503);
    let snap = g.snapshot();
    assert_eq!(snap.state, BreakerState::Open);
    assert_eq!((snap.trips, snap.rejected), (1, 1));
    assert!(snap.opened_at.is_some() && snap.next_probe_at.is_some());
    let text = metrics.encode();
    assert!(
        text.contains("seam_breaker_state{model=\"small\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("seam_breaker_rejections_total{model=\"small\"} 1"),
        "{text}"
    );

    clock.advance(Duration::from_secs(5));
    assert_eq!(g.snapshot().state, BreakerState::HalfOpen);
    let probe = g.admit().unwrap();
    assert!(probe.is_probe());
    // One probe at a time; a cancelled probe (dropped) frees the slot.
    assert!(matches!(
        g.admit(),
        Err(GuardRefusal::BreakerOpen { retry_in, .. }) if retry_in.is_zero()
    ));
    drop(probe);
    let probe = g.admit().unwrap();
    probe.record(CallOutcome::Success);
    let snap = g.snapshot();
    assert_eq!((snap.state, snap.opened_at), (BreakerState::Closed, None));
    let text = metrics.encode();
    assert!(
        text.contains("seam_breaker_state{model=\"small\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("seam_breaker_transitions_total{model=\"small\",state=\"half_open\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limit_waits_or_refuses_before_the_deadline() {
    let clock = ManualClock::new();
    let limits = RateLimitConfig {
        requests_per_minute: NonZeroU64::new(1),
        tokens_per_minute: NonZeroU64::new(1000),
    };
    let (g, metrics) = guard(Some(limits), &clock);
    let deadline = Instant::now() + Duration::from_secs(5);
    let admission = g.enter(400, deadline).await.unwrap();
    admission.record(CallOutcome::Success);
    // The next request slot is 61 s away: refused at once.
    let started = std::time::Instant::now();
    let refused = g.enter(10, clock.now() + Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        refused,
        Err(GuardRefusal::RateLimited { ref model, wait }) if model == "small" && wait == Duration::from_secs(61)
    ));
    // Never-fitting calls are refused whatever the deadline.
    assert_eq!(
        g.acquire(1001, clock.now() + Duration::from_secs(3600))
            .await,
        Err(GuardRefusal::OverTokenLimit {
            model: "small".into(),
            tokens: 1001,
            limit: 1000
        })
    );
    // The refused admissions gave their breaker permits back.
    assert_eq!(g.snapshot().probes_in_flight, 0);
    let snap = g.snapshot();
    let rl = snap.rate_limit.unwrap();
    assert_eq!((rl.waits, rl.refusals), (0, 2));
    assert!(
        metrics
            .encode()
            .contains("seam_rate_limit_refusals_total{model=\"small\"} 2")
    );
}

#[tokio::test]
async fn rate_limit_waits_for_its_slot() {
    // 600 per 61 s: 590 go at once, the 591st waits about 86 ms.
    let limits = RateLimitConfig {
        requests_per_minute: NonZeroU64::new(600),
        tokens_per_minute: None,
    };
    let g = Guard::new(
        "m",
        "p",
        GuardConfig {
            rate_limit: Some(limits),
            ..GuardConfig::default()
        },
        Arc::new(Metrics::new()),
        Arc::new(SystemClock),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..590 {
        g.acquire(1, deadline).await.unwrap();
    }
    let started = Instant::now();
    g.acquire(1, deadline).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(80),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(g.snapshot().rate_limit.unwrap().waits, 1);
}

#[test]
fn retry_budget_counts_first_attempts() {
    let clock = ManualClock::new();
    let (g, metrics) = guard(None, &clock);
    for _ in 0..4 {
        g.admit().unwrap().record(CallOutcome::Success);
    }
    // Half of four first attempts: two retries.
    for _ in 0..2 {
        assert!(g.may_retry());
        g.admit().unwrap().record(CallOutcome::Success);
    }
    assert!(!g.may_retry());
    // A call abandoned before it went out counts nowhere.
    drop(g.admit().unwrap());
    let b = g.snapshot().retry_budget;
    assert_eq!((b.attempts, b.retries, b.available, b.denied), (6, 2, 0, 1));
    assert!(
        metrics
            .encode()
            .contains("seam_retry_budget_denied_total{model=\"small\"} 1")
    );
    // The window forgets.
    clock.advance(Duration::from_secs(11));
    assert_eq!(g.snapshot().retry_budget.attempts, 0);
}
