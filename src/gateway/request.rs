//! An OpenAI Chat Completions request, read into seam's provider-neutral
//! types. Unknown fields are ignored (SDKs send new ones before every
//! server knows them); known fields of the wrong shape are errors that name
//! the parameter, as OpenAI's own errors do.

use serde_json::{Map, Value};

use std::path::Path;

use crate::infer::{ChatMessage, Role, Tool, ToolCall, ToolChoice};
use crate::schema::JsonSchema;

/// A request error: the message and the parameter it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct BadParam {
    pub param: String,
    pub message: String,
}

fn bad(param: impl Into<String>, message: impl Into<String>) -> BadParam {
    BadParam {
        param: param.into(),
        message: message.into(),
    }
}

/// The requested output format, owned.
#[derive(Debug, Clone)]
pub enum Format {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: std::sync::Arc<JsonSchema>,
    },
}

/// A parsed `/v1/chat/completions` request.
#[derive(Debug, Clone)]
pub struct ChatCall {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<Tool>,
    pub tool_choice: ToolChoice,
    pub format: Format,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub stop: Vec<String>,
    pub seed: Option<u64>,
    pub stream: bool,
    pub include_usage: bool,
    /// Whose call it is (budgets, cost reports): the `Seam-Tenant` header,
    /// set by the route; the default tenant until then.
    pub tenant: String,
}

impl ChatCall {
    pub fn parse(body: &[u8]) -> Result<ChatCall, BadParam> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            bad(
                "",
                format!(
                    "the body is not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("", "the body must be a JSON object"))?;
        let model = match obj.get("model") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(bad("model", "`model` must be a non-empty string")),
            None => return Err(bad("model", "you must provide a model parameter")),
        };
        let n = obj.get("n").and_then(Value::as_u64).unwrap_or(1);
        if n != 1 {
            return Err(bad(
                "n",
                "seam answers one choice per request; `n` must be 1",
            ));
        }
        let tools = parse_tools(obj.get("tools"))?;
        let max_tokens = match obj
            .get("max_completion_tokens")
            .or_else(|| obj.get("max_tokens"))
        {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
                    .ok_or_else(|| bad("max_tokens", "must be a positive integer"))?
                    as u32,
            ),
        };
        let temperature = match obj.get("temperature") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_f64()
                    .filter(|t| (0.0..=2.0).contains(t))
                    .ok_or_else(|| bad("temperature", "must be a number from 0 to 2"))?,
            ),
        };
        let stop = match obj.get("stop") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("stop", "must be a string or an array of strings"))?,
            Some(_) => return Err(bad("stop", "must be a string or an array of strings")),
        };
        let stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let include_usage = obj
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(ChatCall {
            model,
            messages: parse_messages(obj.get("messages"))?,
            tool_choice: parse_tool_choice(obj.get("tool_choice"), &tools)?,
            tools,
            format: parse_format(obj.get("response_format"))?,
            max_tokens,
            temperature,
            stop,
            seed: obj.get("seed").and_then(Value::as_u64),
            stream,
            include_usage,
            tenant: crate::store::DEFAULT_TENANT.to_string(),
        })
    }

    /// Whether the answer is a function of the request alone (and so may
    /// be cached): temperature explicitly 0.
    pub fn deterministic(&self) -> bool {
        self.temperature == Some(0.0)
    }
}

fn parse_messages(v: Option<&Value>) -> Result<Vec<ChatMessage>, BadParam> {
    let list = v
        .and_then(Value::as_array)
        .ok_or_else(|| bad("messages", "`messages` must be an array of messages"))?;
    if list.is_empty() {
        return Err(bad("messages", "`messages` must not be empty"));
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| parse_message(i, m))
        .collect()
}

fn parse_message(i: usize, m: &Value) -> Result<ChatMessage, BadParam> {
    let at = |k: &str| format!("messages[{i}].{k}");
    let obj = m
        .as_object()
        .ok_or_else(|| bad(format!("messages[{i}]"), "each message must be an object"))?;
    let role = match obj.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        other => {
            return Err(bad(
                at("role"),
                format!(
                    "role {} is not one of system, developer, user, assistant, tool",
                    other.map_or("(missing)".to_string(), |r| format!("`{r}`"))
                ),
            ));
        }
    };
    let content = content_text(obj.get("content")).map_err(|m| bad(at("content"), m))?;
    let mut message = ChatMessage::user(content);
    message.role = role;
    if let Some(calls) = obj.get("tool_calls").and_then(Value::as_array) {
        for (j, c) in calls.iter().enumerate() {
            let f = c.get("function");
            let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
            let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str);
            let (Some(name), Some(args)) = (name, args) else {
                return Err(bad(
                    format!("messages[{i}].tool_calls[{j}].function"),
                    "a tool call needs function.name and function.arguments",
                ));
            };
            message.tool_calls.push(ToolCall {
                id: c
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                name: name.to_string(),
                arguments: args.to_string(),
            });
        }
    }
    if role == Role::Tool {
        let id = obj
            .get("tool_call_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(at("tool_call_id"), "tool messages need tool_call_id"))?;
        message.tool_call_id = Some(id.to_string());
    }
    Ok(message)
}

/// Message content: a string, or an array of parts whose text parts are
/// joined. Other part types (images, audio) are refused: seam does not
/// forward them yet.
fn content_text(v: Option<&Value>) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for p in parts {
                match (p.get("type").and_then(Value::as_str), p.get("text")) {
                    (Some("text"), Some(Value::String(t))) => out.push_str(t),
                    (Some(kind), _) => {
                        return Err(format!("content parts of type `{kind}` are not supported"));
                    }
                    (None, _) => return Err("each content part needs a type".into()),
                }
            }
            Ok(out)
        }
        Some(_) => Err("content must be a string or an array of parts".into()),
    }
}

fn parse_tools(v: Option<&Value>) -> Result<Vec<Tool>, BadParam> {
    let Some(list) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("tools", "`tools` must be an array"))?;
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let f = t
                .get("function")
                .and_then(Value::as_object)
                .filter(|_| t.get("type").and_then(Value::as_str) == Some("function"))
                .ok_or_else(|| {
                    bad(
                        format!("tools[{i}]"),
                        "only tools of type `function` with a `function` object are supported",
                    )
                })?;
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("tools[{i}].function.name"), "a tool needs a name"))?;
            Ok(Tool {
                name: name.to_string(),
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parameters: f
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            })
        })
        .collect()
}

fn parse_tool_choice(v: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, BadParam> {
    let choice = match v {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(bad(
                    "tool_choice",
                    format!("`{other}` is not one of auto, none, required"),
                ));
            }
        },
        Some(Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tool_choice", "a named tool choice needs function.name"))?;
            if !tools.iter().any(|t| t.name == name) {
                return Err(bad(
                    "tool_choice",
                    format!("tool `{name}` is not in `tools`"),
                ));
            }
            ToolChoice::Named(name.to_string())
        }
        Some(_) => return Err(bad("tool_choice", "must be a string or an object")),
    };
    if choice != ToolChoice::Auto && choice != ToolChoice::None && tools.is_empty() {
        return Err(bad("tool_choice", "tool_choice needs `tools`"));
    }
    Ok(choice)
}

fn parse_format(v: Option<&Value>) -> Result<Format, BadParam> {
    let Some(obj) = v.filter(|v| !v.is_null()) else {
        return Ok(Format::Text);
    };
    let obj: &Map<String, Value> = obj
        .as_object()
        .ok_or_else(|| bad("response_format", "must be an object"))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Format::Text),
        Some("json_object") => Ok(Format::JsonObject),
        Some("json_schema") => {
            let js = obj
                .get("json_schema")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("response_format.json_schema", "json_schema is required"))?;
            let name = js
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("response_format.json_schema.name", "a name is required"))?;
            let schema = js
                .get("schema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": "object"}));
            let schema = JsonSchema::compile(Path::new("response_format"), schema)
                .map_err(|e| bad("response_format.json_schema.schema", e))?;
            Ok(Format::JsonSchema {
                name: name.to_string(),
                schema: std::sync::Arc::new(schema),
            })
        }
        _ => Err(bad(
            "response_format.type",
            "must be one of text, json_object, json_schema",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_request_parses() {
        let c = ChatCall::parse(br#"{"model":"small","messages":[
            {"role":"developer","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"42"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
            "tool_choice":{"type":"function","function":{"name":"f"}},
            "temperature":0,"max_completion_tokens":50,"stop":"END","stream":true,
            "stream_options":{"include_usage":true},"logprobs":false}"#).unwrap();
        assert_eq!(c.messages[0].role, Role::System);
        assert_eq!(c.messages[1].content, "hi there");
        assert_eq!(c.messages[2].tool_calls[0].name, "f");
        assert_eq!(c.messages[3].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(c.tool_choice, ToolChoice::Named("f".into()));
        assert_eq!(c.max_tokens, Some(50));
        assert_eq!(c.stop, vec!["END".to_string()]);
        assert!(c.stream && c.include_usage && c.deterministic());
    }

    #[test]
    fn errors_name_the_parameter() {
        let p = |b: &str| ChatCall::parse(b.as_bytes()).unwrap_err().param;
        assert_eq!(p(r#"{"messages":[]}"#), "model");
        assert_eq!(p(r#"{"model":"m","messages":[]}"#), "messages");
        assert_eq!(
            p(r#"{"model":"m","messages":[{"role":"bot","content":"x"}]}"#),
            "messages[0].role"
        );
        assert_eq!(
            p(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#),
            "temperature"
        );
        assert_eq!(
            p(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#),
            "n"
        );
        assert_eq!(
            p(
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":7}}}}"#
            ),
            "response_format.json_schema.schema"
        );
        assert_eq!(
            p(
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#
            ),
            "tool_choice"
        );
        assert_eq!(p("{"), "");
    }
}
