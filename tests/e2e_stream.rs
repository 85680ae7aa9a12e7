//! The pipeline endpoint as server-sent events (`Accept: text/event-stream`):
//! partial output while the model writes, then one final event after the
//! checks ran on the complete output and the run committed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{client, stack, ticket};
use serde_json::Value;

/// Parse an SSE body into (event, data) pairs.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_string();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (event, serde_json::from_str(&data).unwrap())
        })
        .collect()
}

fn stream_run(url: &str, body: &Value) -> Vec<(String, Value)> {
    let resp = client()
        .post(format!("{url}/v1/pipelines/triage/runs"))
        .header("accept", "text/event-stream")
        .json(body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    events(&resp.text().unwrap())
}

#[test]
fn partials_then_a_checked_result() {
    let st = stack("", 0);
    let evs = stream_run(
        &st.server.url,
        &ticket("T-31", "I was charged twice for invoice 42"),
    );
    assert_eq!(evs[0].0, "run");
    assert_eq!(evs[1].0, "attempt");
    assert_eq!(evs[1].1["model"], "small");
    let partials: String = evs
        .iter()
        .filter(|(e, _)| e == "partial")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert!(evs.iter().filter(|(e, _)| e == "partial").count() >= 2);
    let (last, result) = evs.last().unwrap();
    assert_eq!(last, "result");
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["run_id"], evs[0].1["run_id"]);
    // The partial text is the model's raw answer; the result is the checked one.
    let raw: Value = serde_json::from_str(&partials).unwrap();
    assert_eq!(raw["category"], result["output"]["category"]);
    assert!(result["action"]["enqueued"].as_bool().unwrap());
}

#[test]
fn a_repair_shows_as_a_new_attempt_and_only_checked_output_is_final() {
    let st = stack("violate=#1", 0);
    let evs = stream_run(&st.server.url, &ticket("T-32", "Please add dark mode"));
    let attempts: Vec<&Value> = evs
        .iter()
        .filter(|(e, _)| e == "attempt")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(attempts.len(), 2, "{evs:?}");
    let (last, result) = evs.last().unwrap();
    assert_eq!(last, "result", "{evs:?}");
    assert_eq!(result["attempts"], 2);
}

#[test]
fn invalid_input_ends_with_an_error_event() {
    let st = stack("", 0);
    let mut bad = ticket("T-33", "x");
    bad["ticket_id"] = Value::from(7);
    let evs = stream_run(&st.server.url, &bad);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert_eq!(evs[1].0, "error");
    assert_eq!(evs[1].1["error"]["type"], "input_invalid");
    assert_eq!(evs[1].1["error"]["status"], 422);
    assert_eq!(evs[1].1["error"]["run_id"], evs[0].1["run_id"]);
}

#[test]
fn hanging_up_cancels_the_model_call_and_records_the_run() {
    let st = stack("pace=100%:200ms", 0);
    let mut resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .header("accept", "text/event-stream")
        .json(&ticket("T-34", "I was charged twice"))
        .send()
        .unwrap();
    // Hang up once the model has started writing.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("event: partial") {
        let n = resp.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    drop(resp);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let stats: Value = client()
            .get(format!("{}/sim/stats", st.sim.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if stats["streams_cancelled"] == 1 {
            break;
        }
        assert!(
            Instant::now() < until,
            "upstream stream not cancelled: {stats}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // No action was taken, and the run is on record as cancelled.
    std::thread::sleep(Duration::from_millis(300));
    assert!(st.sink.deliveries().is_empty());
    let text = String::from_utf8_lossy(&seen).to_string();
    let run_id = events(text.rsplit_once("\n\n").unwrap().0)[0].1["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let run: Value = client()
        .get(format!("{}/v1/runs/{run_id}", st.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(run["run"]["status"], "cancelled", "{run}");
    assert_eq!(run["run"]["error_type"], "cancelled", "{run}");
}
