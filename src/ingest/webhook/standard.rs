//! Standard Webhooks v1: `webhook-signature` holds space-separated
//! `v1,<base64>` HMAC-SHA256 signatures of `id.timestamp.body` (several
//! during a secret rotation); `webhook-timestamp` is Unix seconds.

use axum::http::HeaderMap;
use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{Verified, WebhookError, check_timestamp, header, mac};

/// Standard base64, padded or not (the reference libraries accept both).
const B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn verify(
    keys: &[Vec<u8>],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<Verified, WebhookError> {
    let id = header(headers, "webhook-id")?;
    let timestamp = header(headers, "webhook-timestamp")?;
    let signature = header(headers, "webhook-signature")?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::Malformed("`webhook-timestamp` is not Unix seconds".into()))?;
    check_timestamp(ts, now, tolerance)?;
    // Other versions (and malformed entries) are skipped, as the spec says.
    let candidates: Vec<Vec<u8>> = signature
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| B64.decode(sig).ok())
        .collect();
    if candidates.is_empty() {
        return Err(WebhookError::Malformed(
            "`webhook-signature` has no `v1,` signature".into(),
        ));
    }
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    if !mac::any_matches(keys, &parts, &candidates) {
        return Err(WebhookError::BadSignature);
    }
    Ok(Verified {
        delivery_id: Some(id.to_string()),
    })
}

/// The HMAC key of a Standard Webhooks secret: base64 after an optional
/// `whsec_` prefix.
pub(super) fn key_from_secret(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match B64.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err("a Standard Webhooks secret must be `whsec_` followed by base64".into()),
    }
}
