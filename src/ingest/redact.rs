//! PII redaction into stable placeholders (`<EMAIL_1>`), reversible only
//! through the in-memory [`PiiMap`] of the run.
//!
//! This first cut covers e-mail addresses and international phone numbers;
//! the full detector set (cards with Luhn, IBAN, national ids, custom
//! patterns) belongs to the input-side work.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

struct Detector {
    kind: &'static str,
    pattern: Option<Regex>,
}

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    vec![
        Detector {
            kind: "EMAIL",
            pattern: Regex::new(
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            )
            .ok(),
        },
        Detector {
            kind: "PHONE",
            pattern: Regex::new(r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}\d").ok(),
        },
    ]
});

/// Placeholder ↔ original value for one run.
#[derive(Debug, Default, Clone)]
pub struct PiiMap {
    entries: Vec<(String, String, &'static str)>,
}

impl PiiMap {
    fn placeholder_for(&mut self, kind: &'static str, original: &str) -> String {
        if let Some((p, _, _)) = self
            .entries
            .iter()
            .find(|(_, o, k)| *k == kind && o == original)
        {
            return p.clone();
        }
        let n = self.entries.iter().filter(|(_, _, k)| *k == kind).count() + 1;
        let placeholder = format!("<{kind}_{n}>");
        self.entries
            .push((placeholder.clone(), original.to_string(), kind));
        placeholder
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Placeholders and their kinds, never the values: safe for the audit.
    pub fn summary(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|(p, _, k)| serde_json::json!({"placeholder": p, "kind": k}))
            .collect()
    }

    /// Redact one more string with this run's placeholders.
    pub fn redact_text(&mut self, text: &str) -> String {
        redact_str(text, self)
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
        let mut out = s.to_string();
        for (placeholder, original, _) in &self.entries {
            if out.contains(placeholder.as_str()) {
                out = out.replace(placeholder.as_str(), original);
            }
        }
        out
    }
}

/// Replace PII in every string of `value`.
pub fn redact(value: &Value) -> (Value, PiiMap) {
    let mut map = PiiMap::default();
    let redacted = redact_value(value, &mut map);
    (redacted, map)
}

fn redact_value(value: &Value, map: &mut PiiMap) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s, map)),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_value(v, map)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (redact_str(k, map), redact_value(v, map)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn redact_str(s: &str, map: &mut PiiMap) -> String {
    let mut text = s.to_string();
    for detector in DETECTORS.iter() {
        let Some(re) = &detector.pattern else {
            continue;
        };
        if !re.is_match(&text) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in re.find_iter(&text) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&map.placeholder_for(detector.kind, m.as_str()));
            last = m.end();
        }
        out.push_str(&text[last..]);
        text = out;
    }
    text
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
}
