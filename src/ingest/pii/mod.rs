//! PII redaction into stable placeholders (`<EMAIL_1>`), reversible only
//! through the [`PiiMap`] of the run: e-mail, phone, payment cards (Luhn),
//! IBAN (mod 97), IPv4/IPv6, US SSN, and the custom patterns of `[pii]`.
//!
//! `detectors.rs` finds values, `checks.rs` validates them, `policy.rs`
//! is the config, `seal.rs` encrypts the map an escalated run keeps.

mod checks;
mod detectors;
mod policy;
mod seal;

#[cfg(test)]
mod corpus;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::{Value, json};

pub use detectors::Builtin;
pub use policy::{Keep, PiiKey, PiiPolicy, Problem, RawPii, RawPipelinePii};
pub use seal::SealError;

use crate::store::{KeptPii, RunStore, StoreError};

/// (placeholder, original, kind)
type Entry = (String, String, String);

/// Placeholder ↔ original value for one run.
#[derive(Debug, Default, Clone)]
pub struct PiiMap {
    entries: Vec<Entry>,
    policy: Arc<PiiPolicy>,
    /// (kind, original) → index into `entries`.
    by_value: HashMap<(String, String), usize>,
    /// placeholder → index into `entries`.
    by_placeholder: HashMap<String, usize>,
    /// Placeholders handed out per kind.
    counts: HashMap<String, usize>,
}

/// A placeholder as written: `<KIND_n>`.
static PLACEHOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<[A-Z][A-Z0-9_]*_\d+>").ok());

impl PiiMap {
    fn from_entries(entries: Vec<Entry>, policy: Arc<PiiPolicy>) -> PiiMap {
        let mut map = PiiMap {
            policy,
            ..PiiMap::default()
        };
        for (placeholder, original, kind) in entries {
            map.insert(placeholder, original, kind);
        }
        map
    }

    fn insert(&mut self, placeholder: String, original: String, kind: String) {
        let i = self.entries.len();
        *self.counts.entry(kind.clone()).or_default() += 1;
        self.by_value.insert((kind.clone(), original.clone()), i);
        self.by_placeholder.insert(placeholder.clone(), i);
        self.entries.push((placeholder, original, kind));
    }

    fn placeholder_for(&mut self, kind: &str, original: &str) -> String {
        if let Some(&i) = self.by_value.get(&(kind.to_string(), original.to_string())) {
            return self.entries[i].0.clone();
        }
        let n = self.counts.get(kind).copied().unwrap_or(0) + 1;
        let placeholder = format!("<{kind}_{n}>");
        self.insert(placeholder.clone(), original.to_string(), kind.to_string());
        placeholder
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Placeholders and their kinds, never the values: safe for the audit.
    pub fn summary(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|(p, _, k)| json!({"placeholder": p, "kind": k}))
            .collect()
    }

    /// The same map redacting with `policy` (a map opened from its seal
    /// carries the default one).
    pub fn with_policy(mut self, policy: Arc<PiiPolicy>) -> PiiMap {
        self.policy = policy;
        self
    }

    /// Redact every string (and object key) of `value` with this run's
    /// placeholders: values it already holds get their own placeholder.
    pub fn redact_value(&mut self, value: &Value) -> Value {
        let policy = self.policy.clone();
        redact_value(value, &policy, self)
    }

    /// Redact one more string with this run's placeholders and policy.
    pub fn redact_text(&mut self, text: &str) -> String {
        let policy = self.policy.clone();
        redact_str(text, &policy, self)
    }

    /// Put the original values back into every string of `value`.
    pub fn restore(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.restore_str(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.restore(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (self.restore_str(k), self.restore(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn restore_str(&self, s: &str) -> String {
        let Some(re) = PLACEHOLDER.as_ref() else {
            return s.to_string();
        };
        re.replace_all(s, |c: &regex::Captures<'_>| {
            let p = c.get(0).map_or("", |m| m.as_str());
            match self.by_placeholder.get(p) {
                Some(&i) => self.entries[i].1.clone(),
                None => p.to_string(),
            }
        })
        .into_owned()
    }
}

/// Replace PII in every string of `value`, with every built-in detector.
pub fn redact(value: &Value) -> (Value, PiiMap) {
    redact_with(&Arc::new(PiiPolicy::default()), value)
}

/// Replace PII in every string of `value` (object keys too) as `policy`
/// says.
pub fn redact_with(policy: &Arc<PiiPolicy>, value: &Value) -> (Value, PiiMap) {
    let mut map = PiiMap {
        policy: policy.clone(),
        ..PiiMap::default()
    };
    let redacted = redact_value(value, policy, &mut map);
    (redacted, map)
}

fn redact_value(value: &Value, policy: &PiiPolicy, map: &mut PiiMap) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s, policy, map)),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_value(v, policy, map)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (redact_str(k, policy, map), redact_value(v, policy, map)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn redact_str(s: &str, policy: &PiiPolicy, map: &mut PiiMap) -> String {
    let found = detectors::find(s, policy);
    if found.is_empty() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for f in found {
        out.push_str(&s[last..f.start]);
        out.push_str(&map.placeholder_for(&f.kind, &s[f.start..f.end]));
        last = f.end;
    }
    out.push_str(&s[last..]);
    out
}

/// Whether any string (or object key) of `value` holds a placeholder.
pub fn has_placeholders(value: &Value) -> bool {
    let Some(re) = PLACEHOLDER.as_ref() else {
        return false;
    };
    match value {
        Value::String(s) => re.is_match(s),
        Value::Array(a) => a.iter().any(has_placeholders),
        Value::Object(o) => o.iter().any(|(k, v)| re.is_match(k) || has_placeholders(v)),
        _ => false,
    }
}

/// What an escalated run keeps of its map: the sealed record (if any) and
/// what the audit says about it (never a value).
#[derive(Debug)]
pub struct Kept {
    pub record: Option<KeptPii>,
    pub audit: Value,
}

/// Seal `map` for run `run_id`, which ends escalated: a human finishes it
/// later and its action then needs the real values. Kept only with a
/// `[pii].key`, until `now_ms` + the retention.
pub fn keep_for_escalation(map: &PiiMap, run_id: &str, now_ms: i64) -> Kept {
    let Some(keep) = &map.policy.keep else {
        return Kept {
            record: None,
            audit: json!({"pii_map": "not kept: no [pii].key", "placeholders": map.entries.len()}),
        };
    };
    match seal::seal(map, &keep.key, run_id) {
        Ok(sealed) => {
            let ms = i64::try_from(keep.retention.as_millis()).unwrap_or(i64::MAX);
            let expires_at_ms = now_ms.saturating_add(ms);
            Kept {
                record: Some(KeptPii {
                    sealed,
                    expires_at_ms,
                }),
                audit: json!({
                    "pii_map": "kept sealed",
                    "placeholders": map.entries.len(),
                    "expires_at_ms": expires_at_ms,
                }),
            }
        }
        Err(e) => Kept {
            record: None,
            audit: json!({"pii_map": format!("not kept: {e}"), "placeholders": map.entries.len()}),
        },
    }
}

/// Why a kept map could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeptError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Load and open the map an escalated run kept, for re-association when
/// a human finishes it. `None`: nothing kept, or it expired.
pub async fn load_kept(
    store: &dyn RunStore,
    key: &PiiKey,
    run_id: &str,
) -> Result<Option<PiiMap>, KeptError> {
    let Some(sealed) = store.pii_map(run_id, crate::clock::now_ms()).await? else {
        return Ok(None);
    };
    Ok(Some(seal::open(&sealed, key, run_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_and_restores() {
        let input = json!({"body": "Mail jo@example.com or +44 20 7946 0958; again jo@example.com", "n": 4, "by": {"jo@example.com": 1}});
        let (red, map) = redact(&input);
        assert_eq!(red["body"], "Mail <EMAIL_1> or <PHONE_1>; again <EMAIL_1>");
        assert_eq!(
            red["by"],
            json!({"<EMAIL_1>": 1}),
            "object keys are redacted too"
        );
        assert_eq!(map.restore(&red), input);
        let summary = serde_json::to_string(&map.summary()).unwrap();
        assert!(!summary.contains("example.com"));
    }

    #[test]
    fn leaves_order_numbers_alone() {
        let (red, map) = redact(&json!("order 12345678 shipped on 2026-11-02"));
        assert_eq!(red, json!("order 12345678 shipped on 2026-11-02"));
        assert!(map.is_empty());
    }

    #[test]
    fn longest_match_wins_and_placeholders_are_stable() {
        let (red, _) = redact(&json!(
            "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, again 4111111111111111 and 4111 1111 1111 1111"
        ));
        assert_eq!(
            red,
            json!("IBAN <IBAN_1>, card <CARD_1>, again <CARD_2> and <CARD_1>")
        );
    }

    #[test]
    fn large_texts_stay_linear() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("user{i}@example.com 4111 1111 1111 1111 "));
        }
        let t = std::time::Instant::now();
        let (red, map) = redact(&json!(text));
        assert_eq!(map.summary().len(), 20_001);
        assert!(red.as_str().unwrap().ends_with("<EMAIL_20000> <CARD_1> "));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn custom_patterns_with_checksum() {
        let raw: RawPii = toml::from_str(
            r#"
            detectors = ["email"]
            [[patterns]]
            name = "NHS_NUMBER"
            regex = '\b\d{3} ?\d{3} ?\d{4}\b'
            checksum = "mod11"
            "#,
        )
        .unwrap();
        let policy = PiiPolicy::load(&raw, std::path::Path::new(".")).unwrap();
        let (red, _) = redact_with(
            &policy,
            &json!("NHS 943 476 5919, not 943 476 5918, mail a@b.co, +44 20 7946 0958"),
        );
        assert_eq!(
            red,
            json!("NHS <NHS_NUMBER_1>, not 943 476 5918, mail <EMAIL_1>, +44 20 7946 0958")
        );
    }

    #[test]
    fn config_problems_name_their_key() {
        let raw: RawPii = toml::from_str(
            r#"
            detectors = ["email", "fax"]
            key = "deadbeef"
            [[patterns]]
            name = "nhs"
            regex = '(\d'
            checksum = "crc"
            "#,
        )
        .unwrap();
        let problems = PiiPolicy::load(&raw, std::path::Path::new(".")).unwrap_err();
        let keys: Vec<String> = problems.iter().map(|(k, _)| k.join(".")).collect();
        assert_eq!(
            keys,
            [
                "detectors.1",
                "patterns.0.name",
                "patterns.0.checksum",
                "patterns.0.regex",
                "key"
            ]
        );
        assert!(
            PiiKey::parse(&"ab".repeat(32)).is_ok()
                && PiiKey::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_ok()
                && PiiKey::parse("AAAA").is_err()
        );
    }
}
