//! `--limit rpm=N,tpm=N`: per-model rate limits enforced the way hosted
//! providers enforce them. Each model has a bucket of requests and one of
//! tokens, each holding a minute's limit and refilling continuously; a
//! request that finds too little in either is refused with a 429 (in the
//! front-end's wire format, with `retry-after`) and takes nothing.
//!
//! Tokens are counted as the provider estimates them before answering:
//! about four characters per token of the message texts, plus the request's
//! output allowance (`max_tokens` × `n`, `max_tokens`, `maxOutputTokens`).

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Documentation of `--limit`, shown by `seam simulate --help`.
pub const LIMIT_HELP: &str = "\
Rate limits (--limit SPEC). SPEC is rpm=N, tpm=N or both (rpm=60,tpm=40000):
requests and tokens per minute, enforced per model like the hosted
providers do: a bucket per model holding one minute's limit, refilling
continuously. A request over either limit is answered 429 in its route's
wire format (OpenAI rate_limit_exceeded with x-ratelimit-* headers,
Anthropic rate_limit_error with anthropic-ratelimit-* headers, Gemini
RESOURCE_EXHAUSTED with RetryInfo), always with retry-after, and uses up
nothing. Tokens are estimated as the provider does before answering: about
4 characters per token of the message texts, plus the output allowance
(max_tokens, times n on the OpenAI route). GET /sim/stats counts these
429s as rate_limited (fault-injected 429s are not included).
";

/// A parsed `--limit` spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitSpec {
    pub requests_per_minute: Option<NonZeroU64>,
    pub tokens_per_minute: Option<NonZeroU64>,
}

impl LimitSpec {
    pub fn is_empty(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// Parse `rpm=N,tpm=N` (either, both, or empty for no limit).
pub fn parse_limit(spec: &str) -> Result<LimitSpec, String> {
    let mut out = LimitSpec::default();
    if spec.trim().is_empty() {
        return Ok(out);
    }
    for item in spec.split(',') {
        let item = item.trim();
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}`: expected rpm=N or tpm=N"))?;
        let n = value
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(NonZeroU64::new)
            .ok_or_else(|| format!("`{item}`: the limit must be a whole number of at least 1"))?;
        let slot = match key.trim() {
            "rpm" => &mut out.requests_per_minute,
            "tpm" => &mut out.tokens_per_minute,
            other => return Err(format!("`{other}` is not a limit; use rpm or tpm")),
        };
        if slot.replace(n).is_some() {
            return Err(format!("`{}` is given twice", key.trim()));
        }
    }
    Ok(out)
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Requests,
    Tokens,
}

/// A request over a limit, with what a provider reports about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Over {
    pub kind: Kind,
    pub limit: u64,
    /// Taken from the bucket now (limit minus what is left).
    pub used: u64,
    pub requested: u64,
    /// When the request would fit.
    pub retry_after: Duration,
}

impl Over {
    /// `retry-after` in whole seconds, rounded up, at least 1.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let ms = self.retry_after.as_millis().max(1);
        u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX)
    }
}

const PERIOD: Duration = Duration::from_secs(60);

/// One bucket in virtual-scheduling form: `full_at` is when it is full again.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    full_at: Instant,
}

impl Bucket {
    fn per_cell(limit: u64) -> Duration {
        PERIOD / u32::try_from(limit).unwrap_or(u32::MAX).max(1)
    }

    /// The bucket's new `full_at` if `cells` were taken now, or how long
    /// until they fit.
    fn try_take(&self, now: Instant, limit: u64, cells: u64) -> Result<Instant, Duration> {
        let cost = Self::per_cell(limit).saturating_mul(u32::try_from(cells).unwrap_or(u32::MAX));
        let full_at = self.full_at.max(now) + cost;
        let debt = full_at - now;
        if debt <= PERIOD {
            Ok(full_at)
        } else {
            Err(debt - PERIOD)
        }
    }

    /// Cells taken and not yet refilled.
    fn used(&self, now: Instant, limit: u64) -> u64 {
        let debt = self.full_at.saturating_duration_since(now);
        let per = Self::per_cell(limit).as_nanos().max(1);
        u64::try_from(debt.as_nanos().div_ceil(per)).unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone, Copy)]
struct ModelBuckets {
    requests: Bucket,
    tokens: Bucket,
}

/// The buckets of every model seen.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    spec: LimitSpec,
    models: Mutex<HashMap<String, ModelBuckets>>,
}

impl Limiter {
    pub(crate) fn new(spec: LimitSpec) -> Limiter {
        Limiter {
            spec,
            models: Mutex::default(),
        }
    }

    /// Take one request of `tokens` for `model`, or say which limit it is over.
    pub(crate) fn take(&self, model: &str, tokens: u64, now: Instant) -> Result<(), Over> {
        if self.spec.is_empty() {
            return Ok(());
        }
        let mut models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = Bucket { full_at: now };
        let buckets = models.entry(model.to_string()).or_insert(ModelBuckets {
            requests: fresh,
            tokens: fresh,
        });
        let mut next = *buckets;
        let checks = [
            (Kind::Requests, self.spec.requests_per_minute, 1),
            (Kind::Tokens, self.spec.tokens_per_minute, tokens),
        ];
        for (kind, limit, cells) in checks {
            let Some(limit) = limit.map(NonZeroU64::get) else {
                continue;
            };
            let bucket = match kind {
                Kind::Requests => &mut next.requests,
                Kind::Tokens => &mut next.tokens,
            };
            match bucket.try_take(now, limit, cells) {
                Ok(full_at) => bucket.full_at = full_at,
                Err(wait) => {
                    return Err(Over {
                        kind,
                        limit,
                        used: bucket.used(now, limit).min(limit),
                        requested: cells,
                        // A request bigger than the limit never fits; say a minute.
                        retry_after: if cells > limit { PERIOD } else { wait },
                    });
                }
            }
        }
        *buckets = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(parse_limit("").unwrap(), LimitSpec::default());
        let both = parse_limit("rpm=60, tpm=40000").unwrap();
        assert_eq!(both.requests_per_minute, NonZeroU64::new(60));
        assert_eq!(both.tokens_per_minute, NonZeroU64::new(40000));
        assert_eq!(parse_limit("tpm=5").unwrap().requests_per_minute, None);
        for bad in ["rpm", "rpm=0", "rpm=-1", "rps=3", "rpm=1,rpm=2", "rpm=1,"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_per_model_burst_then_refill() {
        let l = Limiter::new(parse_limit("rpm=60").unwrap());
        let t = Instant::now();
        for i in 0..60 {
            assert_eq!(l.take("a", 10, t), Ok(()), "request {i}");
        }
        let over = l.take("a", 10, t).unwrap_err();
        assert_eq!(
            (over.kind, over.limit, over.used, over.requested),
            (Kind::Requests, 60, 60, 1)
        );
        assert_eq!(over.retry_after, Duration::from_secs(1));
        assert_eq!(over.retry_after_secs(), 1);
        // Another model has its own bucket; a refused request took nothing.
        assert_eq!(l.take("b", 10, t), Ok(()));
        assert_eq!(l.take("a", 10, t + Duration::from_secs(1)), Ok(()));
        assert!(l.take("a", 10, t + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn tokens_limit_counts_the_request_size() {
        let l = Limiter::new(parse_limit("rpm=1000,tpm=1000").unwrap());
        let t = Instant::now();
        assert_eq!(l.take("m", 700, t), Ok(()));
        let over = l.take("m", 400, t).unwrap_err();
        assert_eq!(
            (over.kind, over.used, over.requested),
            (Kind::Tokens, 700, 400)
        );
        // 100 tokens short at 1000 per minute: 6 s.
        assert_eq!(over.retry_after, Duration::from_secs(6));
        assert_eq!(l.take("m", 300, t), Ok(()));
        let huge = l.take("m", 5000, t + Duration::from_secs(600)).unwrap_err();
        assert_eq!(huge.retry_after, PERIOD);
        assert_eq!(
            Limiter::new(LimitSpec::default()).take("m", u64::MAX, t),
            Ok(())
        );
    }
}
