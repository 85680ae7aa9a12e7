//! Schema plumbing shared by the generator and the mutations: `$ref`
//! resolution and `allOf` merging.

use std::borrow::Cow;

use serde_json::{Map, Value};

const MAX_REF_CHAIN: usize = 16;

/// Resolve a local reference (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer).
pub fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(&percent_decode(pointer))
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The effective keywords of `schema`, with its `$ref` target and `allOf`
/// members merged in. Borrowed when there is nothing to merge.
pub fn effective<'a>(schema: &'a Value, root: &'a Value) -> Cow<'a, Value> {
    effective_n(schema, root, 0)
}

fn effective_n<'a>(schema: &'a Value, root: &'a Value, depth: usize) -> Cow<'a, Value> {
    let Value::Object(map) = schema else {
        return Cow::Borrowed(schema);
    };
    let target = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve_ref(root, r));
    let all_of = map.get("allOf").and_then(Value::as_array);
    if depth > MAX_REF_CHAIN || (target.is_none() && all_of.is_none()) {
        return Cow::Borrowed(schema);
    }
    let mut out = map.clone();
    out.remove("$ref");
    out.remove("allOf");
    let parts = target.into_iter().chain(all_of.into_iter().flatten());
    for part in parts {
        match effective_n(part, root, depth + 1).as_ref() {
            Value::Object(m) => merge(&mut out, m),
            Value::Bool(false) => return Cow::Owned(Value::Bool(false)),
            _ => {}
        }
    }
    Cow::Owned(Value::Object(out))
}

/// Merge the keywords of `src` into `dst` so that an instance of the result
/// satisfies both, as far as simple keywords allow.
pub fn merge(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, v) in src {
        let Some(d) = dst.get_mut(k) else {
            dst.insert(k.clone(), v.clone());
            continue;
        };
        match k.as_str() {
            "properties" => {
                if let (Value::Object(d), Value::Object(s)) = (d, v) {
                    for (pk, pv) in s {
                        match d.get_mut(pk) {
                            Some(existing) => {
                                let a = existing.take();
                                *existing = serde_json::json!({ "allOf": [a, pv] });
                            }
                            None => {
                                d.insert(pk.clone(), pv.clone());
                            }
                        }
                    }
                }
            }
            "required" => {
                if let (Value::Array(d), Value::Array(s)) = (d, v) {
                    for r in s {
                        if !d.contains(r) {
                            d.push(r.clone());
                        }
                    }
                }
            }
            "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties" => {
                if let (Some(a), Some(b)) = (d.as_f64(), v.as_f64())
                    && b > a
                {
                    *d = v.clone();
                }
            }
            "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties" => {
                if let (Some(a), Some(b)) = (d.as_f64(), v.as_f64())
                    && b < a
                {
                    *d = v.clone();
                }
            }
            "enum" => {
                if let (Value::Array(d), Value::Array(s)) = (d, v) {
                    let kept: Vec<Value> = d.iter().filter(|x| s.contains(x)).cloned().collect();
                    if !kept.is_empty() {
                        *d = kept;
                    }
                }
            }
            "type" => {
                let s = types(v);
                let kept: Vec<Value> = types(d)
                    .into_iter()
                    .filter(|t| s.contains(t) || (*t == "integer" && s.contains(&"number")))
                    .map(|t| Value::String(t.to_string()))
                    .collect();
                match kept.len() {
                    0 => {}
                    1 => *d = kept.into_iter().next().unwrap_or(Value::Null),
                    _ => *d = Value::Array(kept),
                }
            }
            "additionalProperties" if *v == Value::Bool(false) => *d = Value::Bool(false),
            _ => {}
        }
    }
}

/// The names in a `type` keyword.
pub fn types(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The JSON type an instance of `map` should have.
pub fn pick_type(map: &Map<String, Value>) -> &str {
    if let Some(t) = map.get("type") {
        let ts = types(t);
        if let Some(t) = ts.iter().find(|t| **t != "null") {
            return t;
        }
        if !ts.is_empty() {
            return "null";
        }
    }
    let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    if has(&[
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
    ]) {
        "object"
    } else if has(&[
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
    ]) {
        "array"
    } else if has(&[
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]) {
        "number"
    } else {
        "string"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_refs_and_all_of() {
        let root = json!({
            "$defs": {"base": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}},
            "allOf": [{"$ref": "#/$defs/base"}, {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]
        });
        let e = effective(&root, &root);
        assert_eq!(e["required"], json!(["a", "b"]));
        assert_eq!(e["type"], "object");
        assert!(e["properties"]["b"].is_object());
        assert_eq!(
            resolve_ref(&root, "#/%24defs/base"),
            root.pointer("/$defs/base")
        );
    }
}
