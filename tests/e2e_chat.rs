//! `/v1/chat/completions` and `/v1/models` end to end: the real binary in
//! front of the simulator, driven over HTTP and by the official `openai`
//! Python package.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{FailingProvider, Proc, Workspace, client, server, simulator};
use serde_json::{Value, json};

/// Models for the gateway: `gw` on the simulator (cached, falls back to
/// `gw-backup`), `down` on a provider that always answers 503.
fn gateway_models(sim_url: &str, failing_url: &str, extra: &str) -> String {
    format!(
        r#"
[providers.down]
kind = "openai-compatible"
base_url = "{failing_url}/v1"
timeout_ms = 2000

[providers.sim2]
kind = "openai"
base_url = "{sim_url}/v1"
timeout_ms = 500

[models.gw]
provider = "sim"
upstream = "gpt-4o-mini"
fallbacks = ["gw-backup"]
cache_ttl_secs = 60

[models.gw-backup]
provider = "sim2"
upstream = "gpt-4o"

[models.down]
provider = "down"
upstream = "llama3.1:8b"
input_price_per_mtok = 0
output_price_per_mtok = 0
context_window = 8192

[models.flaky]
provider = "down"
upstream = "llama3.1:8b"
input_price_per_mtok = 0
output_price_per_mtok = 0
context_window = 8192
fallbacks = ["gw"]

[models.capped]
provider = "sim"
upstream = "gpt-4o"
max_cost_micros_per_call = 1000
fallbacks = ["gw"]

[models.capped-alone]
provider = "sim"
upstream = "gpt-4o"
max_cost_micros_per_call = 1000

[models.tiny]
provider = "sim"
upstream = "gpt-4o-mini"
context_window = 64
fallbacks = ["gw-backup"]
{extra}"#
    )
}

struct Gateway {
    server: Proc,
    sim: Proc,
    failing: FailingProvider,
    _ws: Workspace,
}

fn gateway(faults: &str) -> Gateway {
    let sim = simulator(faults);
    let failing = FailingProvider::start(503);
    let ws = Workspace::triage(&sim.url, &format!("{}/helpdesk/tickets/triage", sim.url));
    ws.append(&gateway_models(&sim.url, &failing.url, ""));
    let server = server(&ws.config());
    Gateway {
        server,
        sim,
        failing,
        _ws: ws,
    }
}

fn chat(g: &Gateway, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = client()
        .post(format!("{}/v1/chat/completions", g.server.url))
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().unwrap())
}

fn run_layers(g: &Gateway, run_id: &str) -> Value {
    client()
        .get(format!("{}/v1/runs/{run_id}", g.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn the_official_openai_sdk_works_unchanged() {
    let g = gateway("");
    let py = common::python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_openai_sdk.py"
    );
    let out = Command::new(py)
        .arg(script)
        .arg(format!("{}/v1", g.server.url))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK checks failed\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        7,
        "{stdout}"
    );
}

#[test]
fn a_failing_model_falls_back_and_the_run_records_why() {
    let g = gateway("");
    let (status, headers, body) = chat(
        &g,
        &json!({"model": "flaky", "messages": [{"role": "user", "content": "hello"}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "flaky");
    // Three attempts at the failing provider, then the fallback answered.
    assert_eq!(g.failing.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let run_id = headers["x-seam-run-id"].to_str().unwrap();
    let run = run_layers(&g, run_id);
    assert_eq!(run["run"]["status"], "succeeded");
    assert_eq!(run["run"]["model"], "gw");
    let infer: Vec<&Value> = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .collect();
    assert_eq!(infer.len(), 4, "{run}");
    assert_eq!(infer[0]["record"]["error"]["type"], "provider_overloaded");
    assert_eq!(infer[3]["record"]["model"], "gw");
    // The audit holds hashes, never the message text.
    assert!(!run.to_string().contains("hello"), "{run}");
}

#[test]
fn prompts_too_long_for_a_window_go_to_a_larger_model_before_any_call() {
    let g = gateway("");
    let long = "word ".repeat(200);
    let (status, headers, body) = chat(
        &g,
        &json!({"model": "tiny", "messages": [{"role": "user", "content": long}], "max_tokens": 20}),
    );
    assert_eq!(status, 200, "{body}");
    let run = run_layers(&g, headers["x-seam-run-id"].to_str().unwrap());
    let infer: Vec<&Value> = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .collect();
    assert_eq!(
        infer[0]["record"]["error"]["type"],
        "context_length_exceeded"
    );
    assert_eq!(infer[0]["record"]["latency_ms"], 0);
    assert_eq!(infer[1]["record"]["model"], "gw-backup");
}

#[test]
fn only_deterministic_requests_are_cached() {
    let g = gateway("");
    let req = json!({"model": "gw", "messages": [{"role": "user", "content": "cache me"}], "temperature": 0});
    let (_, h1, b1) = chat(&g, &req);
    let (_, h2, b2) = chat(&g, &req);
    assert_eq!(h1["x-seam-cache"], "miss");
    assert_eq!(h2["x-seam-cache"], "hit");
    assert_eq!(b1["choices"], b2["choices"]);
    let warm = json!({"model": "gw", "messages": [{"role": "user", "content": "cache me"}], "temperature": 0.7});
    let (_, h3, _) = chat(&g, &warm);
    let (_, h4, _) = chat(&g, &warm);
    assert_eq!(
        (
            h3["x-seam-cache"].to_str().unwrap(),
            h4["x-seam-cache"].to_str().unwrap()
        ),
        ("miss", "miss")
    );
}

#[test]
fn a_stalled_stream_is_cut_and_classed() {
    // The simulator sends the first chunk, then goes silent; gw-backup's
    // provider has a 500 ms timeout, used as the stream's idle limit.
    let g = gateway("stall=100%:30s");
    let started = Instant::now();
    let mut resp = client()
        .post(format!("{}/v1/chat/completions", g.server.url))
        .json(&json!({"model": "gw-backup", "messages": [{"role": "user", "content": "stall"}], "stream": true}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut text = String::new();
    resp.read_to_string(&mut text).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains("\"code\":\"provider_stalled\""), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
}

#[test]
fn stalled_streams_are_cut_and_free_their_upstream_connections() {
    // TensorZero #6328: stalled upstream streams must not pile up and
    // exhaust the connection pool. Every conversation's first stream stalls.
    let g = gateway("stall=#1:30s");
    let started = Instant::now();
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let url = format!("{}/v1/chat/completions", g.server.url);
            std::thread::spawn(move || {
                let mut resp = client()
                    .post(url)
                    .json(&json!({"model": "gw-backup", "stream": true,
                        "messages": [{"role": "user", "content": format!("stall {i}")}]}))
                    .send()
                    .unwrap();
                let mut text = String::new();
                resp.read_to_string(&mut text).unwrap();
                text
            })
        })
        .collect();
    for h in handles {
        let text = h.join().unwrap();
        assert!(text.contains("\"code\":\"provider_stalled\""), "{text}");
    }
    // Cut at the 500 ms idle limit, all of them, not one after another.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The simulator saw every stalled stream dropped: nothing is held open.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let stats: Value = client()
            .get(format!("{}/sim/stats", g.sim.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if stats["streams_open"] == 0 && stats["streams_cancelled"] == 32 {
            break;
        }
        assert!(
            Instant::now() < until,
            "upstream streams still held: {stats}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // And the same conversations answer at once on their next request.
    let (status, _, body) = chat(
        &g,
        &json!({"model": "gw-backup", "messages": [{"role": "user", "content": "stall 0"}]}),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_client_that_hangs_up_cancels_the_upstream_stream() {
    let g = gateway("pace=100%:200ms");
    let mut resp = client()
        .post(format!("{}/v1/chat/completions", g.server.url))
        .json(&json!({"model": "gw", "messages": [{"role": "user", "content": "a long answer please"}], "stream": true}))
        .send()
        .unwrap();
    let run_id = resp.headers()["x-seam-run-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut first = [0u8; 64];
    let _ = resp.read(&mut first).unwrap();
    drop(resp);
    // The simulator sees its stream dropped, and seam records the run as
    // cancelled.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let stats: Value = client()
            .get(format!("{}/sim/stats", g.sim.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let run = run_layers(&g, &run_id);
        if stats["streams_cancelled"] == 1 && run["run"]["status"] == "cancelled" {
            assert_eq!(stats["streams_completed"], 0, "{stats}");
            break;
        }
        assert!(Instant::now() < until, "not cancelled: {stats} {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_call_over_its_cost_cap_is_refused_before_any_tokens_are_spent() {
    let g = gateway("");
    // gpt-4o at $10/M output: 1000 output tokens could cost 10000 µ$ > 1000.
    let body = json!({"model": "capped", "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hello"}]});
    let (status, headers, answer) = chat(&g, &body);
    assert_eq!(status, 200, "{answer}");
    let run = run_layers(&g, headers["x-seam-run-id"].to_str().unwrap());
    let infer: Vec<&Value> = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .collect();
    assert_eq!(
        infer[0]["record"]["error"]["type"], "cost_cap_exceeded",
        "{run}"
    );
    assert_eq!(infer[0]["record"]["error"]["class"], "budget");
    assert_eq!(infer[1]["record"]["model"], "gw");
    // With nowhere to fall back, the caller gets the budget error.
    let mut alone = body.clone();
    alone["model"] = json!("capped-alone");
    let (status, _, answer) = chat(&g, &alone);
    assert_eq!(status, 402, "{answer}");
    assert_eq!(answer["error"]["code"], "cost_cap_exceeded");
    assert_eq!(answer["error"]["type"], "insufficient_quota");
    // A small allowance fits under the cap.
    alone["max_tokens"] = json!(50);
    assert_eq!(chat(&g, &alone).0, 200);
    let stats: Value = client()
        .get(format!("{}/sim/stats", g.sim.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        stats["requests"]["openai"], 2,
        "only the two calls under the cap reached the provider"
    );
}
