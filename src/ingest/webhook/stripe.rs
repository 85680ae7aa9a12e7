//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256
//! of `t.body` keyed by the endpoint secret's bytes (`whsec_...` as is).

use axum::http::HeaderMap;

use super::{Verified, WebhookError, check_timestamp, header, mac};

pub(super) fn verify(
    keys: &[Vec<u8>],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<Verified, WebhookError> {
    let value = header(headers, "stripe-signature")?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in value.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = Some(v),
            // Other schemes (v0 is test-mode only) are ignored, as Stripe's libraries do.
            "v1" => {
                if let Ok(sig) = hex::decode(v) {
                    candidates.push(sig);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| {
        WebhookError::Malformed("`Stripe-Signature` has no `t=` timestamp".into())
    })?;
    let ts: i64 = timestamp.parse().map_err(|_| {
        WebhookError::Malformed("`Stripe-Signature` timestamp is not Unix seconds".into())
    })?;
    if candidates.is_empty() {
        return Err(WebhookError::Malformed(
            "`Stripe-Signature` has no `v1=` signature".into(),
        ));
    }
    // The signature first: an unsigned timestamp tells nothing.
    let parts: [&[u8]; 3] = [timestamp.as_bytes(), b".", body];
    if !mac::any_matches(keys, &parts, &candidates) {
        return Err(WebhookError::BadSignature);
    }
    check_timestamp(ts, now, tolerance)?;
    Ok(Verified { delivery_id: None })
}
