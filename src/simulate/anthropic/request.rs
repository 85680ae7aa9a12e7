//! Anthropic Messages requests: parsing, validation and token counts.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::simulate::openai::tokens;

/// The context window of every simulated Claude model.
pub(crate) const CONTEXT_WINDOW: u64 = 200_000;
/// Tokens counted for an image or a document block.
const MEDIA_TOKENS: u64 = 1600;
/// Output limits of the listed models, checked against `max_tokens`.
const MAX_OUTPUT: &[(&str, u64)] = &[
    ("claude-sonnet-4-5", 64_000),
    ("claude-haiku-4-5", 64_000),
    ("claude-opus-4-1", 32_000),
    ("claude-3-5-haiku", 8_192),
];
const BLOCK_TYPES: &str =
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'";

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub name: String,
    pub input_schema: Value,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    Auto,
    Any,
    Tool(String),
    None,
}

/// One input message, reduced to its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub role: String,
    pub text: String,
    /// Tokens not carried by `text` (images, tool calls).
    pub extra_tokens: u64,
    pub tool_use_ids: Vec<String>,
    pub tool_result_ids: Vec<String>,
}

/// A validated Messages request.
#[derive(Debug, Clone)]
pub(crate) struct MessagesRequest {
    pub model: String,
    pub max_tokens: u64,
    pub system: String,
    /// The system prompt carries `cache_control: {"type": "ephemeral"}`.
    pub system_cached: bool,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: ToolChoice,
    pub stop_sequences: Vec<String>,
    pub stream: bool,
    /// `output_format: {"type": "json_schema", "schema"}` (structured outputs).
    pub output_schema: Option<Value>,
    tools_json: String,
    hash: [u8; 32],
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, ApiError> {
    match field(obj, key) {
        None => Err(ApiError::missing(path)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::not_a(path, "string")),
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::not_a(path, "dictionary or object"))
}

fn list<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array().ok_or_else(|| ApiError::not_a(path, "list"))
}

impl MessagesRequest {
    /// Parse and validate a request body.
    pub(crate) fn parse(body: &[u8]) -> Result<MessagesRequest, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(format!(
                "There was an error parsing the body of your request as JSON: {e}"
            ))
        })?;
        let obj = value
            .as_object()
            .ok_or_else(|| ApiError::invalid("The request body must be a JSON object."))?;
        let model = string(obj, "model", "model")?.to_string();
        let max_tokens = match field(obj, "max_tokens") {
            None => return Err(ApiError::missing("max_tokens")),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(m) if m >= 1 => m,
                _ if n.is_f64() => return Err(ApiError::not_a("max_tokens", "integer")),
                _ => {
                    return Err(ApiError::invalid(
                        "max_tokens: Input should be greater than or equal to 1",
                    ));
                }
            },
            Some(_) => return Err(ApiError::not_a("max_tokens", "integer")),
        };
        if let Some((_, limit)) = MAX_OUTPUT.iter().find(|(m, _)| model.starts_with(m))
            && max_tokens > *limit
        {
            return Err(ApiError::invalid(format!(
                "max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of output tokens for {model}"
            )));
        }
        let (system, system_cached) = parse_system(field(obj, "system"))?;
        let messages = parse_messages(field(obj, "messages"))?;
        let (tools, tools_json) = parse_tools(field(obj, "tools"))?;
        let tool_choice = parse_tool_choice(field(obj, "tool_choice"), &tools)?;
        let stop_sequences = match field(obj, "stop_sequences") {
            None => Vec::new(),
            Some(v) => list(v, "stop_sequences")?
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::not_a(&format!("stop_sequences.{i}"), "string"))
                })
                .collect::<Result<_, _>>()?,
        };
        let stream = match field(obj, "stream") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::not_a("stream", "boolean")),
        };
        match field(obj, "temperature") {
            None => {}
            Some(Value::Number(n)) => match n.as_f64() {
                Some(t) if (0.0..=1.0).contains(&t) => {}
                Some(t) if t < 0.0 => {
                    return Err(ApiError::invalid(
                        "temperature: Input should be greater than or equal to 0",
                    ));
                }
                _ => {
                    return Err(ApiError::invalid(
                        "temperature: Input should be less than or equal to 1",
                    ));
                }
            },
            Some(_) => return Err(ApiError::not_a("temperature", "number")),
        }
        if let Some(m) = field(obj, "metadata") {
            object(m, "metadata")?;
        }
        let output_schema = parse_output_format(field(obj, "output_format"))?;
        let mut canonical = value.clone();
        if let Some(o) = canonical.as_object_mut() {
            o.remove("stream");
            o.remove("metadata");
        }
        let hash = Sha256::digest(canonical.to_string().as_bytes()).into();
        Ok(MessagesRequest {
            model,
            max_tokens,
            system,
            system_cached,
            messages,
            tools,
            tool_choice,
            stop_sequences,
            stream,
            output_schema,
            tools_json,
            hash,
        })
    }

    /// SHA-256 over the content that determines the answer.
    pub(crate) fn content_hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The text of the first user message.
    pub(crate) fn first_user_text(&self) -> &str {
        self.messages
            .iter()
            .find(|m| m.role == "user")
            .map_or("", |m| m.text.as_str())
    }

    /// The texts of the user messages, in order.
    pub(crate) fn user_texts(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.text.as_str())
    }

    /// Whether the last message hands back tool results.
    pub(crate) fn answers_tool_result(&self) -> bool {
        self.messages
            .last()
            .is_some_and(|m| !m.tool_result_ids.is_empty())
    }

    /// Tokens of the tools and the system prompt: the prefix a
    /// `cache_control` on the system prompt caches.
    pub(crate) fn prefix_tokens(&self) -> u64 {
        let tools = if self.tools_json.is_empty() {
            0
        } else {
            tokens(&self.tools_json)
        };
        tools + tokens(&self.system)
    }

    /// Tokens the rate limits charge: system and message texts (≈ chars/4)
    /// plus `max_tokens`.
    pub(crate) fn rate_tokens(&self) -> u64 {
        let text: u64 = self.messages.iter().map(|m| tokens(&m.text)).sum();
        tokens(&self.system) + text + self.max_tokens
    }

    /// Every input token: prefix, messages (≈ chars/4 + 4 each) and 3.
    pub(crate) fn input_tokens(&self) -> u64 {
        let messages: u64 = self
            .messages
            .iter()
            .map(|m| tokens(&m.text) + 4 + m.extra_tokens)
            .sum();
        self.prefix_tokens() + messages + 3
    }

    /// Key of the cacheable prefix.
    pub(crate) fn prefix_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update([0]);
        h.update(self.tools_json.as_bytes());
        h.update([1]);
        h.update(self.system.as_bytes());
        h.finalize().into()
    }
}

fn is_ephemeral(block: &Map<String, Value>) -> bool {
    block
        .get("cache_control")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        == Some("ephemeral")
}

fn parse_system(v: Option<&Value>) -> Result<(String, bool), ApiError> {
    match v {
        None => Ok((String::new(), false)),
        Some(Value::String(s)) => Ok((s.clone(), false)),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            let mut cached = false;
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system.{i}");
                let b = object(b, &path)?;
                let kind = string(b, "type", &format!("{path}.type"))?;
                if kind != "text" {
                    return Err(ApiError::invalid(format!(
                        "{path}.type: Input should be 'text'"
                    )));
                }
                texts.push(string(b, "text", &format!("{path}.text"))?);
                cached |= is_ephemeral(b);
            }
            Ok((texts.join("\n"), cached))
        }
        Some(_) => Err(ApiError::not_a("system", "string or list")),
    }
}

fn parse_messages(v: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let list = list(v.ok_or_else(|| ApiError::missing("messages"))?, "messages")?;
    if list.is_empty() {
        return Err(ApiError::invalid(
            "messages: at least one message is required",
        ));
    }
    let messages: Vec<Message> = list
        .iter()
        .enumerate()
        .map(|(i, m)| parse_message(i, m))
        .collect::<Result<_, _>>()?;
    // Every tool_use must be answered by a tool_result in the next message,
    // and every tool_result must answer a tool_use of the previous one.
    for (i, pair) in messages.windows(2).enumerate() {
        let missing: Vec<&str> = pair[0]
            .tool_use_ids
            .iter()
            .filter(|id| !pair[1].tool_result_ids.contains(id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::invalid(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                i + 1,
                missing.join(", ")
            )));
        }
    }
    for (i, m) in messages.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &messages[p].tool_use_ids);
        let stray: Vec<&str> = m
            .tool_result_ids
            .iter()
            .filter(|id| previous.is_none_or(|ids| !ids.contains(id)))
            .map(String::as_str)
            .collect();
        if !stray.is_empty() {
            return Err(ApiError::invalid(format!(
                "messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                stray.join(", ")
            )));
        }
    }
    Ok(messages)
}

fn parse_message(i: usize, m: &Value) -> Result<Message, ApiError> {
    let path = format!("messages.{i}");
    let obj = object(m, &path)?;
    let role = string(obj, "role", &format!("{path}.role"))?;
    if role == "system" {
        return Err(ApiError::invalid(
            "Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.",
        ));
    }
    if role != "user" && role != "assistant" {
        return Err(ApiError::invalid(format!(
            "{path}.role: Input should be 'user' or 'assistant'"
        )));
    }
    let mut msg = Message {
        role: role.to_string(),
        text: String::new(),
        extra_tokens: 0,
        tool_use_ids: Vec::new(),
        tool_result_ids: Vec::new(),
    };
    let content =
        field(obj, "content").ok_or_else(|| ApiError::missing(&format!("{path}.content")))?;
    match content {
        Value::String(s) => msg.text = s.clone(),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for (j, b) in blocks.iter().enumerate() {
                block(
                    &format!("{path}.content.{j}"),
                    b,
                    role,
                    &mut msg,
                    &mut texts,
                )?;
            }
            msg.text = texts.join("\n");
        }
        _ => {
            return Err(ApiError::not_a(
                &format!("{path}.content"),
                "string or list",
            ));
        }
    }
    Ok(msg)
}

fn block(
    path: &str,
    b: &Value,
    role: &str,
    msg: &mut Message,
    texts: &mut Vec<String>,
) -> Result<(), ApiError> {
    let b = object(b, path)?;
    match string(b, "type", &format!("{path}.type"))? {
        "text" => texts.push(string(b, "text", &format!("{path}.text"))?.to_string()),
        "image" | "document" => {
            object(
                field(b, "source").ok_or_else(|| ApiError::missing(&format!("{path}.source")))?,
                &format!("{path}.source"),
            )?;
            msg.extra_tokens += MEDIA_TOKENS;
        }
        "tool_use" if role == "assistant" => {
            let id = string(b, "id", &format!("{path}.id"))?;
            let name = string(b, "name", &format!("{path}.name"))?;
            let input =
                field(b, "input").ok_or_else(|| ApiError::missing(&format!("{path}.input")))?;
            object(input, &format!("{path}.input"))?;
            msg.extra_tokens += tokens(name) + tokens(&input.to_string()) + 3;
            msg.tool_use_ids.push(id.to_string());
        }
        "tool_result" if role == "user" => {
            let id = string(b, "tool_use_id", &format!("{path}.tool_use_id"))?;
            match field(b, "content") {
                None => {}
                Some(Value::String(s)) => texts.push(s.clone()),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        match p.get("text").and_then(Value::as_str) {
                            Some(t) => texts.push(t.to_string()),
                            None => msg.extra_tokens += MEDIA_TOKENS,
                        }
                    }
                }
                Some(_) => {
                    return Err(ApiError::not_a(
                        &format!("{path}.content"),
                        "string or list",
                    ));
                }
            }
            msg.tool_result_ids.push(id.to_string());
        }
        kind @ ("tool_use" | "tool_result") => {
            return Err(ApiError::invalid(format!(
                "{path}: `{kind}` blocks are not allowed in `{role}` messages"
            )));
        }
        "thinking" | "redacted_thinking" => {}
        other => {
            return Err(ApiError::invalid(format!(
                "{path}.type: Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TYPES}"
            )));
        }
    }
    Ok(())
}

fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_tools(v: Option<&Value>) -> Result<(Vec<Tool>, String), ApiError> {
    let Some(v) = v else {
        return Ok((Vec::new(), String::new()));
    };
    let items = list(v, "tools")?;
    let mut tools = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        let path = format!("tools.{i}");
        let t = object(t, &path)?;
        let name = string(t, "name", &format!("{path}.name"))?;
        if !valid_tool_name(name) {
            return Err(ApiError::invalid(format!(
                "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )));
        }
        let schema_path = format!("{path}.input_schema");
        let schema = field(t, "input_schema").ok_or_else(|| ApiError::missing(&schema_path))?;
        let schema_obj = object(schema, &schema_path)?;
        if schema_obj.get("type").and_then(Value::as_str) != Some("object") {
            return Err(ApiError::invalid(format!(
                "{schema_path}.type: Input should be 'object'"
            )));
        }
        if tools.iter().any(|x: &Tool| x.name == name) {
            return Err(ApiError::invalid(format!(
                "tools: Tool names must be unique. Duplicate: {name}"
            )));
        }
        tools.push(Tool {
            name: name.to_string(),
            input_schema: schema.clone(),
        });
    }
    let canonical = if items.is_empty() {
        String::new()
    } else {
        v.to_string()
    };
    Ok((tools, canonical))
}

fn parse_tool_choice(v: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, ApiError> {
    let Some(v) = v else {
        return Ok(ToolChoice::Auto);
    };
    let obj = object(v, "tool_choice")?;
    let choice = match string(obj, "type", "tool_choice.type")? {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Any,
        "none" => ToolChoice::None,
        "tool" => {
            let name = string(obj, "name", "tool_choice.name")?;
            if !tools.iter().any(|t| t.name == name) {
                return Err(ApiError::invalid(format!(
                    "tool_choice.name: Tool '{name}' not found in tools"
                )));
            }
            ToolChoice::Tool(name.to_string())
        }
        other => {
            return Err(ApiError::invalid(format!(
                "tool_choice.type: Input tag '{other}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
            )));
        }
    };
    if tools.is_empty() && matches!(choice, ToolChoice::Any | ToolChoice::Tool(_)) {
        return Err(ApiError::invalid(
            "tool_choice: tool_choice may only be specified while providing tools.",
        ));
    }
    Ok(choice)
}

fn parse_output_format(v: Option<&Value>) -> Result<Option<Value>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    let obj = object(v, "output_format")?;
    match string(obj, "type", "output_format.type")? {
        "json_schema" => {
            let schema =
                field(obj, "schema").ok_or_else(|| ApiError::missing("output_format.schema"))?;
            object(schema, "output_format.schema")?;
            Ok(Some(schema.clone()))
        }
        other => Err(ApiError::invalid(format!(
            "output_format.type: Input tag '{other}' found using 'type' does not match any of the expected tags: 'json_schema'"
        ))),
    }
}
