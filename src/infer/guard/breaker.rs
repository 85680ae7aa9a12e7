//! The circuit breaker of one model: closed → open when the failure rate
//! over a rolling window passes a threshold → half-open after a pause,
//! letting a few probe calls through → closed after enough probe successes
//! in a row, or open again at the first probe failure.
//!
//! Pure state: every method takes the time, so tests drive it with any
//! instants they like.

use serde::Serialize;
use tokio::time::Instant;

use super::config::BreakerConfig;
use super::window::Window;

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Every call goes through; outcomes are counted.
    Closed,
    /// Calls are refused until the pause ends.
    Open,
    /// A few probe calls at a time test whether the provider is back.
    HalfOpen,
}

impl BreakerState {
    /// The value of the `seam_breaker_state` gauge.
    pub fn gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// How a call that the breaker let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// Counts towards opening (transient provider failures).
    Failure,
    /// Neither (a client error, or a call abandoned before its end).
    Ignored,
}

/// A call let through, tied to the breaker's state at the time: results of
/// calls admitted before a transition do not count after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    Normal(u64),
    Probe(u64),
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

/// A transition, reported so the caller can count it.
pub(crate) type Transition = Option<BreakerState>;

#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    cfg: BreakerConfig,
    phase: Phase,
    /// Successes (`a`) and failures (`b`) while closed.
    window: Window,
    /// Bumped at every transition; stale permits are ignored.
    generation: u64,
    opened_at: Option<Instant>,
    trips: u64,
}

/// The breaker's state as a report shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BreakerView {
    pub state: BreakerState,
    pub successes: u64,
    pub failures: u64,
    pub opened_at: Option<Instant>,
    /// When an open breaker lets its first probe through.
    pub next_probe_at: Option<Instant>,
    pub probes_in_flight: u32,
    pub probe_successes: u32,
    pub trips: u64,
}

impl Breaker {
    pub(crate) fn new(cfg: BreakerConfig, now: Instant) -> Breaker {
        Breaker {
            window: Window::new(cfg.window, now),
            cfg,
            phase: Phase::Closed,
            generation: 0,
            opened_at: None,
            trips: 0,
        }
    }

    /// Let a call through, or say until when the breaker stays open
    /// (`None`: half-open with every probe slot taken).
    pub(crate) fn admit(&mut self, now: Instant) -> (Result<Permit, Option<Instant>>, Transition) {
        let mut moved = None;
        if let Phase::Open { until } = self.phase {
            if now < until {
                return (Err(Some(until)), None);
            }
            self.phase = Phase::HalfOpen {
                in_flight: 0,
                successes: 0,
            };
            self.generation += 1;
            moved = Some(BreakerState::HalfOpen);
        }
        let admitted = match &mut self.phase {
            Phase::Closed => Ok(Permit::Normal(self.generation)),
            Phase::HalfOpen { in_flight, .. } if *in_flight < self.cfg.half_open_probes => {
                *in_flight += 1;
                Ok(Permit::Probe(self.generation))
            }
            Phase::HalfOpen { .. } | Phase::Open { .. } => Err(None),
        };
        (admitted, moved)
    }

    /// The outcome of a call admitted with `permit`.
    pub(crate) fn record(&mut self, now: Instant, permit: Permit, verdict: Verdict) -> Transition {
        match (permit, &mut self.phase) {
            (Permit::Normal(g), Phase::Closed) if g == self.generation => {
                match verdict {
                    Verdict::Success => self.window.add(now, 1, 0),
                    Verdict::Failure => self.window.add(now, 0, 1),
                    Verdict::Ignored => return None,
                }
                let (ok, failed) = self.window.sums(now);
                let total = ok + failed;
                let tripped = verdict == Verdict::Failure
                    && total >= self.cfg.min_requests
                    && failed as f64 >= self.cfg.failure_rate * total as f64;
                tripped.then(|| self.open(now))
            }
            (
                Permit::Probe(g),
                Phase::HalfOpen {
                    in_flight,
                    successes,
                },
            ) if g == self.generation => {
                *in_flight = in_flight.saturating_sub(1);
                match verdict {
                    Verdict::Ignored => None,
                    Verdict::Failure => Some(self.open(now)),
                    Verdict::Success => {
                        *successes += 1;
                        (*successes >= self.cfg.half_open_probes).then(|| self.close())
                    }
                }
            }
            // Admitted before the last transition: it no longer counts.
            _ => None,
        }
    }

    fn open(&mut self, now: Instant) -> BreakerState {
        self.phase = Phase::Open {
            until: now + self.cfg.open_for,
        };
        self.generation += 1;
        self.opened_at = Some(now);
        self.trips += 1;
        BreakerState::Open
    }

    fn close(&mut self) -> BreakerState {
        self.phase = Phase::Closed;
        self.generation += 1;
        self.window.clear();
        self.opened_at = None;
        BreakerState::Closed
    }

    /// The state at `now`: an open breaker whose pause is over reports
    /// half-open (its next call is a probe).
    pub(crate) fn view(&self, now: Instant) -> BreakerView {
        let (ok, failed) = match self.phase {
            Phase::Closed => self.window.sums(now),
            _ => (0, 0),
        };
        let (state, next_probe_at, probes_in_flight, probe_successes) = match self.phase {
            Phase::Closed => (BreakerState::Closed, None, 0, 0),
            Phase::Open { until } if now < until => (BreakerState::Open, Some(until), 0, 0),
            Phase::Open { until } => (BreakerState::HalfOpen, Some(until), 0, 0),
            Phase::HalfOpen {
                in_flight,
                successes,
            } => (BreakerState::HalfOpen, None, in_flight, successes),
        };
        BreakerView {
            state,
            successes: ok,
            failures: failed,
            opened_at: self.opened_at,
            next_probe_at,
            probes_in_flight,
            probe_successes,
            trips: self.trips,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            failure_rate: 0.5,
            min_requests: 4,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
            half_open_probes: 2,
        }
    }

    fn call(b: &mut Breaker, now: Instant, v: Verdict) -> Transition {
        let (permit, _) = b.admit(now);
        b.record(now, permit.unwrap(), v)
    }

    #[test]
    fn opens_at_the_failure_rate_once_enough_calls_were_seen() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg(), t);
        // Three failures are under min_requests: still closed.
        for _ in 0..3 {
            assert_eq!(call(&mut b, t, Verdict::Failure), None);
        }
        assert_eq!(b.view(t).state, BreakerState::Closed);
        assert_eq!(call(&mut b, t, Verdict::Failure), Some(BreakerState::Open));
        let v = b.view(t);
        assert_eq!(v.state, BreakerState::Open);
        assert_eq!(v.opened_at, Some(t));
        assert_eq!(v.next_probe_at, Some(t + Duration::from_secs(5)));
        assert_eq!(
            b.admit(t + Duration::from_secs(4)).0,
            Err(Some(t + Duration::from_secs(5)))
        );
    }

    #[test]
    fn a_low_failure_rate_never_opens_and_old_failures_age_out() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg(), t);
        for i in 0..100u64 {
            let now = t + Duration::from_millis(i * 10);
            // One failure in four: under 50 %.
            let v = if i % 4 == 0 {
                Verdict::Failure
            } else {
                Verdict::Success
            };
            assert_eq!(call(&mut b, now, v), None, "call {i}");
        }
        // Client errors count neither way.
        for _ in 0..10 {
            assert_eq!(
                call(&mut b, t + Duration::from_secs(1), Verdict::Ignored),
                None
            );
        }
        // Three failures (the successes have aged out), then 11 s later
        // three more: the first three have left the window, so neither
        // group reaches min_requests.
        let later = t + Duration::from_secs(30);
        for _ in 0..3 {
            call(&mut b, later, Verdict::Failure);
        }
        let much_later = later + Duration::from_secs(11);
        assert_eq!(b.view(much_later).failures, 0);
        for _ in 0..3 {
            assert_eq!(call(&mut b, much_later, Verdict::Failure), None);
        }
        assert_eq!(b.view(much_later).state, BreakerState::Closed);
    }

    #[test]
    fn half_open_limits_probes_and_closes_after_successes() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg(), t);
        for _ in 0..4 {
            call(&mut b, t, Verdict::Failure);
        }
        let later = t + Duration::from_secs(5);
        assert_eq!(b.view(later).state, BreakerState::HalfOpen);
        let (p1, moved) = b.admit(later);
        assert_eq!(moved, Some(BreakerState::HalfOpen));
        let p1 = p1.unwrap();
        let p2 = b.admit(later).0.unwrap();
        assert!(matches!(p1, Permit::Probe(_)));
        // Both probe slots are taken.
        assert_eq!(b.admit(later).0, Err(None));
        assert_eq!(b.view(later).probes_in_flight, 2);
        assert_eq!(b.record(later, p1, Verdict::Success), None);
        // An abandoned probe frees its slot without progress.
        assert_eq!(b.record(later, p2, Verdict::Ignored), None);
        let p3 = b.admit(later).0.unwrap();
        assert_eq!(b.view(later).probe_successes, 1);
        assert_eq!(
            b.record(later, p3, Verdict::Success),
            Some(BreakerState::Closed)
        );
        let v = b.view(later);
        assert_eq!(
            (v.state, v.failures, v.opened_at, v.trips),
            (BreakerState::Closed, 0, None, 1)
        );
    }

    #[test]
    fn a_probe_failure_opens_again_and_stale_results_do_not_count() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg(), t);
        // A call admitted while closed, finishing after the breaker opened.
        let (late, _) = b.admit(t);
        for _ in 0..4 {
            call(&mut b, t, Verdict::Failure);
        }
        assert_eq!(b.record(t, late.unwrap(), Verdict::Failure), None);
        let later = t + Duration::from_secs(6);
        let probe = b.admit(later).0.unwrap();
        let other = b.admit(later).0.unwrap();
        assert_eq!(
            b.record(later, probe, Verdict::Failure),
            Some(BreakerState::Open)
        );
        let v = b.view(later);
        assert_eq!(
            (v.state, v.opened_at, v.trips),
            (BreakerState::Open, Some(later), 2)
        );
        // The other probe of the failed round finishes late: ignored.
        assert_eq!(b.record(later, other, Verdict::Success), None);
        assert_eq!(b.view(later).state, BreakerState::Open);
        assert_eq!(
            b.admit(later + Duration::from_secs(1)).0,
            Err(Some(later + Duration::from_secs(5)))
        );
    }
}
