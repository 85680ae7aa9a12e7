//! `Idempotency-Key` on the run API through the real binaries: a repeat
//! replays the stored answer without a second run (the simulator counts
//! the model calls, the sink the actions), another body under the key is a
//! 409, concurrent repeats never run twice, errors are replayed too, and the
//! keys survive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::thread;

use common::*;
use serde_json::{Value, json};

fn post(url: &str, key: &str, body: &Value) -> (u16, bool, Value) {
    let resp = client()
        .post(format!("{url}/v1/pipelines/triage/runs"))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, resp.json().unwrap())
}

/// `Prefer: respond-async` with a key: (status, replayed, Location, body).
fn post_async(url: &str, key: &str, body: &Value) -> (u16, bool, String, Value) {
    let resp = client()
        .post(format!("{url}/v1/pipelines/triage/runs"))
        .header("Idempotency-Key", key)
        .header("Prefer", "respond-async")
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let h = resp.headers();
    let replayed = h.get("idempotent-replayed").is_some_and(|v| v == "true");
    let location = h
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, replayed, location, resp.json().unwrap())
}

fn model_calls(sim: &Proc) -> u64 {
    get_json(&format!("{}/sim/stats", sim.url))["requests"]["openai"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_key_runs_once_and_replays_its_first_answer() {
    let Stack {
        server,
        sink,
        ws,
        sim,
    } = stack("latency=1.0:400ms", 0);
    let a = ticket("T-1", "I was charged twice");

    let (status, replayed, first) = post(&server.url, "key-1", &a);
    assert_eq!(status, 200, "{first}");
    assert!(!replayed);
    assert_eq!(model_calls(&sim), 1);

    let (status, replayed, again) = post(&server.url, "key-1", &a);
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again, first, "the replay is the stored answer");
    assert_eq!(model_calls(&sim), 1, "a replay makes no model call");

    // Same key, another body: refused, nothing runs.
    let (status, _, err) = post(&server.url, "key-1", &ticket("T-2", "other"));
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["type"], "idempotency");
    assert_eq!(err["error"]["class"], "client");
    assert_eq!(model_calls(&sim), 1);

    // Errors are stored and replayed as well.
    let bad = json!({"ticket_id": "T-3"});
    let (status, replayed, e1) = post(&server.url, "key-bad", &bad);
    assert_eq!((status, replayed), (422, false), "{e1}");
    let (status, replayed, e2) = post(&server.url, "key-bad", &bad);
    assert_eq!((status, replayed), (422, true), "{e2}");
    assert_eq!(e1, e2);

    // Eight concurrent requests under a new key: exactly one run.
    let b = ticket("T-4", "The export button crashes the app");
    let url = server.url.clone();
    let answers: Vec<(u16, bool, Value)> = (0..8)
        .map(|_| {
            let (url, b) = (url.clone(), b.clone());
            thread::spawn(move || post(&url, "key-race", &b))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let ran: Vec<_> = answers.iter().filter(|(s, r, _)| *s == 200 && !r).collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    for (status, replayed, body) in &answers {
        match status {
            200 if *replayed => assert_eq!(body, &ran[0].2),
            200 => {}
            409 => assert_eq!(body["error"]["type"], "idempotency_in_flight", "{body}"),
            s => panic!("unexpected {s}: {body}"),
        }
    }
    assert_eq!(model_calls(&sim), 2, "the race ran the model once");

    // Each run acted once: two actions, whatever was repeated.
    sink.wait_for("two actions", |d| d.len() >= 2);
    thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.deliveries().len(), 2);

    // Keys are durable: after a restart the first answer is still replayed.
    drop(server);
    let server = common::server(&ws.config());
    let (status, replayed, after) = post(&server.url, "key-1", &a);
    assert_eq!((status, replayed), (200, true), "{after}");
    assert_eq!(after, first);
    assert_eq!(model_calls(&sim), 2);

    // Async: the 202 is stored; a repeat points at the same queued run.
    let c = ticket("T-5", "Please add dark mode");
    let (status, replayed, loc, first) = post_async(&server.url, "key-async", &c);
    assert_eq!((status, replayed), (202, false), "{first}");
    let id = first["run_id"].as_str().unwrap();
    assert_eq!(loc, format!("/v1/runs/{id}"));
    let (status, replayed, loc2, again) = post_async(&server.url, "key-async", &c);
    assert_eq!((status, replayed), (202, true), "{again}");
    assert_eq!((loc2, &again), (loc, &first));
    // The same key and body asked synchronously is another request.
    let (status, _, err) = post(&server.url, "key-async", &c);
    assert_eq!(status, 409, "{err}");
    sink.wait_for("the async run's action", |d| d.len() >= 3);
    thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.deliveries().len(), 3, "the async run acted once");

    // A key is one line of visible ASCII, at most 255 characters.
    let (status, _, err) = post(&server.url, &"k".repeat(256), &a);
    assert_eq!(status, 400, "{err}");
}
