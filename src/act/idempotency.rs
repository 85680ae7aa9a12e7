//! Idempotency keys derived from the event and the output: the same event
//! with the same verified output always yields the same key, so a retry or
//! a replay can never act twice.

use serde_json::Value;

/// `seam_` followed by 32 hex digits.
pub fn key(pipeline: &str, event_id: &str, output: &Value) -> String {
    let digest = crate::canonical::sha256_parts(&[
        b"seam-action-v1",
        pipeline.as_bytes(),
        event_id.as_bytes(),
        crate::canonical::to_string(output).as_bytes(),
    ]);
    format!("seam_{}", &digest[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stable_and_distinct() {
        let a = key("triage", "T-1", &json!({"x": 1, "y": 2}));
        assert_eq!(a, key("triage", "T-1", &json!({"y": 2, "x": 1})));
        assert_ne!(a, key("triage", "T-2", &json!({"x": 1, "y": 2})));
        assert_ne!(a, key("triage", "T-1", &json!({"x": 2, "y": 2})));
        assert_eq!(a.len(), 37);
    }
}
