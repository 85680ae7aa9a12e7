//! OpenAI Chat Completions requests: parsing, validation and token counts.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::openai_fields::{
    flag, invalid_type, invalid_value, number_in, parse_format, parse_messages, parse_tool_choice,
    parse_tools, positive_int, string_field,
};

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
    pub fn invalid(
        message: impl Into<String>,
        param: Option<&str>,
        code: Option<&'static str>,
    ) -> ApiError {
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

impl ChatRequest {
    /// Parse and validate a request body.
    pub fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
        ChatRequest::parse_with(body, None)
    }

    /// Parse a request to an Azure OpenAI deployment: the deployment is the
    /// model, and `model` in the body is optional (and ignored).
    pub fn parse_for_deployment(body: &[u8], deployment: &str) -> Result<ChatRequest, ApiError> {
        ChatRequest::parse_with(body, Some(deployment))
    }

    fn parse_with(body: &[u8], deployment: Option<&str>) -> Result<ChatRequest, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(
                format!("We could not parse the JSON body of your request ({e}). The OpenAI API expects a JSON payload."),
                None,
                None,
            )
        })?;
        let Value::Object(obj) = &value else {
            return Err(ApiError::invalid(
                "The request body must be a JSON object.",
                None,
                Some("invalid_type"),
            ));
        };
        let model = match deployment {
            Some(d) => match obj.get("model") {
                None | Some(Value::Null | Value::String(_)) => d,
                Some(other) => return Err(invalid_type("model", "a string", other)),
            },
            None => string_field(obj, "model", "model")?,
        };
        if model.is_empty() {
            return Err(invalid_value(
                "model",
                "Invalid 'model': empty string.".into(),
            ));
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
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled."
                        .into(),
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

    /// Tokens the rate limits charge: the message texts (≈ chars/4) plus
    /// the output allowance of every choice.
    pub fn rate_tokens(&self) -> u64 {
        let text: u64 = self.messages.iter().map(|m| tokens(&m.text)).sum();
        text + self.max_tokens.unwrap_or(0).saturating_mul(self.n as u64)
    }

    /// Identifies a conversation: the model and the first user message.
    pub fn conversation_key(&self) -> u64 {
        let first = self
            .messages
            .iter()
            .find(|m| m.role == "user")
            .map_or("", |m| m.text.as_str());
        super::gate::conversation_key(&self.model, first)
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

    /// The text a model should answer from: what user messages delimit as
    /// data (`<untrusted>…</untrusted>`, the convention seam's prompts use),
    /// or else the last user message.
    pub fn source_text(&self) -> String {
        let users = self
            .messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.text.as_str());
        if users.clone().next().is_none() {
            return self.last_user_text().to_string();
        }
        super::answer::source_text(users)
    }

    /// Every user message, one after the other (where a prompt prints the
    /// ids of its sources).
    pub fn user_text(&self) -> String {
        self.messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The role of the last message.
    pub fn last_role(&self) -> &str {
        self.messages.last().map_or("", |m| m.role.as_str())
    }

    /// The prompt plus the completion it asks room for (`max_tokens` or
    /// `max_completion_tokens`) must fit the model's context window; the
    /// error words it as OpenAI does, with or without a completion budget.
    pub fn check_context(&self) -> Result<(), ApiError> {
        let window = context_window(&self.model);
        let prompt = self.prompt_tokens();
        let completion = self.max_tokens.unwrap_or(0);
        let total = prompt.saturating_add(completion);
        if total <= window {
            return Ok(());
        }
        let head = format!("This model's maximum context length is {window} tokens. However,");
        let message = match self.max_tokens {
            None => format!(
                "{head} your messages resulted in {prompt} tokens. Please reduce the length of the messages."
            ),
            Some(c) => format!(
                "{head} you requested {total} tokens ({prompt} in the messages, {c} in the completion). Please reduce the length of the messages or completion."
            ),
        };
        Err(ApiError::invalid(
            message,
            Some("messages"),
            Some("context_length_exceeded"),
        ))
    }

    /// ≈ ceil(chars/4) + 4 per message, + 3, plus tool and schema definitions.
    pub fn prompt_tokens(&self) -> u64 {
        let per_message: u64 = self
            .messages
            .iter()
            .map(|m| tokens(&m.text) + 4 + m.extra_tokens)
            .sum();
        let defs = if self.tools_json.is_empty() {
            0
        } else {
            tokens(&self.tools_json)
        } + if self.format_json.is_empty() {
            0
        } else {
            tokens(&self.format_json)
        };
        per_message + 3 + defs
    }
}

/// A model with a 512-token window, to trigger `context_length_exceeded`
/// cheaply in tests.
pub const TINY_CTX: &str = "tiny-ctx";

/// The context window of a model on the OpenAI route, in tokens.
pub fn context_window(model: &str) -> u64 {
    match model {
        TINY_CTX => 512,
        m if m.starts_with("gpt-4.1") => 1_047_576,
        _ => 128_000,
    }
}

/// ceil(chars / 4).
pub fn tokens(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
