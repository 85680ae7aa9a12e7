//! Background runs through the real binaries: `Prefer: respond-async`
//! queues durably and answers 202; workers run the queue; transient
//! failures are retried, then dead-lettered with their reason; the
//! dead-letter queue is listed, retried and purged by CLI and HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn queue_async(st: &Stack, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .header("Prefer", "respond-async")
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().unwrap())
}

/// Poll the run until its status is one of `done`.
fn wait_status(st: &Stack, id: &str, done: &[&str]) -> Value {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let v = get_json(&format!("{}/v1/runs/{id}", st.server.url));
        if done.contains(&v["run"]["status"].as_str().unwrap_or("")) {
            return v;
        }
        assert!(Instant::now() < until, "run {id} stuck: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stack with a fast queue backoff, and seam restarted on it.
fn background_stack(faults: &str) -> Stack {
    let mut st = stack(faults, 0);
    st.ws.append(
        "[pipelines.triage.queue]\nmax_attempts = 2\nbase_delay_ms = 20\nmax_delay_ms = 50\n",
    );
    st.server = server(&st.ws.config());
    st
}

fn unmatched(id: &str) -> Value {
    let mut t = ticket(id, "Nothing a rule knows.");
    t["subject"] = json!("A question");
    t
}

#[test]
fn an_async_run_is_queued_acknowledged_with_its_location_and_then_answered() {
    let st = background_stack("");
    let (status, headers, body) = queue_async(&st, &ticket("T-8001", "Refund please"));
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_str().unwrap().to_string();
    assert_eq!(body["status"], "queued");
    assert_eq!(headers["location"], format!("/v1/runs/{id}").as_str());
    assert_eq!(headers["preference-applied"], "respond-async");

    let v = wait_status(&st, &id, &["succeeded"]);
    assert_eq!(v["run"]["id"], id.as_str());
    assert_eq!(v["queue"]["status"], "done", "{v}");
    assert_eq!(v["queue"]["source"], "api");
    let layers: Vec<&str> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert!(layers.contains(&"act"), "{layers:?}");
    let d = st.sink.wait_for("the action", |d| !d.is_empty());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].body["ticket_id"], "T-8001");

    // Bad input is acknowledged (it was accepted) and dead-lettered with
    // its reason by the run itself.
    let (status, _, body) = queue_async(&st, &json!({"ticket_id": "nope"}));
    assert_eq!(status, 202);
    let bad = body["run_id"].as_str().unwrap();
    let v = wait_status(&st, bad, &["dead"]);
    assert_eq!(v["queue"]["error_type"], "input_invalid", "{v}");
    assert_eq!(v["queue"]["attempts"], 1);
}

#[test]
fn transient_failures_are_retried_then_dead_lettered_and_a_retry_after_healing_answers() {
    let st = background_stack("503=100%");
    let (status, _, body) = queue_async(&st, &unmatched("T-8002"));
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_str().unwrap().to_string();

    let v = wait_status(&st, &id, &["dead"]);
    let q = &v["queue"];
    assert_eq!(q["attempts"], 2, "{v}");
    assert_eq!(q["error_type"], "provider_overloaded");
    assert_eq!(q["error_class"], "transient");
    // Not escalated: a background run is retried, then dead-lettered.
    let esc = get_json(&format!("{}/v1/admin/escalations", st.server.url));
    assert!(esc["escalations"].as_array().unwrap().is_empty(), "{esc}");

    // The dead-letter queue, by CLI and by HTTP.
    let config = st.ws.config();
    let config = config.to_str().unwrap();
    let out = seam(&["dlq", "list", "--config", config, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["dead"][0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed["dead"][0]["kind"], "run", "{listed}");
    assert_eq!(listed["dead"][0]["layer"], "infer", "{listed}");
    let http = get_json(&format!("{}/v1/admin/dlq", st.server.url));
    assert_eq!(http["dead"].as_array().unwrap().len(), 1);
    let one = get_json(&format!("{}/v1/admin/dlq/{id}", st.server.url));
    assert_eq!(one["entry"]["error_type"], "provider_overloaded");

    // Purge asks for confirmation.
    let refused = client()
        .post(format!("{}/v1/admin/dlq/purge", st.server.url))
        .json(&json!({"id": id}))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let out = seam(&["dlq", "purge", &id, "--config", config]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));

    // The provider heals; a retry runs it again under the same id and it
    // is answered, its earlier attempts still in its history.
    let healed = client()
        .post(format!("{}/sim/faults", st.sim.url))
        .body("")
        .send()
        .unwrap();
    assert!(healed.status().is_success());
    let retried: Value = client()
        .post(format!("{}/v1/admin/dlq/retry", st.server.url))
        .json(&json!({"id": id}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(retried["retried"], 1);
    let v = wait_status(&st, &id, &["succeeded"]);
    assert_eq!(v["run"]["model"], "small", "{v}");
    let infer = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .count();
    assert!(infer > 2, "earlier attempts kept: {infer}");
    let retry = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "dlq")
        .expect("the retry is audited");
    assert_eq!(retry["record"]["action"], "retry", "{retry}");
    assert_eq!(retry["record"]["error_type"], "provider_overloaded");
    let d = st.sink.wait_for("the action", |d| !d.is_empty());
    assert_eq!(d.len(), 1);
    assert!(
        get_json(&format!("{}/v1/admin/dlq", st.server.url))["dead"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dead_entries_can_be_purged_by_filter_with_confirmation() {
    let st = background_stack("503=100%");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let (_, _, body) = queue_async(&st, &unmatched(&format!("T-81{i}")));
            body["run_id"].as_str().unwrap().to_string()
        })
        .collect();
    for id in &ids {
        wait_status(&st, id, &["dead"]);
    }
    let config = st.ws.config();
    let config = config.to_str().unwrap();
    let out = seam(&[
        "dlq",
        "purge",
        "--all",
        "--pipeline",
        "triage",
        "--type",
        "provider_overloaded",
        "--yes",
        "--config",
        config,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 entries purged"));
    let out = seam(&["dlq", "list", "--config", config]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("empty"));
}

#[test]
fn a_dead_delivery_is_dead_lettered_and_retried_at_the_act_layer_without_a_new_model_call() {
    // The sink fails its first two requests; the action may try twice.
    let mut st = stack("", 2);
    st.ws.replace("max_attempts = 8", "max_attempts = 2");
    st.server = server(&st.ws.config());
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .json(&ticket("T-8101", "Refund please"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = resp.json::<Value>().unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let config = st.ws.config_str();
    let until = Instant::now() + Duration::from_secs(20);
    let entry = loop {
        let out = seam(&[
            "dlq", "list", "--config", &config, "--json", "--layer", "act",
        ]);
        assert!(out.status.success());
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(e) = listed["dead"].as_array().unwrap().first() {
            break e.clone();
        }
        assert!(Instant::now() < until, "the delivery never died");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entry["id"], id.as_str(), "named by its run: {entry}");
    assert_eq!(entry["kind"], "delivery");
    assert_eq!(entry["error_type"], "sink_unavailable");
    assert_eq!(entry["error_class"], "transient");
    assert_eq!(entry["attempts"], 2);
    let failed = st.sink.deliveries();
    assert_eq!(failed.len(), 2);
    // The run itself succeeded; its action is what died.
    let run = get_json(&format!("{}/v1/runs/{id}", st.server.url));
    assert_eq!(run["run"]["status"], "succeeded");
    // The sink's breaker counted both failures.
    let breakers = get_json(&format!("{}/v1/admin/breakers", st.server.url));
    assert_eq!(breakers["sinks"][0]["pipeline"], "triage", "{breakers}");
    assert_eq!(breakers["sinks"][0]["failures"], 2, "{breakers}");

    let out = seam(&["dlq", "retry", &id, "--config", &config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = st.sink.wait_for("the redelivery", |d| d.len() == 3);
    assert_eq!(d[2].status, 201);
    assert_eq!(d[2].key, failed[0].key, "the same action, the same key");
    assert_eq!(d[2].body, failed[0].body);
    let until = Instant::now() + Duration::from_secs(10);
    let layers = loop {
        let v = get_json(&format!("{}/v1/runs/{id}", st.server.url));
        let layers = v["layers"].as_array().unwrap().clone();
        if layers
            .iter()
            .any(|l| l["layer"] == "delivery" && l["record"]["state"] == "delivered")
        {
            break layers;
        }
        assert!(Instant::now() < until, "delivery not recorded: {v}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let count = |layer: &str| layers.iter().filter(|l| l["layer"] == layer).count();
    assert_eq!(count("infer"), 1, "no second model call");
    assert_eq!(count("dlq"), 1);
    assert_eq!(
        count("delivery"),
        3,
        "two failures and the delivery, all kept"
    );
    let out = seam(&["dlq", "list", "--config", &config, "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(listed["dead"].as_array().unwrap().is_empty(), "{listed}");
}
