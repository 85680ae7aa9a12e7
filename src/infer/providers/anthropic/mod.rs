//! Anthropic Messages (`POST {base_url}/v1/messages`): system text at the
//! top level, strictly alternating user/assistant turns of content blocks,
//! tool use as `tool_use`/`tool_result` blocks, and a forced tool for
//! structured output. Streaming is SSE with typed events.

mod error;
mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use futures_util::StreamExt;

use crate::config::Secret;
use crate::infer::http::{self, Auth};
use crate::infer::stream::sse_events;
use crate::infer::structured::StructuredMode;
use crate::infer::{ChatRequest, ChatResponse, ChatStream, Provider, ProviderError};

pub use error::classify;
pub use request::request_body;

/// The API version seam speaks (`anthropic-version`).
pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
}

impl Anthropic {
    pub fn new(client: reqwest::Client, base_url: &str, api_key: Option<Secret>) -> Self {
        Anthropic {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    async fn send(
        &self,
        req: &ChatRequest<'_>,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut body = request_body(req);
        if stream {
            body["stream"] = serde_json::Value::Bool(true);
        }
        let auth = match &self.api_key {
            Some(k) => Auth::Header("x-api-key", k),
            None => Auth::None,
        };
        http::post_json(
            &self.client,
            &format!("{}/v1/messages", self.base_url),
            auth,
            &[("anthropic-version", API_VERSION)],
            &body,
            req.timeout,
            classify,
        )
        .await
    }
}

#[async_trait::async_trait]
impl Provider for Anthropic {
    async fn chat(&self, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let resp = self.send(req, false).await?;
        let wire: response::WireMessage = http::read_json(resp, req.timeout, "a message").await?;
        response::response_of(wire, request::forced_tool(req).as_deref())
    }

    async fn stream(&self, req: &ChatRequest<'_>) -> Result<ChatStream, ProviderError> {
        let mut state = stream::StreamState::new(request::forced_tool(req));
        let resp = self.send(req, true).await?;
        let events = sse_events(resp, req.timeout.as_millis() as u64).flat_map(move |ev| {
            let items = match ev {
                Err(e) => vec![Err(e)],
                Ok(ev) => state.events(&ev),
            };
            futures_util::stream::iter(items)
        });
        Ok(Box::pin(events))
    }

    fn structured_modes(&self) -> &'static [StructuredMode] {
        &[StructuredMode::Tool]
    }
}
