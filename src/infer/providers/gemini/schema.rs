//! JSON Schema to Gemini's `Schema`: the OpenAPI 3.0 subset that
//! `responseSchema` and function `parameters` accept. Local `$ref`s are
//! inlined, `type: [X, "null"]` and `anyOf` with null become `nullable`,
//! `const` becomes a one-value enum, and keys Gemini does not know are
//! dropped (the output layer still validates against the full schema).
//! `propertyOrdering` lists the properties in the order the parsed schema
//! holds them; seam's `serde_json` keeps object keys sorted, so that order
//! is alphabetical rather than the order written in the schema file.

use serde_json::{Map, Value, json};

/// `$ref`s deeper than this are cut (Gemini schemas cannot recurse).
const MAX_REF_DEPTH: usize = 8;

/// Keys copied as they are.
const KEPT: [&str; 10] = [
    "description",
    "format",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

/// Convert a JSON Schema document.
pub fn to_gemini(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object);
    convert(schema, defs, 0)
}

fn convert(node: &Value, defs: Option<&Map<String, Value>>, depth: usize) -> Value {
    let Some(obj) = node.as_object() else {
        // `true` / `{}`: anything; Gemini has no such type, so say nothing.
        return json!({});
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        let resolved = target
            .strip_prefix("#/$defs/")
            .or_else(|| target.strip_prefix("#/definitions/"))
            .and_then(|name| defs?.get(name));
        let mut out = match resolved {
            Some(def) if depth < MAX_REF_DEPTH => convert(def, defs, depth + 1),
            _ => json!({}),
        };
        // Siblings of `$ref` (a description, say) refine the target.
        let mut rest = obj.clone();
        rest.remove("$ref");
        if let (Some(out), Value::Object(extra)) =
            (out.as_object_mut(), convert_plain(&rest, defs, depth))
        {
            out.extend(extra);
        }
        return out;
    }
    convert_plain(obj, defs, depth)
}

fn convert_plain(
    obj: &Map<String, Value>,
    defs: Option<&Map<String, Value>>,
    depth: usize,
) -> Value {
    let mut out = Map::new();
    let mut nullable = obj
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    // type: "x" or ["x", "null"].
    let mut types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"null") {
        nullable = true;
        types.retain(|t| *t != "null");
    }
    match types.as_slice() {
        [] => {}
        [one] => {
            out.insert("type".into(), json!(gemini_type(one)));
        }
        many => {
            let variants: Vec<Value> = many
                .iter()
                .map(|t| json!({"type": gemini_type(t)}))
                .collect();
            out.insert("anyOf".into(), json!(variants));
        }
    }

    // enum and const: strings only in Gemini.
    let mut values: Option<Vec<Value>> = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(vs)), _) => Some(vs.clone()),
        (None, Some(c)) => Some(vec![c.clone()]),
        _ => None,
    };
    if let Some(vs) = values.as_mut() {
        if vs.iter().any(Value::is_null) {
            nullable = true;
            vs.retain(|v| !v.is_null());
        }
        if !vs.is_empty() && vs.iter().all(Value::is_string) {
            out.insert("enum".into(), json!(vs));
            out.entry("type").or_insert_with(|| json!("STRING"));
        }
    }

    // anyOf / oneOf: null variants become `nullable`; one variant left is
    // inlined.
    let variants = obj
        .get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(vs) = variants {
        let mut kept: Vec<Value> = Vec::new();
        for v in vs {
            if is_null_schema(v) {
                nullable = true;
            } else {
                kept.push(convert(v, defs, depth));
            }
        }
        match kept.len() {
            0 => {}
            1 => {
                if let Some(Value::Object(inner)) = kept.pop() {
                    for (k, v) in inner {
                        if k == "nullable" {
                            nullable |= v.as_bool().unwrap_or(false);
                        } else {
                            out.entry(k).or_insert(v);
                        }
                    }
                }
            }
            _ => {
                out.insert("anyOf".into(), json!(kept));
            }
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for part in all {
            if let Value::Object(inner) = convert(part, defs, depth) {
                merge_into(&mut out, inner);
            }
        }
    }

    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let converted: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), convert(v, defs, depth)))
            .collect();
        let order: Vec<&String> = props.keys().collect();
        out.insert("propertyOrdering".into(), json!(order));
        out.insert("properties".into(), Value::Object(converted));
        out.entry("type").or_insert_with(|| json!("OBJECT"));
    }
    if let Some(required) = obj.get("required").and_then(Value::as_array) {
        let known = obj.get("properties").and_then(Value::as_object);
        let kept: Vec<&Value> = required
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|r| known.is_none_or(|p| p.contains_key(r)))
            })
            .collect();
        if !kept.is_empty() {
            out.insert("required".into(), json!(kept));
        }
    }
    if let Some(items) = obj.get("items") {
        out.insert("items".into(), convert(items, defs, depth));
        out.entry("type").or_insert_with(|| json!("ARRAY"));
    }
    for key in KEPT {
        if let Some(v) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if nullable {
        out.insert("nullable".into(), json!(true));
    }
    Value::Object(out)
}

fn gemini_type(t: &str) -> String {
    t.to_ascii_uppercase()
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const").is_some_and(Value::is_null)
}

/// Merge an `allOf` part: properties and required lists add up, other
/// keys keep their first value.
fn merge_into(out: &mut Map<String, Value>, part: Map<String, Value>) {
    for (k, v) in part {
        match (k.as_str(), out.get_mut(&k), v) {
            ("properties", Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
            ("required" | "propertyOrdering", Some(Value::Array(have)), Value::Array(add)) => {
                for a in add {
                    if !have.contains(&a) {
                        have.push(a);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                out.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triage_schema_converts() {
        let text = include_str!("../../../../examples/ticket-triage/schemas/triage.json");
        let schema: Value = serde_json::from_str(text).unwrap();
        let g = to_gemini(&schema);
        assert_eq!(
            g,
            json!({
                "type": "OBJECT",
                "required": ["category", "priority", "summary"],
                "propertyOrdering": ["category", "priority", "summary"],
                "properties": {
                    "category": {"type": "STRING", "enum": ["billing", "bug", "account", "feature_request", "other"]},
                    "priority": {"type": "STRING", "enum": ["low", "normal", "high", "urgent"]},
                    "summary": {"type": "STRING", "minLength": 1, "maxLength": 200}
                }
            })
        );
        for dropped in ["$schema", "title", "additionalProperties"] {
            assert!(g.get(dropped).is_none(), "{dropped}");
        }
    }

    #[test]
    fn nullable_const_refs_and_unsupported_keys() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.com/order",
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "customer", "note", "lines", "ghost"],
            "properties": {
                "kind": {"const": "order", "title": "Kind"},
                "customer": {"$ref": "#/$defs/customer", "description": "Who ordered"},
                "note": {"type": ["string", "null"], "pattern": "^[a-z]+$", "default": null},
                "lines": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/line"}},
                "tier": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 3}, {"type": "null"}]},
                "ref_or_text": {"oneOf": [{"type": "string"}, {"type": "number", "format": "double"}]},
                "when": {"type": "string", "format": "date-time", "examples": ["2025-01-01T00:00:00Z"]},
                "size": {"enum": [1, 2, 3]}
            },
            "$defs": {
                "customer": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                "line": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}
            }
        });
        let g = to_gemini(&schema);
        let p = &g["properties"];
        assert_eq!(p["kind"], json!({"type": "STRING", "enum": ["order"]}));
        assert_eq!(
            p["customer"],
            json!({"type": "OBJECT", "description": "Who ordered", "required": ["id"],
                   "propertyOrdering": ["id"], "properties": {"id": {"type": "STRING"}}})
        );
        assert_eq!(p["note"], json!({"type": "STRING", "nullable": true}));
        assert_eq!(p["lines"]["minItems"], 1);
        assert_eq!(
            p["lines"]["items"]["properties"]["qty"],
            json!({"type": "INTEGER"})
        );
        assert_eq!(
            p["tier"],
            json!({"type": "INTEGER", "minimum": 1, "maximum": 3, "nullable": true})
        );
        assert_eq!(
            p["ref_or_text"],
            json!({"anyOf": [{"type": "STRING"}, {"type": "NUMBER", "format": "double"}]})
        );
        assert_eq!(p["when"], json!({"type": "STRING", "format": "date-time"}));
        assert_eq!(p["size"], json!({}), "numeric enums are left to validation");
        assert_eq!(
            g["required"],
            json!(["kind", "customer", "note", "lines"]),
            "unknown names dropped"
        );
        for dropped in ["$schema", "$id", "$defs", "additionalProperties"] {
            assert!(g.get(dropped).is_none(), "{dropped}");
        }
    }

    #[test]
    fn recursive_refs_are_cut() {
        let schema = json!({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
            "properties": {"child": {"$ref": "#/$defs/node"}}}}});
        let g = to_gemini(&schema);
        let mut depth = 0;
        let mut node = &g;
        while let Some(child) = node.pointer("/properties/child") {
            node = child;
            depth += 1;
        }
        assert_eq!(depth, MAX_REF_DEPTH);
    }
}
