//! JSON Schema compiled once and applied with every error reported by JSON
//! pointer. Used by `ingest` (input) and `output` (model output).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// JSON pointer to the offending value (`""` is the whole document).
    pub pointer: String,
    /// Where in the schema the failing rule is (holds no input data).
    pub schema_path: String,
    pub message: String,
}

/// A compiled schema with its source kept for prompts and providers.
pub struct JsonSchema {
    pub path: PathBuf,
    pub source: Value,
    /// `source` without seam's `x-seam-*` marks, when it has any: what
    /// remote providers are sent (made once, at load).
    wire: Option<Value>,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("path", &self.path)
            .finish()
    }
}

impl JsonSchema {
    /// Read and compile a schema file.
    pub fn load(path: &Path) -> Result<JsonSchema, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read schema `{}`: {e}", path.display()))?;
        let source: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "schema `{}` is not JSON (line {}, column {}): {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        Self::compile(path, source)
    }

    pub fn compile(path: &Path, source: Value) -> Result<JsonSchema, String> {
        // JSON Schema 2020-12 unless the schema's `$schema` names another
        // draft, and `format` asserted (2020-12 only annotates it by
        // default), so `"format": "date-time"` rejects what is not one.
        let mut options = jsonschema::options().should_validate_formats(true);
        if source.get("$schema").is_none() {
            options = options.with_draft(jsonschema::Draft::Draft202012);
        }
        let validator = options
            .build(&source)
            .map_err(|e| format!("schema `{}` does not compile: {e}", path.display()))?;
        let wire = match without_marks(&source) {
            std::borrow::Cow::Owned(stripped) => Some(stripped),
            std::borrow::Cow::Borrowed(_) => None,
        };
        Ok(JsonSchema {
            path: path.to_path_buf(),
            source,
            wire,
            validator,
        })
    }

    /// The schema as remote providers see it: without seam's `x-seam-*`
    /// marks (grounded, citations, dual, labels…), which some refuse as
    /// unknown keywords.
    pub fn wire(&self) -> &Value {
        self.wire.as_ref().unwrap_or(&self.source)
    }

    /// Every violation, each with its JSON pointer.
    pub fn validate(&self, value: &Value) -> Vec<FieldError> {
        self.errors(value, true)
    }

    /// Every violation except `format`: for a replay's redacted input,
    /// whose placeholders (`<EMAIL_1>`) stand for values that met their
    /// format when the run was first made.
    pub fn validate_except_formats(&self, value: &Value) -> Vec<FieldError> {
        self.errors(value, false)
    }

    fn errors(&self, value: &Value, formats: bool) -> Vec<FieldError> {
        self.validator
            .iter_errors(value)
            .filter(|e| {
                formats
                    || !matches!(
                        e.kind(),
                        jsonschema::error::ValidationErrorKind::Format { .. }
                    )
            })
            .map(|e| FieldError {
                pointer: e.instance_path().to_string(),
                schema_path: e.schema_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator.is_valid(value)
    }
}

/// The JSON Schema type name of a value (`null`, `boolean`, `number`,
/// `string`, `array`, `object`).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `schema` without seam's own `x-seam-*` marks; borrowed when it has none.
pub fn without_marks(schema: &Value) -> std::borrow::Cow<'_, Value> {
    fn marked(v: &Value) -> bool {
        match v {
            Value::Object(o) => o.iter().any(|(k, x)| k.starts_with("x-seam-") || marked(x)),
            Value::Array(a) => a.iter().any(marked),
            _ => false,
        }
    }
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.retain(|k, _| !k.starts_with("x-seam-"));
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if !marked(schema) {
        return std::borrow::Cow::Borrowed(schema);
    }
    let mut owned = schema.clone();
    strip(&mut owned);
    std::borrow::Cow::Owned(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_providers_get_the_schema_without_any_seam_mark() {
        let marked = json!({"properties": {
            "c": {"enum": ["a"], "x-seam-labels": {"a": "x"}, "x-seam-dual": "exact"},
            "s": {"type": "string", "x-seam-extract": "untrusted"}}});
        assert_eq!(
            *without_marks(&marked),
            json!({"properties": {"c": {"enum": ["a"]}, "s": {"type": "string"}}})
        );
        let plain = json!({"properties": {"c": {"enum": ["a"]}}});
        assert!(matches!(without_marks(&plain), std::borrow::Cow::Borrowed(_)));
        // Made once at load: the wire form, or the source when unmarked.
        let s = JsonSchema::compile(Path::new("m.json"), marked.clone()).unwrap();
        assert_eq!(*s.wire(), *without_marks(&marked));
        assert_eq!(s.source, marked);
        let s = JsonSchema::compile(Path::new("p.json"), plain.clone()).unwrap();
        assert_eq!(*s.wire(), plain);
    }

    #[test]
    fn reports_every_error_with_pointer() {
        let schema = JsonSchema::compile(
            Path::new("t.json"),
            json!({"type":"object","required":["a","b"],"properties":{"a":{"type":"string"},"c":{"type":"array","items":{"type":"integer"}}}}),
        )
        .unwrap();
        let errs = schema.validate(&json!({"a": 1, "c": [1, "x"]}));
        let pointers: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/a"), "{errs:?}");
        assert!(pointers.contains(&"/c/1"), "{errs:?}");
        assert!(pointers.contains(&""), "missing b at the root: {errs:?}");
        assert!(schema.is_valid(&json!({"a": "x", "b": 0})));
    }

    #[test]
    fn drafts_default_to_2020_12_and_formats_are_asserted() {
        // `prefixItems` exists in 2020-12 only.
        let schema = JsonSchema::compile(
            Path::new("t.json"),
            json!({"type": "array", "prefixItems": [{"type": "string", "format": "date-time"}]}),
        )
        .unwrap();
        assert!(schema.is_valid(&json!(["2026-11-03T14:05:00Z"])));
        let errs = schema.validate(&json!(["03/11/2026"]));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].pointer, "/0");
        assert!(errs[0].message.contains("date-time"), "{errs:?}");
        // A declared older draft is respected.
        let draft7 = JsonSchema::compile(
            Path::new("t.json"),
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "prefixItems": [{"type": "string"}]}),
        )
        .unwrap();
        assert!(draft7.is_valid(&json!([1])));
        // A replay's placeholders are not held to their format.
        assert!(
            schema
                .validate_except_formats(&json!(["<DATE_1>"]))
                .is_empty()
        );
        assert_eq!(schema.validate_except_formats(&json!([1])).len(), 1);
    }

    #[test]
    fn every_error_has_a_plain_message() {
        let schema = JsonSchema::compile(
            Path::new("t.json"),
            json!({"type": "object", "properties": {
                "id": {"type": "string", "pattern": "^T-[0-9]+$"},
                "email": {"type": "string", "format": "email"},
                "n": {"type": "integer", "minimum": 1}
            }, "additionalProperties": false}),
        )
        .unwrap();
        let errs = schema.validate(&json!({"id": "nope", "email": "x", "n": 0, "extra": 1}));
        let mut got: Vec<(&str, &str)> = errs
            .iter()
            .map(|e| (e.pointer.as_str(), e.message.as_str()))
            .collect();
        got.sort();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, "", "{got:?}");
        assert!(got[0].1.contains("extra"), "{got:?}");
        assert_eq!(got[1], ("/email", "\"x\" is not a \"email\""));
        assert_eq!(got[2].0, "/id");
        assert!(got[2].1.contains("does not match"), "{got:?}");
        assert_eq!(got[3], ("/n", "0 is less than the minimum of 1"));
    }

    #[test]
    fn bad_schema_does_not_compile() {
        assert!(JsonSchema::compile(Path::new("t.json"), json!({"type": 12})).is_err());
    }
}
