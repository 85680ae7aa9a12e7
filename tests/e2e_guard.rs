//! Guards end to end: the simulator's `--limit` rate limits in each wire
//! format and its runtime faults (`POST /sim/faults`), seam's client-side
//! rate limit keeping the real simulator from ever answering 429, the guard
//! config checked by `seam check`, and `GET /v1/admin/breakers` on the real
//! server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use common::{Proc, TestSink, Workspace, client, metrics, seam, server, simulator, simulator_with};
use seam::infer::guard::{CallOutcome, Guard, GuardConfig, RateLimitConfig, SystemClock};
use seam::telemetry::Metrics;
use serde_json::{Value, json};

fn openai(sim: &Proc, model: &str, max_tokens: u64) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/v1/chat/completions", sim.url))
        .json(&json!({"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "Where is my parcel?"}]}))
        .send()
        .unwrap()
}

fn anthropic(sim: &Proc) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/v1/messages", sim.url))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-haiku-4-5", "max_tokens": 50,
            "messages": [{"role": "user", "content": "Where is my parcel?"}]}))
        .send()
        .unwrap()
}

fn gemini(sim: &Proc) -> reqwest::blocking::Response {
    client()
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:generateContent",
            sim.url
        ))
        .header("x-goog-api-key", "test")
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "Where is my parcel?"}]}]}))
        .send()
        .unwrap()
}

fn stats(sim: &Proc) -> Value {
    client()
        .get(format!("{}/sim/stats", sim.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn simulator_limits_answer_429_in_each_wire_format() {
    let sim = simulator_with(&["--limit", "rpm=2"]);
    // OpenAI: two requests fit the minute, the third is refused.
    for _ in 0..2 {
        assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 200);
    }
    let r = openai(&sim, "gpt-4o-mini", 20);
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(header(&r, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&r, "x-ratelimit-remaining-requests"), "0");
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "requests", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("gpt-4o-mini") && message.contains("Limit 2, Used 2, Requested 1"),
        "{message}"
    );
    // Limits are per model.
    assert_eq!(openai(&sim, "gpt-4o", 20).status(), 200);

    // Anthropic: rate_limit_error with its own headers.
    for _ in 0..2 {
        assert_eq!(anthropic(&sim).status(), 200);
    }
    let r = anthropic(&sim);
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "anthropic-ratelimit-requests-limit"), "2");
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    let body: Value = r.json().unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");

    // Gemini: RESOURCE_EXHAUSTED with the quota and a RetryInfo delay.
    for _ in 0..2 {
        assert_eq!(gemini(&sim).status(), 200);
    }
    let r = gemini(&sim);
    assert_eq!(r.status(), 429);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED", "{body}");
    let details = body["error"]["details"].as_array().unwrap();
    assert_eq!(details[0]["violations"][0]["quotaValue"], "2", "{body}");
    assert!(
        details[1]["retryDelay"].as_str().unwrap().ends_with('s'),
        "{body}"
    );

    let s = stats(&sim);
    assert_eq!(s["rate_limited"], 3, "{s}");
    assert_eq!(s["requests"]["openai"], 4, "{s}");
}

#[test]
fn simulator_tokens_limit_counts_prompt_and_output_allowance() {
    let sim = simulator_with(&["--limit", "tpm=100"]);
    assert_eq!(openai(&sim, "gpt-4o-mini", 80).status(), 200);
    let r = openai(&sim, "gpt-4o-mini", 80);
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-ratelimit-limit-tokens"), "100");
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["type"], "tokens", "{body}");
    // 80 + 5 prompt tokens used; a small request still fits.
    assert_eq!(openai(&sim, "gpt-4o-mini", 5).status(), 200);
    assert_eq!(stats(&sim)["rate_limited"], 1);
    // A bad spec stops the simulator before it listens.
    let out = seam(&["simulate", "--listen", "127.0.0.1:0", "--limit", "rpm=0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--limit"));
}

#[test]
fn faults_change_at_runtime() {
    let sim = simulator("503=100%");
    assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 503);
    let faults = |body: &str| {
        client()
            .post(format!("{}/sim/faults", sim.url))
            .body(body.to_string())
            .send()
            .unwrap()
    };
    let current: Value = client()
        .get(format!("{}/sim/faults", sim.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(current, json!({"faults": "503=100%"}));
    // Heal.
    let r = faults("");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap(), json!({"faults": ""}));
    for _ in 0..3 {
        assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 200);
    }
    // A bad spec is refused and the faults in force stay.
    let r = faults("503=150%");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "invalid_faults", "{body}");
    assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 200);
    // `#N` counts start again: the conversation seen above fails twice more.
    assert_eq!(faults("429=#2:1").status(), 200);
    assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 429);
    assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 429);
    assert_eq!(openai(&sim, "gpt-4o-mini", 20).status(), 200);
    // Fault 429s are not limit refusals.
    assert_eq!(stats(&sim)["rate_limited"], 0);
}

/// Send `n` chat requests, `concurrency` at a time, each first through
/// `guard` when there is one; the statuses.
async fn hammer(url: &str, n: usize, concurrency: usize, guard: Option<Guard>) -> Vec<u16> {
    let http = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, next, guard) = (http.clone(), next.clone(), guard.clone());
        let url = format!("{url}/v1/chat/completions");
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                let admission = match &guard {
                    Some(g) => Some(g.enter(30, deadline).await.unwrap()),
                    None => None,
                };
                let r = http
                    .post(&url)
                    .json(&json!({"model": "gpt-4o-mini", "max_tokens": 20,
                        "messages": [{"role": "user", "content": "Where is my parcel?"}]}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                if let Some(a) = admission {
                    a.record(if status == 200 {
                        CallOutcome::Success
                    } else {
                        CallOutcome::Failure
                    });
                }
                statuses.push(status);
            }
            statuses
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_client_side_limit_never_draws_a_429() {
    let sim = simulator_with(&["--limit", "rpm=600,tpm=30000"]);
    // Unguarded, the same traffic runs into the simulator's limit: the
    // check below can fail.
    let free = simulator_with(&["--limit", "rpm=600,tpm=30000"]);
    let statuses = hammer(&free.url, 700, 16, None).await;
    assert!(
        statuses.contains(&429),
        "the unguarded run was never limited"
    );

    let limits = RateLimitConfig {
        requests_per_minute: NonZeroU64::new(600),
        tokens_per_minute: NonZeroU64::new(30_000),
    };
    let guard = Guard::new(
        "small",
        "sim",
        GuardConfig {
            rate_limit: Some(limits),
            ..GuardConfig::default()
        },
        Arc::new(Metrics::new()),
        Arc::new(SystemClock),
    );
    // 640 requests of 30 tokens: over the minute's 600 requests, so the
    // guard makes the last ones wait for their slots.
    let statuses = hammer(&sim.url, 640, 16, Some(guard.clone())).await;
    assert_eq!(statuses.len(), 640);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let s = tokio::task::spawn_blocking({
        let url = sim.url.clone();
        move || {
            client()
                .get(format!("{url}/sim/stats"))
                .send()
                .unwrap()
                .json::<Value>()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(s["rate_limited"], 0, "{s}");
    assert!(guard.snapshot().rate_limit.unwrap().waits > 0);
}

#[test]
fn check_reports_guard_config_errors_with_file_line_and_key() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    ws.append(
        r#"
[models.guarded]
provider = "sim"
upstream = "gpt-4o-mini"

[models.guarded.breaker]
failure_rate = 1.5
min_requests = 0
threshold = 3

[models.guarded.rate_limit]
tokens_per_minute = 0

[models.guarded.retry_budget]
ratio = -0.1

[models.unlimited]
provider = "sim"
upstream = "gpt-4o"

[models.unlimited.rate_limit]
"#,
    );
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(ws.config()).unwrap();
    let line = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{needle} not in config"))
    };
    let file = ws.config_str();
    for expected in [
        format!(
            "{file}:{}: models.guarded.breaker.threshold: unknown field `threshold`",
            line("threshold")
        ),
        format!(
            "{file}:{}: models.guarded.breaker.failure_rate: must be greater than 0 and at most 1",
            line("failure_rate")
        ),
        format!(
            "{file}:{}: models.guarded.breaker.min_requests: must be at least 1",
            line("min_requests")
        ),
        format!(
            "{file}:{}: models.guarded.rate_limit.tokens_per_minute: must be at least 1",
            line("tokens_per_minute")
        ),
        format!(
            "{file}:{}: models.guarded.retry_budget.ratio: must be between 0 and 1",
            line("ratio")
        ),
        format!(
            "{file}:{}: models.unlimited.rate_limit: give requests_per_minute, tokens_per_minute or both",
            line("[models.unlimited.rate_limit]")
        ),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn admin_breakers_show_every_model_and_metrics_export_their_state() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    ws.append(
        r#"
[models.small.breaker]
failure_rate = 0.25
min_requests = 8
window_secs = 20
open_secs = 3
half_open_probes = 2

[models.small.rate_limit]
requests_per_minute = 500
tokens_per_minute = 200000

[models.small.retry_budget]
ratio = 0.1
min_per_sec = 1
"#,
    );
    let check = seam(&["check", "--config", &ws.config_str()]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let srv = server(&ws.config());
    let body: Value = client()
        .get(format!("{}/v1/admin/breakers", srv.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let breakers = body["breakers"].as_array().unwrap();
    let names: Vec<&str> = breakers
        .iter()
        .map(|b| b["model"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["large", "small"], "{body}");
    let small = &breakers[1];
    assert_eq!(small["provider"], "sim");
    assert_eq!(small["state"], "closed");
    assert_eq!(small["failure_rate"], 0.0);
    assert_eq!(
        small["window"],
        json!({"secs": 20, "requests": 0, "failures": 0})
    );
    assert_eq!(small["opened_at"], Value::Null);
    assert_eq!(
        small["thresholds"],
        json!({"failure_rate": 0.25, "min_requests": 8, "open_secs": 3, "half_open_probes": 2})
    );
    assert_eq!(small["rate_limit"]["requests_per_minute"], 500);
    assert_eq!(small["rate_limit"]["tokens_per_minute"], 200_000);
    assert_eq!(small["retry_budget"]["ratio"], 0.1);
    assert_eq!(small["retry_budget"]["available"], 10, "{small}");
    // Defaults where the config says nothing.
    let large = &breakers[0];
    assert_eq!(
        large["thresholds"],
        json!({"failure_rate": 0.5, "min_requests": 20, "open_secs": 15, "half_open_probes": 3})
    );
    assert_eq!(large["rate_limit"], Value::Null);
    assert_eq!(large["retry_budget"]["available"], 20);

    let metrics = metrics(&srv.url);
    for model in ["small", "large"] {
        let gauge = format!("seam_breaker_state{{model=\"{model}\"}} 0");
        assert!(metrics.contains(&gauge), "no {gauge} in:\n{metrics}");
    }
}
