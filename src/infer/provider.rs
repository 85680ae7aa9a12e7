//! The one model interface every provider implements.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProviderError;

/// A chat message in the provider-neutral form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// One call to a model.
#[derive(Debug, Clone)]
pub struct ChatRequest<'a> {
    /// The provider's own model name.
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    /// Output JSON Schema, sent in the provider's structured-output mode.
    pub output_schema: Option<(&'a str, &'a Value)>,
    pub max_tokens: u32,
    pub temperature: f64,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct ChatResponse {
    /// The text (or tool arguments) the model produced.
    pub content: String,
    pub usage: Usage,
    pub finish_reason: Option<String>,
    /// The provider's id for the response, when it gives one.
    pub response_id: Option<String>,
}

/// A model provider. Implementations own their wire format and decide how
/// their errors map onto [`ProviderError`].
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    async fn chat(&self, request: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError>;
}
