//! The time source of the guards, injectable so that every state machine
//! can be tested without sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Where a guard reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// Tokio's clock (the real monotonic time outside paused tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The wall-clock time of a monotonic instant read from `clock`, for
/// RFC 3339 reports.
pub(super) fn rfc3339_of(clock: &dyn Clock, at: Instant) -> String {
    let now = clock.now();
    let wall = if at <= now {
        SystemTime::now().checked_sub(now - at)
    } else {
        SystemTime::now().checked_add(at - now)
    };
    humantime::format_rfc3339_millis(wall.unwrap_or_else(SystemTime::now)).to_string()
}
