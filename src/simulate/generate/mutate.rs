//! Content faults: schema violations, broken JSON, invented quotes, fences.

use fastrand::Rng;
use serde_json::Value;

use super::schema::{effective, types};

enum Step {
    Key(String),
    Index(usize),
}

enum Edit {
    DropRequired(Vec<Step>, String),
    OutsideEnum(Vec<Step>, Value),
    WrongType(Vec<Step>),
}

impl Edit {
    fn kind(&self) -> u8 {
        match self {
            Edit::DropRequired(..) => 0,
            Edit::OutsideEnum(..) => 1,
            Edit::WrongType(..) => 2,
        }
    }
}

/// A copy of `instance` that violates `schema`: a required property dropped,
/// a value outside its enum, or a value of the wrong type. With a validator
/// the result is checked to be invalid.
pub fn violate(
    instance: &Value,
    schema: &Value,
    rng: &mut Rng,
    validator: Option<&jsonschema::Validator>,
) -> Value {
    let mut edits = Vec::new();
    collect(schema, schema, instance, &mut Vec::new(), &mut edits, 0);
    while !edits.is_empty() {
        let mut kinds: Vec<u8> = edits.iter().map(Edit::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let kind = kinds[rng.usize(0..kinds.len())];
        let of_kind: Vec<usize> = (0..edits.len())
            .filter(|&i| edits[i].kind() == kind)
            .collect();
        let edit = edits.swap_remove(of_kind[rng.usize(0..of_kind.len())]);
        let mut out = instance.clone();
        apply(&mut out, &edit);
        if validator.is_none_or(|v| !v.is_valid(&out)) {
            return out;
        }
    }
    match instance {
        Value::Object(_) => Value::Array(vec![instance.clone()]),
        Value::String(_) => Value::from(0),
        _ => Value::String("not what the schema asked for".into()),
    }
}

fn collect(
    schema: &Value,
    root: &Value,
    inst: &Value,
    path: &mut Vec<Step>,
    out: &mut Vec<Edit>,
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    let eff = effective(schema, root);
    let Value::Object(map) = eff.as_ref() else {
        return;
    };
    if let Some(Value::Array(e)) = map.get("enum") {
        out.push(Edit::OutsideEnum(copy(path), outside(e)));
    } else if let Some(c) = map.get("const") {
        out.push(Edit::OutsideEnum(
            copy(path),
            outside(std::slice::from_ref(c)),
        ));
    }
    if !path.is_empty() && map.get("type").is_some_and(|t| !types(t).is_empty()) {
        out.push(Edit::WrongType(copy(path)));
    }
    match inst {
        Value::Object(o) => {
            if let Some(Value::Array(req)) = map.get("required") {
                for r in req
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|r| o.contains_key(*r))
                {
                    out.push(Edit::DropRequired(copy(path), r.to_string()));
                }
            }
            if let Some(Value::Object(props)) = map.get("properties") {
                for (k, v) in o {
                    if let Some(s) = props.get(k) {
                        path.push(Step::Key(k.clone()));
                        collect(s, root, v, path, out, depth + 1);
                        path.pop();
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items @ Value::Object(_)) = map.get("items") {
                for (i, v) in a.iter().enumerate().take(3) {
                    path.push(Step::Index(i));
                    collect(items, root, v, path, out, depth + 1);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn copy(path: &[Step]) -> Vec<Step> {
    path.iter()
        .map(|s| match s {
            Step::Key(k) => Step::Key(k.clone()),
            Step::Index(i) => Step::Index(*i),
        })
        .collect()
}

/// A value of the same kind that is not in `values`.
fn outside(values: &[Value]) -> Value {
    if values.iter().all(Value::is_number) {
        let max = values.iter().filter_map(Value::as_f64).fold(0.0, f64::max);
        return Value::from(max.floor() as i64 + 1);
    }
    [
        "unknown",
        "other_value",
        "n/a",
        "miscellaneous",
        "unspecified",
    ]
    .iter()
    .map(|s| Value::String((*s).to_string()))
    .find(|v| !values.contains(v))
    .unwrap_or(Value::Bool(false))
}

fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::from(12345),
        Value::Number(_) => Value::String("forty-two".into()),
        Value::Bool(_) => Value::String("yes".into()),
        Value::Null => Value::from(0),
        Value::Object(_) => Value::String("[object Object]".into()),
        Value::Array(_) => Value::String("first, second".into()),
    }
}

fn apply(root: &mut Value, edit: &Edit) {
    let (path, last) = match edit {
        Edit::DropRequired(p, _) | Edit::OutsideEnum(p, _) | Edit::WrongType(p) => (p, edit),
    };
    let mut node = root;
    for step in path {
        let next = match (step, node) {
            (Step::Key(k), Value::Object(o)) => o.get_mut(k),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    match last {
        Edit::DropRequired(_, key) => {
            if let Value::Object(o) = node {
                o.remove(key);
            }
        }
        Edit::OutsideEnum(_, v) => *node = v.clone(),
        Edit::WrongType(_) => *node = wrong_type(node),
    }
}

/// Broken JSON: truncated, a trailing comma, or a missing closing bracket.
pub fn malformed(json: &str, rng: &mut Rng) -> String {
    let first = rng.usize(0..3);
    for k in 0..3 {
        let candidate = match (first + k) % 3 {
            0 => {
                let n = json.chars().count();
                let keep = (n * rng.usize(40..=80) / 100).clamp(1, n.saturating_sub(1).max(1));
                Some(json.chars().take(keep).collect::<String>())
            }
            1 => json
                .strip_suffix(['}', ']'])
                .map(|head| format!("{head},{}", &json[head.len()..])),
            _ => json.strip_suffix(['}', ']']).map(str::to_string),
        };
        if let Some(c) = candidate
            && serde_json::from_str::<Value>(&c).is_err()
        {
            return c;
        }
    }
    format!("{json},")
}

/// The JSON wrapped in markdown fences, pretty-printed as models tend to.
pub fn fenced(json: &str) -> String {
    let body = serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string());
    format!("```json\n{body}\n```")
}

const INVENTED: &[&str] = &[
    "According to the signed contract, a full refund is guaranteed within 24 hours",
    "The account was flagged for review by the security team on 12 March",
    "Our records show the order shipped on 2 February via express courier",
    "The customer confirmed they had already reset their password twice",
    "Section 4.2 of the service agreement waives all late fees",
];

/// Replace quote-like strings (keys containing quote, evidence, excerpt,
/// citation) with invented text; returns whether anything changed.
pub fn fabricate(v: &mut Value, rng: &mut Rng) -> bool {
    let mut changed = false;
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                let k = k.to_ascii_lowercase();
                let quote_like = ["quote", "evidence", "excerpt", "citation"]
                    .iter()
                    .any(|q| k.contains(q));
                if quote_like && x.is_string() {
                    *x = Value::String(INVENTED[rng.usize(0..INVENTED.len())].to_string());
                    changed = true;
                } else {
                    changed |= fabricate(x, rng);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                changed |= fabricate(x, rng);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::generate::instance::instance;
    use crate::simulate::generate::instance::tests::triage_schema;
    use crate::simulate::generate::text::Words;
    use serde_json::json;

    #[test]
    fn violations_are_invalid() {
        let words = Words::new("billing problem with a double charge");
        let schemas = [
            triage_schema(),
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
            json!({"type": "array", "items": {"type": "object", "properties": {"x": {"type": "boolean"}}}}),
            json!({"type": "string"}),
            json!({"$defs": {"s": {"type": "string", "enum": ["a", "b"]}}, "type": "object",
                   "properties": {"v": {"$ref": "#/$defs/s"}}}),
        ];
        for schema in schemas {
            let validator = jsonschema::validator_for(&schema).unwrap();
            for seed in 0..20 {
                let good = instance(&schema, &words, seed, Some(&validator));
                assert!(validator.is_valid(&good));
                let mut rng = Rng::with_seed(seed);
                let bad = violate(&good, &schema, &mut rng, Some(&validator));
                assert!(!validator.is_valid(&bad), "{schema}: {bad}");
                // Even without a validator the first edit is a real violation here.
                let bad = violate(&good, &schema, &mut Rng::with_seed(seed), None);
                assert!(!validator.is_valid(&bad), "{schema}: {bad}");
            }
        }
    }

    #[test]
    fn malformed_never_parses_and_fenced_has_fences() {
        let mut rng = Rng::with_seed(1);
        for text in [r#"{"a":1,"b":[1,2]}"#, "{}", "[1]", "5", r#""x""#] {
            for _ in 0..20 {
                let m = malformed(text, &mut rng);
                assert!(serde_json::from_str::<Value>(&m).is_err(), "{text} -> {m}");
            }
        }
        let f = fenced(r#"{"a":1}"#);
        assert!(f.starts_with("```json\n{") && f.ends_with("}\n```"));
        let inner = f.trim_start_matches("```json").trim_end_matches("```");
        assert_eq!(
            serde_json::from_str::<Value>(inner).unwrap(),
            json!({"a": 1})
        );
    }

    #[test]
    fn fabricate_replaces_quotes() {
        let mut v = json!({"answer": "x", "quotes": [{"quote": "real words", "source_id": "d1"}]});
        assert!(fabricate(&mut v, &mut Rng::with_seed(2)));
        assert_ne!(v["quotes"][0]["quote"], "real words");
        assert_eq!(v["answer"], "x");
        assert!(!fabricate(&mut json!({"a": 1}), &mut Rng::with_seed(2)));
    }
}
