//! The human review queue through the real binary. The triage pipeline
//! declares `[pipelines.triage.review]` (a confidence threshold and an
//! "insufficient information" value) and a sink field carrying the
//! customer's e-mail; a model double answers confidently, unsure, or with
//! "insufficient_information", and quotes the redacted e-mail placeholder
//! in its summary. Held runs act on nothing until a person decides:
//! approved over HTTP, the sink receives exactly one action with the REAL
//! e-mail while the review view and the audit only show placeholders;
//! rejected through `seam review reject` with a correction, it becomes
//! feedback (source `review`) that `seam feedback export` includes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const EMAIL: &str = "dana@example.com";

/// Confident unless the ticket says it is unsure or that the model cannot
/// know; the summary names the customer by the placeholder it was given.
fn answer(messages: &str) -> Value {
    if messages.contains("gibberish") {
        return json!({"not": "the output schema"});
    }
    let (status, confidence) = if messages.contains("no idea") {
        ("insufficient_information", 0.9)
    } else if messages.contains("unsure") {
        ("answered", 0.4)
    } else {
        ("answered", 0.95)
    };
    let who = if messages.contains("<EMAIL_1>") {
        "<EMAIL_1>"
    } else {
        "the customer"
    };
    json!({"category": "billing", "priority": "normal",
           "summary": format!("Refund the duplicate charge for {who}"),
           "answer_status": status, "confidence": confidence})
}

fn workspace(model_url: &str, sink_url: &str) -> Workspace {
    let ws = Workspace::triage(model_url, sink_url);
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["answer_status"] = json!({"enum": ["answered", "insufficient_information"]});
    s["properties"]["confidence"] = json!({"type": "number", "minimum": 0, "maximum": 1});
    std::fs::write(&schema, s.to_string()).unwrap();
    // The prompt must show the customer's (redacted) e-mail.
    let prompt = ws.dir.path().join("prompts/triage.j2");
    let mut text = std::fs::read_to_string(&prompt).unwrap();
    text.push_str("\nCustomer: {{ input.customer.email }}\n");
    std::fs::write(&prompt, text).unwrap();
    ws.replace(
        "run_id = \"/run/id\"",
        "run_id = \"/run/id\"\nemail = \"/input/customer/email\"",
    );
    ws.append(
        r#"[pipelines.triage.review]
confidence = "/confidence"
min_confidence = 0.7
insufficient = { pointer = "/answer_status", values = ["insufficient_information"] }
"#,
    );
    ws.append("[pii]\nkey = \"env:SEAM_TEST_PII_KEY\"\nretention_hours = 24\n");
    ws
}

fn post(url: &str, body: &Value) -> (u16, Value) {
    let resp = client().post(url).json(body).send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

/// A `seam` command that opens the store with the PII key set.
fn seam_keyed(args: &[&str]) -> std::process::Output {
    std::process::Command::new(SEAM)
        .args(args)
        .env_remove("SEAM_LOG")
        .env("SEAM_TEST_PII_KEY", KEY_HEX)
        .output()
        .unwrap()
}


fn held(server: &Proc, id: &str, body: &str, kind: &str) -> String {
    let (status, answer) = run_triage(server, &ticket(id, body));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["type"], kind, "{answer}");
    assert_eq!(answer["error"]["escalated"], true, "{answer}");
    answer["error"]["run_id"].as_str().unwrap().to_string()
}

#[test]
fn held_runs_act_only_once_approved_and_rejections_become_feedback() {
    let (_model_rt, model_url) = model_double(answer);
    let sink = TestSink::start(0);
    let ws = workspace(&model_url, &sink.url);
    let mut seam_server = server_with_env(&ws.config(), &[("SEAM_TEST_PII_KEY", KEY_HEX)]);
    let base = seam_server.url.clone();

    // Confident: acts at once, with the real e-mail.
    let (status, answer) = run_triage(&seam_server, &ticket("T-1", "Charged twice, refund one"));
    assert_eq!(status, 200, "{answer}");
    let d = sink.wait_for("the confident action", |d| !d.is_empty());
    assert_eq!(d[0].body["email"], EMAIL);

    // Unsure: held for review, nothing sent.
    let low = held(
        &seam_server,
        "T-2",
        "Charged twice? I am unsure",
        "low_confidence",
    );
    let insufficient = held(
        &seam_server,
        "T-3",
        "no idea what happened",
        "insufficient_information",
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(sink.deliveries().len(), 1, "held runs do not act");

    // The queue, both views.
    let open = get_json(&format!("{base}/v1/admin/reviews"));
    let ids: Vec<&str> = open["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![low.as_str(), insufficient.as_str()], "{open}");
    let esc = get_json(&format!("{base}/v1/admin/escalations"));
    assert!(esc.to_string().contains(&low), "{esc}");
    let view = get_json(&format!("{base}/v1/admin/reviews/{low}"));
    assert_eq!(view["status"], "open", "{view}");
    assert_eq!(view["reason"]["type"], "low_confidence", "{view}");
    assert_eq!(view["reason"]["pointers"], json!(["/confidence"]), "{view}");
    assert_eq!(view["input"]["customer"]["email"], "<EMAIL_1>", "{view}");
    assert_eq!(
        view["proposed_output"]["summary"], "Refund the duplicate charge for <EMAIL_1>",
        "{view}"
    );
    assert_eq!(view["proposed_body"]["email"], "<EMAIL_1>", "{view}");
    assert!(
        view["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("seam_")
    );
    assert!(!view.to_string().contains(EMAIL), "{view}");

    // Approve over HTTP: exactly one action, with the real values.
    let t = std::time::Instant::now();
    let (status, done) = post(
        &format!("{base}/v1/admin/reviews/{low}/approve"),
        &json!({"by": "alice", "note": "checked with the customer"}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["action"]["enqueued"], true, "{done}");
    let d = sink.wait_for("the approved action", |d| d.len() >= 2);
    eprintln!("approve → delivered: {} ms", t.elapsed().as_millis());
    assert_eq!(d[1].body["ticket_id"], "T-2");
    assert_eq!(d[1].body["email"], EMAIL);
    assert_eq!(
        d[1].body["summary"],
        format!("Refund the duplicate charge for {EMAIL}")
    );
    assert_eq!(
        Some(d[1].key.as_str()),
        view["idempotency_key"].as_str(),
        "delivered under the run's key"
    );

    // A second decision: 409 with the first.
    let (status, again) = post(
        &format!("{base}/v1/admin/reviews/{low}/approve"),
        &json!({"by": "bob"}),
    );
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["type"], "already_decided", "{again}");
    assert_eq!(
        again["error"]["decision"]["decision"], "approved",
        "{again}"
    );
    assert_eq!(again["error"]["decision"]["by"], "alice", "{again}");

    // The trail holds placeholders and the decision, never the e-mail.
    let run = get_json(&format!("{base}/v1/runs/{low}"));
    let text = run.to_string();
    assert!(!text.contains(EMAIL), "{run}");
    assert!(text.contains("\"decision\":\"approved\""), "{run}");
    assert!(text.contains("\"by\":\"alice\""), "{run}");

    // A corrected output that breaks the schema is refused with its pointer.
    let unsure2 = held(&seam_server, "T-4", "unsure again", "low_confidence");
    let (status, bad) = post(
        &format!("{base}/v1/admin/reviews/{unsure2}/approve"),
        &json!({"by": "alice", "output": {"category": "nonsense", "priority": "high", "summary": "x"}}),
    );
    assert_eq!(status, 422, "{bad}");
    assert_eq!(
        bad["error"]["errors"][0]["pointer"], "/output/category",
        "{bad}"
    );
    // A valid one acts as corrected, placeholders restored.
    let (status, done) = post(
        &format!("{base}/v1/admin/reviews/{unsure2}/approve"),
        &json!({"by": "alice", "output": {"category": "account", "priority": "high",
                                         "summary": "Call <EMAIL_1> back"}}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["corrected_fields"].as_array().unwrap().len(),
        5,
        "{done}"
    );
    // The correction is ground truth too: feedback with source review.
    assert!(done["feedback_id"].is_number(), "{done}");
    assert_eq!(
        ws.db_text(&format!("SELECT source FROM feedback WHERE run_id = '{unsure2}'")),
        "review"
    );
    let d = sink.wait_for("the corrected action", |d| d.len() >= 3);
    assert_eq!(d[2].body["category"], "account");
    assert_eq!(d[2].body["summary"], format!("Call {EMAIL} back"));
    assert!(
        !ws.db_text(
            "SELECT decided_output FROM escalations WHERE decided_output IS NOT NULL"
        )
        .contains(EMAIL)
    );

    // Reject through the CLI with a correction: feedback, no action.
    let cfg = ws.config_str();
    let out = seam_keyed(&[
        "review",
        "reject",
        &insufficient,
        "--config",
        &cfg,
        "--by",
        "bob",
        "--note",
        "it was a bug report",
        "--correction",
        r#"{"category": "bug"}"#,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rejected: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rejected["decision"], "rejected", "{rejected}");
    assert_eq!(
        ws.db_text(
            &format!("SELECT source FROM feedback WHERE run_id = '{insufficient}'")
        ),
        "review"
    );
    let out = seam_keyed(&["feedback", "export", "triage", "--config", &cfg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = String::from_utf8_lossy(&out.stdout).to_string();
    let case: Value = cases
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| c["run_id"] == insufficient.as_str())
        .unwrap_or_else(|| panic!("no golden case of the rejected run: {cases}"));
    assert_eq!(case["expected"]["category"], "bug", "{case}");
    assert_eq!(case["input"]["customer"]["email"], "<EMAIL_1>", "{case}");
    // The CLI's listing and the HTTP one agree; the server refuses to
    // approve what the CLI rejected.
    let out = seam_keyed(&[
        "review", "list", "--config", &cfg, "--status", "rejected", "--json",
    ]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed["reviews"][0]["run_id"],
        insufficient.as_str(),
        "{listed}"
    );
    assert_eq!(listed["reviews"][0]["decided_by"], "bob", "{listed}");
    let (status, again) = post(
        &format!("{base}/v1/admin/reviews/{insufficient}/approve"),
        &json!({"by": "alice"}),
    );
    assert_eq!(status, 409, "{again}");
    assert_eq!(
        again["error"]["decision"]["decision"], "rejected",
        "{again}"
    );
    let approved = get_json(&format!("{base}/v1/admin/reviews?status=approved"));
    assert_eq!(
        approved["reviews"].as_array().unwrap().len(),
        2,
        "{approved}"
    );
    assert_eq!(
        get_json(&format!("{base}/v1/admin/reviews"))["reviews"],
        json!([])
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.deliveries().len(), 3, "the rejected run never acted");

    // No model and no rule answered: nothing proposed, so only an approval
    // with an output can act.
    let mut t5 = ticket("T-5", "gibberish");
    t5["subject"] = json!("Question");
    let (status, answer) = run_triage(&seam_server, &t5);
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"]["escalated"], true, "{answer}");
    let none = answer["error"]["run_id"].as_str().unwrap().to_string();
    let out = seam_keyed(&["review", "show", &none, "--config", &cfg]);
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["reason"]["type"], "output_invalid", "{view}");
    assert_eq!(view["proposed_output"], Value::Null, "{view}");
    let (status, bad) = post(
        &format!("{base}/v1/admin/reviews/{none}/approve"),
        &json!({"by": "alice"}),
    );
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["error"]["errors"][0]["pointer"], "/output", "{bad}");
    let (status, done) = post(
        &format!("{base}/v1/admin/reviews/{none}/approve"),
        &json!({"by": "alice", "output": {"category": "other", "priority": "low",
                                         "summary": "Asked <EMAIL_1> what they meant"}}),
    );
    assert_eq!(status, 200, "{done}");
    let d = sink.wait_for("the action written by the reviewer", |d| d.len() >= 4);
    assert_eq!(d[3].body["ticket_id"], "T-5");
    assert_eq!(d[3].body["email"], EMAIL);
    assert_eq!(
        d[3].body["summary"],
        format!("Asked {EMAIL} what they meant")
    );

    let m = metrics(&base);
    for line in [
        "seam_reviews_opened_total{pipeline=\"triage\",reason=\"low_confidence\"} 2",
        "seam_reviews_opened_total{pipeline=\"triage\",reason=\"insufficient_information\"} 1",
        "seam_reviews_decided_total{pipeline=\"triage\",decision=\"approved\"} 3",
        "seam_reviews_opened_total{pipeline=\"triage\",reason=\"output_invalid\"} 1",
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    seam_server.terminate_and_wait(Duration::from_secs(10));

    assert!(!ws.db_text("SELECT body FROM audit").contains(EMAIL));
    let verify = seam_keyed(&["audit", "verify", "--config", &cfg]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn bad_review_sections_are_refused_with_line_and_key() {
    let ws = workspace("http://127.0.0.1:9", "http://127.0.0.1:9");
    ws.replace(
        "confidence = \"/confidence\"",
        "confidence = \"/certainty\"",
    );
    ws.replace("min_confidence = 0.7", "min_confidence = 1.5");
    ws.replace(
        "pointer = \"/answer_status\"",
        "pointer = \"answer_status\"",
    );
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert!(!out.status.success());
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    for needle in [
        "pipelines.triage.review.confidence",
        "`/certainty` is not a property declared by the output schema",
        "pipelines.triage.review.min_confidence",
        "1.5 is not between 0 and 1",
        "pipelines.triage.review.insufficient.pointer",
        "`answer_status` is not a JSON pointer",
    ] {
        assert!(err.contains(needle), "{needle} missing from\n{err}");
    }
    // Each error names its line.
    let line_of = |key: &str| {
        let text = std::fs::read_to_string(ws.config()).unwrap();
        text.lines().position(|l| l.starts_with(key)).unwrap() + 1
    };
    assert!(
        err.contains(&format!(":{}", line_of("min_confidence"))),
        "{err}"
    );
    assert!(
        err.contains(&format!(":{}", line_of("confidence ="))),
        "{err}"
    );

    // A confidence that is not a number, and a threshold without a pointer.
    let ws = workspace("http://127.0.0.1:9", "http://127.0.0.1:9");
    ws.replace("confidence = \"/confidence\"", "confidence = \"/summary\"");
    let out = seam(&["check", "--config", &ws.config_str()]);
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("declared as `string`"), "{err}");
    let ws = workspace("http://127.0.0.1:9", "http://127.0.0.1:9");
    ws.replace("confidence = \"/confidence\"\n", "");
    let out = seam(&["check", "--config", &ws.config_str()]);
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("set `confidence` too"), "{err}");
}
