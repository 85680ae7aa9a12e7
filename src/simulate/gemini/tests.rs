//! The Gemini front-end over real sockets.

use serde_json::{Value, json};

use super::request::GenerateRequest;
use crate::simulate::generate::instance::tests::triage_schema;
use crate::simulate::tests::{Sim, TICKET, parse_sse, wait_for_stats};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

/// The triage schema in Gemini's OpenAPI subset.
fn openapi_triage() -> Value {
    json!({
        "type": "OBJECT",
        "properties": {
            "category": {"type": "STRING", "format": "enum", "enum": ["billing", "bug", "account", "feature_request", "other"]},
            "priority": {"type": "STRING", "enum": ["low", "normal", "high", "urgent"]},
            "summary": {"type": "STRING", "nullable": true}
        },
        "required": ["category", "priority", "summary"],
        "propertyOrdering": ["category", "priority", "summary"]
    })
}

fn request(text: &str) -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You triage helpdesk tickets."}]},
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    })
}

fn json_request(schema_key: &str, schema: Value) -> Value {
    let mut r = request(TICKET);
    r["generationConfig"] =
        json!({"responseMimeType": "application/json", schema_key: schema, "temperature": 0});
    r
}

async fn post(sim: &Sim, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sim.url(path))
        .header("x-goog-api-key", "AIza-test")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn text(resp: &Value) -> &str {
    resp["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap()
}

fn parse_error(body: Value) -> String {
    let bytes = serde_json::to_vec(&body).unwrap();
    GenerateRequest::parse("gemini-2.5-flash", &bytes)
        .unwrap_err()
        .message
}

#[test]
fn rejects_invalid_requests_like_google() {
    let contents = json!([{"role": "user", "parts": [{"text": "hi"}]}]);
    let fdecl =
        json!([{"functionDeclarations": [{"name": "triage", "parameters": openapi_triage()}]}]);
    let cases = [
        (
            json!({}),
            "GenerateContentRequest.contents: contents is not specified",
        ),
        (
            json!({"contents": contents, "max_tokens": 5}),
            "Unknown name \"max_tokens\": Cannot find field.",
        ),
        (
            json!({"contents": contents, "generationConfig": {"maxTokens": 5}}),
            "Unknown name \"maxTokens\" at 'generation_config'",
        ),
        (
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
            "Please use a valid role: user, model.",
        ),
        (
            json!({"contents": [{"role": "user", "parts": []}]}),
            "contents[0].parts: contents.parts must not be empty.",
        ),
        (
            json!({"contents": [{"parts": [{"txt": "x"}]}]}),
            "Unknown name \"txt\" at 'contents[0].parts[0]'",
        ),
        (
            json!({"contents": contents, "generationConfig": {"responseSchema": openapi_triage()}}),
            "when a response schema is set",
        ),
        (
            json!({"contents": contents, "generationConfig": {"responseMimeType": "application/json",
                   "responseSchema": openapi_triage(), "responseJsonSchema": triage_schema()}}),
            "only one of response_schema and response_json_schema",
        ),
        (
            json!({"contents": contents, "generationConfig": {"responseMimeType": "application/json", "responseSchema": triage_schema()}}),
            "Unknown name \"additionalProperties\" at 'generation_config.response_schema'",
        ),
        (
            json!({"contents": contents, "generationConfig": {"temperature": 3}}),
            "temperature must be in the range",
        ),
        (
            json!({"contents": contents, "generationConfig": {"candidateCount": 9}}),
            "candidate_count must be in the range",
        ),
        (
            json!({"contents": contents, "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}),
            "ANY requires function declarations",
        ),
        (
            json!({"contents": contents, "tools": fdecl, "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["triage"]}}}),
            "only be set when mode is ANY",
        ),
        (
            json!({"contents": contents, "tools": [{"functionDeclarations": [{"name": "9lives"}]}]}),
            "Invalid function name",
        ),
    ];
    for (body, want) in cases {
        let got = parse_error(body.clone());
        assert!(got.contains(want), "{body}: {got}");
    }
    // snake_case spellings are the same fields.
    let ok = json!({"contents": contents, "system_instruction": {"parts": [{"text": "s"}]},
                    "generation_config": {"response_mime_type": "application/json", "max_output_tokens": 20}});
    let req = GenerateRequest::parse("m", &serde_json::to_vec(&ok).unwrap()).unwrap();
    assert_eq!(req.system, "s");
    assert_eq!(req.max_output_tokens, Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_the_key_and_lists_models() {
    let sim = Sim::start("").await;
    let client = reqwest::Client::new();
    let no_key = client
        .post(sim.url(GENERATE))
        .json(&request("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 403);
    let e: Value = no_key.json().await.unwrap();
    assert_eq!(e["error"]["code"], 403);
    assert_eq!(e["error"]["status"], "PERMISSION_DENIED");
    let by_param = client
        .post(sim.url(&format!("{GENERATE}?key=AIza-test")))
        .json(&request("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_param.status(), 200);
    let models: Value = client
        .get(sim.url("/v1beta/models?key=k"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "models/gemini-2.5-flash",
            "models/gemini-2.5-pro",
            "models/gemini-2.0-flash"
        ]
    );
    assert_eq!(models["models"][0]["inputTokenLimit"], 1_048_576);
    let one = client
        .get(sim.url("/v1beta/models/gemini-2.5-pro?key=k"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        one.json::<Value>().await.unwrap()["displayName"],
        "Gemini 2.5 Pro"
    );
    let missing = client
        .get(sim.url("/v1beta/models/gemini-9?key=k"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["status"],
        "NOT_FOUND"
    );
    let shared: Value = sim.get_json(&client, "/v1/models").await;
    assert!(
        shared["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gemini-2.5-flash")
    );
    assert!(
        shared["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "claude-sonnet-4-5")
    );
    let long = post(&sim, GENERATE, &request(&"word ".repeat(900_000))).await;
    assert_eq!(long.status(), 400);
    let e: Value = long.json().await.unwrap();
    assert_eq!(e["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the maximum number of tokens allowed (1048576)")
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_json_function_calls_and_streams() {
    let sim = Sim::start("").await;
    // OpenAPI-subset schema: the text is an instance of its JSON Schema form.
    let normalised = super::schema::normalise(&openapi_triage(), "s").unwrap();
    let validator = jsonschema::validator_for(&normalised).unwrap();
    let a: Value = post(
        &sim,
        GENERATE,
        &json_request("responseSchema", openapi_triage()),
    )
    .await
    .json()
    .await
    .unwrap();
    let out: Value = serde_json::from_str(text(&a)).unwrap();
    assert!(validator.is_valid(&out), "{out}");
    assert_eq!(out["category"], "billing");
    assert_eq!(a["candidates"][0]["finishReason"], "STOP");
    assert_eq!(a["candidates"][0]["content"]["role"], "model");
    assert_eq!(a["modelVersion"], "gemini-2.5-flash");
    assert!(!a["responseId"].as_str().unwrap().is_empty());
    let u = &a["usageMetadata"];
    assert!(u["promptTokenCount"].as_u64().unwrap() > 10);
    assert_eq!(
        u["candidatesTokenCount"],
        (text(&a).chars().count() as u64).div_ceil(4)
    );
    assert_eq!(
        u["totalTokenCount"],
        u["promptTokenCount"].as_u64().unwrap() + u["candidatesTokenCount"].as_u64().unwrap()
    );

    let strict = jsonschema::validator_for(&triage_schema()).unwrap();
    let b: Value = post(
        &sim,
        GENERATE,
        &json_request("responseJsonSchema", triage_schema()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(strict.is_valid(&serde_json::from_str(text(&b)).unwrap()));

    // Function calling, forced.
    let mut call = request(TICKET);
    call["tools"] = json!([{"functionDeclarations": [
        {"name": "lookup", "description": "d", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}, "required": ["q"]}},
        {"name": "triage", "description": "d", "parametersJsonSchema": triage_schema()}]}]);
    call["toolConfig"] =
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["triage"]}});
    let c: Value = post(&sim, GENERATE, &call).await.json().await.unwrap();
    let fc = &c["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(fc["name"], "triage");
    assert!(strict.is_valid(&fc["args"]), "{fc}");

    // Limits and candidates.
    let mut short = request("Say hello to the support team");
    short["generationConfig"] = json!({"maxOutputTokens": 3, "candidateCount": 2});
    let s: Value = post(&sim, GENERATE, &short).await.json().await.unwrap();
    let cands = s["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2);
    assert_eq!(
        (&cands[0]["index"], &cands[1]["index"]),
        (&json!(0), &json!(1))
    );
    assert!(cands.iter().all(|c| c["finishReason"] == "MAX_TOKENS"));
    assert_eq!(s["usageMetadata"]["candidatesTokenCount"], 6);

    // Streaming over SSE rebuilds the same text, usage on the last chunk.
    let resp = post(
        &sim,
        &format!("{STREAM}?alt=sse"),
        &json_request("responseSchema", openapi_triage()),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = parse_sse(&resp.text().await.unwrap());
    assert!(events.len() > 1);
    assert!(events.iter().all(|(name, _)| name.is_none()));
    let chunks: Vec<&Value> = events.iter().map(|(_, c)| c).collect();
    let rebuilt: String = chunks.iter().map(|c| text(c)).collect();
    assert_eq!(rebuilt, text(&a));
    let last = chunks[chunks.len() - 1];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["candidates"][0].get("finishReason").is_none())
    );
    assert_eq!(last["usageMetadata"], a["usageMetadata"]);
    // Without alt=sse the stream is one JSON array of the same chunks.
    let array: Value = post(
        &sim,
        STREAM,
        &json_request("responseSchema", openapi_triage()),
    )
    .await
    .json()
    .await
    .unwrap();
    let rebuilt: String = array.as_array().unwrap().iter().map(text).collect();
    assert_eq!(rebuilt, text(&a));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_answer_in_google_shape() {
    let sim = Sim::start("429=#1:2,503=#2,500=#3").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = post(&sim, GENERATE, &request("first conversation")).await;
        let status = r.status().as_u16();
        statuses.push(status);
        let headers = r.headers().clone();
        let body: Value = r.json().await.unwrap();
        let e = &body["error"];
        match status {
            429 => {
                assert_eq!(headers["retry-after"], "2");
                assert_eq!(
                    (&e["code"], &e["status"]),
                    (&json!(429), &json!("RESOURCE_EXHAUSTED"))
                );
                let retry = e["details"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
                    .unwrap();
                assert_eq!(retry["retryDelay"], "2s");
            }
            503 => assert_eq!(
                (&e["code"], &e["status"]),
                (&json!(503), &json!("UNAVAILABLE"))
            ),
            500 => assert_eq!(
                (&e["code"], &e["status"]),
                (&json!(500), &json!("INTERNAL"))
            ),
            _ => assert!(body["candidates"].is_array()),
        }
    }
    assert_eq!(statuses, [429, 503, 500, 200]);
    assert_eq!(
        post(&sim, GENERATE, &request("second conversation"))
            .await
            .status(),
        429
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_dropped_by_the_client_counts_as_cancelled() {
    let sim = Sim::start("stall=#1:30s").await;
    let mut resp = post(
        &sim,
        &format!("{STREAM}?alt=sse"),
        &request("Summarise the incident report for the on-call team"),
    )
    .await;
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: {"));
    let stalled = tokio::time::timeout(std::time::Duration::from_millis(300), resp.chunk()).await;
    assert!(stalled.is_err(), "silent after the first chunk");
    assert_eq!(
        wait_for_stats(&sim, |s| s["streams_open"] == 1).await["requests"]["gemini"],
        1
    );
    drop(resp);
    let stats = wait_for_stats(&sim, |s| s["streams_cancelled"] == 1).await;
    assert_eq!(
        (&stats["streams_open"], &stats["streams_completed"]),
        (&json!(0), &json!(0))
    );
    sim.stop().await;
}
