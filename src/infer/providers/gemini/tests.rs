//! The provider against a real HTTP server answering with recorded Gemini
//! responses.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Gemini;
use super::schema::to_gemini;
use crate::infer::providers::test_server::{Canned, TestServer, secret};
use crate::infer::stream::Collector;
use crate::infer::{
    ChatMessage, ChatRequest, Provider, ProviderError, ResponseFormat, StreamEvent, StructuredMode,
};

fn provider(server: &TestServer) -> Gemini {
    Gemini::new(
        reqwest::Client::new(),
        &server.url,
        Some(secret("AIza-test-key")),
    )
}

fn schema() -> Value {
    json!({"type": "object", "required": ["category"], "additionalProperties": false,
           "properties": {"category": {"enum": ["billing", "bug"]}}})
}

const ANSWER: &str = r#"{
  "candidates": [{"content": {"parts": [{"text": "{\"category\": \"billing\"}"}], "role": "model"},
                  "finishReason": "STOP", "avgLogprobs": -0.02, "index": 0}],
  "usageMetadata": {"promptTokenCount": 2100, "candidatesTokenCount": 9, "totalTokenCount": 2150,
                    "cachedContentTokenCount": 2048, "thoughtsTokenCount": 41,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2100}]},
  "modelVersion": "gemini-2.5-flash",
  "responseId": "2jCtaKC8BNGKz7IPs7WKmAw"
}"#;

#[tokio::test]
async fn chat_sends_generate_content_with_a_response_schema() {
    let server = TestServer::start(vec![Canned::json(200, ANSWER)]).await;
    let msgs = [
        ChatMessage::system("You triage tickets."),
        ChatMessage::user("I was charged twice"),
    ];
    let s = schema();
    let req = ChatRequest::simple(
        "gemini-2.5-flash",
        &msgs,
        ResponseFormat::JsonSchema {
            name: "triage",
            schema: &s,
            mode: StructuredMode::ResponseSchema,
        },
        256,
        0.0,
        Duration::from_secs(5),
    );
    let r = provider(&server).chat(&req).await.unwrap();
    assert_eq!(r.content, r#"{"category": "billing"}"#);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        (
            r.usage.input_tokens,
            r.usage.output_tokens,
            r.usage.cache_read_tokens
        ),
        (2100, 50, 2048)
    );
    assert_eq!(r.response_id.as_deref(), Some("2jCtaKC8BNGKz7IPs7WKmAw"));

    let sent = &server.received()[0];
    assert_eq!(
        sent.target,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(sent.header("x-goog-api-key"), Some("AIza-test-key"));
    assert_eq!(sent.header("authorization"), None);
    assert!(!sent.target.contains("key="));
    assert_eq!(
        sent.body["systemInstruction"]["parts"][0]["text"],
        "You triage tickets."
    );
    assert_eq!(sent.body["contents"][0]["role"], "user");
    let config = &sent.body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseSchema"], to_gemini(&s));
    assert_eq!(config["maxOutputTokens"], 256);
}

#[tokio::test]
async fn stream_uses_alt_sse_and_a_forced_function() {
    let sse = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"triage\",\"args\": {\"category\": \"bug\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 40,\"candidatesTokenCount\": 7,\"totalTokenCount\": 47},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r-1\"}\r\n\r\n";
    let server = TestServer::start(vec![Canned::sse(sse)]).await;
    let msgs = [ChatMessage::user("The app crashes")];
    let s = schema();
    let req = ChatRequest::simple(
        "models/gemini-2.5-flash",
        &msgs,
        ResponseFormat::JsonSchema {
            name: "triage",
            schema: &s,
            mode: StructuredMode::Tool,
        },
        64,
        0.0,
        Duration::from_secs(5),
    );
    let mut stream = provider(&server).stream(&req).await.unwrap();
    let mut c = Collector::default();
    while let Some(ev) = stream.next().await {
        c.push(&ev.unwrap());
    }
    let r = c.finish();
    assert_eq!(r.content, r#"{"category":"bug"}"#);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.response_id.as_deref(), Some("r-1"));

    let sent = &server.received()[0];
    assert_eq!(
        sent.target,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(sent.header("x-goog-api-key"), Some("AIza-test-key"));
    assert_eq!(
        sent.body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["triage"]}})
    );
    assert_eq!(
        sent.body["tools"][0]["functionDeclarations"][0]["parameters"],
        to_gemini(&s)
    );
}

#[tokio::test]
async fn errors_keep_the_message_and_the_retry_delay() {
    let server = TestServer::start(vec![
        Canned::json(429, r#"{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}}"#),
        Canned::json(503, r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#),
    ])
    .await;
    let p = provider(&server);
    let msgs = [ChatMessage::user("hi")];
    let req = ChatRequest::simple(
        "gemini-2.5-pro",
        &msgs,
        ResponseFormat::Text,
        8,
        0.0,
        Duration::from_secs(5),
    );
    let e = p.chat(&req).await.unwrap_err();
    assert!(matches!(e, ProviderError::RateLimited { .. }), "{e:?}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    assert!(e.to_string().contains("Resource has been exhausted"));
    let e = p.chat(&req).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Server { status: 503, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_upstream_call() {
    let first = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Once\"}],\"role\": \"model\"},\"index\": 0}],\"responseId\": \"r-2\"}\r\n\r\n";
    let mut server = TestServer::start(vec![Canned::sse(first).hanging()]).await;
    let msgs = [ChatMessage::user("tell me a story")];
    let req = ChatRequest::simple(
        "gemini-2.5-flash",
        &msgs,
        ResponseFormat::Text,
        8,
        0.0,
        Duration::from_secs(30),
    );
    let mut stream = provider(&server).stream(&req).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::Id("r-2".into())
    );
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::Text("Once".into())
    );
    drop(stream);
    assert!(server.body_dropped(Duration::from_secs(5)).await);
}
