//! The CLI as users drive it: check, batch run, audit show/verify and
//! tamper detection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::Value;

#[test]
fn example_config_checks_clean() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ticket-triage/seam.toml"
    );
    let out = seam(&["check", "--config", config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("ok (1 provider(s), 2 model(s), 1 pipeline(s))")
    );
}

/// Every config of every example passes `seam check` (its `env:` secrets
/// set to stand-in values, as a deployment would set them; local-model
/// configs when the `local` feature is built, embedding-model configs
/// when `embed` is).
#[test]
fn every_example_config_checks_clean() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let secret = regex::Regex::new(r#""env:([A-Z0-9_]+)""#).unwrap();
    let mut checked = 0;
    for dir in std::fs::read_dir(&examples).unwrap() {
        let dir = dir.unwrap().path();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // A local-model config needs the `local` feature to check.
            if text.contains("kind = \"local\"") && !cfg!(feature = "local") {
                continue;
            }
            // So does an embedding-model config the `embed` feature, and
            // its model fetched.
            if text.contains("[embeddings.") {
                if !cfg!(feature = "embed") {
                    continue;
                }
                common::embedding_model();
            }
            let mut cmd = std::process::Command::new(SEAM);
            cmd.args(["check", "--config", file.to_str().unwrap()]);
            for c in secret.captures_iter(&text) {
                // A Standard Webhooks secret: also a fine stand-in token.
                cmd.env(&c[1], "whsec_c2VhbS1leGFtcGxlLXNlY3JldC0zMi1ieXRlcyEhIQ==");
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "examples found: {checked}");
}

#[test]
fn check_reports_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad-schema.json"), r#"{"type": 5}"#).unwrap();
    std::fs::write(dir.path().join("ok.json"), r#"{"type": "object"}"#).unwrap();
    std::fs::write(dir.path().join("p.j2"), "hello {{ input.x }}").unwrap();
    let config = dir.path().join("seam.toml");
    std::fs::write(
        &config,
        r#"[providers.sim]
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
api_key = "sk-live-inline"

[models.small]
provider = "sim"
upstream = "m"
input_price_per_mtok = 1
output_price_per_mtok = 1
context_window = 100

[pipelines.a]
input_schema = "bad-schema.json"
prompt = "missing.j2"
model = "gpt5"
output_schema = "ok.json"
[pipelines.a.sink]
kind = "http"
url = "not a url"
fields = { x = "/output/x" }

[pipelines.b]
input_schema = "ok.json"
prompt = "p.j2"
model = "small"
output_schema = "ok.json"
colour = "red"
flavour = "mint"
"#,
    )
    .unwrap();
    let out = seam(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = config.to_str().unwrap();
    for expected in [
        format!("{file}:4: providers.sim.api_key: secrets must be referenced"),
        format!("{file}:14: pipelines.a.input_schema: schema"),
        format!("{file}:15: pipelines.a.prompt: cannot read template"),
        format!("{file}:16: pipelines.a.model: model `gpt5` is not declared"),
        format!("{file}:20: pipelines.a.sink.url: `not a url` is not a valid URL"),
        format!("{file}:28: pipelines.b.colour: unknown field `colour`"),
        format!("{file}:29: pipelines.b.flavour: unknown field `flavour`"),
        format!("{file}:23: pipelines.b: missing field `sink`"),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("8 problem(s)"), "{err}");
    assert!(
        !err.contains("sk-live-inline"),
        "a secret was echoed: {err}"
    );
}

#[test]
fn batch_run_then_audit_verify_and_tamper_detection() {
    let sim = simulator("fenced=20%");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let input = ws.dir.path().join("tickets.jsonl");
    let output = ws.dir.path().join("results.jsonl");
    let out = ws.run_batch(&input, Some(&output));
    // Two bad lines: exit 3, not a crash.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    let ok: Vec<&Value> = lines.iter().filter(|l| l.get("result").is_some()).collect();
    assert_eq!(ok.len(), 5);
    assert_eq!(lines[5]["error"]["type"], "input_invalid");
    assert_eq!(lines[6]["error"]["type"], "invalid_request");
    assert_eq!(lines[6]["line"], 7);
    // Every good ticket reached the helpdesk exactly once, and the
    // injected instructions did not move the action anywhere else.
    let d = sink.wait_for("five deliveries", |d| d.len() >= 5);
    assert_eq!(d.len(), 5);

    let run_id = ok[0]["result"]["run_id"].as_str().unwrap();
    let show = seam(&["audit", "show", run_id, "--config", &ws.config_str()]);
    assert!(show.status.success());
    let text = String::from_utf8_lossy(&show.stdout);
    for layer in [
        "ingest", "prompt", "infer", "output", "act", "result", "delivery",
    ] {
        assert!(text.contains(layer), "{layer} missing:\n{text}");
    }
    assert!(
        !text.contains("dana.ortiz@example.com"),
        "PII in audit show"
    );

    let verify = seam(&["audit", "verify", "--config", &ws.config_str()]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("audit chain intact"));

    // Change one byte of one stored record.
    {
        let conn = rusqlite::Connection::open(ws.db()).unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_update").unwrap();
        let (seq, body): (i64, String) = conn
            .query_row(
                "SELECT seq, body FROM audit WHERE layer = 'output' ORDER BY seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let mut bytes = body.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        conn.execute(
            "UPDATE audit SET body = ?1 WHERE seq = ?2",
            rusqlite::params![String::from_utf8(bytes).unwrap(), seq],
        )
        .unwrap();
        drop(conn);
        let verify = seam(&["audit", "verify", "--config", &ws.config_str()]);
        assert_eq!(verify.status.code(), Some(1));
        let text = String::from_utf8_lossy(&verify.stdout);
        assert!(
            text.contains(&format!("BROKEN at record {seq} (layer output")),
            "{text}"
        );
    }
}

#[test]
fn audit_log_refuses_updates_and_deletes() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let input = ws.dir.path().join("one.jsonl");
    std::fs::write(
        &input,
        serde_json::to_string(&ticket("T-9", "hello")).unwrap(),
    )
    .unwrap();
    let out = ws.run_batch(&input, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let err = conn
        .execute("DELETE FROM audit WHERE seq = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("UPDATE audit SET body = '{}' WHERE seq = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn batch_survives_a_line_that_is_not_utf8() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let input = ws.dir.path().join("mixed.jsonl");
    let mut bytes = serde_json::to_vec(&ticket("T-10", "first")).unwrap();
    bytes.extend_from_slice(b"\n{\"ticket_id\": \"T-\xff\xfe\"}\n");
    bytes.extend_from_slice(&serde_json::to_vec(&ticket("T-11", "third")).unwrap());
    std::fs::write(&input, bytes).unwrap();
    let out = ws.run_batch(&input, None);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].get("result").is_some());
    assert_eq!(lines[1]["error"]["type"], "invalid_request");
    assert!(lines[2].get("result").is_some());
}
