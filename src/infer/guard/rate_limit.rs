//! Client-side rate limits: requests and tokens per minute, each a GCRA
//! (generic cell rate algorithm, the virtual-scheduling form of a token
//! bucket) with a burst of one minute's worth.
//!
//! A call reserves its cells at once and then waits for its slot, so
//! waiting calls are served in arrival order and the limit holds however
//! many wait. A call whose slot lies past its deadline reserves nothing.
//!
//! seam paces itself at `limit` per 61 s rather than per 60 s: the
//! provider's bucket then always holds about a second more than seam
//! thinks, so network jitter cannot make the provider see a burst that seam
//! did not send.

use std::num::NonZeroU64;
use std::time::Duration;

use tokio::time::Instant;

use super::config::RateLimitConfig;

/// The provider's limit period.
const PERIOD: Duration = Duration::from_secs(60);
/// Slack added to the period when pacing (see the module notes).
const HEADROOM: Duration = Duration::from_secs(1);

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shortfall {
    /// The slot is `wait` away, past the deadline.
    Wait(Duration),
    /// The call needs more tokens than one minute's limit: never possible.
    TooLarge { tokens: u64, limit: u64 },
}

/// One limit: cells per minute.
#[derive(Debug, Clone)]
struct Gcra {
    limit: u64,
    /// Time one cell occupies, in nanoseconds (rounded up).
    interval_ns: u128,
    /// Theoretical arrival time of the next cell.
    tat: Instant,
}

impl Gcra {
    fn new(limit: NonZeroU64, now: Instant) -> Gcra {
        let limit = limit.get();
        Gcra {
            limit,
            interval_ns: (PERIOD + HEADROOM).as_nanos().div_ceil(u128::from(limit)),
            tat: now,
        }
    }

    /// The new TAT and the wait before `cells` conform at `now`.
    fn probe(&self, now: Instant, cells: u64) -> (Instant, Duration) {
        let cost_ns = self.interval_ns.saturating_mul(u128::from(cells));
        let cost = Duration::from_nanos(u64::try_from(cost_ns).unwrap_or(u64::MAX));
        let tat = self.tat.max(now) + cost;
        // A call bigger than the burst may go once the bucket is full.
        let allowed_at = tat.checked_sub(PERIOD.max(cost)).unwrap_or(now);
        (tat, allowed_at.saturating_duration_since(now))
    }
}

/// The requests and tokens limits of one model.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    requests: Option<Gcra>,
    tokens: Option<Gcra>,
}

impl RateLimiter {
    pub(crate) fn new(cfg: RateLimitConfig, now: Instant) -> RateLimiter {
        RateLimiter {
            requests: cfg.requests_per_minute.map(|l| Gcra::new(l, now)),
            tokens: cfg.tokens_per_minute.map(|l| Gcra::new(l, now)),
        }
    }

    /// Reserve one request of `tokens` tokens: the wait before it may be
    /// sent, or why not. Refused when the wait would end after `deadline`;
    /// nothing is reserved then.
    pub(crate) fn reserve(
        &mut self,
        now: Instant,
        tokens: u64,
        deadline: Instant,
    ) -> Result<Duration, Shortfall> {
        if let Some(t) = &self.tokens
            && tokens > t.limit
        {
            return Err(Shortfall::TooLarge {
                tokens,
                limit: t.limit,
            });
        }
        let req = self.requests.as_ref().map(|g| g.probe(now, 1));
        let tok = self.tokens.as_ref().map(|g| g.probe(now, tokens));
        let wait = [req, tok]
            .iter()
            .flatten()
            .map(|(_, w)| *w)
            .max()
            .unwrap_or(Duration::ZERO);
        if now + wait > deadline {
            return Err(Shortfall::Wait(wait));
        }
        if let (Some(g), Some((tat, _))) = (&mut self.requests, req) {
            g.tat = tat;
        }
        if let (Some(g), Some((tat, _))) = (&mut self.tokens, tok) {
            g.tat = tat;
        }
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rpm: Option<u64>, tpm: Option<u64>, now: Instant) -> RateLimiter {
        RateLimiter::new(
            RateLimitConfig {
                requests_per_minute: rpm.and_then(NonZeroU64::new),
                tokens_per_minute: tpm.and_then(NonZeroU64::new),
            },
            now,
        )
    }

    #[test]
    fn a_burst_then_paced_slightly_under_the_limit() {
        let t = Instant::now();
        let far = t + Duration::from_secs(3600);
        let mut l = limiter(Some(60), None, t);
        // 60 per 61 s: 59 go at once, the 60th waits about a second.
        for i in 0..59 {
            assert_eq!(l.reserve(t, 1, far), Ok(Duration::ZERO), "request {i}");
        }
        let wait = l.reserve(t, 1, far).unwrap();
        assert!(
            wait > Duration::from_millis(900) && wait < Duration::from_millis(1100),
            "{wait:?}"
        );
        // Each later one a further 61/60 s.
        let next = l.reserve(t, 1, far).unwrap();
        assert_eq!(next - wait, Duration::from_nanos(1_016_666_667));
    }

    /// The provider as a token bucket holding one minute's limit and
    /// refilling continuously; a request is refused when it finds too few.
    struct ProviderBucket {
        limit: u128,
        /// Nanoseconds after `t0` at which the bucket is full again.
        full_at: u128,
    }

    impl ProviderBucket {
        fn take(&mut self, at_ns: u128, cells: u64) -> bool {
            let per_cell = PERIOD.as_nanos() / self.limit;
            let full_at = self.full_at.max(at_ns) + per_cell * u128::from(cells);
            if full_at - at_ns > PERIOD.as_nanos() {
                return false;
            }
            self.full_at = full_at;
            true
        }
    }

    #[test]
    fn a_provider_with_the_same_limits_never_refuses_despite_jitter() {
        let t = Instant::now();
        let far = t + Duration::from_secs(36_000);
        let mut l = limiter(Some(12), Some(1200), t);
        let mut sent = Vec::new();
        let mut now = t;
        for i in 0..300u64 {
            // Irregular arrivals and sizes, with bursts.
            now += Duration::from_millis((i * 7919) % 6000 * u64::from(i % 5 == 0));
            let tokens = 10 + (i * 31) % 141;
            let wait = l.reserve(now, tokens, far).unwrap();
            // Network delay: 900 ms for the first burst, then anything
            // from 0 to 900 ms, so later requests catch up on earlier ones.
            let jitter = Duration::from_millis(if i < 20 { 900 } else { (i * 104_729) % 900 });
            sent.push(((now + wait + jitter - t).as_nanos(), tokens));
        }
        sent.sort();
        let mut requests = ProviderBucket {
            limit: 12,
            full_at: 0,
        };
        let mut tokens = ProviderBucket {
            limit: 1200,
            full_at: 0,
        };
        for (i, (at, n)) in sent.iter().enumerate() {
            assert!(requests.take(*at, 1), "request {i} over the requests limit");
            assert!(tokens.take(*at, *n), "request {i} over the tokens limit");
        }
        // And seam did not starve itself: 300 requests in under 27 minutes.
        let span = Duration::from_nanos(u64::try_from(sent[299].0).unwrap());
        assert!(span < Duration::from_secs(27 * 60), "{span:?}");
    }

    #[test]
    fn refuses_past_the_deadline_without_reserving() {
        let t = Instant::now();
        let mut l = limiter(Some(2), None, t);
        let soon = t + Duration::from_millis(500);
        assert_eq!(l.reserve(t, 1, soon), Ok(Duration::ZERO));
        // The second slot is 1 s away (2 per 61 s): refused, and nothing
        // reserved, so a patient caller still gets that same slot.
        let Err(Shortfall::Wait(w)) = l.reserve(t, 1, soon) else {
            panic!("expected a refusal");
        };
        assert_eq!(w, Duration::from_secs(1));
        assert_eq!(l.reserve(t, 1, t + Duration::from_secs(60)), Ok(w));
        // The third waits for a slot freed 30.5 s later.
        assert_eq!(
            l.reserve(t, 1, t + Duration::from_secs(60)),
            Ok(Duration::from_millis(31_500))
        );
        // A free slot is granted even at the deadline itself.
        let mut free = limiter(Some(100), None, t);
        assert_eq!(free.reserve(t, 1, t), Ok(Duration::ZERO));
    }

    #[test]
    fn tokens_limit_and_oversized_calls() {
        let t = Instant::now();
        let far = t + Duration::from_secs(3600);
        let mut l = limiter(None, Some(1000), t);
        assert_eq!(
            l.reserve(t, 1001, far),
            Err(Shortfall::TooLarge {
                tokens: 1001,
                limit: 1000
            })
        );
        // A whole minute's worth goes when the bucket is full, then the next
        // call waits for the tokens to come back.
        assert_eq!(l.reserve(t, 1000, far), Ok(Duration::ZERO));
        let w = l.reserve(t, 500, far).unwrap();
        assert_eq!(w, Duration::from_millis(61_000 + 30_500 - 60_000));
        // Unlimited when neither limit is set.
        let mut none = limiter(None, None, t);
        assert_eq!(none.reserve(t, u64::MAX, t), Ok(Duration::ZERO));
    }
}
