//! The one model interface every provider implements, in a provider-neutral
//! form close to OpenAI Chat Completions: messages with tool calls, tools,
//! a response format, sampling limits and a timeout. Each provider maps it
//! to its own wire format and back.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProviderError;
use super::structured::StructuredMode;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// The result of a tool call, answering `tool_call_id`.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A chat message in the provider-neutral form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    #[serde(default)]
    pub content: String,
    /// Tool calls the assistant made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::Assistant, content)
    }
}

/// A call the model made to a declared tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text, exactly as the model produced them.
    pub arguments: String,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolChoice {
    #[default]
    Auto,
    None,
    Required,
    Named(String),
}

/// The shape the answer must take.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum ResponseFormat<'a> {
    #[default]
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON satisfying `schema`, enforced in `mode` (the strongest mode the
    /// model supports unless config says otherwise).
    JsonSchema {
        name: &'a str,
        schema: &'a Value,
        mode: StructuredMode,
    },
}

/// One call to a model.
#[derive(Debug, Clone)]
pub struct ChatRequest<'a> {
    /// The provider's own model name.
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub format: ResponseFormat<'a>,
    pub tools: &'a [Tool],
    pub tool_choice: &'a ToolChoice,
    pub max_tokens: u32,
    /// `None`: the provider's default.
    pub temperature: Option<f64>,
    pub stop: &'a [String],
    pub seed: Option<u64>,
    pub timeout: Duration,
}

impl<'a> ChatRequest<'a> {
    /// A request with no tools, no stop sequences and no seed.
    pub fn simple(
        model: &'a str,
        messages: &'a [ChatMessage],
        format: ResponseFormat<'a>,
        max_tokens: u32,
        temperature: f64,
        timeout: Duration,
    ) -> Self {
        ChatRequest {
            model,
            messages,
            format,
            tools: &[],
            tool_choice: &ToolChoice::Auto,
            max_tokens,
            temperature: Some(temperature),
            stop: &[],
            seed: None,
            timeout,
        }
    }

    /// The JSON schema asked for, if any.
    pub fn schema(&self) -> Option<(&'a str, &'a Value, StructuredMode)> {
        match self.format {
            ResponseFormat::JsonSchema { name, schema, mode } => Some((name, schema, mode)),
            _ => None,
        }
    }
}

/// Tokens used by one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (included in
    /// `input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Input tokens written to the provider's prompt cache (included in
    /// `input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Why generation ended, in OpenAI's vocabulary.
pub mod finish {
    pub const STOP: &str = "stop";
    pub const LENGTH: &str = "length";
    pub const TOOL_CALLS: &str = "tool_calls";
    pub const CONTENT_FILTER: &str = "content_filter";
}

/// What came back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    /// The text the model produced; under a JSON schema, the JSON text
    /// whichever mode produced it (a forced tool's arguments included).
    pub content: String,
    /// Calls to the request's own tools.
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// One of [`finish`]'s values, or the provider's own when it has no
    /// equivalent.
    pub finish_reason: Option<String>,
    /// The provider's id for the response, when it gives one.
    pub response_id: Option<String>,
}

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More answer text (or JSON text under a schema).
    Text(String),
    /// A piece of a tool call; `id` and `name` come with its first piece.
    ToolCall {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Token counts, usually last.
    Usage(Usage),
    /// Why generation ended.
    Finish(String),
    /// The provider's response id.
    Id(String),
}

/// A streamed answer. Dropping it cancels the upstream call.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// A model provider. Implementations own their wire format and decide how
/// their errors map onto [`ProviderError`].
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// One complete answer.
    async fn chat(&self, request: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError>;

    /// The answer as it is generated. Providers that cannot stream answer
    /// in one piece.
    async fn stream(&self, request: &ChatRequest<'_>) -> Result<ChatStream, ProviderError> {
        let response = self.chat(request).await?;
        Ok(Box::pin(futures_util::stream::iter(
            super::stream::events_of(response).into_iter().map(Ok),
        )))
    }

    /// Structured-output modes this provider can enforce, strongest first.
    /// Prompt-only JSON is always possible and need not be listed.
    fn structured_modes(&self) -> &'static [StructuredMode];

    /// Whether the output schema is sent with seam's `x-seam-*` marks (an
    /// in-process provider that reads them, like the embedding classifier's
    /// `x-seam-labels`); remote providers get it without them.
    fn reads_seam_marks(&self) -> bool {
        false
    }
}
