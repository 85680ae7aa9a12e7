//! The `refuse` fault over real sockets, in each protocol's shape.

use serde_json::{Value, json};

use super::chat::REFUSAL;
use super::generate::instance::tests::triage_schema;
use super::tests::{Sim, parse_sse};

fn openai_request(ticket: &str, structured: bool, stream: bool) -> Value {
    let mut r = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": ticket}],
        "stream": stream,
    });
    if structured {
        r["response_format"] = json!({"type": "json_schema", "json_schema": {
            "name": "triage", "strict": true, "schema": triage_schema()}});
    }
    r
}

async fn post_openai(sim: &Sim, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sim.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The JSON chunks of an OpenAI stream, which must end with `[DONE]`.
fn openai_chunks(text: &str) -> Vec<Value> {
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    parse_sse(text).into_iter().map(|(_, v)| v).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_refuses_structured_output_with_a_refusal_message() {
    let sim = Sim::start("refuse=#1").await;
    let body = openai_request("Refund my duplicate charge", true, false);
    let refused: Value = post_openai(&sim, &body).await.json().await.unwrap();
    let choice = &refused["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(choice["message"]["refusal"], REFUSAL);
    assert!(choice["message"].get("tool_calls").is_none());
    // The retry of the conversation gets its answer.
    let answered: Value = post_openai(&sim, &body).await.json().await.unwrap();
    assert!(answered["choices"][0]["message"]["content"].is_string());
    assert_eq!(answered["choices"][0]["message"]["refusal"], Value::Null);

    let stream = openai_request("Another ticket, streamed", true, true);
    let text = post_openai(&sim, &stream).await.text().await.unwrap();
    let chunks = openai_chunks(&text);
    let said: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["refusal"].as_str())
        .collect();
    assert_eq!(said, REFUSAL);
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"][0]["delta"]["content"].is_null())
    );
    let last = &chunks[chunks.len() - 1]["choices"][0];
    assert_eq!(last["finish_reason"], "stop");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_cuts_other_answers_with_content_filter() {
    let sim = Sim::start("refuse=#1").await;
    let plain: Value = post_openai(&sim, &openai_request("Say hi", false, false))
        .await
        .json()
        .await
        .unwrap();
    let choice = &plain["choices"][0];
    assert_eq!(choice["finish_reason"], "content_filter");
    assert_eq!(choice["message"]["content"], "");
    assert_eq!(choice["message"]["refusal"], Value::Null);
    assert_eq!(plain["usage"]["completion_tokens"], 0);

    // A forced tool call is filtered too: no tool_calls.
    let tools = json!({
        "model": "gpt-4o", "messages": [{"role": "user", "content": "Create a ticket"}],
        "tools": [{"type": "function", "function": {"name": "create_ticket",
            "parameters": {"type": "object", "properties": {"title": {"type": "string"}}}}}],
        "tool_choice": "required"
    });
    let t: Value = post_openai(&sim, &tools).await.json().await.unwrap();
    assert_eq!(t["choices"][0]["finish_reason"], "content_filter");
    assert!(t["choices"][0]["message"].get("tool_calls").is_none());

    let mut stream = openai_request("Say hi, streamed", false, true);
    stream["stream_options"] = json!({"include_usage": true});
    let text = post_openai(&sim, &stream).await.text().await.unwrap();
    let chunks = openai_chunks(&text);
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "");
    let finish = &chunks[chunks.len() - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], "content_filter");
    assert_eq!(chunks[chunks.len() - 1]["usage"]["completion_tokens"], 0);
    sim.stop().await;
}

async fn post_anthropic(sim: &Sim, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sim.url("/v1/messages"))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_refuses_with_stop_reason_refusal() {
    let sim = Sim::start("refuse=#1").await;
    let forced = |text: &str, stream: bool| {
        json!({
            "model": "claude-sonnet-4-5", "max_tokens": 512, "stream": stream,
            "messages": [{"role": "user", "content": text}],
            "tools": [{"name": "triage", "input_schema": triage_schema()}],
            "tool_choice": {"type": "any"}
        })
    };
    let r = post_anthropic(&sim, &forced("Refund my duplicate charge", false)).await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["type"], "message");
    assert_eq!(m["stop_reason"], "refusal");
    assert_eq!(m["content"], json!([]));
    let again: Value = post_anthropic(&sim, &forced("Refund my duplicate charge", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["stop_reason"], "tool_use");

    let text = post_anthropic(&sim, &forced("Another ticket, streamed", true))
        .await
        .text()
        .await
        .unwrap();
    let events = parse_sse(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        ["message_start", "ping", "message_delta", "message_stop"]
    );
    assert_eq!(events[2].1["delta"]["stop_reason"], "refusal");
    assert_eq!(events[0].1["message"]["stop_reason"], Value::Null);
    sim.stop().await;
}

async fn post_gemini(sim: &Sim, path: &str, text: &str) -> Value {
    let body = json!({"contents": [{"role": "user", "parts": [{"text": text}]}]});
    let r = reqwest::Client::new()
        .post(sim.url(path))
        .header("x-goog-api-key", "AIza-test")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    if path.ends_with("alt=sse") {
        let chunks = parse_sse(&r.text().await.unwrap());
        Value::Array(chunks.into_iter().map(|(_, v)| v).collect())
    } else {
        r.json().await.unwrap()
    }
}

/// A candidate the safety filter blocked: no content, one HIGH rating.
fn assert_blocked(candidate: &Value) {
    assert_eq!(candidate["finishReason"], "SAFETY", "{candidate}");
    assert!(candidate.get("content").is_none(), "{candidate}");
    let ratings = candidate["safetyRatings"].as_array().unwrap();
    assert_eq!(ratings.len(), 4);
    let high: Vec<&Value> = ratings
        .iter()
        .filter(|r| r["probability"] == "HIGH")
        .collect();
    assert_eq!(high.len(), 1, "{ratings:?}");
    assert_eq!(high[0]["blocked"], true);
    assert!(
        high[0]["category"]
            .as_str()
            .unwrap()
            .starts_with("HARM_CATEGORY_")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_blocks_with_finish_reason_safety() {
    let sim = Sim::start("refuse=#1").await;
    let generate = "/v1beta/models/gemini-2.5-flash:generateContent";
    let r = post_gemini(&sim, generate, "Refund my duplicate charge").await;
    assert_blocked(&r["candidates"][0]);
    assert_eq!(r["usageMetadata"]["candidatesTokenCount"], 0);
    let again = post_gemini(&sim, generate, "Refund my duplicate charge").await;
    assert_eq!(again["candidates"][0]["finishReason"], "STOP");

    let sse = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    let chunks = post_gemini(&sim, sse, "Another ticket, streamed").await;
    let chunks = chunks.as_array().unwrap();
    assert_blocked(&chunks[chunks.len() - 1]["candidates"][0]);
    sim.stop().await;
}
