//! The HTTP connector: GET `base_url + path` with the step's query, the
//! connector's auth, rate limit, timeout and retries, following pages,
//! with successful answers cached for `cache_ttl_secs`.

mod auth;
mod paginate;
mod request;

use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use tokio::time::Instant;

pub use auth::{TokenSource, use_for};
pub use paginate::{Next, Paginate, next_link};

use super::config::{Auth, HttpConfig};
use super::error::{Failure, FailureKind};
use crate::gateway::cache::ResponseCache;
use crate::infer::guard::RateLimitConfig;
use crate::infer::guard::rate_limit::{RateLimiter, Shortfall};

/// What a step got.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body, or the items of every page fetched.
    pub value: Value,
    pub pages: u32,
    /// More pages were left after `max_pages`.
    pub truncated: bool,
    pub cache_hit: bool,
    /// Requests sent, retries and token refreshes included.
    pub attempts: u32,
}

pub struct HttpConnector {
    config: HttpConfig,
    client: reqwest::Client,
    tokens: Option<TokenSource>,
    limiter: Option<Mutex<RateLimiter>>,
    cache: Option<ResponseCache<Fetched>>,
}

impl HttpConnector {
    pub fn new(config: HttpConfig, client: reqwest::Client) -> HttpConnector {
        let tokens = match &config.auth {
            Auth::OAuth2(o) => Some(TokenSource::new(o.clone())),
            _ => None,
        };
        let limiter = config.requests_per_minute.map(|rpm| {
            Mutex::new(RateLimiter::new(
                RateLimitConfig {
                    requests_per_minute: Some(rpm),
                    tokens_per_minute: None,
                },
                Instant::now(),
            ))
        });
        let cache = config
            .cache_ttl
            .map(|_| ResponseCache::new(config.cache_max_entries));
        HttpConnector {
            config,
            client,
            tokens,
            limiter,
            cache,
        }
    }

    /// The first request's URL: `base_url + path` with `query`.
    fn url(&self, path: &str, query: &[(String, String)]) -> Result<reqwest::Url, Failure> {
        let base = self.config.base_url.as_str().trim_end_matches('/');
        let mut url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|_| {
            Failure::new(FailureKind::Rejected, "the step's path makes no valid URL")
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Fetch a step's context, from the cache when it holds the same request.
    pub async fn fetch(
        &self,
        path: &str,
        query: &[(String, String)],
        paginate: Option<&Paginate>,
        deadline: Instant,
    ) -> Result<Fetched, Failure> {
        let mut url = self.url(path, query)?;
        if let Some((k, v)) = paginate.and_then(Paginate::first) {
            set_param(&mut url, &k, &v);
        }
        let key = format!("GET {url} {paginate:?}");
        if let Some(cache) = &self.cache
            && let Some(hit) = cache.get(&key)
        {
            return Ok(Fetched {
                cache_hit: true,
                attempts: 0,
                ..hit
            });
        }
        let fetched = match paginate {
            None => {
                let page = self.get(url, deadline).await?;
                Fetched {
                    value: page.body,
                    pages: 1,
                    truncated: false,
                    cache_hit: false,
                    attempts: page.attempts,
                }
            }
            Some(p) => self.pages(url, p, deadline).await?,
        };
        if let (Some(cache), Some(ttl)) = (&self.cache, self.config.cache_ttl) {
            cache.put(key, fetched.clone(), ttl);
        }
        Ok(fetched)
    }

    async fn pages(
        &self,
        mut url: reqwest::Url,
        p: &Paginate,
        deadline: Instant,
    ) -> Result<Fetched, Failure> {
        let mut items = Vec::new();
        let (mut pages, mut attempts, mut truncated) = (0u32, 0u32, false);
        loop {
            let page = self.get(url.clone(), deadline).await?;
            attempts += page.attempts;
            let found = p
                .items(&page.body)
                .map_err(|e| Failure::new(FailureKind::Response, e))?;
            let count = found.len();
            items.extend(found);
            let next = p
                .next(
                    pages,
                    &page.body,
                    page.link.as_deref(),
                    count,
                    &self.config.base_url,
                )
                .map_err(|e| Failure::new(FailureKind::Response, e))?;
            pages += 1;
            match next {
                Next::Done => break,
                _ if pages >= p.max_pages() => {
                    truncated = true;
                    break;
                }
                Next::Param(k, v) => set_param(&mut url, &k, &v),
                Next::Url(u) => url = u,
            }
        }
        Ok(Fetched {
            value: Value::Array(items),
            pages,
            truncated,
            cache_hit: false,
            attempts,
        })
    }

    /// Wait for the rate limit's slot, within the deadline.
    async fn admit(&self, deadline: Instant) -> Result<(), Failure> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let reserved = limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reserve(Instant::now(), 1, deadline);
        match reserved {
            Ok(wait) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Err(Shortfall::Wait(wait)) => Err(Failure::transient(format!(
                "the connector's rate limit has no slot before the run's deadline (next in {} ms)",
                wait.as_millis()
            ))),
            Err(Shortfall::TooLarge { .. }) => Err(Failure::transient(
                "the connector's rate limit refused the request",
            )),
        }
    }
}

/// Set query parameter `key` to `value`, replacing any earlier value.
fn set_param(url: &mut reqwest::Url, key: &str, value: &str) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    pairs.extend_pairs(kept);
    pairs.append_pair(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_param_replaces() {
        let mut u = reqwest::Url::parse("http://h/x?a=1&cursor=old").unwrap();
        set_param(&mut u, "cursor", "n e w");
        assert_eq!(u.as_str(), "http://h/x?a=1&cursor=n+e+w");
    }
}
