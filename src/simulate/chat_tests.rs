//! The OpenAI front-end's context window over real sockets.

use serde_json::{Value, json};

use crate::simulate::tests::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_ctx_answers_context_length_exceeded() {
    let sim = Sim::start("").await;
    let client = reqwest::Client::new();
    let models = sim.get_json(&client, "/v1/models").await;
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "tiny-ctx")
    );
    assert_eq!(
        sim.get_json(&client, "/v1/models/tiny-ctx").await["id"],
        "tiny-ctx"
    );

    let post = |body: Value| {
        client
            .post(sim.url("/v1/chat/completions"))
            .json(&body)
            .send()
    };
    let long = "word ".repeat(500);
    let r = post(json!({"model": "tiny-ctx", "messages": [{"role": "user", "content": long}]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "context_length_exceeded");
    assert_eq!(e["error"]["param"], "messages");
    assert_eq!(e["error"]["type"], "invalid_request_error");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("This model's maximum context length is 512 tokens."),
        "{message}"
    );
    // A short prompt fits, unless it asks for too long a completion.
    let short = json!({"model": "tiny-ctx", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(post(short.clone()).await.unwrap().status(), 200);
    let mut greedy = short;
    greedy["max_tokens"] = json!(600);
    assert_eq!(post(greedy).await.unwrap().status(), 400);
    // Rejected requests still count, and are never streamed.
    let stats = sim.get_json(&client, "/sim/stats").await;
    assert_eq!(stats["requests"]["openai"], 3);
    assert_eq!(stats["streams_open"], 0);
    sim.stop().await;
}
