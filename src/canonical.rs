//! Canonical JSON and SHA-256 digests: one place decides how a value is
//! serialised before it is hashed, so prompt hashes, idempotency keys and the
//! audit chain agree byte for byte.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialise a JSON value canonically: object keys sorted (serde_json's
/// default map is ordered), no insignificant whitespace.
pub fn to_string(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are always strings.
    serde_json::to_string(value).unwrap_or_default()
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// Hex SHA-256 of several parts, each length-prefixed so that part
/// boundaries cannot be shifted to forge a collision.
pub fn sha256_parts(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_compact() {
        let v = json!({"b": 1, "a": {"d": [1, 2], "c": null}});
        assert_eq!(to_string(&v), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    }

    #[test]
    fn part_boundaries_matter() {
        assert_ne!(sha256_parts(&[b"ab", b"c"]), sha256_parts(&[b"a", b"bc"]));
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
