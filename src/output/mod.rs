//! Layer 4: parse the model's text (tolerant repair second) and validate it
//! against the output schema. Nothing unvalidated leaves this layer.

pub mod compare;
pub mod dual;
pub mod grounding;
mod repair;

use serde::Serialize;
use serde_json::Value;

pub use repair::parse_tolerant;

use crate::schema::{FieldError, JsonSchema};

/// A verified output.
#[derive(Debug, Clone)]
pub struct Verified {
    pub value: Value,
    /// Repairs that were needed to parse it (e.g. `stripped_fences`).
    pub repairs: Vec<&'static str>,
}

/// Why an output was not accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// `parse` (not JSON even after repair) or `schema`.
    pub stage: &'static str,
    pub repairs: Vec<&'static str>,
    pub errors: Vec<FieldError>,
}

impl Rejected {
    /// Feedback for the model's next attempt.
    pub fn feedback(&self) -> String {
        let mut text = String::from(match self.stage {
            "parse" => "Your previous reply was not valid JSON. ",
            _ => "Your previous reply did not satisfy the required JSON Schema. ",
        });
        text.push_str("Errors:\n");
        for e in self.errors.iter().take(20) {
            let at = if e.pointer.is_empty() {
                "(root)"
            } else {
                e.pointer.as_str()
            };
            text.push_str(&format!("- at {at}: {}\n", e.message));
        }
        text.push_str("Reply again with only the corrected JSON object.");
        text
    }

    pub fn summary(&self) -> String {
        self.errors
            .iter()
            .take(5)
            .map(|e| {
                if e.pointer.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.pointer, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Parse and validate a model reply.
pub fn check(schema: &JsonSchema, text: &str) -> Result<Verified, Rejected> {
    let (value, repairs) = parse_tolerant(text).map_err(|(repairs, message)| Rejected {
        stage: "parse",
        repairs,
        errors: vec![FieldError {
            pointer: String::new(),
            schema_path: String::new(),
            message,
        }],
    })?;
    let errors = schema.validate(&value);
    if errors.is_empty() {
        Ok(Verified { value, repairs })
    } else {
        Err(Rejected {
            stage: "schema",
            repairs,
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn schema() -> JsonSchema {
        JsonSchema::compile(
            Path::new("out.json"),
            json!({"type":"object","required":["category"],"properties":{"category":{"enum":["bug","billing"]}},"additionalProperties":false}),
        )
        .unwrap()
    }

    #[test]
    fn accepts_fenced_output() {
        let v = check(&schema(), "```json\n{\"category\": \"bug\"}\n```").unwrap();
        assert_eq!(v.value, json!({"category": "bug"}));
        assert_eq!(v.repairs, vec!["stripped_fences"]);
    }

    #[test]
    fn rejects_schema_violation_with_pointer() {
        let r = check(&schema(), r#"{"category": "spam"}"#).unwrap_err();
        assert_eq!(r.stage, "schema");
        assert_eq!(r.errors[0].pointer, "/category");
        assert!(r.feedback().contains("/category"));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            check(&schema(), "I cannot help with that")
                .unwrap_err()
                .stage,
            "parse"
        );
    }
}
