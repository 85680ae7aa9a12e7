//! The `waver` content fault: a valid answer with its decisive values
//! changed to other valid ones, as a model that makes a value up does from
//! one sample to the next. Every enum value moves to another member,
//! numbers are nudged by 10–50 % (integers by at least 1), booleans flip
//! and arrays of several items lose their last; free text is kept. Edits
//! the schema would refuse (bounds, minItems) are undone.

use fastrand::Rng;
use serde_json::{Map, Value};

use super::schema::effective;

/// A copy of `instance` with its values wavered where `schema` allows;
/// with a validator, an edit that made it invalid is not kept.
pub fn waver(
    instance: &Value,
    schema: &Value,
    rng: &mut Rng,
    validator: Option<&jsonschema::Validator>,
) -> Value {
    let mut out = instance.clone();
    edit(schema, schema, &mut out, rng, true, 0);
    if validator.is_some_and(|v| !v.is_valid(&out)) {
        // One edit too many: keep the enum and boolean moves only, which a
        // schema cannot refuse unless it is contradictory.
        let mut safer = instance.clone();
        edit(schema, schema, &mut safer, rng, false, 0);
        if validator.is_none_or(|v| v.is_valid(&safer)) {
            return safer;
        }
        return instance.clone();
    }
    out
}

/// Waver `v` in place: enums and booleans always; with `all`, numbers and
/// array lengths too.
fn edit(schema: &Value, root: &Value, v: &mut Value, rng: &mut Rng, all: bool, depth: usize) {
    if depth > 12 {
        return;
    }
    let eff = effective(schema, root);
    let Value::Object(map) = eff.as_ref() else {
        return;
    };
    if move_enum(map, v, rng) {
        return;
    }
    match v {
        Value::Bool(b) => *b = !*b,
        Value::Number(n) if all => *v = nudge(n, map, rng),
        Value::Object(o) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (k, x) in o.iter_mut() {
                    if let Some(s) = props.get(k) {
                        edit(s, root, x, rng, all, depth + 1);
                    }
                }
            }
        }
        Value::Array(a) => {
            let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            if all && a.len() > 1 && a.len() > min {
                a.pop();
            }
            if let Some(items) = map.get("items") {
                for x in a.iter_mut() {
                    edit(items, root, x, rng, all, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Move an enum value to another member; false when the schema has no
/// enum (or only one member).
fn move_enum(map: &Map<String, Value>, v: &mut Value, rng: &mut Rng) -> bool {
    let Some(Value::Array(members)) = map.get("enum") else {
        return false;
    };
    let others: Vec<&Value> = members.iter().filter(|m| *m != v).collect();
    if others.is_empty() {
        return true;
    }
    *v = others[rng.usize(0..others.len())].clone();
    true
}

/// A number 10–50 % away (at least 1 for integers), within the schema's
/// bounds when moving up would leave them.
fn nudge(n: &serde_json::Number, map: &Map<String, Value>, rng: &mut Rng) -> Value {
    let x = n.as_f64().unwrap_or(0.0);
    let integer = n.is_i64() || n.is_u64() || map.get("type").and_then(Value::as_str) == Some("integer");
    let step = {
        let s = x.abs() * f64::from(rng.u8(10..=50)) / 100.0;
        if integer { s.round().max(1.0) } else if s == 0.0 { 1.0 } else { (s * 100.0).round() / 100.0 }
    };
    let max = map.get("maximum").and_then(Value::as_f64).unwrap_or(f64::INFINITY);
    let min = map.get("minimum").and_then(Value::as_f64).unwrap_or(f64::NEG_INFINITY);
    let up = x + step;
    let moved = if up <= max { up } else if x - step >= min { x - step } else { (x + min) / 2.0 };
    if integer {
        Value::from(moved as i64)
    } else {
        serde_json::Number::from_f64(moved).map_or(Value::from(0), Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::generate::instance::instance;
    use crate::simulate::generate::text::Words;
    use serde_json::json;

    #[test]
    fn wavered_answers_stay_valid_and_change_every_decisive_value() {
        let schema = json!({"type": "object", "required": ["category", "total", "paid", "lines"],
            "properties": {
                "category": {"enum": ["billing", "bug", "account"]},
                "total": {"type": "number", "minimum": 0},
                "count": {"type": "integer", "maximum": 10},
                "paid": {"type": "boolean"},
                "lines": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "note": {"type": "string"}
            }});
        let validator = jsonschema::validator_for(&schema).unwrap();
        let words = Words::new("a double charge on the invoice");
        for seed in 0..30 {
            let good = instance(&schema, &words, seed, Some(&validator));
            let bad = waver(&good, &schema, &mut Rng::with_seed(seed), Some(&validator));
            assert!(validator.is_valid(&bad), "{bad}");
            assert_ne!(good["category"], bad["category"]);
            assert_ne!(good["paid"], bad["paid"]);
            assert_ne!(good["total"], bad["total"], "{good} -> {bad}");
            if let Some(c) = good.get("count") {
                assert_ne!(*c, bad["count"]);
            }
            assert_eq!(good["note"], bad["note"]);
        }
    }

    #[test]
    fn bounds_are_kept() {
        let map = json!({"type": "integer", "maximum": 5, "minimum": 0});
        let map = map.as_object().unwrap();
        for seed in 0..20 {
            let v = nudge(&serde_json::Number::from(5), map, &mut Rng::with_seed(seed));
            let v = v.as_i64().unwrap();
            assert!((0..5).contains(&v), "{v}");
        }
    }
}
