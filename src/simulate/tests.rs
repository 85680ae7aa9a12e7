//! End-to-end tests over real sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::generate::instance::tests::triage_schema;
use super::{parse_faults, serve};

pub(super) struct Sim {
    pub(super) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Sim {
    pub(super) async fn start(faults: &str) -> Sim {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let spec = parse_faults(faults).unwrap();
        let task = tokio::spawn(serve(listener, spec, 42, async {
            let _ = rx.await;
        }));
        Sim {
            addr,
            stop: Some(tx),
            task,
        }
    }

    pub(super) async fn get_json(&self, client: &reqwest::Client, path: &str) -> Value {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(super) async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            tx.send(()).unwrap();
        }
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// The events of an SSE body: (event name, parsed data); `[DONE]` is skipped.
pub(super) fn parse_sse(text: &str) -> Vec<(Option<String>, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .filter_map(|e| {
            let mut name = None;
            let mut data = None;
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = Some(d);
                }
            }
            let data = data.unwrap();
            (data != "[DONE]").then(|| (name, serde_json::from_str(data).unwrap()))
        })
        .collect()
}

/// Poll `GET /sim/stats` until `check` holds (or fail after 5 s).
pub(super) async fn wait_for_stats(sim: &Sim, check: impl Fn(&Value) -> bool) -> Value {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let stats = sim.get_json(&client, "/sim/stats").await;
        if check(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "stats never matched: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn triage_request(ticket: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You triage helpdesk tickets."},
            {"role": "user", "content": [{"type": "text", "text": ticket}]}
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "strict": true, "schema": triage_schema()}},
        "temperature": 0
    })
}

pub(super) const TICKET: &str =
    "I was charged twice for my March invoice, please refund the duplicate billing charge.";

fn content(resp: &Value) -> &str {
    resp["choices"][0]["message"]["content"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_openai_wire_format() {
    let sim = Sim::start("").await;
    let client = reqwest::Client::new();
    let validator = jsonschema::validator_for(&triage_schema()).unwrap();

    let post = |body: Value| {
        client
            .post(sim.url("/v1/chat/completions"))
            .json(&body)
            .send()
    };
    let resp = post(triage_request(TICKET)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let a: Value = resp.json().await.unwrap();
    assert_eq!(a["object"], "chat.completion");
    assert_eq!(a["model"], "gpt-4o-mini");
    assert_eq!(a["system_fingerprint"], "fp_seam_sim");
    assert!(a["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(a["choices"][0]["finish_reason"], "stop");
    assert_eq!(a["choices"][0]["message"]["role"], "assistant");
    assert_eq!(a["choices"][0]["message"]["refusal"], Value::Null);
    let out: Value = serde_json::from_str(content(&a)).unwrap();
    assert!(validator.is_valid(&out), "{out}");
    assert_eq!(out["category"], "billing");
    let u = &a["usage"];
    assert!(u["prompt_tokens"].as_u64().unwrap() > 20);
    assert_eq!(
        u["completion_tokens"].as_u64().unwrap(),
        (content(&a).chars().count() as u64).div_ceil(4)
    );
    assert_eq!(
        u["total_tokens"],
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(u["completion_tokens_details"]["reasoning_tokens"], 0);

    // Deterministic: same request, same content; another ticket, another summary.
    let b: Value = post(triage_request(TICKET))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(content(&a), content(&b));
    assert_ne!(a["id"], b["id"]);
    let c: Value = post(triage_request("The export button crashes the desktop app"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(content(&a), content(&c));

    // Streaming with usage.
    let mut req = triage_request(TICKET);
    req["stream"] = json!(true);
    req["stream_options"] = json!({"include_usage": true});
    let resp = post(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunks: Vec<Value> = text
        .split("\n\n")
        .filter(|e| !e.is_empty() && *e != "data: [DONE]")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert!(chunks.len() > 4);
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, content(&a));
    let id = &chunks[0]["id"];
    assert!(
        chunks
            .iter()
            .all(|c| &c["id"] == id && c["object"] == "chat.completion.chunk")
    );
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(chunks[chunks.len() - 1]["choices"], json!([]));
    assert_eq!(chunks[chunks.len() - 1]["usage"], a["usage"]);

    // Tools.
    let tools = json!({
        "model": "gpt-4o", "messages": [{"role": "user", "content": "Create a ticket for the refund"}],
        "tools": [{"type": "function", "function": {"name": "create_ticket", "parameters": {
            "type": "object", "properties": {"title": {"type": "string"}, "priority": {"type": "integer", "minimum": 1, "maximum": 4}},
            "required": ["title", "priority"], "additionalProperties": false}}}],
        "tool_choice": "auto"
    });
    let t: Value = post(tools).await.unwrap().json().await.unwrap();
    assert_eq!(t["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(t["choices"][0]["message"]["content"], Value::Null);
    let call = &t["choices"][0]["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "create_ticket");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!((1..=4).contains(&args["priority"].as_i64().unwrap()));

    // Plain text and json_object.
    let plain: Value = post(json!({"model": "m", "messages": [{"role": "user", "content": "Say hello to the team"}], "max_tokens": 5}))
        .await.unwrap().json().await.unwrap();
    assert_eq!(plain["choices"][0]["finish_reason"], "length");
    assert_eq!(plain["usage"]["completion_tokens"], 5);
    let obj: Value = post(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}))
        .await.unwrap().json().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(content(&obj))
            .unwrap()
            .is_object()
    );

    // Errors.
    let bad = post(json!({"messages": [{"role": "user", "content": "x"}]}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let e: Value = bad.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["param"], "model");
    assert_eq!(
        client.get(sim.url("/nope")).send().await.unwrap().status(),
        404
    );

    // Models, health.
    let models: Value = sim.get_json(&client, "/v1/models").await;
    assert_eq!(models["object"], "list");
    assert!(models["data"].as_array().unwrap().len() >= 2);
    let health = client.get(sim.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    // Helpdesk sink.
    let deliver = |key: &'static str| {
        client
            .post(sim.url("/helpdesk/api/tickets/7/comments"))
            .header("Idempotency-Key", key)
            .json(&json!({"note": key}))
            .send()
    };
    let first = deliver("k-1").await.unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        json!({"id": 1, "duplicate": false})
    );
    let again = deliver("k-1").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"id": 1, "duplicate": true})
    );
    assert_eq!(deliver("k-2").await.unwrap().status(), 201);
    let list: Value = sim.get_json(&client, "/helpdesk/deliveries").await;
    let d = list["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["path"], "/helpdesk/api/tickets/7/comments");
    assert_eq!(d[0]["idempotency_key"], "k-1");
    assert_eq!(d[0]["body"], json!({"note": "k-1"}));

    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_n_faults_are_per_conversation() {
    let sim = Sim::start("503=#3,429=#1:7").await;
    let client = reqwest::Client::new();
    for ticket in ["first conversation", "second conversation"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = client
                .post(sim.url("/v1/chat/completions"))
                .json(&triage_request(ticket))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                assert_eq!(r.headers()["retry-after"], "7");
                let e: Value = r.json().await.unwrap();
                assert_eq!(e["error"]["code"], "rate_limit_exceeded");
            }
        }
        // 429 is checked before 503; both count the same requests.
        assert_eq!(statuses, [429, 503, 503, 200], "{ticket}");
    }
    sim.stop().await;
}

async fn raw_exchange(
    addr: SocketAddr,
    body: &Value,
) -> (std::io::Result<usize>, Vec<u8>, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let r = s.read_to_end(&mut buf).await;
    (r, buf, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_timeout_drop_the_connection() {
    let sim = Sim::start("reset=#1,timeout=#2:300ms").await;
    let (r, buf, _) = raw_exchange(sim.addr, &triage_request(TICKET)).await;
    assert!(buf.is_empty());
    assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    let (r, buf, took) = raw_exchange(sim.addr, &triage_request(TICKET)).await;
    assert!(buf.is_empty() && r.is_ok(), "{r:?}");
    assert!(took >= Duration::from_millis(290), "{took:?}");
    let client = reqwest::Client::new();
    let ok = client
        .post(sim.url("/v1/chat/completions"))
        .json(&triage_request(TICKET))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_faults_and_latency() {
    let sim = Sim::start("malformed=#1,violate=#2,fenced=#3,latency=#4:150ms").await;
    let client = reqwest::Client::new();
    let validator = jsonschema::validator_for(&triage_schema()).unwrap();
    let mut contents = Vec::new();
    for _ in 0..4 {
        let start = Instant::now();
        let r: Value = client
            .post(sim.url("/v1/chat/completions"))
            .json(&triage_request(TICKET))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(start.elapsed() >= Duration::from_millis(150));
        contents.push(content(&r).to_string());
    }
    assert!(
        serde_json::from_str::<Value>(&contents[0]).is_err(),
        "{}",
        contents[0]
    );
    let violated: Value = serde_json::from_str(&contents[1]).unwrap();
    assert!(!validator.is_valid(&violated), "{violated}");
    assert!(
        contents[2].starts_with("```json\n") && contents[2].ends_with("\n```"),
        "{}",
        contents[2]
    );
    let fenced: Value = serde_json::from_str(
        contents[2]
            .trim_start_matches("```json")
            .trim_end_matches("```"),
    )
    .unwrap();
    assert!(validator.is_valid(&fenced));
    assert!(validator.is_valid(&serde_json::from_str::<Value>(&contents[3]).unwrap()));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting() {
    let sim = Sim::start("").await;
    let addr = sim.addr;
    sim.stop().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

fn streamed(ticket: &str) -> Value {
    let mut req = triage_request(ticket);
    req["stream"] = json!(true);
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_goes_silent_mid_stream_then_cuts() {
    let sim = Sim::start("stall=#1:300ms").await;
    let client = reqwest::Client::new();
    let mut resp = client
        .post(sim.url("/v1/chat/completions"))
        .json(&streamed(TICKET))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut received = String::new();
    let start = Instant::now();
    let mut silence = Duration::ZERO;
    let end = loop {
        let before = Instant::now();
        match resp.chunk().await {
            Ok(Some(c)) => {
                silence = silence.max(before.elapsed());
                received.push_str(std::str::from_utf8(&c).unwrap());
            }
            other => break other.map(|_| ()),
        }
    };
    assert!(end.is_err(), "the stream must be cut, not finished");
    assert!(start.elapsed() >= Duration::from_millis(290));
    assert!(
        received.starts_with("data: {"),
        "first chunks arrive: {received}"
    );
    assert!(!received.contains("[DONE]"));
    // The next request of the conversation streams in full.
    let text = client
        .post(sim.url("/v1/chat/completions"))
        .json(&streamed(TICKET))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    // A request that does not stream is held like a timeout.
    let (r, buf, took) = raw_exchange(sim.addr, &triage_request("another ticket")).await;
    assert!(buf.is_empty() && r.is_ok(), "{r:?}");
    assert!(took >= Duration::from_millis(290), "{took:?}");
    let stats = sim.get_json(&client, "/sim/stats").await;
    assert_eq!(stats["streams_completed"], 1);
    assert_eq!(stats["streams_cancelled"], 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_requests_and_a_cancelled_stream() {
    let sim = Sim::start("pace=1.0:40ms").await;
    let client = reqwest::Client::new();
    let mut resp = client
        .post(sim.url("/v1/chat/completions"))
        .json(&streamed(TICKET))
        .send()
        .await
        .unwrap();
    assert!(resp.chunk().await.unwrap().is_some());
    let open = wait_for_stats(&sim, |s| s["streams_open"] == 1).await;
    assert_eq!(open["streams_cancelled"], 0);
    drop(resp);
    let after = wait_for_stats(&sim, |s| s["streams_cancelled"] == 1).await;
    assert_eq!(after["streams_open"], 0);
    assert_eq!(after["streams_completed"], 0);

    let start = Instant::now();
    let text = client
        .post(sim.url("/v1/chat/completions"))
        .json(&streamed(TICKET))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frames = text.matches("data: ").count() as u32;
    assert!(start.elapsed() >= Duration::from_millis(40) * (frames - 1));
    let anthropic = client
        .post(sim.url("/v1/messages"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.status(), 401);
    let stats = sim.get_json(&client, "/sim/stats").await;
    assert_eq!(
        stats,
        json!({"requests": {"openai": 2, "anthropic": 1, "gemini": 0},
               "streams_open": 0, "streams_cancelled": 1, "streams_completed": 1,
               "rate_limited": 0})
    );
    sim.stop().await;
}
