//! Webhook signature verification, checked before anything else reads a
//! delivery: Standard Webhooks v1, Stripe, GitHub, Shopify and a generic
//! HMAC header. One file per scheme; `config.rs` builds a [`Verifier`] from
//! `[pipelines.NAME.webhook]`. Every comparison is constant-time and no
//! error names a secret or the expected signature.

mod config;
mod error;
mod generic;
mod github;
mod mac;
mod shopify;
mod standard;
mod stripe;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;

pub use config::RawWebhook;
pub use error::WebhookError;
pub use generic::Encoding;

/// Which scheme a pipeline's webhooks are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks v1 (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    Standard,
    /// Stripe (`Stripe-Signature: t=...,v1=...`).
    Stripe,
    /// GitHub (`X-Hub-Signature-256: sha256=<hex>`).
    Github,
    /// Shopify (`X-Shopify-Hmac-Sha256: <base64>`).
    Shopify,
    /// A configurable header carrying an HMAC-SHA256 of the body.
    Hmac {
        header: String,
        encoding: Encoding,
        prefix: String,
    },
}

impl Scheme {
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Standard => "standard",
            Scheme::Stripe => "stripe",
            Scheme::Github => "github",
            Scheme::Shopify => "shopify",
            Scheme::Hmac { .. } => "hmac",
        }
    }
}

/// Verifies one pipeline's deliveries. Built from config by
/// [`Verifier::load`] (or [`Verifier::new`] with resolved keys).
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    /// HMAC keys, the current one and any still valid during a rotation.
    keys: Vec<Vec<u8>>,
    /// For schemes with a signed timestamp: how far it may be from now.
    tolerance: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field(
                "keys",
                &format_args!("[{} key(s), hidden]", self.keys.len()),
            )
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

/// What a verified delivery carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The delivery id when the scheme sends one in a header
    /// (`webhook-id`, `X-GitHub-Delivery`, `X-Shopify-Webhook-Id`).
    pub delivery_id: Option<String>,
}

/// The default timestamp tolerance of Standard Webhooks and Stripe.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

impl Verifier {
    /// A verifier over already-resolved keys (raw HMAC key bytes; for
    /// Standard Webhooks, the decoded `whsec_` secret).
    pub fn new(scheme: Scheme, keys: Vec<Vec<u8>>, tolerance: Duration) -> Verifier {
        Verifier {
            scheme,
            keys,
            tolerance,
        }
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Check the signature (and the timestamp where the scheme signs one)
    /// before anything else reads the delivery.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        match &self.scheme {
            Scheme::Standard => standard::verify(&self.keys, headers, body, now, tolerance),
            Scheme::Stripe => stripe::verify(&self.keys, headers, body, now, tolerance),
            Scheme::Github => github::verify(&self.keys, headers, body),
            Scheme::Shopify => shopify::verify(&self.keys, headers, body),
            Scheme::Hmac {
                header,
                encoding,
                prefix,
            } => generic::verify(&self.keys, headers, body, header, *encoding, prefix),
        }
    }
}

/// The text value of a header that must be present.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, WebhookError> {
    let value = headers
        .get(name)
        .ok_or(WebhookError::MissingHeader(name.to_string()))?;
    value
        .to_str()
        .map_err(|_| WebhookError::Malformed(format!("header `{name}` is not visible ASCII")))
}

/// An optional header as text (a delivery id).
fn optional_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reject a signed timestamp too far from `now`, either way.
fn check_timestamp(timestamp: i64, now: i64, tolerance: i64) -> Result<(), WebhookError> {
    if timestamp < now.saturating_sub(tolerance) {
        return Err(WebhookError::Expired {
            age_secs: now.saturating_sub(timestamp),
            tolerance_secs: tolerance,
        });
    }
    if timestamp > now.saturating_add(tolerance) {
        return Err(WebhookError::Future {
            ahead_secs: timestamp.saturating_sub(now),
            tolerance_secs: tolerance,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
