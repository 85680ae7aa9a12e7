//! Validation of the fields of a chat completion request.

use serde_json::{Map, Value, json};

use super::openai::{ApiError, Format, Message, Tool, ToolChoice, tokens};

const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

pub(super) fn invalid_type(param: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid(
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            crate::schema::type_name(got)
        ),
        Some(param),
        Some("invalid_type"),
    )
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(
        format!("Missing required parameter: '{param}'."),
        Some(param),
        Some("missing_required_parameter"),
    )
}

pub(super) fn invalid_value(param: &str, message: String) -> ApiError {
    ApiError::invalid(message, Some(param), Some("invalid_value"))
}

pub(super) fn string_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    param: &str,
) -> Result<&'a str, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(param)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid_type(param, "a string", other)),
    }
}

pub(super) fn number_in(
    obj: &Map<String, Value>,
    key: &str,
    lo: f64,
    hi: f64,
) -> Result<(), ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if (lo..=hi).contains(&x) => Ok(()),
            _ => Err(invalid_value(
                key,
                format!("Invalid '{key}': expected a number between {lo} and {hi}, got {n}."),
            )),
        },
        Some(other) => Err(invalid_type(key, "a decimal", other)),
    }
}

pub(super) fn positive_int(
    obj: &Map<String, Value>,
    key: &str,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if (1..=max).contains(&x) => Ok(Some(x)),
            _ => Err(ApiError::invalid(
                format!("Invalid '{key}': expected an integer between 1 and {max}, got {n}."),
                Some(key),
                Some("integer_out_of_range"),
            )),
        },
        Some(other) => Err(invalid_type(key, "an integer", other)),
    }
}

pub(super) fn flag(obj: &Map<String, Value>, key: &str, param: &str) -> Result<bool, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid_type(param, "a boolean", other)),
    }
}

pub(super) fn parse_messages(v: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(invalid_type("messages", "an array", other)),
    };
    if list.is_empty() {
        return Err(ApiError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            Some("messages"),
            Some("empty_array"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| parse_message(i, m))
        .collect()
}

fn parse_message(i: usize, m: &Value) -> Result<Message, ApiError> {
    let p = format!("messages[{i}]");
    let Value::Object(obj) = m else {
        return Err(invalid_type(&p, "an object", m));
    };
    let role = string_field(obj, "role", &format!("{p}.role"))?;
    if !ROLES.contains(&role) {
        return Err(invalid_value(
            &format!("{p}.role"),
            format!(
                "Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'."
            ),
        ));
    }
    let mut extra_tokens = 0;
    if let Some(Value::Array(calls)) = obj.get("tool_calls") {
        for call in calls {
            let f = call.get("function");
            let name = f
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let args = f
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
                .unwrap_or("");
            extra_tokens += tokens(name) + tokens(args) + 3;
        }
    }
    if role == "tool" {
        string_field(obj, "tool_call_id", &format!("{p}.tool_call_id"))?;
    }
    let text = match obj.get("content") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) if role == "assistant" => String::new(),
        None | Some(Value::Null) => return Err(missing(&format!("{p}.content"))),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let pp = format!("{p}.content[{j}]");
                let Value::Object(po) = part else {
                    return Err(invalid_type(&pp, "an object", part));
                };
                match string_field(po, "type", &format!("{pp}.type"))? {
                    "text" => texts.push(string_field(po, "text", &format!("{pp}.text"))?),
                    "refusal" => texts.push(string_field(po, "refusal", &format!("{pp}.refusal"))?),
                    "image_url" => extra_tokens += 85,
                    "input_audio" | "file" => extra_tokens += 100,
                    other => {
                        return Err(invalid_value(
                            &format!("{pp}.type"),
                            format!(
                                "Invalid value: '{other}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal' and 'file'."
                            ),
                        ));
                    }
                }
            }
            texts.join("\n")
        }
        Some(other) => {
            return Err(invalid_type(
                &format!("{p}.content"),
                "a string or an array",
                other,
            ));
        }
    };
    Ok(Message {
        role: role.to_string(),
        text,
        extra_tokens,
    })
}

pub(super) fn parse_format(v: Option<&Value>) -> Result<(Format, String), ApiError> {
    let obj = match v {
        None | Some(Value::Null) => return Ok((Format::Text, String::new())),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(invalid_type("response_format", "an object", other)),
    };
    match string_field(obj, "type", "response_format.type")? {
        "text" => Ok((Format::Text, String::new())),
        "json_object" => Ok((Format::JsonObject, "json_object".to_string())),
        "json_schema" => {
            let js = match obj.get("json_schema") {
                None | Some(Value::Null) => return Err(missing("response_format.json_schema")),
                Some(Value::Object(o)) => o,
                Some(other) => {
                    return Err(invalid_type(
                        "response_format.json_schema",
                        "an object",
                        other,
                    ));
                }
            };
            let name = string_field(js, "name", "response_format.json_schema.name")?;
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !name_ok {
                return Err(invalid_value(
                    "response_format.json_schema.name",
                    format!(
                        "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters), got '{name}'."
                    ),
                ));
            }
            let schema = match js.get("schema") {
                None | Some(Value::Null) => json!({}),
                Some(s @ Value::Object(_)) => s.clone(),
                Some(other) => {
                    return Err(invalid_type(
                        "response_format.json_schema.schema",
                        "an object",
                        other,
                    ));
                }
            };
            if let Some(strict) = js.get("strict")
                && !strict.is_boolean()
                && !strict.is_null()
            {
                return Err(invalid_type(
                    "response_format.json_schema.strict",
                    "a boolean",
                    strict,
                ));
            }
            let canonical = schema.to_string();
            Ok((
                Format::JsonSchema {
                    name: name.to_string(),
                    schema,
                },
                canonical,
            ))
        }
        other => Err(invalid_value(
            "response_format.type",
            format!(
                "Invalid value: '{other}'. Supported values are: 'json_object', 'json_schema' and 'text'."
            ),
        )),
    }
}

pub(super) fn parse_tools(v: Option<&Value>) -> Result<(Vec<Tool>, String), ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Ok((Vec::new(), String::new())),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(invalid_type("tools", "an array", other)),
    };
    let mut tools = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let p = format!("tools[{i}]");
        let Value::Object(obj) = t else {
            return Err(invalid_type(&p, "an object", t));
        };
        let kind = string_field(obj, "type", &format!("{p}.type"))?;
        if kind != "function" {
            return Err(invalid_value(
                &format!("{p}.type"),
                format!("Invalid value: '{kind}'. Supported values are: 'function'."),
            ));
        }
        let f = match obj.get("function") {
            Some(Value::Object(f)) => f,
            None | Some(Value::Null) => return Err(missing(&format!("{p}.function"))),
            Some(other) => return Err(invalid_type(&format!("{p}.function"), "an object", other)),
        };
        let name = string_field(f, "name", &format!("{p}.function.name"))?;
        let parameters = match f.get("parameters") {
            None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
            Some(s @ Value::Object(_)) => s.clone(),
            Some(other) => {
                return Err(invalid_type(
                    &format!("{p}.function.parameters"),
                    "an object",
                    other,
                ));
            }
        };
        tools.push(Tool {
            name: name.to_string(),
            parameters,
        });
    }
    let canonical = if list.is_empty() {
        String::new()
    } else {
        Value::Array(list.clone()).to_string()
    };
    Ok((tools, canonical))
}

pub(super) fn parse_tool_choice(v: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, ApiError> {
    let choice = match v {
        None | Some(Value::Null) => return Ok(ToolChoice::Auto),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(invalid_value(
                    "tool_choice",
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'none', 'auto' and 'required'."
                    ),
                ));
            }
        },
        Some(Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| missing("tool_choice.function.name"))?;
            if !tools.iter().any(|t| t.name == name) {
                return Err(invalid_value(
                    "tool_choice",
                    format!(
                        "Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' parameter."
                    ),
                ));
            }
            ToolChoice::Named(name.to_string())
        }
        Some(other) => return Err(invalid_type("tool_choice", "a string or an object", other)),
    };
    if tools.is_empty() && choice != ToolChoice::None {
        return Err(invalid_value(
            "tool_choice",
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.".into(),
        ));
    }
    Ok(choice)
}
