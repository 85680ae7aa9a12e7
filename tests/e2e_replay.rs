//! `seam replay`: a stored run's redacted input through its pipeline
//! again, dry by default, with another model, or as a backfill by filter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn replay_dry_run_act_model_and_backfill() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let config = ws.config_str();
    let input = ws.dir.path().join("two.jsonl");
    let output = ws.dir.path().join("two.out.jsonl");
    std::fs::write(
        &input,
        format!("{}\n{}\n", ticket("T-1", "first"), ticket("T-2", "second")),
    )
    .unwrap();
    let out = ws.run_batch(&input, Some(&output));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = json_lines(&std::fs::read(&output).unwrap());
    let run1 = first[0]["result"]["run_id"].as_str().unwrap().to_string();
    sink.wait_for("two deliveries", |d| d.len() >= 2);
    let calls = || {
        get_json(&format!("{}/sim/stats", sim.url))["requests"]["openai"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(calls(), 2);
    let db = rusqlite::Connection::open(ws.db()).unwrap();
    let outbox_rows = |run: &str| -> i64 {
        db.query_row(
            "SELECT count(*) FROM outbox WHERE run_id = ?1",
            [run],
            |r| r.get(0),
        )
        .unwrap()
    };

    // Dry run: a new run, the same answer, no action queued.
    let out = seam(&["replay", &run1, "--config", &config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    let r = &lines[0];
    assert_eq!(r["replay_of"], run1.as_str());
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["same_output"], true, "{r}");
    let new_id = r["run_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, run1);
    assert_eq!(calls(), 3);
    assert_eq!(outbox_rows(&new_id), 0);
    let show = seam(&["audit", "show", &new_id, "--json", "--config", &config]);
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    let records = shown["records"].as_array().unwrap();
    let body = |layer: &str| -> Value {
        let rec = records.iter().find(|x| x["layer"] == layer).unwrap();
        serde_json::from_str(rec["body"].as_str().unwrap()).unwrap()
    };
    assert_eq!(body("replay")["replay_of"], run1.as_str());
    assert_eq!(body("replay")["dry_run"], true);
    assert_eq!(body("act")["state"], "dry_run");
    // The audit trail still verifies with the new records.
    assert!(
        seam(&["audit", "verify", "--config", &config])
            .status
            .success()
    );

    // Another model, acting: the same output keeps the same idempotency
    // key, so the action is not queued or delivered a second time.
    let out = seam(&[
        "replay",
        &run1,
        "--model",
        "large",
        "--act",
        "--drain-secs",
        "2",
        "--config",
        &config,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = &json_lines(&out.stdout)[0];
    assert_eq!(r["model"], "large", "{r}");
    assert_eq!(r["dry_run"], false);
    std::thread::sleep(Duration::from_millis(300));
    let keys: std::collections::HashSet<String> =
        sink.deliveries().into_iter().map(|d| d.key).collect();
    assert_eq!(
        keys.len(),
        sink.deliveries().len(),
        "no key delivered twice"
    );

    // An undeclared model is refused before anything runs.
    let out = seam(&["replay", &run1, "--model", "nope", "--config", &config]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    // Backfill: every triage run so far (2 originals + 2 replays), dry.
    let before = calls();
    let out = seam(&[
        "replay",
        "--pipeline",
        "triage",
        "--since",
        "2000-01-01",
        "--config",
        &config,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4);
    assert!(
        lines
            .iter()
            .all(|l| l["status"] == "succeeded" && l["dry_run"] == true)
    );
    assert_eq!(calls(), before + 4);
    let bad = seam(&[
        "replay",
        "--pipeline",
        "triage",
        "--since",
        "yesterday-ish",
        "--config",
        &config,
    ]);
    assert!(!bad.status.success());
}
