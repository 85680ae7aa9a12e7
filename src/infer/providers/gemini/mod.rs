//! Google Gemini (`POST {base_url}/v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, key in `x-goog-api-key`): system
//! instruction, `user`/`model` turns of parts, function calling, and
//! `responseSchema` (JSON Schema converted to Gemini's subset) for
//! structured output.

mod error;
mod request;
mod response;
mod schema;
#[cfg(test)]
mod tests;

use futures_util::StreamExt;
use serde_json::Value;

use crate::config::Secret;
use crate::infer::http::{self, Auth};
use crate::infer::stream::sse_events;
use crate::infer::structured::StructuredMode;
use crate::infer::{ChatRequest, ChatResponse, ChatStream, Provider, ProviderError, StreamEvent};

pub use error::classify;
pub use request::request_body;

pub struct Gemini {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
}

impl Gemini {
    pub fn new(client: reqwest::Client, base_url: &str, api_key: Option<Secret>) -> Self {
        Gemini {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    /// The method URL; the key never goes in it.
    fn url(&self, model: &str, stream: bool) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        format!("{}/v1beta/models/{model}:{method}", self.base_url)
    }

    async fn send(
        &self,
        req: &ChatRequest<'_>,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let auth = match &self.api_key {
            Some(k) => Auth::Header("x-goog-api-key", k),
            None => Auth::None,
        };
        http::post_json(
            &self.client,
            &self.url(req.model, stream),
            auth,
            &[],
            &request_body(req),
            req.timeout,
            classify,
        )
        .await
    }
}

/// The events of one SSE chunk: a GenerateContentResponse, or an error.
fn chunk_events(
    state: &mut response::ChunkState,
    data: &str,
) -> Vec<Result<StreamEvent, ProviderError>> {
    let value: Value = match serde_json::from_str(data) {
        Ok(v) => v,
        Err(e) => {
            return vec![Err(ProviderError::BadResponse(format!(
                "unreadable stream chunk: {e}"
            )))];
        }
    };
    if value.get("error").is_some() {
        return vec![Err(error::classify_value(&value))];
    }
    match serde_json::from_value(value) {
        Ok(chunk) => state.events(chunk),
        Err(e) => vec![Err(ProviderError::BadResponse(format!(
            "unreadable stream chunk: {e}"
        )))],
    }
}

#[async_trait::async_trait]
impl Provider for Gemini {
    async fn chat(&self, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let resp = self.send(req, false).await?;
        let wire: response::WireResponse =
            http::read_json(resp, req.timeout, "a GenerateContentResponse").await?;
        response::response_of(wire, request::forced_tool(req).as_deref())
    }

    async fn stream(&self, req: &ChatRequest<'_>) -> Result<ChatStream, ProviderError> {
        let mut state = response::ChunkState::new(request::forced_tool(req));
        let resp = self.send(req, true).await?;
        let events = sse_events(resp, req.timeout.as_millis() as u64).flat_map(move |ev| {
            let items = match ev {
                Err(e) => vec![Err(e)],
                Ok(ev) => chunk_events(&mut state, &ev.data),
            };
            futures_util::stream::iter(items)
        });
        Ok(Box::pin(events))
    }

    fn structured_modes(&self) -> &'static [StructuredMode] {
        &[StructuredMode::ResponseSchema, StructuredMode::Tool]
    }
}
