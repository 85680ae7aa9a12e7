//! Gemini's OpenAPI-subset `Schema` → plain JSON Schema: upper-case types
//! lowered, `nullable` folded into the type, int64 fields given as strings
//! read as numbers, and annotations JSON Schema lacks (`propertyOrdering`,
//! `example`, numeric `format`s) dropped. Unknown fields are rejected, as
//! Google's protobuf parser does.

use serde_json::{Map, Value, json};

use super::error::ApiError;

const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];
/// Counts that protobuf JSON may carry as strings (int64).
const COUNTS: &[(&str, &str)] = &[
    ("maxItems", "max_items"),
    ("minItems", "min_items"),
    ("minProperties", "min_properties"),
    ("maxProperties", "max_properties"),
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
];
const PLAIN: &[&str] = &[
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "pattern",
    "example",
    "default",
    "items",
    "minimum",
    "maximum",
    "type",
];
const ALIASES: &[(&str, &str)] = &[
    ("anyOf", "any_of"),
    ("propertyOrdering", "property_ordering"),
];
/// String formats kept; the rest (int32, float, enum...) are annotations.
const FORMATS: &[&str] = &["date-time", "date", "time", "email", "uuid", "uri"];

/// Convert the schema at `path` (for error messages).
pub(crate) fn normalise(schema: &Value, path: &str) -> Result<Value, ApiError> {
    let Value::Object(obj) = schema else {
        return Err(ApiError::invalid(format!(
            "Invalid value at '{path}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Schema), {schema}"
        )));
    };
    let mut out = Map::new();
    for (key, value) in obj {
        let canonical = canonical_key(key).ok_or_else(|| ApiError::unknown_field(key, path))?;
        let sub = |name: &str| format!("{path}.{name}");
        match canonical {
            "type" => {
                let t = value
                    .as_str()
                    .map(str::to_ascii_lowercase)
                    .filter(|t| TYPES.contains(&t.as_str()));
                let Some(t) = t else {
                    return Err(ApiError::invalid(format!(
                        "Invalid value at '{}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), {value}",
                        sub("type")
                    )));
                };
                out.insert("type".into(), json!(t));
            }
            "properties" => {
                let Value::Object(props) = value else {
                    return Err(ApiError::invalid(format!(
                        "Invalid value at '{}', {value}",
                        sub("properties")
                    )));
                };
                let mut converted = Map::new();
                for (name, p) in props {
                    converted.insert(
                        name.clone(),
                        normalise(p, &format!("{path}.properties[{name}].value"))?,
                    );
                }
                out.insert("properties".into(), Value::Object(converted));
            }
            "items" => {
                out.insert("items".into(), normalise(value, &sub("items"))?);
            }
            "anyOf" => {
                let Value::Array(options) = value else {
                    return Err(ApiError::invalid(format!(
                        "Invalid value at '{}', {value}",
                        sub("any_of")
                    )));
                };
                let converted = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| normalise(o, &format!("{path}.any_of[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert("anyOf".into(), Value::Array(converted));
            }
            "format" => {
                if value.as_str().is_some_and(|f| FORMATS.contains(&f)) {
                    out.insert("format".into(), value.clone());
                }
            }
            "propertyOrdering" | "example" | "nullable" => {}
            count if COUNTS.iter().any(|(c, _)| *c == count) => {
                let n = match value {
                    Value::String(s) => s.parse::<u64>().ok(),
                    other => other.as_u64(),
                };
                let Some(n) = n else {
                    return Err(ApiError::invalid(format!(
                        "Invalid value at '{}', {value}",
                        sub(count)
                    )));
                };
                out.insert(count.into(), json!(n));
            }
            other => {
                out.insert(other.into(), value.clone());
            }
        }
    }
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        if let Some(t) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    Ok(Value::Object(out))
}

fn canonical_key(key: &str) -> Option<&'static str> {
    if let Some(k) = PLAIN.iter().find(|k| **k == key) {
        return Some(k);
    }
    COUNTS
        .iter()
        .chain(ALIASES)
        .find(|(camel, snake)| *camel == key || *snake == key)
        .map(|(camel, _)| *camel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_the_openapi_subset() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "category": {"type": "STRING", "enum": ["billing", "bug"], "format": "enum"},
                "count": {"type": "INTEGER", "format": "int32", "minimum": 1},
                "note": {"type": "STRING", "nullable": true},
                "tags": {"type": "ARRAY", "items": {"type": "string"}, "maxItems": "3", "min_items": 1},
                "when": {"type": "STRING", "format": "date-time"}
            },
            "required": ["category", "count"],
            "propertyOrdering": ["category", "count"]
        });
        let got = normalise(&schema, "generation_config.response_schema").unwrap();
        assert_eq!(
            got,
            json!({
                "type": "object",
                "properties": {
                    "category": {"type": "string", "enum": ["billing", "bug"]},
                    "count": {"type": "integer", "minimum": 1},
                    "note": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "minItems": 1},
                    "when": {"type": "string", "format": "date-time"}
                },
                "required": ["category", "count"]
            })
        );
        assert!(jsonschema::validator_for(&got).is_ok());
    }

    #[test]
    fn rejects_what_the_subset_lacks() {
        let e = normalise(
            &json!({"type": "OBJECT", "additionalProperties": false}),
            "generation_config.response_schema",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'generation_config.response_schema': Cannot find field."
        );
        let e = normalise(&json!({"type": "TEXT"}), "s").unwrap_err();
        assert!(
            e.message.contains("Invalid value at 's.type'"),
            "{}",
            e.message
        );
        let e = normalise(
            &json!({"type": "ARRAY", "items": {"type": "STRING", "$ref": "#/x"}}),
            "s",
        )
        .unwrap_err();
        assert!(
            e.message.contains("Unknown name \"$ref\" at 's.items'"),
            "{}",
            e.message
        );
    }
}
