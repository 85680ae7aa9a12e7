//! GitHub: `X-Hub-Signature-256: sha256=<hex>` HMAC-SHA256 of the body;
//! the delivery id is `X-GitHub-Delivery`.

use axum::http::HeaderMap;

use super::{Verified, WebhookError, header, mac, optional_header};

pub(super) fn verify(
    keys: &[Vec<u8>],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, WebhookError> {
    let value = header(headers, "x-hub-signature-256")?;
    let hex_sig = value.strip_prefix("sha256=").ok_or_else(|| {
        WebhookError::Malformed("`X-Hub-Signature-256` must start with `sha256=`".into())
    })?;
    let sig = hex::decode(hex_sig)
        .map_err(|_| WebhookError::Malformed("`X-Hub-Signature-256` is not hexadecimal".into()))?;
    if !mac::any_matches(keys, &[body], &[sig]) {
        return Err(WebhookError::BadSignature);
    }
    Ok(Verified {
        delivery_id: optional_header(headers, "x-github-delivery"),
    })
}
