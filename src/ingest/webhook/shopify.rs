//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` HMAC-SHA256 of the body;
//! the delivery id is `X-Shopify-Webhook-Id`.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Verified, WebhookError, header, mac, optional_header};

pub(super) fn verify(
    keys: &[Vec<u8>],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, WebhookError> {
    let value = header(headers, "x-shopify-hmac-sha256")?;
    let sig = B64
        .decode(value.trim())
        .map_err(|_| WebhookError::Malformed("`X-Shopify-Hmac-Sha256` is not base64".into()))?;
    if !mac::any_matches(keys, &[body], &[sig]) {
        return Err(WebhookError::BadSignature);
    }
    Ok(Verified {
        delivery_id: optional_header(headers, "x-shopify-webhook-id"),
    })
}
