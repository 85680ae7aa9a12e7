//! A rolling count over a time window, kept in a ring of buckets so that
//! old events fall out a bucket at a time with constant memory.

use std::time::Duration;

use tokio::time::Instant;

/// Buckets per window: the window slides in steps of a tenth of its length.
const BUCKETS: usize = 10;

/// Two counters (`a`, `b`) summed over the last `window`.
#[derive(Debug, Clone)]
pub(super) struct Window {
    origin: Instant,
    width: Duration,
    /// Per bucket: the bucket's absolute index and its counts.
    ring: [(u64, u64, u64); BUCKETS],
}

impl Window {
    pub(super) fn new(window: Duration, origin: Instant) -> Window {
        let width = (window / BUCKETS as u32).max(Duration::from_millis(1));
        Window {
            origin,
            width,
            ring: [(u64::MAX, 0, 0); BUCKETS],
        }
    }

    /// The window's length.
    pub(super) fn length(&self) -> Duration {
        self.width * BUCKETS as u32
    }

    fn index(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin);
        (since.as_nanos() / self.width.as_nanos().max(1)) as u64
    }

    /// Count `a` and `b` at `now`.
    pub(super) fn add(&mut self, now: Instant, a: u64, b: u64) {
        let idx = self.index(now);
        let slot = &mut self.ring[(idx % BUCKETS as u64) as usize];
        if slot.0 != idx {
            *slot = (idx, 0, 0);
        }
        slot.1 += a;
        slot.2 += b;
    }

    /// The sums of `a` and `b` over the buckets still inside the window.
    pub(super) fn sums(&self, now: Instant) -> (u64, u64) {
        let idx = self.index(now);
        let oldest = idx.saturating_sub(BUCKETS as u64 - 1);
        self.ring
            .iter()
            .filter(|(i, _, _)| *i != u64::MAX && *i >= oldest && *i <= idx)
            .fold((0, 0), |(a, b), (_, x, y)| (a + x, b + y))
    }

    /// Forget everything.
    pub(super) fn clear(&mut self) {
        self.ring = [(u64::MAX, 0, 0); BUCKETS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fall_out_after_the_window() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(10), t0);
        assert_eq!(w.length(), Duration::from_secs(10));
        w.add(t0, 1, 0);
        w.add(t0 + Duration::from_millis(500), 0, 2);
        w.add(t0 + Duration::from_secs(5), 3, 0);
        assert_eq!(w.sums(t0 + Duration::from_secs(5)), (4, 2));
        // At 10 s the first bucket [0, 1 s) has left the window.
        assert_eq!(w.sums(t0 + Duration::from_secs(10)), (3, 0));
        assert_eq!(w.sums(t0 + Duration::from_millis(14_999)), (3, 0));
        assert_eq!(w.sums(t0 + Duration::from_secs(15)), (0, 0));
        // A bucket reused after a full turn starts from zero.
        w.add(t0 + Duration::from_secs(20), 1, 1);
        assert_eq!(w.sums(t0 + Duration::from_secs(20)), (1, 1));
        w.clear();
        assert_eq!(w.sums(t0 + Duration::from_secs(20)), (0, 0));
    }
}
