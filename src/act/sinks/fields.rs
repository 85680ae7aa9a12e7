//! Declared fields shared by every sink: a name (a body field, a column)
//! filled from a JSON pointer into the run's `/input`, `/output` or `/run`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::SinkErrors;

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub struct FieldSource {
    /// `input`, `output` or `run`.
    pub root: &'static str,
    /// JSON pointer inside that root.
    pub pointer: String,
}

/// Parse `name = "/output/x"` entries; problems go to `errors` under `fields.NAME`.
pub fn parse(
    raw: &BTreeMap<String, String>,
    errors: &mut SinkErrors,
) -> Vec<(String, FieldSource)> {
    let mut fields = Vec::new();
    for (name, source) in raw {
        let parsed = ["input", "output", "run"].iter().find_map(|root| {
            let rest = source.strip_prefix('/')?.strip_prefix(root)?;
            (rest.is_empty() || rest.starts_with('/')).then(|| FieldSource {
                root,
                pointer: rest.to_string(),
            })
        });
        match parsed {
            Some(f) => fields.push((name.clone(), f)),
            None => errors.push((
                vec!["fields".into(), name.clone()],
                format!("`{source}` must be a JSON pointer starting with /input, /output or /run"),
            )),
        }
    }
    if raw.is_empty() {
        errors.push((vec!["fields".into()], "declare at least one field".into()));
    }
    fields
}

/// The JSON object of every declared field from its pointer (null if absent).
pub fn body(fields: &[(String, FieldSource)], input: &Value, output: &Value, run: &Value) -> Value {
    let mut map = Map::new();
    for (name, src) in fields {
        let root = match src.root {
            "input" => input,
            "output" => output,
            _ => run,
        };
        map.insert(
            name.clone(),
            root.pointer(&src.pointer).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(map)
}

/// The `/output` pointers of `fields`: (field name, pointer inside `/output`).
pub fn output_pointers(fields: &[(String, FieldSource)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .filter(|(_, src)| src.root == "output")
        .map(|(name, src)| (name.as_str(), src.pointer.as_str()))
        .collect()
}
