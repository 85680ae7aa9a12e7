//! Feedback through the real binary: ground truth posted for runs is
//! judged field by field, updates the pipeline's rolling accuracy (metric
//! and answer), is refused when it names unknown fields or breaks the
//! output contract, and `seam feedback export` turns it into golden cases
//! with the redacted input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

fn feedback(st: &Stack, run_id: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/v1/runs/{run_id}/feedback", st.server.url))
        .json(body)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

#[test]
fn feedback_is_judged_counted_and_exported_as_golden_cases() {
    let st = stack("", 0);
    let (_, a) = run_triage(
        &st.server,
        &ticket("T-9001", "Refund the second charge please"),
    );
    let (_, b) = run_triage(&st.server, &ticket("T-9002", "The export page crashes"));
    let (a_id, b_id) = (a["run_id"].as_str().unwrap(), b["run_id"].as_str().unwrap());

    // The run's own answer confirmed: all correct.
    let (status, body) = feedback(
        &st,
        a_id,
        &json!({"fields": {"category": a["output"]["category"]}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["correct"], json!(["category"]));
    assert_eq!(body["accuracy"]["ratio"], 1.0);

    // A correction: the whole true output, one field differing.
    let wrong = if b["output"]["category"] == "bug" {
        "other"
    } else {
        "bug"
    };
    let mut truth = b["output"].clone();
    truth["category"] = json!(wrong);
    truth["summary"] = json!("Export page crashes for dana@example.com");
    let (status, body) = feedback(&st, b_id, &json!({"output": truth, "note": "agent fix"}));
    assert_eq!(status, 200, "{body}");
    assert!(
        body["corrected"]
            .as_array()
            .unwrap()
            .contains(&json!("category")),
        "{body}"
    );
    let ratio = body["accuracy"]["ratio"].as_f64().unwrap();
    assert!(ratio < 1.0 && ratio > 0.0, "{body}");
    let m = metrics(&st.server.url);
    assert!(
        m.contains(r#"seam_feedback_total{pipeline="triage",outcome="corrected"} 1"#),
        "{m}"
    );
    assert!(m.contains("seam_feedback_accuracy{pipeline=\"triage\"}"));

    // Refused: unknown field, a value the output schema forbids, neither form.
    let (status, body) = feedback(&st, a_id, &json!({"fields": {"colour": "red"}}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (status, body) = feedback(&st, a_id, &json!({"fields": {"priority": "whenever"}}));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["errors"][0]["pointer"], "/priority", "{body}");
    let (status, _) = feedback(&st, a_id, &json!({}));
    assert_eq!(status, 400);
    let (status, _) = feedback(&st, "no-such-run", &json!({"fields": {"category": "bug"}}));
    assert_eq!(status, 404);

    // The trail notes the feedback (fields, scores), never the values.
    let v = get_json(&format!("{}/v1/runs/{b_id}", st.server.url));
    let fb = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "feedback")
        .unwrap()
        .clone();
    assert!(!fb.to_string().contains("dana@"), "{fb}");
    assert!(!fb.to_string().contains(wrong), "{fb}");

    // Exported as golden cases: redacted input, expected = answer + truth.
    let out = seam(&[
        "feedback",
        "export",
        "triage",
        "--config",
        &st.ws.config_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 2);
    let case = cases.iter().find(|c| c["run_id"] == b_id).unwrap();
    assert_eq!(case["input"]["ticket_id"], "T-9002");
    assert_eq!(
        case["input"]["customer"]["email"], "<EMAIL_1>",
        "redacted: {case}"
    );
    assert_eq!(case["expected"]["category"], wrong);
    assert!(
        !case.to_string().contains("dana@example.com"),
        "the truth is kept redacted too: {case}"
    );
}
