//! OpenAI Chat Completions requests: parsing, validation and token counts.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// An OpenAI-style error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>, param: Option<&str>, code: Option<&'static str>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
            kind: "invalid_request_error",
            param: param.map(str::to_string),
            code,
        }
    }

    /// The JSON body: `{"error": {"message", "type", "param", "code"}}`.
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

/// The requested output format.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Value },
}

/// A function tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub parameters: Value,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

/// One input message, reduced to its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: String,
    pub text: String,
    /// Tokens not carried by `text` (images, earlier tool calls).
    pub extra_tokens: u64,
}

/// A validated chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub format: Format,
    pub tools: Vec<Tool>,
    pub tool_choice: ToolChoice,
    pub stream: bool,
    pub include_usage: bool,
    pub max_tokens: Option<u64>,
    pub n: usize,
    pub seed: Option<i64>,
    /// Canonical JSON of `response_format` schema and `tools`, for hashing and token counts.
    format_json: String,
    tools_json: String,
}

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool", "function"];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid_type(param: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid(
        format!("Invalid type for '{param}': expected {expected}, but got {} instead.", type_name(got)),
        Some(param),
        Some("invalid_type"),
    )
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required parameter: '{param}'."), Some(param), Some("missing_required_parameter"))
}

fn invalid_value(param: &str, message: String) -> ApiError {
    ApiError::invalid(message, Some(param), Some("invalid_value"))
}

fn string_field<'a>(obj: &'a Map<String, Value>, key: &str, param: &str) -> Result<&'a str, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(param)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid_type(param, "a string", other)),
    }
}

fn number_in(obj: &Map<String, Value>, key: &str, lo: f64, hi: f64) -> Result<(), ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if (lo..=hi).contains(&x) => Ok(()),
            _ => Err(invalid_value(key, format!("Invalid '{key}': expected a number between {lo} and {hi}, got {n}."))),
        },
        Some(other) => Err(invalid_type(key, "a decimal", other)),
    }
}

fn positive_int(obj: &Map<String, Value>, key: &str, max: u64) -> Result<Option<u64>, ApiError> {
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

fn flag(obj: &Map<String, Value>, key: &str, param: &str) -> Result<bool, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid_type(param, "a boolean", other)),
    }
}

impl ChatRequest {
    /// Parse and validate a request body.
    pub fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(
                format!("We could not parse the JSON body of your request ({e}). The OpenAI API expects a JSON payload."),
                None,
                None,
            )
        })?;
        let Value::Object(obj) = &value else {
            return Err(ApiError::invalid("The request body must be a JSON object.", None, Some("invalid_type")));
        };
        let model = string_field(obj, "model", "model")?;
        if model.is_empty() {
            return Err(invalid_value("model", "Invalid 'model': empty string.".into()));
        }
        let messages = parse_messages(obj.get("messages"))?;
        let (format, format_json) = parse_format(obj.get("response_format"))?;
        let (tools, tools_json) = parse_tools(obj.get("tools"))?;
        let tool_choice = parse_tool_choice(obj.get("tool_choice"), &tools)?;
        let stream = flag(obj, "stream", "stream")?;
        let include_usage = match obj.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(_) if !stream => {
                return Err(invalid_value(
                    "stream_options",
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.".into(),
                ));
            }
            Some(Value::Object(o)) => flag(o, "include_usage", "stream_options.include_usage")?,
            Some(other) => return Err(invalid_type("stream_options", "an object", other)),
        };
        let max_tokens = match positive_int(obj, "max_completion_tokens", u64::from(u32::MAX))? {
            Some(m) => Some(m),
            None => positive_int(obj, "max_tokens", u64::from(u32::MAX))?,
        };
        number_in(obj, "temperature", 0.0, 2.0)?;
        number_in(obj, "top_p", 0.0, 1.0)?;
        number_in(obj, "presence_penalty", -2.0, 2.0)?;
        number_in(obj, "frequency_penalty", -2.0, 2.0)?;
        let n = positive_int(obj, "n", 128)?.unwrap_or(1) as usize;
        let seed = match obj.get("seed") {
            None | Some(Value::Null) => None,
            Some(Value::Number(s)) if s.is_i64() || s.is_u64() => s.as_i64().or(Some(i64::MAX)),
            Some(other) => return Err(invalid_type("seed", "an integer", other)),
        };
        Ok(ChatRequest {
            model: model.to_string(),
            messages,
            format,
            tools,
            tool_choice,
            stream,
            include_usage,
            max_tokens,
            n,
            seed,
            format_json,
            tools_json,
        })
    }

    /// SHA-256 over the content that determines the answer.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        for m in &self.messages {
            h.update([0]);
            h.update(m.role.as_bytes());
            h.update([1]);
            h.update(m.text.as_bytes());
            h.update(m.extra_tokens.to_le_bytes());
        }
        h.update([2]);
        h.update(self.format_json.as_bytes());
        h.update([3]);
        h.update(self.tools_json.as_bytes());
        h.update([4]);
        h.update(format!("{:?}", self.tool_choice).as_bytes());
        h.update(self.seed.unwrap_or(0).to_le_bytes());
        h.finalize().into()
    }

    /// Identifies a conversation: the model and the first user message.
    pub fn conversation_key(&self) -> u64 {
        let first = self.messages.iter().find(|m| m.role == "user").map_or("", |m| m.text.as_str());
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update([0]);
        h.update(first.as_bytes());
        let d: [u8; 32] = h.finalize().into();
        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    /// The text answers are built from: the last user message, else the last message.
    pub fn last_user_text(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .or(self.messages.last())
            .map_or("", |m| m.text.as_str())
    }

    /// The role of the last message.
    pub fn last_role(&self) -> &str {
        self.messages.last().map_or("", |m| m.role.as_str())
    }

    /// ≈ ceil(chars/4) + 4 per message, + 3, plus tool and schema definitions.
    pub fn prompt_tokens(&self) -> u64 {
        let per_message: u64 = self
            .messages
            .iter()
            .map(|m| tokens(&m.text) + 4 + m.extra_tokens)
            .sum();
        let defs = if self.tools_json.is_empty() { 0 } else { tokens(&self.tools_json) }
            + if self.format_json.is_empty() { 0 } else { tokens(&self.format_json) };
        per_message + 3 + defs
    }
}

/// ceil(chars / 4).
pub fn tokens(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

fn parse_messages(v: Option<&Value>) -> Result<Vec<Message>, ApiError> {
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
    list.iter().enumerate().map(|(i, m)| parse_message(i, m)).collect()
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
            format!("Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'."),
        ));
    }
    let mut extra_tokens = 0;
    if let Some(Value::Array(calls)) = obj.get("tool_calls") {
        for call in calls {
            let f = call.get("function");
            let name = f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or("");
            let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str).unwrap_or("");
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
                            format!("Invalid value: '{other}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal' and 'file'."),
                        ));
                    }
                }
            }
            texts.join("\n")
        }
        Some(other) => return Err(invalid_type(&format!("{p}.content"), "a string or an array", other)),
    };
    Ok(Message { role: role.to_string(), text, extra_tokens })
}

fn parse_format(v: Option<&Value>) -> Result<(Format, String), ApiError> {
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
                Some(other) => return Err(invalid_type("response_format.json_schema", "an object", other)),
            };
            let name = string_field(js, "name", "response_format.json_schema.name")?;
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !name_ok {
                return Err(invalid_value(
                    "response_format.json_schema.name",
                    format!("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters), got '{name}'."),
                ));
            }
            let schema = match js.get("schema") {
                None | Some(Value::Null) => json!({}),
                Some(s @ Value::Object(_)) => s.clone(),
                Some(other) => return Err(invalid_type("response_format.json_schema.schema", "an object", other)),
            };
            if let Some(strict) = js.get("strict")
                && !strict.is_boolean()
                && !strict.is_null()
            {
                return Err(invalid_type("response_format.json_schema.strict", "a boolean", strict));
            }
            let canonical = schema.to_string();
            Ok((Format::JsonSchema { name: name.to_string(), schema }, canonical))
        }
        other => Err(invalid_value(
            "response_format.type",
            format!("Invalid value: '{other}'. Supported values are: 'json_object', 'json_schema' and 'text'."),
        )),
    }
}

fn parse_tools(v: Option<&Value>) -> Result<(Vec<Tool>, String), ApiError> {
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
            return Err(invalid_value(&format!("{p}.type"), format!("Invalid value: '{kind}'. Supported values are: 'function'.")));
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
            Some(other) => return Err(invalid_type(&format!("{p}.function.parameters"), "an object", other)),
        };
        tools.push(Tool { name: name.to_string(), parameters });
    }
    let canonical = if list.is_empty() { String::new() } else { Value::Array(list.clone()).to_string() };
    Ok((tools, canonical))
}

fn parse_tool_choice(v: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, ApiError> {
    let choice = match v {
        None | Some(Value::Null) => return Ok(ToolChoice::Auto),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(invalid_value(
                    "tool_choice",
                    format!("Invalid value: '{other}'. Supported values are: 'none', 'auto' and 'required'."),
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
                    format!("Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' parameter."),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<ChatRequest, ApiError> {
        ChatRequest::parse(v.to_string().as_bytes())
    }

    #[test]
    fn parses_full_request() {
        let r = parse(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Be terse."},
                         {"role": "user", "content": [{"type": "text", "text": "Hello there"}, {"type": "image_url", "image_url": {"url": "x"}}]}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": {"type": "object"}, "strict": true}},
            "stream": true, "stream_options": {"include_usage": true},
            "max_completion_tokens": 100, "temperature": 0, "seed": 7
        }))
        .unwrap();
        assert_eq!(r.last_user_text(), "Hello there");
        assert!(matches!(r.format, Format::JsonSchema { .. }));
        assert!(r.stream && r.include_usage);
        assert_eq!(r.max_tokens, Some(100));
        // 2 messages: ceil(9/4)=3 and ceil(11/4)=3 + 85 image, 4 each, 3 priming, schema ceil(17/4)=5.
        assert_eq!(r.prompt_tokens(), 3 + 4 + 3 + 85 + 4 + 3 + 5);
    }

    #[test]
    fn rejects_invalid_requests_with_param() {
        let cases = [
            (json!({"messages": [{"role": "user", "content": "x"}]}), "model", "missing_required_parameter"),
            (json!({"model": "m"}), "messages", "missing_required_parameter"),
            (json!({"model": "m", "messages": []}), "messages", "empty_array"),
            (json!({"model": 3, "messages": []}), "model", "invalid_type"),
            (json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}), "messages[0].role", "invalid_value"),
            (json!({"model": "m", "messages": [{"role": "user"}]}), "messages[0].content", "missing_required_parameter"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}), "temperature", "invalid_value"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}), "max_tokens", "integer_out_of_range"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}), "response_format.type", "invalid_value"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}), "response_format.json_schema.name", "missing_required_parameter"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]}), "tools[0].function.name", "missing_required_parameter"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}), "tool_choice", "invalid_value"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}), "stream_options", "invalid_value"),
        ];
        for (body, param, code) in cases {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.status, 400);
            assert_eq!(e.param.as_deref(), Some(param), "{body}: {e:?}");
            assert_eq!(e.code, Some(code), "{body}: {e:?}");
            assert_eq!(e.body()["error"]["type"], "invalid_request_error");
        }
        assert_eq!(ChatRequest::parse(b"{nope").unwrap_err().status, 400);
    }

    #[test]
    fn hashes_and_conversations() {
        let a = parse(json!({"model": "m", "messages": [{"role": "user", "content": "first"}]})).unwrap();
        let b = parse(json!({"model": "m", "messages": [{"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"}, {"role": "user", "content": "second"}]}))
        .unwrap();
        assert_eq!(a.conversation_key(), b.conversation_key());
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(b.last_user_text(), "second");
    }
}
