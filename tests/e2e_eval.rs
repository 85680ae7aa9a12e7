//! `seam eval` on the ticket-triage example (its real config, schemas,
//! prompt and golden set, via `Workspace::example`) against `seam
//! simulate`: the eval of examples/ticket-triage that runs in CI.
//! Numbers in the report are checked against an independent recount from
//! the stored runs; the gate's exit codes against --min-score and the
//! stored baseline; `seam eval history`; a bad set line; `seam check` on a
//! bad `[pipelines.triage.eval]`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{Workspace, client, get_json, seam, simulator};
use serde_json::Value;

fn example_set() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ticket-triage/eval.jsonl")
        .to_str()
        .unwrap()
        .to_string()
}

fn eval(ws: &Workspace, extra: &[&str]) -> std::process::Output {
    let config = ws.config_str();
    let set = example_set();
    let mut args = vec!["eval", "triage", "--config", &config, "--set", &set];
    args.extend_from_slice(extra);
    seam(&args)
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A stored run: event id, status, output, cost, latency, tokens in/out.
type RunRow = (String, String, Option<String>, u64, u64, u64, u64);

fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.max(1) - 1]
}

#[test]
fn triage_example_eval_scores_stores_and_gates() {
    let sim = simulator("");
    let ws = Workspace::example("ticket-triage", &sim.url);

    // 1. The JSON report, checked against an independent recount from the
    // stored runs (the store held nothing before): each case's run by its
    // ticket id.
    let out = eval(&ws, &["--json"]);
    exits(&out, 0);
    let cases: Vec<Value> = std::fs::read_to_string(example_set())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT event_id, status, output, cost_micros, latency_ms, input_tokens, output_tokens FROM runs WHERE pipeline = 'triage'")
        .unwrap();
    let runs: Vec<RunRow> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(runs.len(), 20, "one run per case");
    let outbox: i64 = conn
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(outbox, 0, "a dry run queues no action");
    let by_ticket: HashMap<&str, _> = runs.iter().map(|r| (r.0.as_str(), r)).collect();
    let mut right: HashMap<&str, u32> = HashMap::new();
    for c in &cases {
        let run = by_ticket[c["input"]["ticket_id"].as_str().unwrap()];
        let output: Value = run
            .2
            .as_deref()
            .map(|o| serde_json::from_str(o).unwrap())
            .unwrap_or(Value::Null);
        for f in ["category", "priority"] {
            if run.1 == "succeeded" && output[f] == c["expected"][f] {
                *right.entry(f).or_default() += 1;
            }
        }
    }
    let refused = runs.iter().filter(|r| r.1 != "succeeded").count();
    let cost: u64 = runs.iter().map(|r| r.3).sum();
    let mut latencies: Vec<u64> = runs.iter().map(|r| r.4).collect();
    latencies.sort_unstable();

    let report = json_of(&out);
    let v = &report["variants"][0];
    assert_eq!(report["set"]["cases"], 20);
    assert_eq!(v["variant"], "default");
    assert_eq!(v["models"], serde_json::json!(["small", "large"]));
    let cat = right.get("category").copied().unwrap_or(0) as f64 / 20.0;
    let pri = right.get("priority").copied().unwrap_or(0) as f64 / 20.0;
    let score = v["score"].as_f64().unwrap();
    assert!(
        (v["fields"]["category"]["score"].as_f64().unwrap() - cat).abs() < 1e-9,
        "{v}"
    );
    assert!(
        (v["fields"]["priority"]["score"].as_f64().unwrap() - pri).abs() < 1e-9,
        "{v}"
    );
    assert!((score - (cat + pri) / 2.0).abs() < 1e-9, "{v}");
    assert!((v["refusal_rate"].as_f64().unwrap() - refused as f64 / 20.0).abs() < 1e-9);
    assert_eq!(
        v["hallucination_rate"], 0.0,
        "the triage schema marks no grounded claim"
    );
    assert_eq!(v["cost_micros_total"], cost, "{v}");
    assert_eq!(v["cost_micros_per_item"], (cost + 10) / 20);
    assert_eq!(v["latency_ms"]["p50"], nearest_rank(&latencies, 50.0));
    assert_eq!(v["latency_ms"]["p95"], nearest_rank(&latencies, 95.0));
    assert_eq!(v["tokens"]["input"], runs.iter().map(|r| r.5).sum::<u64>());
    assert_eq!(v["tokens"]["output"], runs.iter().map(|r| r.6).sum::<u64>());
    assert_eq!(
        v["baseline"],
        Value::Null,
        "the first result has no baseline"
    );
    assert!(v["eval_id"].is_i64());
    let worst = v["worst"].as_array().unwrap();
    assert_eq!(
        v["mismatches"].as_u64().unwrap() as f64,
        40.0 - score * 40.0
    );
    if let Some(m) = worst.first() {
        assert!(
            m["pointer"] == "/category" || m["pointer"] == "/priority",
            "{m}"
        );
        assert_ne!(m["expected"], m["got"]);
    }
    assert!(score > 0.1 && score < 1.0, "the simulator guesses: {score}");
    eprintln!("ticket-triage on the simulator: score {score:.4}");

    // 2. The table (the same run again: the simulator answers the same
    // request the same way, so it meets its baseline): one column, per-field scores.
    let out = eval(&ws, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "score",
        "  category (exact)",
        "  priority (exact)",
        "hallucination flags",
        "refusals",
        "latency p50",
        "latency p95",
        "cost per item",
        "tokens in/out",
        "gate",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(row)),
            "no `{row}` row:\n{stdout}"
        );
    }
    assert!(stdout.contains("20 case(s)"), "{stdout}");

    assert!(
        stdout.contains(&format!("baseline             {score:.4} (#")),
        "{stdout}"
    );

    // 3. --min-score above the score fails (exit 1, says why); below passes.
    let above = format!("{:.4}", score + 0.05);
    let out = eval(&ws, &["--min-score", &above]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is below --min-score"));
    let below = format!("{:.4}", score - 0.05);
    let out = eval(&ws, &["--min-score", &below]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // 4. Side by side: one column per --model.
    let out = eval(
        &ws,
        &[
            "--model",
            "small",
            "--model",
            "large",
            "--json",
            "--no-store",
        ],
    );
    exits(&out, 0);
    let two = json_of(&out);
    let vs = two["variants"].as_array().unwrap();
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0]["variant"], "model:small");
    assert_eq!(vs[0]["models"], serde_json::json!(["small"]));
    assert_eq!(vs[1]["variant"], "model:large");
    assert_eq!(vs[1]["eval_id"], Value::Null, "--no-store");
    // gpt-4o costs ~16x gpt-4o-mini per token.
    assert!(
        vs[1]["cost_micros_per_item"].as_u64() > vs[0]["cost_micros_per_item"].as_u64(),
        "{two}"
    );

    // A prompt variant: its version is the SHA-256 of its source (or the
    // declared one), recorded with each run.
    let bare = ws.dir.path().join("prompts/bare.j2");
    let src = "Classify ticket {{ input.ticket_id }}: {{ input.subject }}";
    std::fs::write(&bare, src).unwrap();
    let declared = format!("v2={}", bare.to_str().unwrap());
    let out = eval(
        &ws,
        &[
            "--prompt",
            bare.to_str().unwrap(),
            "--prompt",
            &declared,
            "--json",
            "--no-store",
        ],
    );
    exits(&out, 0);
    let p = json_of(&out);
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(src.as_bytes()))[..16].to_string()
    };
    assert_eq!(p["variants"][0]["variant"], format!("prompt:{hash}"));
    assert_eq!(p["variants"][1]["variant"], "prompt:v2");
    let v2_runs: i64 = conn
        .query_row(
            "SELECT count(*) FROM runs WHERE prompt_version = 'v2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v2_runs, 20);

    // 5. The provider turns worse (every answer a content-filter refusal):
    // the same variant drops below its baseline, exit 1, and the result is
    // still stored.
    let r = client()
        .post(format!("{}/sim/faults", sim.url))
        .body("refuse=100%")
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let out = eval(&ws, &["--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let worse = json_of(&out);
    let w = &worse["variants"][0];
    assert_eq!(w["score"], 0.0);
    assert_eq!(w["refusal_rate"], 1.0);
    assert_eq!(w["gate"]["passed"], false);
    assert!(
        w["gate"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("below the baseline"),
        "{w}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("gate failed for default"));
    assert!(w["eval_id"].is_i64());

    // 6. History: every stored result (not the --no-store one), with the
    // change from the previous.
    let config = ws.config_str();
    let out = seam(&["eval", "history", "triage", "--config", &config, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hist = json_of(&out);
    let rows = hist.as_array().unwrap();
    assert_eq!(rows.len(), 5, "{hist}");
    assert_eq!(rows[0]["change"], Value::Null);
    assert!(rows[1]["change"].as_f64().unwrap().abs() < 1e-9);
    assert_eq!(rows[4]["passed"], false);
    assert!((rows[4]["change"].as_f64().unwrap() + score).abs() < 1e-9);
    assert_eq!(
        rows[2]["passed"], false,
        "the --min-score failure is stored too"
    );
    let out = seam(&["eval", "history", "triage", "--config", &config]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap().starts_with("id"), "{text}");
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.contains("FAIL"));
}

#[test]
fn bad_set_line_errors_before_any_model_call() {
    let sim = simulator("");
    let ws = Workspace::example("ticket-triage", &sim.url);
    let set = ws.dir.path().join("bad.jsonl");
    std::fs::write(
        &set,
        concat!(
            "{\"input\": {\"ticket_id\": \"T-1\", \"subject\": \"s\", \"body\": \"b\"}, \"expected\": {\"category\": \"bug\"}}\n",
            "{\"input\": {\"ticket_id\": \"T-2\", \"subject\": \"s\", \"body\": \"b\"}, \"expected\": {\"colour\": \"red\"}}\n",
            "{\"input\": {\"ticket_id\": \"T-3\"}, \"expected\": [1]}\n",
            "not json\n",
        ),
    )
    .unwrap();
    let config = ws.config_str();
    let out = seam(&[
        "eval",
        "triage",
        "--config",
        &config,
        "--set",
        set.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = set.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{f}:2: /expected/colour: `colour` is not a property of the output schema"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:3: /expected: must be an object")),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:4: : not JSON")), "{err}");
    let stats = get_json(&format!("{}/sim/stats", sim.url));
    assert_eq!(
        stats["requests"]["openai"], 0,
        "no model was called: {stats}"
    );

    // Unknown pipeline / model: exit 2 too.
    let out = seam(&["eval", "nope", "--config", &config, "--set", f]);
    assert_eq!(out.status.code(), Some(2));
    let out = seam(&[
        "eval",
        "triage",
        "--config",
        &config,
        "--set",
        &example_set(),
        "--model",
        "gpt9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model `gpt9` is not declared"));
}

#[test]
fn check_reports_eval_section_errors_with_line_and_key() {
    let ws = Workspace::example("ticket-triage", "http://127.0.0.1:9");
    ws.append(
        "[pipelines.triage.eval.fields]\ncategory = \"exact\"\ncolour = \"exact\"\n\
         priority = { rule = \"numeric\", tolerance = -1 }\nsummary = \"fuzzy\"\n",
    );
    let text = std::fs::read_to_string(ws.config()).unwrap();
    let line_of = |needle: &str| {
        text.lines()
            .collect::<Vec<_>>()
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap()
            + 1
    };
    let config = ws.config_str();
    let out = seam(&["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        format!(
            "{config}:{}: pipelines.triage.eval.fields.colour: `colour` is not a property of the output schema",
            line_of("colour")
        ),
        format!(
            "{config}:{}: pipelines.triage.eval.fields.priority.tolerance: must be 0 or more",
            line_of("priority = {")
        ),
        format!(
            "{config}:{}: pipelines.triage.eval.fields.summary.rule: `fuzzy` is not one of",
            line_of("summary = \"fuzzy")
        ),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
}

/// The hallucination-flag rate is the share of runs whose grounding check
/// retracted a claim: with the simulator fabricating quotes in about half
/// the answers and `on_retraction = "act"`, it matches a recount of the
/// `grounding` audit records, and no run is a refusal.
#[test]
fn hallucination_flags_follow_the_grounding_records() {
    let sim = simulator("fabricate=50%");
    let ws = Workspace::example("ticket-triage", &sim.url);
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["evidence"] = serde_json::json!({
        "type": "array", "x-seam-grounded": true,
        "items": {"type": "object", "required": ["value", "quote"], "additionalProperties": false,
                  "properties": {"value": {"type": "string"}, "quote": {"type": "string"}}}
    });
    std::fs::write(&schema, s.to_string()).unwrap();
    ws.append("[pipelines.triage.grounding]\non_retraction = \"act\"\n");

    let out = eval(&ws, &["--json"]);
    exits(&out, 0);
    let v = &json_of(&out)["variants"][0];
    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let flagged: i64 = conn
        .query_row(
            "SELECT count(DISTINCT run_id) FROM audit WHERE layer = 'grounding'
             AND json_extract(body, '$.decision') <> 'grounded'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let checked: i64 = conn
        .query_row(
            "SELECT count(DISTINCT run_id) FROM audit WHERE layer = 'grounding'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(checked, 20, "every run was checked");
    assert!(
        flagged > 0 && flagged < 20,
        "about half fabricated: {flagged}"
    );
    assert!(
        (v["hallucination_rate"].as_f64().unwrap() - flagged as f64 / 20.0).abs() < 1e-9,
        "{v}"
    );
    assert_eq!(v["refusal_rate"], 0.0, "{v}");
}

/// The command exited with `code` (stderr shown when not).
fn exits(out: &std::process::Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
}
