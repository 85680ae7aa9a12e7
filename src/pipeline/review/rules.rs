//! `[pipelines.NAME.review]`: the rules that hold a verified output for a
//! human instead of acting on it — an "insufficient information" answer,
//! and a confidence below the pipeline's threshold. Pure: the output in,
//! the reason (if any) out.

use serde_json::Value;

use crate::error::Error;

/// `insufficient = { pointer = "/answer", values = [...] }`: the output
/// field whose listed values mean the model could not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Insufficient {
    pub pointer: String,
    pub values: Vec<Value>,
}

/// `confidence = "/confidence"`, `min_confidence = 0.7`.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    pub pointer: String,
    pub min: f64,
}

/// The validated `[pipelines.NAME.review]` section; empty: no rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewPolicy {
    pub insufficient: Option<Insufficient>,
    pub confidence: Option<Confidence>,
}

impl ReviewPolicy {
    /// Why `output` (redacted, schema-valid) must go to a human, if it
    /// must. `from_model`: a confidence is only judged on a model's answer
    /// (baseline rules carry none). A confidence the model left out, or
    /// that is not a number, holds the run too: it cannot be checked.
    pub fn check(&self, output: &Value, from_model: bool) -> Option<(Error, Vec<String>)> {
        if let Some(rule) = &self.insufficient
            && let Some(found) = output.pointer(&rule.pointer)
            && rule.values.contains(found)
        {
            let value = match found {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Some((
                Error::InsufficientInformation {
                    pointer: rule.pointer.clone(),
                    value,
                },
                vec![rule.pointer.clone()],
            ));
        }
        if let (Some(rule), true) = (&self.confidence, from_model) {
            let confidence = output.pointer(&rule.pointer).and_then(Value::as_f64);
            if confidence.is_none_or(|c| c.is_nan() || c < rule.min) {
                return Some((
                    Error::LowConfidence {
                        pointer: rule.pointer.clone(),
                        confidence,
                        min: rule.min,
                    },
                    vec![rule.pointer.clone()],
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> ReviewPolicy {
        ReviewPolicy {
            insufficient: Some(Insufficient {
                pointer: "/answer".into(),
                values: vec![json!("insufficient_information"), json!("unknown")],
            }),
            confidence: Some(Confidence {
                pointer: "/confidence".into(),
                min: 0.7,
            }),
        }
    }

    #[test]
    fn confident_answers_act() {
        let out = json!({"answer": "refund", "confidence": 0.7});
        assert!(
            policy().check(&out, true).is_none(),
            "the threshold itself passes"
        );
        assert!(ReviewPolicy::default().check(&json!({}), true).is_none());
    }

    #[test]
    fn low_or_missing_confidence_holds() {
        let (e, at) = policy()
            .check(&json!({"answer": "refund", "confidence": 0.69}), true)
            .expect("held");
        assert_eq!(e.type_name(), "low_confidence");
        assert_eq!(at, vec!["/confidence"]);
        assert!(e.to_string().contains("0.69"), "{e}");
        let (e, _) = policy()
            .check(&json!({"answer": "refund"}), true)
            .expect("held");
        assert_eq!(e.type_name(), "low_confidence");
        let (e, _) = policy()
            .check(&json!({"answer": "refund", "confidence": "high"}), true)
            .expect("held");
        assert!(e.to_string().contains("no numeric confidence"), "{e}");
    }

    #[test]
    fn baseline_answers_are_not_judged_on_confidence() {
        assert!(
            policy()
                .check(&json!({"answer": "refund"}), false)
                .is_none()
        );
    }

    #[test]
    fn insufficient_values_hold_whatever_the_confidence() {
        let out = json!({"answer": "unknown", "confidence": 0.99});
        let (e, at) = policy().check(&out, true).expect("held");
        assert_eq!(e.type_name(), "insufficient_information");
        assert_eq!(at, vec!["/answer"]);
        assert!(policy().check(&out, false).is_some(), "baseline too");
        // Values match exactly: not by substring or case.
        let out = json!({"answer": "Unknown", "confidence": 0.99});
        assert!(policy().check(&out, true).is_none());
    }

    #[test]
    fn nested_pointers() {
        let p = ReviewPolicy {
            insufficient: None,
            confidence: Some(Confidence {
                pointer: "/meta/score".into(),
                min: 0.5,
            }),
        };
        assert!(p.check(&json!({"meta": {"score": 0.9}}), true).is_none());
        assert!(p.check(&json!({"meta": {"score": 0.1}}), true).is_some());
    }
}
