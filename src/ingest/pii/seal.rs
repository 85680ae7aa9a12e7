//! The placeholder map of an escalated run, sealed at rest with
//! ChaCha20-Poly1305: a random nonce per record, the run id as associated
//! data (a record moved to another run does not open).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::PiiMap;
use super::policy::PiiKey;

/// Format version of a sealed record (its first byte).
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the placeholder map could not be encoded: {0}")]
    Encode(String),
    #[error("the placeholder map could not be sealed")]
    Seal,
    #[error("the sealed placeholder map does not open with this key and run id")]
    Open,
    #[error("the sealed placeholder map is malformed: {0}")]
    Malformed(String),
}

/// `version ‖ nonce ‖ ciphertext+tag` of the map's entries as JSON.
pub fn seal(map: &PiiMap, key: &PiiKey, run_id: &str) -> Result<Vec<u8>, SealError> {
    let plain = serde_json::to_vec(&map.entries).map_err(|e| SealError::Encode(e.to_string()))?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: run_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Seal)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Open a record sealed by [`seal`] for the same run.
pub fn open(record: &[u8], key: &PiiKey, run_id: &str) -> Result<PiiMap, SealError> {
    let Some((&version, rest)) = record.split_first() else {
        return Err(SealError::Malformed("empty".into()));
    };
    if version != VERSION {
        return Err(SealError::Malformed(format!("unknown version {version}")));
    }
    if rest.len() < NONCE_LEN {
        return Err(SealError::Malformed("too short".into()));
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
    let plain = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: run_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Open)?;
    let entries =
        serde_json::from_slice(&plain).map_err(|e| SealError::Malformed(e.to_string()))?;
    Ok(PiiMap::from_entries(entries, Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seals_and_opens_for_the_same_run_only() {
        let (_, map) = super::super::redact(&json!("write to jo@example.com"));
        let key = PiiKey([7; 32]);
        let sealed = seal(&map, &key, "run-1").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("example.com"));
        let opened = open(&sealed, &key, "run-1").unwrap();
        assert_eq!(opened.restore_str("<EMAIL_1>"), "jo@example.com");
        assert!(matches!(open(&sealed, &key, "run-2"), Err(SealError::Open)));
        assert!(matches!(
            open(&sealed, &PiiKey([8; 32]), "run-1"),
            Err(SealError::Open)
        ));
        let again = seal(&map, &key, "run-1").unwrap();
        assert_ne!(sealed, again, "a fresh nonce per record");
    }
}
