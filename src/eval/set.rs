//! A golden set: one JSON object a line, `{"input": {...}, "expected":
//! {"field": value, ...}}` (what `seam feedback export` writes; other keys
//! are ignored, blank lines skipped). Every line is checked before any
//! model is called; a problem names `file:line` and a JSON pointer.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::policy::EvalPolicy;

/// One golden case.
#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line in the set file.
    pub line: usize,
    pub input: Value,
    pub expected: Map<String, Value>,
}

/// The parsed set and what identifies it.
#[derive(Debug, Clone)]
pub struct GoldenSet {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes: a stored result is a baseline only
    /// for the same set.
    pub sha256: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}: {pointer}: {message}")]
    Line {
        path: String,
        line: usize,
        /// JSON pointer inside the line (empty: the whole line).
        pointer: String,
        message: String,
    },
    #[error("`{path}` holds no cases")]
    Empty { path: String },
}

/// Read and check `path` against the output schema's properties and the
/// pipeline's rules. All problems, in line order.
pub fn load(
    path: &Path,
    output_schema: &Value,
    policy: &EvalPolicy,
) -> Result<GoldenSet, Vec<SetError>> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        vec![SetError::Read {
            path: shown.clone(),
            message: e.to_string(),
        }]
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        vec![SetError::Line {
            path: shown.clone(),
            line: bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1,
            pointer: String::new(),
            message: "not UTF-8".into(),
        }]
    })?;
    let declared = output_schema.get("properties").and_then(Value::as_object);
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut bad = |pointer: &str, message: String| {
            problems.push(SetError::Line {
                path: shown.clone(),
                line,
                pointer: pointer.to_string(),
                message,
            })
        };
        let value: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                bad("", format!("not JSON (column {}): {e}", e.column()));
                continue;
            }
        };
        let Value::Object(mut obj) = value else {
            bad("", "must be an object with `input` and `expected`".into());
            continue;
        };
        let input = obj.remove("input");
        let expected = obj.remove("expected");
        match &input {
            None => bad("/input", "missing".into()),
            Some(Value::Object(_)) => {}
            Some(_) => bad("/input", "must be an object (the event)".into()),
        }
        let expected = match expected {
            None => {
                bad("/expected", "missing".into());
                None
            }
            Some(Value::Object(m)) if m.is_empty() => {
                bad("/expected", "names no field to score".into());
                None
            }
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                bad(
                    "/expected",
                    "must be an object (field → expected value)".into(),
                );
                None
            }
        };
        if let Some(m) = &expected {
            for (field, want) in m {
                let pointer = format!("/expected/{}", escape(field));
                if let Some(props) = declared
                    && !props.contains_key(field)
                {
                    let known: Vec<&str> = props.keys().map(String::as_str).collect();
                    bad(
                        &pointer,
                        format!(
                            "`{field}` is not a property of the output schema (declared: {})",
                            known.join(", ")
                        ),
                    );
                    continue;
                }
                let rule = policy.rule(field);
                if let Some(kind) = rule.check_expected(want) {
                    bad(&pointer, format!("rule `{}` needs {kind}", rule.name()));
                }
            }
        }
        if let (Some(input), Some(expected)) = (input, expected) {
            cases.push(Case {
                line,
                input,
                expected,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if cases.is_empty() {
        return Err(vec![SetError::Empty { path: shown }]);
    }
    Ok(GoldenSet {
        path: path.to_path_buf(),
        sha256: crate::canonical::sha256_hex(&bytes),
        cases,
    })
}

/// A key as a JSON pointer token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::rules::FieldRule;
    use serde_json::json;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn every_problem_names_line_and_pointer() {
        let schema = json!({"properties": {"category": {}, "amount": {}}});
        let mut policy = EvalPolicy::default();
        policy.fields.insert(
            "amount".into(),
            FieldRule::Numeric {
                tolerance: 0.0,
                relative: 0.0,
            },
        );
        let f = file(concat!(
            "{\"input\": {\"a\": 1}, \"expected\": {\"category\": \"x\"}}\n",
            "\n",
            "{\"input\": {\"a\": 1}, \"expected\": {\"colour\": \"red\"}}\n",
            "{\"input\": {\"a\": 1}, \"expected\": {\"amount\": \"12\"}}\n",
            "{\"input\": 3, \"expected\": {\"category\": \"x\"}}\n",
            "{\"input\": {\"a\": 1},\n",
        ));
        let errors = load(f.path(), &schema, &policy).unwrap_err();
        let text: Vec<String> = errors
            .iter()
            .map(|e| e.to_string().replace(&f.path().display().to_string(), "F"))
            .collect();
        assert_eq!(text.len(), 4, "{text:#?}");
        assert!(text[0].starts_with("F:3: /expected/colour: `colour` is not a property"));
        assert_eq!(
            text[1],
            "F:4: /expected/amount: rule `numeric` needs a number"
        );
        assert_eq!(text[2], "F:5: /input: must be an object (the event)");
        assert!(text[3].starts_with("F:6: : not JSON"), "{}", text[3]);
    }

    #[test]
    fn good_set_parses_with_its_hash() {
        let text =
            "{\"input\": {\"a\": 1}, \"expected\": {\"category\": \"x\"}, \"run_id\": \"r\"}\n";
        let f = file(text);
        let s = load(
            f.path(),
            &json!({"properties": {"category": {}}}),
            &EvalPolicy::default(),
        )
        .unwrap();
        assert_eq!(s.cases.len(), 1);
        assert_eq!(s.cases[0].line, 1);
        assert_eq!(s.sha256, crate::canonical::sha256_hex(text));
    }
}
