//! The provider against a real HTTP server answering with recorded
//! Anthropic responses.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Anthropic;
use crate::infer::providers::test_server::{Canned, TestServer, secret};
use crate::infer::stream::Collector;
use crate::infer::{
    ChatMessage, ChatRequest, Provider, ProviderError, ResponseFormat, StreamEvent, StructuredMode,
};

fn provider(server: &TestServer) -> Anthropic {
    Anthropic::new(
        reqwest::Client::new(),
        &format!("{}/", server.url),
        Some(secret("sk-ant-test")),
    )
}

fn schema() -> Value {
    json!({"type": "object", "required": ["category"], "properties": {"category": {"enum": ["billing", "bug"]}}})
}

const FORCED_ANSWER: &str = r#"{
  "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "tool_use", "id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "name": "triage",
               "input": {"category": "billing"}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 410, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1200,
            "output_tokens": 31, "service_tier": "standard"}
}"#;

#[tokio::test]
async fn chat_sends_the_messages_api_request_and_reads_the_forced_tool() {
    let server = TestServer::start(vec![Canned::json(200, FORCED_ANSWER)]).await;
    let msgs = [
        ChatMessage::system("You triage tickets."),
        ChatMessage::user("I was charged twice"),
    ];
    let s = schema();
    let req = ChatRequest::simple(
        "claude-sonnet-4-5",
        &msgs,
        ResponseFormat::JsonSchema {
            name: "triage",
            schema: &s,
            mode: StructuredMode::Tool,
        },
        256,
        0.0,
        Duration::from_secs(5),
    );
    let r = provider(&server).chat(&req).await.unwrap();
    assert_eq!(r.content, r#"{"category":"billing"}"#);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage.input_tokens, 1610);
    assert_eq!(r.usage.cache_read_tokens, 1200);
    assert_eq!(r.response_id.as_deref(), Some("msg_01Aq9w938a90dw8q"));

    let got = server.received();
    assert_eq!(got.len(), 1);
    let sent = &got[0];
    assert_eq!(sent.target, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(sent.body["model"], "claude-sonnet-4-5");
    assert_eq!(sent.body["max_tokens"], 256);
    assert_eq!(sent.body["system"][0]["text"], "You triage tickets.");
    assert_eq!(sent.body["messages"][0]["role"], "user");
    assert_eq!(sent.body["tools"][0]["input_schema"], s);
    assert_eq!(
        sent.body["tool_choice"],
        json!({"type": "tool", "name": "triage"})
    );
    assert!(sent.body.get("stream").is_none());
}

#[tokio::test]
async fn stream_reads_sse_events() {
    let sse = "event: message_start
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}

event: content_block_start
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}

event: ping
data: {\"type\": \"ping\"}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}

event: content_block_stop
data: {\"type\":\"content_block_stop\",\"index\":0}

event: message_delta
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}

event: message_stop
data: {\"type\":\"message_stop\"}

";
    let server = TestServer::start(vec![Canned::sse(sse)]).await;
    let msgs = [ChatMessage::user("Hello")];
    let req = ChatRequest::simple(
        "claude-haiku-4-5",
        &msgs,
        ResponseFormat::Text,
        64,
        1.0,
        Duration::from_secs(5),
    );
    let mut stream = provider(&server).stream(&req).await.unwrap();
    let mut c = Collector::default();
    while let Some(ev) = stream.next().await {
        c.push(&ev.unwrap());
    }
    let r = c.finish();
    assert_eq!(r.content, "Hello!");
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (25, 15));
    assert_eq!(server.received()[0].body["stream"], json!(true));
}

#[tokio::test]
async fn error_statuses_keep_the_providers_message_and_retry_hint() {
    let server = TestServer::start(vec![
        Canned::json(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#),
        Canned::json(429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#)
            .with_header("retry-after", "12"),
    ])
    .await;
    let p = provider(&server);
    let msgs = [ChatMessage::user("hi")];
    let req = ChatRequest::simple(
        "claude-sonnet-4-5",
        &msgs,
        ResponseFormat::Text,
        8,
        0.0,
        Duration::from_secs(5),
    );
    let e = p.chat(&req).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Server { status: 529, .. }),
        "{e:?}"
    );
    assert_eq!(e.type_name(), "provider_overloaded");
    assert!(e.to_string().contains("Overloaded"));
    let e = p.chat(&req).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
    assert!(e.to_string().contains("per-minute rate limit"));
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_upstream_call() {
    let first = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";
    let mut server = TestServer::start(vec![Canned::sse(first).hanging()]).await;
    let msgs = [ChatMessage::user("hi")];
    let req = ChatRequest::simple(
        "claude-sonnet-4-5",
        &msgs,
        ResponseFormat::Text,
        8,
        0.0,
        Duration::from_secs(30),
    );
    let mut stream = provider(&server).stream(&req).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::Id("msg_x".into())
    );
    drop(stream);
    assert!(server.body_dropped(Duration::from_secs(5)).await);
}
