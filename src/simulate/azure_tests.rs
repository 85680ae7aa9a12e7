//! The Azure OpenAI route: path and header checks, and over real sockets.

use serde_json::{Value, json};

use super::*;
use crate::simulate::generate::instance::tests::triage_schema;
use crate::simulate::tests::{Sim, TICKET, parse_sse};

const CHAT: &str = "/openai/deployments/prod-gpt4o/chat/completions";
const VERSION: &str = "api-version=2024-10-21";

fn headers(key: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(k) = key {
        h.insert("api-key", k.parse().unwrap());
    }
    h
}

#[test]
fn recognises_deployment_paths() {
    let post = Method::POST;
    assert_eq!(
        parse(&post, CHAT).unwrap().ok().as_deref(),
        Some("prod-gpt4o")
    );
    assert_eq!(
        parse(&post, "/openai/deployments/gpt-4o_v2.1/chat/completions")
            .unwrap()
            .ok()
            .as_deref(),
        Some("gpt-4o_v2.1")
    );
    assert!(parse(&post, "/v1/chat/completions").is_none());
    for not_chat in [
        "/openai/deployments//chat/completions",
        "/openai/deployments/a/b/chat/completions",
        "/openai/deployments/prod/embeddings",
        "/openai/models",
    ] {
        let r = parse(&post, not_chat).unwrap().unwrap_err();
        assert_eq!(r, NOT_FOUND, "{not_chat}");
    }
    assert_eq!(parse(&Method::GET, CHAT).unwrap().unwrap_err().status, 404);
}

#[test]
fn checks_key_then_version() {
    assert!(check(&headers(Some("k")), VERSION).is_ok());
    assert!(check(&headers(Some("k")), "x=1&api-version=2025-04-01-preview").is_ok());
    assert_eq!(check(&headers(None), VERSION).unwrap_err().status, 401);
    assert_eq!(check(&headers(Some("")), VERSION).unwrap_err().status, 401);
    assert_eq!(check(&headers(None), "").unwrap_err().status, 401);
    assert_eq!(check(&headers(Some("k")), "").unwrap_err().status, 404);
    assert_eq!(
        check(&headers(Some("k")), "api-version=")
            .unwrap_err()
            .status,
        404
    );
    for bad in ["2024-1-01", "latest", "2024-10-21-beta", "2024/10/21"] {
        let q = format!("api-version={bad}");
        assert_eq!(
            check(&headers(Some("k")), &q).unwrap_err().status,
            400,
            "{bad}"
        );
    }
}

fn chat_body() -> Value {
    json!({"messages": [{"role": "user", "content": TICKET}],
           "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": triage_schema()}}})
}

async fn post(
    sim: &Sim,
    path_and_query: &str,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(sim.url(path_and_query))
        .json(body);
    if let Some(k) = key {
        r = r.header("api-key", k);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_chat_with_the_deployment_as_model() {
    let sim = Sim::start("").await;
    let url = format!("{CHAT}?{VERSION}");
    let r = post(&sim, &url, Some("azure-key"), &chat_body()).await;
    assert_eq!(r.status(), 200);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["object"], "chat.completion");
    assert_eq!(a["model"], "prod-gpt4o");
    let out: Value =
        serde_json::from_str(a["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(
        jsonschema::validator_for(&triage_schema())
            .unwrap()
            .is_valid(&out)
    );

    // A `model` in the body is allowed and the deployment still wins.
    let mut with_model = chat_body();
    with_model["model"] = json!("gpt-4o");
    let b: Value = post(&sim, &url, Some("azure-key"), &with_model)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["model"], "prod-gpt4o");
    assert_eq!(
        b["choices"][0]["message"]["content"],
        a["choices"][0]["message"]["content"]
    );
    with_model["model"] = json!(4);
    let bad = post(&sim, &url, Some("azure-key"), &with_model).await;
    assert_eq!(bad.status(), 400);

    // Streaming, too.
    let mut streamed = chat_body();
    streamed["stream"] = json!(true);
    let text = post(&sim, &url, Some("azure-key"), &streamed)
        .await
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunks = parse_sse(&text);
    assert!(chunks.iter().all(|(_, c)| c["model"] == "prod-gpt4o"));

    // The context window follows the deployment name.
    let tiny = "/openai/deployments/tiny-ctx/chat/completions?api-version=2024-10-21";
    let long = json!({"messages": [{"role": "user", "content": "word ".repeat(500)}]});
    let e: Value = post(&sim, tiny, Some("k"), &long)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["error"]["code"], "context_length_exceeded");

    let stats = sim.get_json(&reqwest::Client::new(), "/sim/stats").await;
    assert_eq!(stats["requests"]["openai"], 5);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_azure_gateway_errors() {
    let sim = Sim::start("").await;
    let no_key = post(&sim, &format!("{CHAT}?{VERSION}"), None, &chat_body()).await;
    assert_eq!(no_key.status(), 401);
    assert_eq!(
        no_key.json::<Value>().await.unwrap(),
        json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}})
    );
    let no_version = post(&sim, CHAT, Some("k"), &chat_body()).await;
    assert_eq!(no_version.status(), 404);
    assert_eq!(
        no_version.json::<Value>().await.unwrap(),
        json!({"error": {"code": "404", "message": "Resource not found"}})
    );
    let bad_version = post(
        &sim,
        &format!("{CHAT}?api-version=v1"),
        Some("k"),
        &chat_body(),
    )
    .await;
    assert_eq!(bad_version.status(), 400);
    assert_eq!(
        bad_version.json::<Value>().await.unwrap()["error"]["code"],
        "BadRequest"
    );
    let elsewhere = post(
        &sim,
        "/openai/deployments/x/completions?api-version=2024-10-21",
        Some("k"),
        &chat_body(),
    )
    .await;
    assert_eq!(elsewhere.status(), 404);
    // Invalid bodies answer as OpenAI does.
    let invalid = post(
        &sim,
        &format!("{CHAT}?{VERSION}"),
        Some("k"),
        &json!({"messages": []}),
    )
    .await;
    assert_eq!(invalid.status(), 400);
    assert_eq!(
        invalid.json::<Value>().await.unwrap()["error"]["code"],
        "empty_array"
    );
    // Chat requests count whatever their fate; other paths do not.
    let stats = sim.get_json(&reqwest::Client::new(), "/sim/stats").await;
    assert_eq!(stats["requests"]["openai"], 4);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_apply_and_refuse_is_the_prompt_filter() {
    let sim = Sim::start("429=#1:2,refuse=#2").await;
    let url = format!("{CHAT}?{VERSION}");
    let limited = post(&sim, &url, Some("k"), &chat_body()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "2");
    let filtered = post(&sim, &url, Some("k"), &chat_body()).await;
    assert_eq!(filtered.status(), 400);
    let e: Value = filtered.json().await.unwrap();
    let err = &e["error"];
    assert_eq!(err["code"], "content_filter");
    assert_eq!(err["param"], "prompt");
    assert_eq!(err["status"], 400);
    assert_eq!(err["innererror"]["code"], "ResponsibleAIPolicyViolation");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.")
    );
    let filtered_result = &err["innererror"]["content_filter_result"];
    assert_eq!(filtered_result["violence"]["filtered"], true);
    let ok = post(&sim, &url, Some("k"), &chat_body()).await;
    assert_eq!(ok.status(), 200);
    sim.stop().await;
}
