//! The retry budget of one model (as in Finagle and Envoy): retries may be
//! at most a fraction of the recent first attempts, plus a small floor, so
//! that a failing provider gets a bounded extra load instead of a multiple
//! of its traffic.

use tokio::time::Instant;

use super::config::RetryBudgetConfig;
use super::window::Window;

#[derive(Debug, Clone)]
pub(super) struct RetryBudget {
    cfg: RetryBudgetConfig,
    /// Attempts admitted (`a`, retries included) and retries granted (`b`).
    window: Window,
}

/// The budget as a report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BudgetView {
    pub attempts: u64,
    pub retries: u64,
    /// Retries that would still be granted now.
    pub available: u64,
}

impl RetryBudget {
    pub(super) fn new(cfg: RetryBudgetConfig, now: Instant) -> RetryBudget {
        RetryBudget {
            window: Window::new(cfg.window, now),
            cfg,
        }
    }

    /// An attempt was made (a first one or a granted retry).
    pub(super) fn attempt(&mut self, now: Instant) {
        self.window.add(now, 1, 0);
    }

    /// Take one retry from the budget if there is one.
    pub(super) fn withdraw(&mut self, now: Instant) -> bool {
        let ok = self.view(now).available > 0;
        if ok {
            self.window.add(now, 0, 1);
        }
        ok
    }

    pub(super) fn view(&self, now: Instant) -> BudgetView {
        let (attempts, retries) = self.window.sums(now);
        let first = attempts.saturating_sub(retries);
        let floor = u64::from(self.cfg.min_per_sec) * self.window.length().as_secs();
        // Whole retries only: the fraction's remainder is not granted.
        let allowed = (self.cfg.ratio * first as f64).floor() as u64 + floor;
        BudgetView {
            attempts,
            retries,
            available: allowed.saturating_sub(retries),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn budget(ratio: f64, min_per_sec: u32, t: Instant) -> RetryBudget {
        RetryBudget::new(
            RetryBudgetConfig {
                ratio,
                min_per_sec,
                window: Duration::from_secs(10),
            },
            t,
        )
    }

    #[test]
    fn retries_are_a_fraction_of_first_attempts() {
        let t = Instant::now();
        let mut b = budget(0.2, 0, t);
        assert!(!b.withdraw(t), "no traffic, no floor: no retry");
        for _ in 0..50 {
            b.attempt(t);
        }
        // 20 % of 50 first attempts: 10 retries, each followed by its attempt.
        for i in 0..10 {
            assert!(b.withdraw(t), "retry {i}");
            b.attempt(t);
        }
        assert!(!b.withdraw(t));
        assert_eq!(
            b.view(t),
            BudgetView {
                attempts: 60,
                retries: 10,
                available: 0
            }
        );
        // Five more first attempts earn one more retry.
        for _ in 0..5 {
            b.attempt(t);
        }
        assert!(b.withdraw(t));
        assert!(!b.withdraw(t));
    }

    #[test]
    fn the_floor_allows_a_few_retries_and_the_window_forgets() {
        let t = Instant::now();
        let mut b = budget(0.0, 1, t);
        // 1 per second over a 10 s window: 10 retries with no traffic.
        for i in 0..10 {
            assert!(b.withdraw(t), "retry {i}");
        }
        assert!(!b.withdraw(t));
        assert!(!b.withdraw(t + Duration::from_secs(9)));
        // Once they leave the window the floor is whole again.
        let later = t + Duration::from_secs(10);
        assert_eq!(b.view(later).available, 10);
        assert!(b.withdraw(later));
    }
}
