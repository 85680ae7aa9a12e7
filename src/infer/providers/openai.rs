//! OpenAI Chat Completions (`POST {base_url}/chat/completions`), also
//! spoken by vLLM, Ollama, llama.cpp server, Mistral, Groq, Together and
//! Azure OpenAI deployments (their URL and `api-key` header).

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;
use crate::infer::http::{self, Auth, ErrorAnswer};
use crate::infer::stream::sse_events;
use crate::infer::structured::{self, StructuredMode};
use crate::infer::{
    ChatRequest, ChatResponse, ChatStream, Provider, ProviderError, ResponseFormat, Role,
    StreamEvent, ToolCall, ToolChoice, Usage, finish,
};

/// Which server speaks the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    /// api.openai.com: every structured mode, bearer key.
    OpenAi,
    /// Another server by base URL: bearer key when given.
    Compatible,
    /// Azure OpenAI: the model is the deployment name, `api-key` header.
    Azure { api_version: String },
}

pub struct OpenAi {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
    flavor: Flavor,
}

impl OpenAi {
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        api_key: Option<Secret>,
        flavor: Flavor,
    ) -> Self {
        OpenAi {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            flavor,
        }
    }

    fn url(&self, model: &str) -> String {
        match &self.flavor {
            Flavor::Azure { api_version } => format!(
                "{}/openai/deployments/{model}/chat/completions?api-version={api_version}",
                self.base_url
            ),
            _ => format!("{}/chat/completions", self.base_url),
        }
    }

    fn auth(&self) -> Auth<'_> {
        match (&self.api_key, &self.flavor) {
            (None, _) => Auth::None,
            (Some(k), Flavor::Azure { .. }) => Auth::Header("api-key", k),
            (Some(k), _) => Auth::Bearer(k),
        }
    }

    async fn send(
        &self,
        req: &ChatRequest<'_>,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut body = request_body(req);
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        http::post_json(
            &self.client,
            &self.url(req.model),
            self.auth(),
            &[],
            &body,
            req.timeout,
            classify,
        )
        .await
    }
}

/// The body of a request, in the wire format.
pub fn request_body(req: &ChatRequest<'_>) -> Value {
    let prompt_only;
    let messages = match req.format {
        ResponseFormat::JsonSchema {
            schema,
            mode: StructuredMode::Prompt,
            ..
        } => {
            prompt_only = structured::with_prompt_instruction(req.messages, schema);
            &prompt_only[..]
        }
        _ => req.messages,
    };
    let wire_messages: Vec<Value> = messages.iter().map(wire_message).collect();
    let mut body = json!({
        "model": req.model,
        "messages": wire_messages,
        "max_tokens": req.max_tokens,
    });
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if !req.stop.is_empty() {
        body["stop"] = json!(req.stop);
    }
    if let Some(seed) = req.seed {
        body["seed"] = json!(seed);
    }
    let mut tools: Vec<Value> = req.tools.iter().map(wire_tool).collect();
    let mut tool_choice = match req.tool_choice {
        ToolChoice::Auto => None,
        ToolChoice::None => Some(json!("none")),
        ToolChoice::Required => Some(json!("required")),
        ToolChoice::Named(n) => Some(json!({"type": "function", "function": {"name": n}})),
    };
    match req.format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => body["response_format"] = json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema, mode } => match mode {
            StructuredMode::Tool => {
                tools.push(json!({"type": "function", "function": {
                    "name": name, "description": "Record the answer.", "parameters": schema}}));
                tool_choice = Some(json!({"type": "function", "function": {"name": name}}));
            }
            StructuredMode::JsonObject => {
                body["response_format"] = json!({"type": "json_object"});
            }
            StructuredMode::Prompt => {}
            _ => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema,
                        "strict": structured::strict_compatible(schema)}
                });
            }
        },
    }
    if !tools.is_empty() {
        body["tools"] = json!(tools);
    }
    if let Some(choice) = tool_choice {
        body["tool_choice"] = choice;
    }
    body
}

fn wire_message(m: &crate::infer::ChatMessage) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = json!({"role": role, "content": m.content});
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        out["tool_calls"] = json!(calls);
        if m.content.is_empty() {
            out["content"] = Value::Null;
        }
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    out
}

fn wire_tool(t: &crate::infer::Tool) -> Value {
    let mut f = json!({"name": t.name, "parameters": t.parameters});
    if let Some(d) = &t.description {
        f["description"] = json!(d);
    }
    json!({"type": "function", "function": f})
}

/// Map an OpenAI error answer to seam's classes.
pub fn classify(a: ErrorAnswer<'_>) -> ProviderError {
    let message = http::error_message(a.body, "/error/message");
    let code = serde_json::from_str::<Value>(a.body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/code")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    match (a.status, code.as_str()) {
        (400 | 413, "context_length_exceeded" | "string_above_max_length") => {
            ProviderError::ContextLength { message }
        }
        (400, "content_filter" | "content_policy_violation") => {
            ProviderError::ContentFilter { message }
        }
        (400, _) if http::says_context_length(&message) => ProviderError::ContextLength { message },
        (status, _) => ProviderError::from_status(status, a.retry_after, message),
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
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    delta: Option<WireMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    content: Option<String>,
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    #[serde(default)]
    function: WireFunction,
}

#[derive(Deserialize, Default)]
struct WireFunction {
    name: Option<String>,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<WireTokenDetails>,
}

#[derive(Deserialize)]
struct WireTokenDetails {
    #[serde(default)]
    cached_tokens: u64,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            cache_read_tokens: self
                .prompt_tokens_details
                .as_ref()
                .map_or(0, |d| d.cached_tokens),
            cache_write_tokens: 0,
        }
    }
}

/// Whether the request forces a tool to carry the structured answer.
fn forced_tool(req: &ChatRequest<'_>) -> bool {
    matches!(req.schema(), Some((_, _, StructuredMode::Tool)))
}

fn response_of(wire: WireResponse, forced: bool) -> Result<ChatResponse, ProviderError> {
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::BadResponse("no choices in the response".into()))?;
    let message = choice.message.unwrap_or_default();
    if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
        return Err(ProviderError::ContentFilter { message: refusal });
    }
    let finish_reason = choice.finish_reason;
    let mut tool_calls: Vec<ToolCall> = message
        .tool_calls
        .into_iter()
        .map(|c| ToolCall {
            id: c.id.unwrap_or_default(),
            name: c.function.name.unwrap_or_default(),
            arguments: c.function.arguments,
        })
        .collect();
    let mut content = message.content.unwrap_or_default();
    if finish_reason.as_deref() == Some(finish::CONTENT_FILTER) && content.is_empty() {
        return Err(ProviderError::ContentFilter {
            message: "the answer was withheld by the provider's content filter".into(),
        });
    }
    let mut finish_reason = finish_reason;
    if forced && !tool_calls.is_empty() {
        content = tool_calls.remove(0).arguments;
        finish_reason = Some(finish::STOP.into());
    }
    Ok(ChatResponse {
        content,
        tool_calls,
        usage: wire.usage.map(|u| u.usage()).unwrap_or_default(),
        finish_reason,
        response_id: wire.id,
    })
}

/// The stream events of one chunk.
fn chunk_events(chunk: WireResponse, forced: bool, out: &mut Vec<StreamEvent>) {
    if let Some(id) = chunk.id {
        out.push(StreamEvent::Id(id));
    }
    for choice in chunk.choices {
        if let Some(delta) = choice.delta {
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Text(text));
            }
            for call in delta.tool_calls {
                if forced {
                    out.push(StreamEvent::Text(call.function.arguments));
                } else {
                    out.push(StreamEvent::ToolCall {
                        index: call.index,
                        id: call.id,
                        name: call.function.name,
                        arguments: call.function.arguments,
                    });
                }
            }
        }
        if let Some(reason) = choice.finish_reason {
            let reason = if forced && reason == finish::TOOL_CALLS {
                finish::STOP.to_string()
            } else {
                reason
            };
            out.push(StreamEvent::Finish(reason));
        }
    }
    if let Some(u) = chunk.usage {
        out.push(StreamEvent::Usage(u.usage()));
    }
}

#[async_trait::async_trait]
impl Provider for OpenAi {
    async fn chat(&self, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let resp = self.send(req, false).await?;
        let wire: WireResponse = http::read_json(resp, req.timeout, "a chat completion").await?;
        response_of(wire, forced_tool(req))
    }

    async fn stream(&self, req: &ChatRequest<'_>) -> Result<ChatStream, ProviderError> {
        let forced = forced_tool(req);
        let resp = self.send(req, true).await?;
        let events = sse_events(resp, req.timeout.as_millis() as u64)
            .take_while(|ev| {
                let done = matches!(ev, Ok(e) if e.data.trim() == "[DONE]");
                std::future::ready(!done)
            })
            .flat_map(move |ev| {
                let items: Vec<Result<StreamEvent, ProviderError>> = match ev {
                    Err(e) => vec![Err(e)],
                    Ok(ev) => match serde_json::from_str::<Value>(&ev.data) {
                        Ok(v) if v.get("error").is_some() => vec![Err(ProviderError::Server {
                            status: 500,
                            retry_after: None,
                            message: http::error_message(&ev.data, "/error/message"),
                        })],
                        Ok(v) => match serde_json::from_value::<WireResponse>(v) {
                            Ok(chunk) => {
                                let mut out = Vec::new();
                                chunk_events(chunk, forced, &mut out);
                                out.into_iter().map(Ok).collect()
                            }
                            Err(e) => vec![Err(ProviderError::BadResponse(format!(
                                "unreadable stream chunk: {e}"
                            )))],
                        },
                        Err(e) => vec![Err(ProviderError::BadResponse(format!(
                            "unreadable stream chunk: {e}"
                        )))],
                    },
                };
                futures_util::stream::iter(items)
            });
        Ok(Box::pin(events))
    }

    fn structured_modes(&self) -> &'static [StructuredMode] {
        match self.flavor {
            Flavor::Compatible => &[StructuredMode::JsonSchema, StructuredMode::JsonObject],
            _ => &[
                StructuredMode::JsonSchema,
                StructuredMode::Tool,
                StructuredMode::JsonObject,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{ChatMessage, Tool};
    use std::time::Duration;

    fn schema() -> Value {
        json!({"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "string"}}})
    }

    #[test]
    fn bodies_per_structured_mode() {
        let msgs = [ChatMessage::system("s"), ChatMessage::user("u")];
        let s = schema();
        let mut req = ChatRequest::simple(
            "m",
            &msgs,
            ResponseFormat::JsonSchema {
                name: "triage",
                schema: &s,
                mode: StructuredMode::JsonSchema,
            },
            10,
            0.0,
            Duration::from_secs(1),
        );
        let b = request_body(&req);
        assert_eq!(b["response_format"]["json_schema"]["strict"], json!(true));
        req.format = ResponseFormat::JsonSchema {
            name: "triage",
            schema: &s,
            mode: StructuredMode::Tool,
        };
        let b = request_body(&req);
        assert_eq!(b["tool_choice"]["function"]["name"], json!("triage"));
        assert_eq!(b["tools"][0]["function"]["parameters"], s);
        req.format = ResponseFormat::JsonSchema {
            name: "triage",
            schema: &s,
            mode: StructuredMode::Prompt,
        };
        let b = request_body(&req);
        assert!(b.get("response_format").is_none());
        assert!(
            b["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("JSON Schema")
        );
    }

    #[test]
    fn tools_and_tool_messages_round_trip() {
        let mut assistant = ChatMessage::assistant("");
        assistant.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "lookup".into(),
            arguments: "{}".into(),
        });
        let mut tool = ChatMessage::user("42");
        tool.role = Role::Tool;
        tool.tool_call_id = Some("c1".into());
        let msgs = [ChatMessage::user("q"), assistant, tool];
        let tools = [Tool {
            name: "lookup".into(),
            description: None,
            parameters: json!({"type": "object"}),
        }];
        let mut req = ChatRequest::simple(
            "m",
            &msgs,
            ResponseFormat::Text,
            5,
            0.0,
            Duration::from_secs(1),
        );
        req.tools = &tools;
        let b = request_body(&req);
        assert_eq!(b["messages"][1]["content"], Value::Null);
        assert_eq!(
            b["messages"][1]["tool_calls"][0]["function"]["name"],
            "lookup"
        );
        assert_eq!(b["messages"][2]["tool_call_id"], "c1");
        assert_eq!(b["tools"][0]["function"]["name"], "lookup");
        assert!(b.get("tool_choice").is_none());
    }

    #[test]
    fn errors_are_classified_with_the_providers_message() {
        let e = classify(ErrorAnswer {
            status: 400,
            retry_after: None,
            body: r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#,
        });
        assert!(matches!(e, ProviderError::ContextLength { .. }), "{e:?}");
        assert!(e.to_string().contains("8192"));
        let e = classify(ErrorAnswer {
            status: 400,
            retry_after: None,
            body: r#"{"error":{"message":"filtered","code":"content_filter"}}"#,
        });
        assert_eq!(e.class(), crate::error::ErrorClass::Safety);
        let e = classify(ErrorAnswer {
            status: 429,
            retry_after: None,
            body: r#"{"error":{"message":"slow down"}}"#,
        });
        assert_eq!(e.type_name(), "provider_rate_limited");
    }

    #[test]
    fn forced_tool_answers_become_content_and_refusals_errors() {
        let wire: WireResponse = serde_json::from_value(json!({"id": "x", "choices": [{"message": {"content": null,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "triage", "arguments": "{\"a\":\"b\"}"}}]},
            "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 2}}})).unwrap();
        let r = response_of(wire, true).unwrap();
        assert_eq!(r.content, "{\"a\":\"b\"}");
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.usage.cache_read_tokens, 2);
        let wire: WireResponse = serde_json::from_value(json!({"choices": [{"message": {"content": null, "refusal": "I can't"}, "finish_reason": "stop"}]})).unwrap();
        assert!(matches!(
            response_of(wire, false),
            Err(ProviderError::ContentFilter { .. })
        ));
    }

    #[test]
    fn azure_urls_and_headers() {
        let p = OpenAi::new(
            reqwest::Client::new(),
            "https://x.openai.azure.com/",
            None,
            Flavor::Azure {
                api_version: "2024-10-21".into(),
            },
        );
        assert_eq!(
            p.url("gpt4o-prod"),
            "https://x.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
        );
    }
}
