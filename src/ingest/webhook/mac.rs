//! HMAC-SHA256 and the constant-time check shared by every scheme.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The MAC state after `parts`, keyed by `key`.
fn mac(key: &[u8], parts: &[&[u8]]) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(key).ok()?;
    for part in parts {
        m.update(part);
    }
    Some(m)
}

/// Whether any candidate signature is the HMAC of `parts` under any key.
/// Each comparison is constant-time (`verify_slice`); a candidate of the
/// wrong length fails like any other mismatch.
pub(super) fn any_matches(keys: &[Vec<u8>], parts: &[&[u8]], candidates: &[Vec<u8>]) -> bool {
    let mut ok = false;
    for key in keys {
        let Some(m) = mac(key, parts) else { continue };
        for candidate in candidates {
            // No early exit: every pair is checked, so timing does not say which matched.
            ok |= m.clone().verify_slice(candidate).is_ok();
        }
    }
    ok
}

#[cfg(test)]
pub(super) fn sign(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac(key, parts)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default()
}
