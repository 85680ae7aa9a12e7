//! The Anthropic front-end over real sockets.

use serde_json::{Value, json};

use super::request::MessagesRequest;
use crate::simulate::generate::instance::tests::triage_schema;
use crate::simulate::tests::{Sim, TICKET, parse_sse};

fn tools_request(choice: Value) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You triage helpdesk tickets.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": TICKET}]}],
        "tools": [{"name": "triage", "description": "Record the triage.", "input_schema": triage_schema()}],
        "tool_choice": choice
    })
}

fn text_request(text: &str) -> Value {
    json!({"model": "claude-haiku-4-5", "max_tokens": 256,
           "messages": [{"role": "user", "content": text}]})
}

async fn post(sim: &Sim, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sim.url("/v1/messages"))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn parse_error(body: Value) -> String {
    let bytes = serde_json::to_vec(&body).unwrap();
    MessagesRequest::parse(&bytes).unwrap_err().message
}

#[test]
fn rejects_invalid_requests_like_anthropic() {
    let user = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (
            json!({"model": "m", "messages": user}),
            "max_tokens: Field required",
        ),
        (
            json!({"max_tokens": 5, "messages": user}),
            "model: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 0, "messages": user}),
            "greater than or equal to 1",
        ),
        (
            json!({"model": "m", "max_tokens": 5}),
            "messages: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": []}),
            "at least one message",
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100_000, "messages": user}),
            "100000 > 64000",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
            "top-level `system` parameter",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
            "messages.0.content.0.type: Input tag 'video'",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "temperature": 1.5, "messages": user}),
            "temperature: Input should be less than or equal to 1",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
                {"role": "user", "content": "no result"}]}),
            "without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]}),
            "unexpected `tool_use_id` found in `tool_result` blocks: toolu_9",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": user, "tools": [{"name": "f", "input_schema": {"type": "array"}}]}),
            "tools.0.input_schema.type: Input should be 'object'",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": user, "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                   "tool_choice": {"type": "tool", "name": "g"}}),
            "Tool 'g' not found",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": user, "tool_choice": {"type": "any"}}),
            "only be specified while providing tools",
        ),
    ];
    for (body, want) in cases {
        let got = parse_error(body.clone());
        assert!(got.contains(want), "{body}: {got}");
    }
    let ok = serde_json::to_vec(&json!({"model": "m", "max_tokens": 5,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "done"}]}]}]}))
    .unwrap();
    let req = MessagesRequest::parse(&ok).unwrap();
    assert!(req.system_cached && req.answers_tool_result());
    assert!(
        req.input_tokens() > 1600,
        "images count: {}",
        req.input_tokens()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_headers_and_context_window() {
    let sim = Sim::start("").await;
    let client = reqwest::Client::new();
    let no_key = client
        .post(sim.url("/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .json(&text_request("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    assert!(
        no_key.headers()["request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let e: Value = no_key.json().await.unwrap();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "authentication_error");
    assert_eq!(e["error"]["message"], "x-api-key header is required");
    let no_version = client
        .post(sim.url("/v1/messages"))
        .header("x-api-key", "k")
        .json(&text_request("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
    let e: Value = no_version.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(
        e["error"]["message"],
        "anthropic-version: header is required"
    );
    let long = post(&sim, &text_request(&"word ".repeat(170_000))).await;
    assert_eq!(long.status(), 400);
    let e: Value = long.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("prompt is too long: ") && msg.ends_with(" tokens > 200000 maximum"),
        "{msg}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_text_tools_and_cache_usage() {
    let sim = Sim::start("").await;
    let validator = jsonschema::validator_for(&triage_schema()).unwrap();

    let forced: Value = post(
        &sim,
        &tools_request(json!({"type": "tool", "name": "triage"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(forced["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        (&forced["type"], &forced["role"]),
        (&json!("message"), &json!("assistant"))
    );
    assert_eq!(forced["model"], "claude-sonnet-4-5");
    assert_eq!(forced["stop_reason"], "tool_use");
    assert_eq!(forced["stop_sequence"], Value::Null);
    let content = forced["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "tool_use");
    assert!(content[0]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(content[0]["name"], "triage");
    assert!(
        validator.is_valid(&content[0]["input"]),
        "{}",
        content[0]["input"]
    );
    assert_eq!(content[0]["input"]["category"], "billing");
    let usage = &forced["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 20);
    assert!(usage["output_tokens"].as_u64().unwrap() > 5);
    assert_eq!(
        (
            &usage["cache_creation_input_tokens"],
            &usage["cache_read_input_tokens"]
        ),
        (&json!(0), &json!(0))
    );

    let auto: Value = post(&sim, &tools_request(json!({"type": "auto"})))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = auto["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "tool_use"]);
    let none: Value = post(&sim, &tools_request(json!({"type": "none"})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["stop_reason"], "end_turn");
    assert_eq!(none["content"][0]["type"], "text");

    let text: Value = post(&sim, &text_request("Say hello to the support team"))
        .await
        .json()
        .await
        .unwrap();
    let answer = text["content"][0]["text"].as_str().unwrap();
    assert!(answer.len() > 20);
    assert_eq!(text["stop_reason"], "end_turn");
    let mut short = text_request("Say hello to the support team");
    short["max_tokens"] = json!(3);
    let short: Value = post(&sim, &short).await.json().await.unwrap();
    assert_eq!(short["stop_reason"], "max_tokens");
    assert_eq!(short["usage"]["output_tokens"], 3);
    let mut stop = text_request("Say hello to the support team");
    let word = answer.split(' ').nth(2).unwrap().to_string();
    stop["stop_sequences"] = json!([word]);
    let stop: Value = post(&sim, &stop).await.json().await.unwrap();
    assert_eq!(stop["stop_reason"], "stop_sequence");
    assert_eq!(stop["stop_sequence"], word);
    assert!(!stop["content"][0]["text"].as_str().unwrap().contains(&word));

    // Prompt caching: written the first time, read afterwards.
    let mut cached = text_request("What is our refund policy?");
    cached["system"] = json!([{"type": "text", "text": "You are the helpdesk. ".repeat(50),
                               "cache_control": {"type": "ephemeral"}}]);
    let first: Value = post(&sim, &cached).await.json().await.unwrap();
    let second: Value = post(&sim, &cached).await.json().await.unwrap();
    let (u1, u2) = (&first["usage"], &second["usage"]);
    assert!(
        u1["cache_creation_input_tokens"].as_u64().unwrap() > 200,
        "{u1}"
    );
    assert_eq!(u1["cache_read_input_tokens"], 0);
    assert_eq!(u2["cache_creation_input_tokens"], 0);
    assert_eq!(
        u2["cache_read_input_tokens"],
        u1["cache_creation_input_tokens"]
    );
    assert_eq!(u1["input_tokens"], u2["input_tokens"]);

    // Structured outputs: the text is a schema instance.
    let mut structured = text_request(TICKET);
    structured["output_format"] = json!({"type": "json_schema", "schema": triage_schema()});
    let s: Value = post(&sim, &structured).await.json().await.unwrap();
    let out: Value = serde_json::from_str(s["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(validator.is_valid(&out), "{out}");
    sim.stop().await;
}

/// Check Anthropic's event order and rebuild the content blocks.
fn reassemble(text: &str) -> (Vec<Value>, Value) {
    let events = parse_sse(text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    for ((name, data), n) in events.iter().zip(&names) {
        assert_eq!(data["type"], *n, "{name:?} carries its own type");
    }
    assert_eq!(names[0], "message_start");
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    assert_eq!(names[1], "content_block_start");
    assert_eq!(names[2], "ping");
    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_parts: Vec<String> = Vec::new();
    for (_, e) in &events {
        match e["type"].as_str().unwrap() {
            "content_block_start" => {
                assert_eq!(e["index"], blocks.len());
                blocks.push(e["content_block"].clone());
                json_parts.push(String::new());
            }
            "content_block_delta" => {
                let i = e["index"].as_u64().unwrap() as usize;
                let d = &e["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        let t = blocks[i]["text"].as_str().unwrap().to_string()
                            + d["text"].as_str().unwrap();
                        blocks[i]["text"] = json!(t);
                    }
                    "input_json_delta" => json_parts[i] += d["partial_json"].as_str().unwrap(),
                    other => panic!("delta type {other}"),
                }
            }
            "content_block_stop" => {
                let i = e["index"].as_u64().unwrap() as usize;
                if blocks[i]["type"] == "tool_use" {
                    blocks[i]["input"] =
                        serde_json::from_str(&json_parts[i]).unwrap_or(json!(json_parts[i]));
                }
            }
            _ => {}
        }
    }
    let last = events[events.len() - 2].1.clone();
    (blocks, json!({"start": start, "delta": last}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_events_that_rebuild_the_message() {
    let sim = Sim::start("").await;
    let validator = jsonschema::validator_for(&triage_schema()).unwrap();
    for request in [
        tools_request(json!({"type": "auto"})),
        text_request("Please summarise the outage report for the team"),
    ] {
        let whole: Value = post(&sim, &request).await.json().await.unwrap();
        let mut streamed = request.clone();
        streamed["stream"] = json!(true);
        let resp = post(&sim, &streamed).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        assert!(resp.headers().contains_key("request-id"));
        let (blocks, ends) = reassemble(&resp.text().await.unwrap());
        // Same content; tool_use ids are fresh per response.
        let without_ids = |v: &Value| {
            let mut v = v.clone();
            for b in v.as_array_mut().unwrap() {
                b.as_object_mut().unwrap().remove("id");
            }
            v
        };
        assert_eq!(
            without_ids(&Value::Array(blocks.clone())),
            without_ids(&whole["content"])
        );
        assert_eq!(ends["delta"]["delta"]["stop_reason"], whole["stop_reason"]);
        assert_eq!(
            ends["delta"]["usage"]["output_tokens"],
            whole["usage"]["output_tokens"]
        );
        assert_eq!(
            ends["start"]["usage"]["input_tokens"],
            whole["usage"]["input_tokens"]
        );
        if let Some(tool) = blocks.iter().find(|b| b["type"] == "tool_use") {
            assert!(validator.is_valid(&tool["input"]));
        }
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_answer_in_anthropic_shape() {
    let sim = Sim::start("429=#1:3,503=#3:2,500=#4").await;
    let request = text_request("first conversation");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = post(&sim, &request).await;
        let status = r.status().as_u16();
        statuses.push(status);
        let headers = r.headers().clone();
        let body: Value = r.json().await.unwrap();
        assert!(headers.contains_key("request-id"));
        match status {
            429 => {
                assert_eq!(headers["retry-after"], "3");
                let reset = headers["anthropic-ratelimit-requests-reset"]
                    .to_str()
                    .unwrap();
                assert!(humantime::parse_rfc3339(reset).is_ok(), "{reset}");
                assert_eq!(body["error"]["type"], "rate_limit_error");
            }
            529 => {
                assert_eq!(headers["retry-after"], "2");
                assert_eq!(
                    body["error"],
                    json!({"type": "overloaded_error", "message": "Overloaded"})
                );
            }
            500 => assert_eq!(body["error"]["type"], "api_error"),
            _ => assert_eq!(body["type"], "message"),
        }
        if status != 200 {
            assert_eq!(body["type"], "error");
        }
    }
    assert_eq!(statuses, [429, 529, 529, 500, 200]);
    // Another conversation starts over.
    assert_eq!(
        post(&sim, &text_request("second conversation"))
            .await
            .status(),
        429
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_faults_on_tool_input() {
    let sim = Sim::start("violate=#1").await;
    let validator = jsonschema::validator_for(&triage_schema()).unwrap();
    let forced = tools_request(json!({"type": "any"}));
    let input = |v: &Value| v["content"][0]["input"].clone();
    let violated: Value = post(&sim, &forced).await.json().await.unwrap();
    assert!(input(&violated).is_object());
    assert!(
        !validator.is_valid(&input(&violated)),
        "{}",
        input(&violated)
    );
    let clean: Value = post(&sim, &forced).await.json().await.unwrap();
    assert!(validator.is_valid(&input(&clean)));
    sim.stop().await;
    // malformed leaves a JSON input whole and breaks what a stream sends as partial_json.
    let sim = Sim::start("malformed=#2").await;
    assert!(validator.is_valid(&input(&post(&sim, &forced).await.json().await.unwrap())));
    let mut streamed = forced.clone();
    streamed["stream"] = json!(true);
    let (blocks, _) = reassemble(&post(&sim, &streamed).await.text().await.unwrap());
    assert!(
        blocks[0]["input"].is_string(),
        "partial_json should not parse: {}",
        blocks[0]["input"]
    );
    let (blocks, _) = reassemble(&post(&sim, &streamed).await.text().await.unwrap());
    assert!(validator.is_valid(&blocks[0]["input"]));
    sim.stop().await;
}
