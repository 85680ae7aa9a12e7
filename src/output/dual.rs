//! Dual generation for high-stakes fields (issue 8, item 3).
//!
//! The output schema marks a property `"x-seam-dual": RULE` (`"exact"`,
//! `"set"`, `{"rule": "numeric", "tolerance": 0.01}`) when a wrong value
//! would be costly: the answer is generated a second time (another sample
//! of the model that answered, or the pipeline's declared `dual.model`) and
//! each marked field of the two answers is compared by its rule. Any
//! divergence is a hallucination canary: at least one of the answers made
//! the value up, and the run goes to review (or acts, flagged, as the
//! pipeline declares).

use serde::Serialize;
use serde_json::Value;

use super::compare::Rule;

pub const MARK: &str = "x-seam-dual";
/// `$ref` hops and nesting followed before giving up.
const MAX_DEPTH: usize = 64;

/// `[pipelines.NAME.dual]`, validated, with the marked fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DualPolicy {
    /// The marked fields; empty: no second generation.
    pub fields: Vec<DualField>,
    /// The second generation's model; `None`: the model that answered.
    pub model: Option<String>,
    /// The second generation's temperature; `None`: the pipeline's.
    pub temperature: Option<f64>,
    pub on_divergence: OnDivergence,
}

/// What a run does when the two answers diverge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDivergence {
    /// The run goes to review (`hallucination_canary`).
    #[default]
    Review,
    /// The run acts on the first answer, flagged in the audit and metrics.
    Act,
}

/// A marked property: where it is in an output, and how it is compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DualField {
    pub pointer: String,
    #[serde(flatten)]
    pub rule: Rule,
}

/// A marked field whose two values do not agree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    pub pointer: String,
    #[serde(flatten)]
    pub rule: Rule,
}

/// The fields an output schema marks, as JSON pointers into an output.
/// Marks are honoured on object properties (nested objects and local
/// `$ref`s included); a mark anywhere else (array items, combinators) or
/// an unknown rule is an error: (where in the schema, what is wrong).
pub fn marked_fields(schema: &Value) -> Result<Vec<DualField>, Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut honoured = Vec::new();
    walk(schema, schema, "", "", 0, &mut found, &mut honoured, &mut errors);
    let mut all = Vec::new();
    every_mark(schema, "", 0, &mut all);
    for at in all {
        if !honoured.contains(&at) {
            errors.push((
                at,
                format!("`{MARK}` is honoured on object properties only (not inside array items or combinators); mark the array or the object that holds the field"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Value,
    schema: &Value,
    at_schema: &str,
    at_output: &str,
    depth: usize,
    found: &mut Vec<DualField>,
    honoured: &mut Vec<String>,
    errors: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let (schema, at_schema) = resolve(root, schema, at_schema);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        let sub_at = format!("{at_schema}/properties/{}", escape(key));
        let out_at = format!("{at_output}/{}", escape(key));
        let (resolved, resolved_at) = resolve(root, sub, &sub_at);
        let mark = [(sub, sub_at.as_str()), (resolved, resolved_at.as_str())]
            .into_iter()
            .find_map(|(s, at)| s.get(MARK).map(|m| (m, at.to_string())));
        match mark {
            Some((m, mark_at)) => {
                honoured.push(mark_at.clone());
                match Rule::parse(m) {
                    Ok(rule) => found.push(DualField {
                        pointer: out_at,
                        rule,
                    }),
                    Err(e) => errors.push((format!("{mark_at}/{MARK}"), e)),
                }
            }
            None => walk(root, resolved, &resolved_at, &out_at, depth + 1, found, honoured, errors),
        }
    }
}

/// Follow local `$ref`s, with the schema location reached.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value, at: &str) -> (&'a Value, String) {
    let mut at = at.to_string();
    for _ in 0..MAX_DEPTH {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p).map(|t| (t, p)))
        {
            Some((target, p)) => {
                schema = target;
                at = p.to_string();
            }
            None => break,
        }
    }
    (schema, at)
}

/// Every schema location that carries the mark.
fn every_mark(v: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(o) => {
            if o.contains_key(MARK) {
                out.push(at.to_string());
            }
            for (k, x) in o {
                if k != MARK {
                    every_mark(x, &format!("{at}/{}", escape(k)), depth + 1, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                every_mark(x, &format!("{at}/{i}"), depth + 1, out);
            }
        }
        _ => {}
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The marked fields on which two answers disagree.
pub fn compare(fields: &[DualField], first: &Value, second: &Value) -> Vec<Divergence> {
    fields
        .iter()
        .filter(|f| !f.rule.agree(first.pointer(&f.pointer), second.pointer(&f.pointer)))
        .map(|f| Divergence {
            pointer: f.pointer.clone(),
            rule: f.rule,
        })
        .collect()
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invoice_schema() -> Value {
        json!({
            "type": "object",
            "$defs": {"money": {"type": "number", "x-seam-dual": {"rule": "numeric", "tolerance": 0.01}}},
            "properties": {
                "vendor": {"type": "string"},
                "total": {"$ref": "#/$defs/money"},
                "currency": {"enum": ["EUR", "USD"], "x-seam-dual": "exact"},
                "tags": {"type": "array", "items": {"type": "string"}, "x-seam-dual": "set"},
                "bank": {"type": "object", "properties": {"iban": {"type": "string", "x-seam-dual": "exact"}}}
            }
        })
    }

    #[test]
    fn marks_are_found_through_refs_and_nested_objects() {
        let fields = marked_fields(&invoice_schema()).unwrap();
        let mut pointers: Vec<_> = fields.iter().map(|f| f.pointer.as_str()).collect();
        pointers.sort();
        assert_eq!(pointers, ["/bank/iban", "/currency", "/tags", "/total"]);
        let total = fields.iter().find(|f| f.pointer == "/total").unwrap();
        assert_eq!(total.rule, Rule::Numeric { tolerance: 0.01 });
    }

    #[test]
    fn marks_where_they_cannot_be_honoured_and_bad_rules_are_errors() {
        let schema = json!({"type": "object", "properties": {
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "amount": {"type": "number", "x-seam-dual": "numeric"}}}},
            "kind": {"type": "string", "x-seam-dual": "fuzzy"}
        }});
        let errors = marked_fields(&schema).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|(at, m)| at == "/properties/lines/items/properties/amount" && m.contains("object properties only")));
        assert!(errors.iter().any(|(at, m)| at == "/properties/kind/x-seam-dual" && m.contains("unknown rule `fuzzy`")));
    }

    #[test]
    fn divergent_fields_are_named_by_pointer() {
        let fields = marked_fields(&invoice_schema()).unwrap();
        let a = json!({"vendor": "ACME", "total": 120.5, "currency": "EUR", "tags": ["a", "b"], "bank": {"iban": "DE89"}});
        // Unmarked vendor differs; total within tolerance; tags reordered.
        let b = json!({"vendor": "Acme GmbH", "total": 120.505, "currency": "EUR", "tags": ["b", "a"], "bank": {"iban": "DE89"}});
        assert!(compare(&fields, &a, &b).is_empty());
        let c = json!({"vendor": "ACME", "total": 210.5, "currency": "USD", "tags": ["a"], "bank": {}});
        let mut diverged: Vec<_> = compare(&fields, &a, &c).into_iter().map(|d| d.pointer).collect();
        diverged.sort();
        assert_eq!(diverged, ["/bank/iban", "/currency", "/tags", "/total"]);
    }
}
