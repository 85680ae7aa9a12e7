//! Generic HMAC: a configured header carries an HMAC-SHA256 of the body,
//! hex or base64, after an optional prefix (e.g. `sha256=`).

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Verified, WebhookError, mac};

/// How the signature bytes are written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

pub(super) fn verify(
    keys: &[Vec<u8>],
    headers: &HeaderMap,
    body: &[u8],
    name: &str,
    encoding: Encoding,
    prefix: &str,
) -> Result<Verified, WebhookError> {
    let value = headers
        .get(name)
        .ok_or_else(|| WebhookError::MissingHeader(name.to_string()))?
        .to_str()
        .map_err(|_| WebhookError::Malformed(format!("header `{name}` is not visible ASCII")))?
        .trim();
    let encoded = value.strip_prefix(prefix).ok_or_else(|| {
        WebhookError::Malformed(format!("header `{name}` must start with `{prefix}`"))
    })?;
    let sig = match encoding {
        Encoding::Hex => hex::decode(encoded).ok(),
        Encoding::Base64 => B64.decode(encoded).ok(),
    }
    .ok_or_else(|| {
        let what = match encoding {
            Encoding::Hex => "hexadecimal",
            Encoding::Base64 => "base64",
        };
        WebhookError::Malformed(format!("header `{name}` is not {what}"))
    })?;
    if !mac::any_matches(keys, &[body], &[sig]) {
        return Err(WebhookError::BadSignature);
    }
    Ok(Verified { delivery_id: None })
}
