//! Backoff for transient provider errors: exponential with full jitter,
//! never shorter than the provider's Retry-After.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per model, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1 for the first retry): a uniform
    /// draw from `[0, min(max, base·2^(retry-1))]` ("full jitter"), raised
    /// to the provider's `retry_after` when it asked for longer.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (retry.saturating_sub(1)).min(20));
        let ceiling = exp.min(self.max_delay);
        let jittered = Duration::from_nanos(fastrand::u64(
            0..=ceiling.as_nanos().min(u128::from(u64::MAX)) as u64,
        ));
        match retry_after {
            Some(ra) if ra > jittered => ra,
            _ => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for retry in 1..10 {
            for _ in 0..200 {
                let d = p.delay(retry, None);
                let ceiling = Duration::from_millis((100u64 << (retry - 1)).min(1000));
                assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
