//! `[pipelines.NAME.eval]`: how `seam eval` scores each output field.
//!
//! ```toml
//! [pipelines.invoice.eval.fields]
//! vendor = "exact"
//! amount = { rule = "numeric", tolerance = 0.01 }     # or relative = 0.01
//! tags = "set_f1"
//! summary = { rule = "similarity", threshold = 0.8 }
//! ```
//!
//! A field not listed is scored `exact`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::rules::FieldRule;

/// `[pipelines.NAME.eval]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEval {
    /// Field → rule name, or `{ rule, tolerance, relative, threshold }`.
    #[serde(default)]
    pub fields: BTreeMap<String, toml::Value>,
}

/// The validated section.
#[derive(Debug, Clone, Default)]
pub struct EvalPolicy {
    pub fields: BTreeMap<String, FieldRule>,
}

/// A problem: the key path below `[pipelines.NAME.eval]` and the message.
pub type Problem = (Vec<String>, String);

const RULES: &str = "exact, numeric, set_f1, similarity";

impl EvalPolicy {
    /// The rule of `field` (default `exact`).
    pub fn rule(&self, field: &str) -> FieldRule {
        self.fields.get(field).cloned().unwrap_or(FieldRule::Exact)
    }

    /// Check each rule, and that each field is a property of the output
    /// schema (`output_schema`'s top-level `properties`).
    pub fn load(raw: &RawEval, output_schema: Option<&Value>) -> Result<EvalPolicy, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut fields = BTreeMap::new();
        let declared = output_schema.and_then(|s| s.get("properties")?.as_object());
        for (field, spec) in &raw.fields {
            let at = |sub: &[&str]| -> Vec<String> {
                let mut p = vec!["fields".to_string(), field.clone()];
                p.extend(sub.iter().map(|s| s.to_string()));
                p
            };
            if let Some(props) = declared
                && !props.contains_key(field)
            {
                let known: Vec<&str> = props.keys().map(String::as_str).collect();
                problems.push((
                    at(&[]),
                    format!(
                        "`{field}` is not a property of the output schema (declared: {})",
                        known.join(", ")
                    ),
                ));
                continue;
            }
            match parse_rule(spec) {
                Ok(rule) => {
                    fields.insert(field.clone(), rule);
                }
                Err((sub, message)) => problems.push((at(&sub), message)),
            }
        }
        if problems.is_empty() {
            Ok(EvalPolicy { fields })
        } else {
            Err(problems)
        }
    }
}

fn parse_rule(spec: &toml::Value) -> Result<FieldRule, (Vec<&'static str>, String)> {
    let (name, table) = match spec {
        toml::Value::String(s) => (s.as_str(), None),
        toml::Value::Table(t) => match t.get("rule") {
            Some(toml::Value::String(s)) => (s.as_str(), Some(t)),
            Some(_) => return Err((vec!["rule"], format!("must be one of {RULES}"))),
            None => return Err((vec![], format!("names no `rule` (one of {RULES})"))),
        },
        _ => {
            return Err((
                vec![],
                format!("must be a rule name ({RULES}) or a table with `rule`"),
            ));
        }
    };
    let allowed: &[&str] = match name {
        "exact" | "set_f1" => &["rule"],
        "numeric" => &["rule", "tolerance", "relative"],
        "similarity" => &["rule", "threshold"],
        other => return Err((vec!["rule"], format!("`{other}` is not one of {RULES}"))),
    };
    let empty = toml::map::Map::new();
    let t = table.unwrap_or(&empty);
    for key in t.keys() {
        if !allowed.contains(&key.as_str()) {
            let k: &'static str = match key.as_str() {
                "tolerance" => "tolerance",
                "relative" => "relative",
                "threshold" => "threshold",
                _ => "",
            };
            let sub = if k.is_empty() { vec![] } else { vec![k] };
            return Err((
                sub,
                format!(
                    "`{key}` is not a setting of rule `{name}` (it takes: {})",
                    allowed[1..].join(", ").if_empty("nothing")
                ),
            ));
        }
    }
    let number = |key: &'static str| -> Result<Option<f64>, (Vec<&'static str>, String)> {
        match t.get(key) {
            None => Ok(None),
            Some(toml::Value::Float(f)) => Ok(Some(*f)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(_) => Err((vec![key], "must be a number".into())),
        }
    };
    Ok(match name {
        "exact" => FieldRule::Exact,
        "set_f1" => FieldRule::SetF1,
        "numeric" => {
            let tolerance = number("tolerance")?.unwrap_or(0.0);
            let relative = number("relative")?.unwrap_or(0.0);
            for (key, v) in [("tolerance", tolerance), ("relative", relative)] {
                if !v.is_finite() || v < 0.0 {
                    return Err((vec![key], "must be 0 or more".into()));
                }
            }
            FieldRule::Numeric {
                tolerance,
                relative,
            }
        }
        _ => {
            let threshold = number("threshold")?;
            if let Some(t) = threshold
                && !(0.0..=1.0).contains(&t)
            {
                return Err((vec!["threshold"], "must be between 0 and 1".into()));
            }
            FieldRule::Similarity { threshold }
        }
    })
}

trait IfEmpty {
    fn if_empty(self, other: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() { other.into() } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> RawEval {
        toml::from_str(text).unwrap()
    }

    fn schema() -> Value {
        json!({"properties": {"category": {}, "amount": {}, "tags": {}, "summary": {}}})
    }

    #[test]
    fn parses_each_rule() {
        let p = EvalPolicy::load(
            &raw(r#"[fields]
category = "exact"
amount = { rule = "numeric", tolerance = 0.01 }
tags = "set_f1"
summary = { rule = "similarity", threshold = 0.8 }"#),
            Some(&schema()),
        )
        .unwrap();
        assert_eq!(
            p.rule("amount"),
            FieldRule::Numeric {
                tolerance: 0.01,
                relative: 0.0
            }
        );
        assert_eq!(p.rule("tags"), FieldRule::SetF1);
        assert_eq!(
            p.rule("summary"),
            FieldRule::Similarity {
                threshold: Some(0.8)
            }
        );
        assert_eq!(p.rule("unlisted"), FieldRule::Exact);
    }

    #[test]
    fn names_each_problem() {
        let problems = EvalPolicy::load(
            &raw(r#"[fields]
colour = "exact"
category = "fuzzy"
amount = { rule = "numeric", tolerance = -1 }
tags = { rule = "set_f1", threshold = 0.5 }
summary = { rule = "similarity", threshold = 2 }"#),
            Some(&schema()),
        )
        .unwrap_err();
        let text: Vec<String> = problems
            .iter()
            .map(|(p, m)| format!("{}: {m}", p.join(".")))
            .collect();
        assert_eq!(problems.len(), 5, "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("fields.colour: `colour` is not a property"))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("fields.category.rule: `fuzzy` is not one of"))
        );
        assert!(text.contains(&"fields.amount.tolerance: must be 0 or more".to_string()));
        assert!(
            text.iter()
                .any(|t| t.starts_with("fields.tags.threshold: `threshold` is not a setting"))
        );
        assert!(text.contains(&"fields.summary.threshold: must be between 0 and 1".to_string()));
    }
}
