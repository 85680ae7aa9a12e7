//! One GET with the connector's auth, rate limit, timeout and retries:
//! transient failures (timeouts, connection errors, 408, 429, 5xx) are
//! retried with backoff (at least the server's Retry-After) while the run's
//! deadline allows; a 401 with an OAuth token refreshes the token once.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LINK};
use serde_json::Value;
use tokio::time::Instant;

use super::super::config::Auth;
use super::super::error::{Failure, FailureKind};
use super::HttpConnector;
use crate::infer::http::retry_after_of;

/// One page as received.
pub(super) struct Page {
    pub body: Value,
    /// The `Link` header, for link pagination.
    pub link: Option<String>,
    pub attempts: u32,
}

/// How one attempt ended, when it did not give a page.
struct Refused {
    failure: Failure,
    retry_after: Option<std::time::Duration>,
    /// A 401 that a new OAuth token may cure.
    unauthorized: bool,
}

impl HttpConnector {
    pub(super) async fn get(&self, url: reqwest::Url, deadline: Instant) -> Result<Page, Failure> {
        let policy = self.config.retry;
        let (mut attempts, mut failures, mut refreshed) = (0u32, 0u32, false);
        loop {
            attempts += 1;
            let (refused, token) = match self.attempt(url.clone(), deadline).await {
                Ok(mut page) => {
                    page.attempts = attempts;
                    return Ok(page);
                }
                Err(e) => e,
            };
            if refused.unauthorized
                && !refreshed
                && let (Some(tokens), Some(used)) = (&self.tokens, token.as_ref())
            {
                // The token was revoked or expired early: one new one.
                tokens.invalidate(used).await;
                refreshed = true;
                continue;
            }
            failures += 1;
            if refused.failure.kind != FailureKind::Transient || failures >= policy.max_attempts {
                return Err(refused.failure);
            }
            let delay = policy.delay(failures, refused.retry_after);
            if Instant::now() + delay >= deadline {
                return Err(refused.failure);
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One request. On failure, also the OAuth token it used.
    async fn attempt(
        &self,
        url: reqwest::Url,
        deadline: Instant,
    ) -> Result<Page, (Refused, Option<crate::config::Secret>)> {
        let plain = |failure: Failure| Refused {
            failure,
            retry_after: None,
            unauthorized: false,
        };
        self.admit(deadline).await.map_err(|f| (plain(f), None))?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err((plain(Failure::transient("the run's deadline passed")), None));
        }
        let timeout = self.config.timeout.min(remaining);
        let mut request = self
            .client
            .get(url)
            .timeout(timeout)
            .header(ACCEPT, "application/json");
        let mut token = None;
        match &self.config.auth {
            Auth::None => {}
            Auth::ApiKey { header, key } => request = request.header(header, key.expose()),
            Auth::Bearer { token } => request = request.bearer_auth(token.expose()),
            Auth::OAuth2(_) => {
                if let Some(tokens) = &self.tokens {
                    let t = tokens
                        .token(&self.client, timeout)
                        .await
                        .map_err(|f| (plain(f), None))?;
                    request = request.bearer_auth(t.expose());
                    token = Some(t);
                }
            }
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    format!("the request timed out after {} ms", timeout.as_millis())
                } else {
                    "the API could not be reached".to_string()
                };
                return Err((plain(Failure::transient(reason)), token));
            }
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after_of(response.headers());
            let code = status.as_u16();
            let kind = match status {
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                    FailureKind::Transient
                }
                s if s.is_server_error() => FailureKind::Transient,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FailureKind::Auth,
                _ => FailureKind::Rejected,
            };
            let refused = Refused {
                failure: Failure::new(kind, format!("the API answered HTTP {code}")),
                retry_after,
                unauthorized: status == StatusCode::UNAUTHORIZED,
            };
            return Err((refused, token));
        }
        let link = response
            .headers()
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err((plain(too_large(limit)), token));
        }
        // Read in chunks, so a body without a length cannot grow past the limit.
        let mut response = response;
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err((plain(too_large(limit)), token));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    let f = Failure::transient("the response was cut off");
                    return Err((plain(f), token));
                }
            }
        }
        let body = serde_json::from_slice(&bytes).map_err(|_| {
            (
                plain(Failure::new(
                    FailureKind::Response,
                    "the response is not JSON",
                )),
                None,
            )
        })?;
        Ok(Page {
            body,
            link,
            attempts: 0,
        })
    }
}

fn too_large(limit: usize) -> Failure {
    Failure::new(
        FailureKind::Response,
        format!("the response is larger than max_response_bytes ({limit})"),
    )
}
