//! OpenAI Chat Completions (`POST {base_url}/chat/completions`), also
//! spoken by vLLM, Ollama, llama.cpp server, Groq, Together and others.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;
use crate::infer::error::parse_retry_after;
use crate::infer::{ChatRequest, ChatResponse, Provider, ProviderError, Usage};

pub struct OpenAi {
    client: reqwest::Client,
    url: String,
    api_key: Option<Secret>,
}

impl OpenAi {
    pub fn new(client: reqwest::Client, base_url: &str, api_key: Option<Secret>) -> Self {
        OpenAi {
            client,
            url: format!("{base_url}/chat/completions"),
            api_key,
        }
    }
}

#[derive(Deserialize)]
struct WireResponse {
    id: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    arguments: String,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// The body of a request, in the wire format.
pub fn request_body(req: &ChatRequest<'_>) -> Value {
    let mut body = json!({
        "model": req.model,
        "messages": req.messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
    });
    if let Some((name, schema)) = req.output_schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": false}
        });
    }
    body
}

/// The provider's own error message, when the body has one.
fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let msg = from_json.unwrap_or_else(|| body.to_string());
    msg.chars().take(500).collect()
}

fn transport_error(e: &reqwest::Error, timeout_ms: u64) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout(timeout_ms)
    } else {
        // Strip the URL: it may carry credentials in query strings.
        ProviderError::Connection(e.without_url_ref().to_string())
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<provider>");
        }
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

#[async_trait::async_trait]
impl Provider for OpenAi {
    async fn chat(&self, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let timeout_ms = req.timeout.as_millis() as u64;
        let mut builder = self
            .client
            .post(&self.url)
            .timeout(req.timeout)
            .json(&request_body(req));
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| transport_error(&e, timeout_ms))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp
            .text()
            .await
            .map_err(|e| transport_error(&e, timeout_ms))?;
        if !(200..300).contains(&status) {
            return Err(ProviderError::from_status(
                status,
                retry_after,
                error_message(&body),
            ));
        }
        let wire: WireResponse = serde_json::from_str(&body)
            .map_err(|e| ProviderError::BadResponse(format!("not a chat completion: {e}")))?;
        let choice = wire
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::BadResponse("no choices in the response".into()))?;
        let content = match (
            choice.message.content,
            choice.message.tool_calls.into_iter().next(),
        ) {
            (_, Some(call)) => call.function.arguments,
            (Some(text), None) => text,
            (None, None) => choice
                .message
                .refusal
                .map(|r| format!("refusal: {r}"))
                .unwrap_or_default(),
        };
        let usage = wire
            .usage
            .map(|u| Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            })
            .unwrap_or_default();
        Ok(ChatResponse {
            content,
            usage,
            finish_reason: choice.finish_reason,
            response_id: wire.id,
        })
    }
}
