//! OAuth 2.0 client credentials (RFC 6749 §4.4): one token per connector,
//! cached and refreshed shortly before it expires. One refresh at a time:
//! callers queue on the slot's lock while a token is fetched, then share it.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::super::config::OAuth2Config;
use super::super::error::{Failure, FailureKind};
use crate::config::Secret;

/// Refresh this long before expiry at most …
const MAX_MARGIN: Duration = Duration::from_secs(60);

/// How long a token of lifetime `expires_in` is used before it is
/// refreshed: a tenth of its life before it expires, but never more than
/// a minute before (a 1 h token is refreshed after 59 min, a 10 s one
/// after 9 s).
pub fn use_for(expires_in: Duration) -> Duration {
    let margin = (expires_in / 10).min(MAX_MARGIN);
    expires_in.saturating_sub(margin)
}

#[derive(Clone)]
struct Token {
    value: Secret,
    /// Refresh at or after this; `None`: until the API refuses it.
    refresh_at: Option<Instant>,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

pub struct TokenSource {
    config: OAuth2Config,
    slot: Mutex<Option<Token>>,
}

impl TokenSource {
    pub fn new(config: OAuth2Config) -> TokenSource {
        TokenSource {
            config,
            slot: Mutex::new(None),
        }
    }

    /// A token valid for now: the cached one, or a new one (fetched once
    /// however many callers wait for it).
    pub async fn token(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Secret, Failure> {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref()
            && t.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(t.value.clone());
        }
        *slot = None;
        let fresh = self.fetch(client, timeout).await?;
        *slot = Some(fresh.clone());
        Ok(fresh.value)
    }

    /// The API refused `used`: drop it, unless another caller already
    /// replaced it.
    pub async fn invalidate(&self, used: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|t| t.value.expose() == used.expose())
        {
            *slot = None;
        }
    }

    async fn fetch(&self, client: &reqwest::Client, timeout: Duration) -> Result<Token, Failure> {
        let c = &self.config;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &c.scope {
            form.push(("scope", scope));
        }
        let mut request = client.post(c.token_url.clone()).timeout(timeout);
        if c.basic {
            request = request.basic_auth(&c.client_id, Some(c.client_secret.expose()));
        } else {
            form.push(("client_id", &c.client_id));
            form.push(("client_secret", c.client_secret.expose()));
        }
        let started = Instant::now();
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                Failure::transient(if e.is_timeout() {
                    "the token endpoint timed out"
                } else {
                    "the token endpoint could not be reached"
                })
            })?;
        let status = response.status();
        if !status.is_success() {
            let code = status.as_u16();
            let kind = if status.is_server_error() || matches!(code, 408 | 429) {
                FailureKind::Transient
            } else {
                FailureKind::Auth
            };
            return Err(Failure::new(
                kind,
                format!("the token endpoint answered HTTP {code}"),
            ));
        }
        let body: TokenResponse = response.json().await.map_err(|_| {
            Failure::new(
                FailureKind::Auth,
                "the token endpoint's answer has no access_token",
            )
        })?;
        if body
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(Failure::new(
                FailureKind::Auth,
                "the token endpoint issued a token that is not a bearer token",
            ));
        }
        let expires_in = body.expires_in.as_ref().and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
        Ok(Token {
            value: Secret::new(body.access_token),
            // Counted from the request, so network time shortens, not lengthens, its use.
            refresh_at: expires_in.map(|s| started + use_for(Duration::from_secs(s))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_a_tenth_at_most_a_minute() {
        assert_eq!(
            use_for(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(use_for(Duration::from_secs(300)), Duration::from_secs(270));
        assert_eq!(use_for(Duration::from_secs(10)), Duration::from_secs(9));
        assert_eq!(use_for(Duration::from_secs(2)), Duration::from_millis(1800));
        assert_eq!(use_for(Duration::ZERO), Duration::ZERO);
    }
}
