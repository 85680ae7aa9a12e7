//! The sync shape through the real binaries: `seam serve` in front of
//! `seam simulate`, with a real HTTP sink.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

/// The `record`s of one layer, in order.
fn records<'a>(layers: &'a [Value], layer: &str) -> Vec<&'a Value> {
    layers
        .iter()
        .filter(|l| l["layer"] == layer)
        .map(|l| &l["record"])
        .collect()
}

fn audit_layers(server: &Proc, run_id: &str) -> Vec<Value> {
    let v: Value = client()
        .get(format!("{}/v1/runs/{run_id}", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["layers"].as_array().unwrap().clone()
}

#[test]
fn valid_run_returns_verified_output_and_acts_once() {
    let st = stack("", 0);
    let (server, sink) = (&st.server, &st.sink);

    let (status, body) = run_triage(
        server,
        &ticket("T-1", "I was charged twice, mail me at dana@example.com"),
    );
    assert_eq!(status, 200, "{body}");
    let out = &body["output"];
    assert!(
        ["billing", "bug", "account", "feature_request", "other"]
            .contains(&out["category"].as_str().unwrap())
    );
    assert!(["low", "normal", "high", "urgent"].contains(&out["priority"].as_str().unwrap()));
    assert!(!out["summary"].as_str().unwrap().is_empty());
    assert_eq!(body["model"], "small");
    assert_eq!(body["attempts"], 1);
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 20);
    assert!(body["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(body["cost_micros"].as_u64().unwrap() > 0);
    assert_eq!(body["prompt_sha256"].as_str().unwrap().len(), 64);
    let key = body["action"]["idempotency_key"]
        .as_str()
        .unwrap()
        .to_string();

    let delivered = sink.wait_for("one delivery", |d| !d.is_empty());
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].key, key);
    assert_eq!(delivered[0].body["ticket_id"], "T-1");
    assert_eq!(delivered[0].body["category"], out["category"]);
    assert_eq!(delivered[0].body["run_id"], body["run_id"]);

    // Every layer left a record, and the PII never reached the audit.
    let run_id = body["run_id"].as_str().unwrap();
    let layers = audit_layers(server, run_id);
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    for layer in ["ingest", "prompt", "infer", "output", "act", "result"] {
        assert!(names.contains(&layer), "{layer} missing from {names:?}");
    }
    let audit_text = serde_json::to_string(&layers).unwrap();
    assert!(!audit_text.contains("dana@example.com"), "PII in the audit");
    assert!(audit_text.contains("<EMAIL_1>"));

    // The same event and output again: same key, no second action.
    let (status, again) = run_triage(
        server,
        &ticket("T-1", "I was charged twice, mail me at dana@example.com"),
    );
    assert_eq!(status, 200);
    assert_eq!(again["action"]["idempotency_key"], key.as_str());
    assert_eq!(again["action"]["enqueued"], false);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.deliveries().len(), 1);

    // Operate endpoints.
    assert_eq!(
        client()
            .get(format!("{}/healthz", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{}/readyz", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    let metrics = metrics(&server.url);
    assert!(
        metrics.contains(r#"seam_runs_total{pipeline="triage",outcome="succeeded"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("seam_layer_duration_seconds_bucket")
                && l.contains(r#"layer="infer""#)),
        "{metrics}"
    );
    assert!(metrics.contains("seam_tokens_total"));
    assert!(metrics.contains("seam_cost_micro_usd_total"));
}

#[test]
fn invalid_input_is_422_with_pointers_and_no_model_call() {
    let st = stack("", 0);
    let (server, sink) = (&st.server, &st.sink);

    let (status, body) = run_triage(
        server,
        &json!({"ticket_id": "1006", "subject": "", "body": "x", "extra": 1}),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["type"], "input_invalid");
    assert_eq!(body["error"]["class"], "data");
    let pointers: Vec<&str> = body["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/ticket_id"), "{pointers:?}");
    assert!(pointers.contains(&"/subject"), "{pointers:?}");
    assert!(
        pointers.contains(&""),
        "missing `customer` is reported at the root: {pointers:?}"
    );
    let run_id = body["error"]["run_id"].as_str().unwrap();
    let names: Vec<String> = audit_layers(server, run_id)
        .iter()
        .map(|l| l["layer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ingest", "result"]);
    let metrics = metrics(&server.url);
    assert!(
        !metrics.contains("seam_provider_calls_total{"),
        "a provider was called: {metrics}"
    );

    // Not JSON at all: a client error in the same shape.
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", server.url))
        .body("{nope")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"]["type"], "invalid_request");
    // Unknown pipeline.
    let resp = client()
        .post(format!("{}/v1/pipelines/nope/runs", server.url))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(sink.deliveries().is_empty());
}

#[test]
fn transient_errors_are_retried_429_then_503() {
    // The first call of the conversation gets a 429, the second a 503.
    let st = stack("429=#1:0,503=#2", 0);
    let server = &st.server;

    let (status, body) = run_triage(server, &ticket("T-2", "The export page crashes"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts"], 3, "{body}");
    let layers = audit_layers(server, body["run_id"].as_str().unwrap());
    let infer = records(&layers, "infer");
    assert_eq!(infer.len(), 3);
    assert_eq!(infer[0]["error"]["type"], "provider_rate_limited");
    assert_eq!(infer[1]["error"]["type"], "provider_overloaded");
    assert_eq!(infer[2]["status"], "ok");
}

#[test]
fn schema_violating_output_is_repaired_with_feedback() {
    let st = stack("violate=#1", 0);
    let server = &st.server;

    let (status, body) = run_triage(server, &ticket("T-3", "Please add dark mode"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts"], 2);
    let layers = audit_layers(server, body["run_id"].as_str().unwrap());
    let output = records(&layers, "output");
    assert_eq!(output.len(), 2);
    assert_eq!(output[0]["valid"], false);
    assert_eq!(output[0]["feedback_sent"], true);
    assert_eq!(output[1]["valid"], true);
    // The second call carried the validation errors back to the model.
    let prompt_len = layers.iter().find(|l| l["layer"] == "prompt").unwrap()["record"]["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(prompt_len, 2);
}

#[test]
fn fenced_output_is_accepted_after_stripping() {
    let st = stack("fenced=#1", 0);
    let server = &st.server;
    let (status, body) = run_triage(server, &ticket("T-4", "Cannot log in"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts"], 1);
    let layers = audit_layers(server, body["run_id"].as_str().unwrap());
    let output = layers.iter().find(|l| l["layer"] == "output").unwrap();
    assert_eq!(output["record"]["repairs"], json!(["stripped_fences"]));
}

#[test]
fn exhausted_provider_answers_a_classed_error_with_run_id() {
    let st = stack("503=100%", 0);
    let (server, sink) = (&st.server, &st.sink);
    // A subject no baseline rule matches: the run ends with the error and
    // goes to the escalation queue.
    let mut t = ticket("T-5", "Anything");
    t["subject"] = json!("A question");
    let (status, body) = run_triage(server, &t);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "provider_overloaded");
    assert_eq!(body["error"]["class"], "transient");
    assert_eq!(body["error"]["escalated"], true);
    assert!(body["error"]["run_id"].is_string());
    // Primary and fallback were each tried max_attempts (3) times.
    let layers = audit_layers(server, body["error"]["run_id"].as_str().unwrap());
    let models: Vec<&str> = records(&layers, "infer")
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        ["small", "small", "small", "large", "large", "large"]
    );
    assert!(sink.deliveries().is_empty());
}

#[test]
fn sink_failing_twice_gets_exactly_one_action() {
    let st = stack("", 2);
    let (server, sink) = (&st.server, &st.sink);

    let (status, body) = run_triage(server, &ticket("T-6", "Refund please"));
    assert_eq!(status, 200, "{body}");
    let key = body["action"]["idempotency_key"].as_str().unwrap();
    let seen = sink.wait_for("a successful delivery", |d| {
        d.iter().any(|x| x.status == 201)
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    let seen_after = sink.deliveries();
    assert_eq!(
        seen_after.len(),
        seen.len(),
        "delivered again after success"
    );
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|d| d.key == key),
        "every attempt carries the same key"
    );
    assert_eq!(seen.iter().filter(|d| d.status == 201).count(), 1);

    let layers = audit_layers(server, body["run_id"].as_str().unwrap());
    let states: Vec<&str> = records(&layers, "delivery")
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["retry", "retry", "delivered"]);
}

#[test]
fn client_errors_from_the_provider_are_never_retried() {
    for status in [400u16, 401, 403] {
        let provider = FailingProvider::start(status);
        let sink = TestSink::start(0);
        let ws = Workspace::triage(&provider.url, &sink.url);
        let server = server(&ws.config());
        let (code, body) = run_triage(&server, &ticket("T-7", "hello"));
        assert_eq!(code, 502, "{status}: {body}");
        let expected = if status == 400 {
            "provider_rejected"
        } else {
            "provider_auth"
        };
        assert_eq!(body["error"]["type"], expected);
        assert_eq!(body["error"]["class"], "configuration");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Incorrect API key provided")
        );
        // One call, no retry, no fallback.
        assert_eq!(
            provider.calls.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{status}"
        );
    }
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let st = stack("latency=1.0:300ms", 0);
    let url = format!("{}/v1/pipelines/triage/runs", st.server.url);
    // A run in flight when SIGTERM arrives still gets its answer.
    let inflight = std::thread::spawn(move || {
        let resp = client()
            .post(url)
            .json(&ticket("T-8", "hello"))
            .send()
            .unwrap();
        resp.status().as_u16()
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut server = st.server;
    let status = server.terminate_and_wait(std::time::Duration::from_secs(10));
    assert_eq!(inflight.join().unwrap(), 200);
    assert!(status.success(), "{status:?}");
}
