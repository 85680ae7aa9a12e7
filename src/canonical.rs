//! Canonical JSON and SHA-256 digests: one place decides how a value is
//! serialised before it is hashed, so prompt hashes, idempotency keys and the
//! audit chain agree byte for byte.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialise a JSON value canonically: object keys sorted, no
/// insignificant whitespace. The keys are sorted here rather than left to
/// serde_json's map, whose order depends on a cargo feature (`preserve_order`)
/// that any crate in the build can switch on.
pub fn to_string(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are always strings.
    serde_json::to_string(&Sorted(value)).unwrap_or_default()
}

/// A `Value` that serialises with its object keys in sorted order.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, &Sorted(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Sorted(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
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
