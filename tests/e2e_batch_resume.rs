//! A batch killed mid-way (SIGKILL) and run again: every line answered
//! exactly once, no committed line run twice, every action delivered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const LINES: usize = 120;

fn journal_lines(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn a_killed_batch_resumes_without_redoing_or_losing_lines() {
    let sim = simulator("latency=1.0:20ms");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let input = ws.dir.path().join("many.jsonl");
    let output = ws.dir.path().join("out.jsonl");
    let journal = ws.dir.path().join("out.jsonl.seam-journal");
    let mut text = String::new();
    for i in 1..=LINES {
        text.push_str(&ticket(&format!("T-{i}"), &format!("ticket number {i}")).to_string());
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();

    // First invocation: SIGKILL once a fair share of lines are answered.
    let config = ws.config_str();
    let args = [
        "run",
        "triage",
        "--config",
        &config,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--concurrency",
        "4",
        "--drain-secs",
        "5",
    ];
    let mut child = Command::new(SEAM)
        .args(args)
        .env_remove("SEAM_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while journal_lines(&journal) < LINES / 4 {
        assert!(Instant::now() < until, "the batch made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the batch ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = journal_lines(&journal);
    assert!(
        before < LINES,
        "killed too late to test resuming ({before} lines)"
    );
    assert!(!output.exists(), "the output is written only when complete");
    let leased_at_kill: i64 = rusqlite::Connection::open(ws.db())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM outbox WHERE status = 'inflight'",
            [],
            |r| r.get(0),
        )
        .unwrap();

    // Second invocation: the same command resumes and completes.
    let out = Command::new(SEAM)
        .args(args)
        .env_remove("SEAM_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resumed:"), "{stderr}");
    assert!(
        !journal.exists(),
        "the journal is removed once the output is written"
    );

    // Exactly one result per input line, in input order.
    let results: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), LINES);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["line"], i + 1, "{r}");
        assert!(r.get("result").is_some(), "{r}");
    }

    // No line ran to completion twice: one committed run per ticket, and
    // the result of each line names that run.
    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT event_id, id FROM runs WHERE pipeline = 'triage'")
        .unwrap();
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (event, id) = row.unwrap();
        runs.entry(event).or_default().push(id);
    }
    assert_eq!(runs.len(), LINES);
    assert!(runs.values().all(|ids| ids.len() == 1), "{runs:?}");
    for (i, r) in results.iter().enumerate() {
        let ids = &runs[&format!("T-{}", i + 1)];
        assert_eq!(r["result"]["run_id"], ids[0], "{r}");
    }
    // The simulator answered each line once, plus at most the calls in
    // flight when the first invocation was killed (never committed).
    let stats = get_json(&format!("{}/sim/stats", sim.url));
    let calls = stats["requests"]["openai"].as_u64().unwrap();
    assert!(
        calls >= LINES as u64 && calls <= LINES as u64 + 4,
        "{calls} model calls for {LINES} lines"
    );

    // Every action reaches the sink. A row the killed process had leased
    // waits out its lease (120 s): simulate that, and rerun, which finds
    // the batch complete and only drains the outbox.
    conn.execute(
        "UPDATE outbox SET lease_until = 0 WHERE status = 'inflight'",
        [],
    )
    .unwrap();
    let again = Command::new(SEAM)
        .args(args)
        .env_remove("SEAM_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("already completed"), "{stderr}");
    let d = sink.wait_for("every action", |d| {
        d.iter()
            .map(|x| x.key.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len()
            >= LINES
    });
    std::thread::sleep(Duration::from_millis(300));
    let d = sink.deliveries().len().max(d.len());
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for x in sink.deliveries() {
        *per_key.entry(x.key).or_default() += 1;
    }
    assert_eq!(per_key.len(), LINES);
    // Only a delivery whose outcome the killed process never recorded can
    // repeat (with the same Idempotency-Key); everything else came once.
    let repeats = d - LINES;
    assert!(
        repeats as i64 <= leased_at_kill,
        "{repeats} repeated deliveries, {leased_at_kill} leased at the kill"
    );
    eprintln!(
        "killed after {before}/{LINES} lines; {calls} model calls; {repeats} repeated deliveries ({leased_at_kill} leased at the kill)"
    );
    let open: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE status != 'delivered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0);
}

#[test]
fn fresh_runs_a_completed_batch_again_and_stdout_batches_still_work() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let input = ws.dir.path().join("two.jsonl");
    let output = ws.dir.path().join("two.out.jsonl");
    let text = format!(
        "{}\n\n{}\n",
        ticket("T-1", "first"),
        ticket("T-2", "second")
    );
    std::fs::write(&input, text).unwrap();
    let out = ws.run_batch(&input, Some(&output));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<Value> = first
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["line"], 3, "blank lines keep their number");

    // The same command again runs nothing.
    let out = ws.run_batch(&input, Some(&output));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already completed"));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), first);
    let calls = |sim: &Proc| {
        get_json(&format!("{}/sim/stats", sim.url))["requests"]["openai"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(calls(&sim), 2);

    // --fresh forgets the checkpoint: two new runs.
    let config = ws.config_str();
    let out = seam(&[
        "run",
        "triage",
        "--config",
        &config,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--fresh",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(calls(&sim), 4);
    let again: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_ne!(again[0]["result"]["run_id"], lines[0]["result"]["run_id"]);

    // Without --output: straight through to stdout, no checkpoint.
    let out = ws.run_batch(&input, None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let batches: i64 = rusqlite::Connection::open(ws.db())
        .unwrap()
        .query_row("SELECT count(*) FROM batches", [], |r| r.get(0))
        .unwrap();
    assert_eq!(batches, 1);
}
