//! Structured-output modes: how a provider is made to answer with JSON that
//! satisfies a schema. Each provider lists the modes it can enforce; the
//! pipeline picks the strongest one the model supports (or the one config
//! names), and the output layer validates the answer whatever the mode.

use serde_json::Value;

use super::ChatMessage;

/// How a JSON schema is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StructuredMode {
    /// Decoding constrained by a grammar built from the schema (the
    /// embedded model): the output cannot break the schema.
    Grammar,
    /// OpenAI `response_format: json_schema` (strict when the schema allows).
    JsonSchema,
    /// Gemini `responseSchema` with `responseMimeType: application/json`.
    ResponseSchema,
    /// A forced call to one tool whose parameters are the schema
    /// (Anthropic's way; OpenAI and Gemini can do it too).
    Tool,
    /// OpenAI `response_format: json_object`: JSON, but any JSON.
    JsonObject,
    /// The schema in the prompt, the answer repaired and validated after.
    Prompt,
}

impl StructuredMode {
    pub const ALL: [StructuredMode; 6] = [
        StructuredMode::Grammar,
        StructuredMode::JsonSchema,
        StructuredMode::ResponseSchema,
        StructuredMode::Tool,
        StructuredMode::JsonObject,
        StructuredMode::Prompt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StructuredMode::Grammar => "grammar",
            StructuredMode::JsonSchema => "json_schema",
            StructuredMode::ResponseSchema => "response_schema",
            StructuredMode::Tool => "tool",
            StructuredMode::JsonObject => "json_object",
            StructuredMode::Prompt => "prompt",
        }
    }

    pub fn parse(text: &str) -> Result<StructuredMode, String> {
        StructuredMode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<_> = StructuredMode::ALL.iter().map(|m| m.as_str()).collect();
                format!(
                    "`{text}` is not a structured-output mode; known: {}",
                    known.join(", ")
                )
            })
    }

    /// The mode to use: `wanted` when the provider supports it, else the
    /// provider's strongest, else prompt-only.
    pub fn choose(supported: &[StructuredMode], wanted: Option<StructuredMode>) -> StructuredMode {
        match wanted {
            Some(StructuredMode::Prompt) => StructuredMode::Prompt,
            Some(w) if supported.contains(&w) => w,
            _ => supported.first().copied().unwrap_or(StructuredMode::Prompt),
        }
    }
}

/// The instruction appended to the system message in prompt-only mode.
pub fn prompt_instruction(schema: &Value) -> String {
    format!(
        "Answer with one JSON value and nothing else: no prose, no code fences. \
         It must satisfy this JSON Schema:\n{schema}"
    )
}

/// `messages` with the prompt-only instruction added to the system message
/// (or as a new first system message).
pub fn with_prompt_instruction(messages: &[ChatMessage], schema: &Value) -> Vec<ChatMessage> {
    let instruction = prompt_instruction(schema);
    let mut out = messages.to_vec();
    match out.iter_mut().find(|m| m.role == super::Role::System) {
        Some(system) => {
            system.content.push_str("\n\n");
            system.content.push_str(&instruction);
        }
        None => out.insert(0, ChatMessage::system(instruction)),
    }
    out
}

/// Whether OpenAI's strict mode accepts `schema`: every object closes its
/// properties (`additionalProperties: false`) and requires all of them.
pub fn strict_compatible(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return true;
    };
    let is_object =
        obj.get("type").and_then(Value::as_str) == Some("object") || obj.contains_key("properties");
    if is_object {
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return false;
        }
        let props = obj.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = props
            && props.keys().any(|k| !required.contains(&k.as_str()))
        {
            return false;
        }
    }
    obj.iter().all(|(key, v)| match key.as_str() {
        "properties" | "$defs" | "definitions" => v
            .as_object()
            .is_none_or(|m| m.values().all(strict_compatible)),
        "items" | "additionalProperties" | "not" => strict_compatible(v),
        "anyOf" | "allOf" | "oneOf" | "prefixItems" => {
            v.as_array().is_none_or(|a| a.iter().all(strict_compatible))
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn choose_prefers_wanted_then_strongest() {
        let s = [StructuredMode::JsonSchema, StructuredMode::Tool];
        assert_eq!(StructuredMode::choose(&s, None), StructuredMode::JsonSchema);
        assert_eq!(
            StructuredMode::choose(&s, Some(StructuredMode::Tool)),
            StructuredMode::Tool
        );
        assert_eq!(
            StructuredMode::choose(&s, Some(StructuredMode::Grammar)),
            StructuredMode::JsonSchema
        );
        assert_eq!(StructuredMode::choose(&[], None), StructuredMode::Prompt);
        assert_eq!(StructuredMode::parse("tool"), Ok(StructuredMode::Tool));
        assert!(StructuredMode::parse("xml").is_err());
    }

    #[test]
    fn strict_needs_closed_fully_required_objects() {
        let ok = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "array", "items": {"type": "object", "additionalProperties": false, "properties": {}}}}});
        assert!(strict_compatible(&ok));
        let open =
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}});
        assert!(!strict_compatible(&open));
        let optional = json!({"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}});
        assert!(!strict_compatible(&optional));
        let nested = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "object", "properties": {"b": {}}}}});
        assert!(!strict_compatible(&nested));
    }

    #[test]
    fn prompt_instruction_joins_the_system_message() {
        let schema = json!({"type": "object"});
        let out = with_prompt_instruction(&[ChatMessage::user("hi")], &schema);
        assert_eq!(out[0].role, super::super::Role::System);
        let out = with_prompt_instruction(
            &[ChatMessage::system("be brief"), ChatMessage::user("hi")],
            &schema,
        );
        assert_eq!(out.len(), 2);
        assert!(
            out[0]
                .content
                .starts_with("be brief\n\nAnswer with one JSON value")
        );
    }
}
