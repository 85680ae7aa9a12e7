//! Comparing two values of one output field by a declared rule: `exact`
//! (JSON equality, `1 == 1.0`), `numeric` (within an absolute tolerance)
//! or `set` (the same members, order and repeats aside). Dual generation
//! uses it to decide whether two answers agree; `seam eval` scores with
//! the same equality and set F1 (`eval/rules.rs`).

use serde::Serialize;
use serde_json::Value;

/// How two values of a field are compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    Exact,
    Numeric { tolerance: f64 },
    Set,
}

impl Rule {
    /// Parse a declared rule: `"exact"`, `"set"`, `"numeric"` (tolerance
    /// 0), or `{"rule": "numeric", "tolerance": 0.01}` (any rule may take
    /// the object form). The error says what is wrong, without location.
    pub fn parse(v: &Value) -> Result<Rule, String> {
        let (name, tolerance) = match v {
            Value::String(s) => (s.as_str(), None),
            Value::Object(o) => {
                if let Some(k) = o.keys().find(|k| *k != "rule" && *k != "tolerance") {
                    return Err(format!("unknown key `{k}` (expected `rule`, `tolerance`)"));
                }
                let name = o
                    .get("rule")
                    .and_then(Value::as_str)
                    .ok_or("needs `rule` (exact, numeric or set)")?;
                (name, o.get("tolerance"))
            }
            _ => {
                return Err(
                    "must be a rule name (exact, numeric, set) or {\"rule\": …, \"tolerance\": …}"
                        .into(),
                );
            }
        };
        match (name, tolerance) {
            ("exact", None) => Ok(Rule::Exact),
            ("set", None) => Ok(Rule::Set),
            ("numeric", None) => Ok(Rule::Numeric { tolerance: 0.0 }),
            ("numeric", Some(t)) => match t.as_f64() {
                Some(t) if t >= 0.0 && t.is_finite() => Ok(Rule::Numeric { tolerance: t }),
                _ => Err(format!("tolerance must be a number >= 0, not {t}")),
            },
            ("exact" | "set", Some(_)) => Err(format!("rule `{name}` takes no tolerance")),
            (other, _) => Err(format!(
                "unknown rule `{other}` (expected exact, numeric or set)"
            )),
        }
    }

    /// Whether `a` and `b` agree under this rule. A field absent (or null)
    /// in both agrees; absent in one only does not.
    pub fn agree(self, a: Option<&Value>, b: Option<&Value>) -> bool {
        let (a, b) = match (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null())) {
            (None, None) => return true,
            (Some(a), Some(b)) => (a, b),
            _ => return false,
        };
        match self {
            Rule::Exact => json_equal(a, b),
            Rule::Numeric { tolerance } => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= tolerance + f64::EPSILON * x.abs().max(1.0),
                _ => json_equal(a, b),
            },
            Rule::Set => match (a.as_array(), b.as_array()) {
                (Some(x), Some(y)) => set_f1(x, y) == 1.0,
                _ => json_equal(a, b),
            },
        }
    }
}

/// JSON equality where numbers compare by value, recursively.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// F1 of two arrays taken as sets (duplicates ignored; elements equal by
/// [`json_equal`]). Both empty: 1.
pub fn set_f1(expected: &[Value], got: &[Value]) -> f64 {
    let e = dedup(expected);
    let g = dedup(got);
    if e.is_empty() && g.is_empty() {
        return 1.0;
    }
    let hits = e
        .iter()
        .filter(|x| g.iter().any(|y| json_equal(x, y)))
        .count();
    2.0 * hits as f64 / (e.len() + g.len()) as f64
}

fn dedup(values: &[Value]) -> Vec<&Value> {
    let mut out: Vec<&Value> = Vec::new();
    for v in values {
        if !out.iter().any(|w| json_equal(v, w)) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agree(rule: Rule, a: Value, b: Value) -> bool {
        rule.agree(Some(&a), Some(&b))
    }

    #[test]
    fn exact_compares_numbers_by_value_and_everything_else_strictly() {
        assert!(agree(Rule::Exact, json!(1), json!(1.0)));
        assert!(agree(Rule::Exact, json!({"a": [1, 2.0]}), json!({"a": [1.0, 2]})));
        assert!(!agree(Rule::Exact, json!("billing"), json!("Billing")));
        assert!(!agree(Rule::Exact, json!([1, 2]), json!([2, 1])));
        assert!(!agree(Rule::Exact, json!(1), json!("1")));
    }

    #[test]
    fn numeric_allows_the_tolerance_and_no_more() {
        let r = Rule::Numeric { tolerance: 0.01 };
        assert!(agree(r, json!(100.0), json!(100.01)));
        assert!(agree(r, json!(100), json!(99.99)));
        assert!(!agree(r, json!(100.0), json!(100.02)));
        assert!(!agree(Rule::Numeric { tolerance: 0.0 }, json!(3), json!(4)));
        assert!(agree(Rule::Numeric { tolerance: 0.0 }, json!(3), json!(3.0)));
        // Not numbers: exact.
        assert!(!agree(r, json!("100"), json!(100)));
    }

    #[test]
    fn set_ignores_order_and_repeats() {
        assert!(agree(Rule::Set, json!(["a", "b"]), json!(["b", "a", "a"])));
        assert!(agree(Rule::Set, json!([1, 2]), json!([2.0, 1])));
        assert!(!agree(Rule::Set, json!(["a", "b"]), json!(["a"])));
        assert!(!agree(Rule::Set, json!(["a"]), json!(["A"])));
    }

    #[test]
    fn absence_agrees_only_with_absence() {
        assert!(Rule::Exact.agree(None, None));
        assert!(Rule::Exact.agree(Some(&Value::Null), None));
        assert!(!Rule::Exact.agree(Some(&json!(1)), None));
        assert!(!Rule::Set.agree(None, Some(&json!([]))));
    }

    #[test]
    fn rules_parse_with_clear_errors() {
        assert_eq!(Rule::parse(&json!("exact")), Ok(Rule::Exact));
        assert_eq!(Rule::parse(&json!("set")), Ok(Rule::Set));
        assert_eq!(
            Rule::parse(&json!({"rule": "numeric", "tolerance": 0.5})),
            Ok(Rule::Numeric { tolerance: 0.5 })
        );
        assert!(Rule::parse(&json!("fuzzy")).unwrap_err().contains("unknown rule `fuzzy`"));
        assert!(Rule::parse(&json!({"rule": "numeric", "tolerance": -1})).unwrap_err().contains(">= 0"));
        assert!(Rule::parse(&json!({"rule": "set", "tolerance": 1})).unwrap_err().contains("no tolerance"));
        assert!(Rule::parse(&json!({"rule": "exact", "tol": 1})).unwrap_err().contains("unknown key `tol`"));
        assert!(Rule::parse(&json!(true)).is_err());
    }
}
