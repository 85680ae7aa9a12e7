//! Grounded claims through the real binary: the triage output schema marks
//! `evidence` as grounded claims; a model double quotes the ticket either
//! faithfully (restyled: curly quotes, other whitespace, upper case) or
//! with a changed word. A faithful quote acts; a fabricated one sends the
//! run to review (`retracted_claims`, escalated) by default, or, with
//! `on_retraction = "act"`, acts without the claim. Counted in
//! `seam_grounding_retractions_total`, recorded by pointer in the audit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const BODY: &str = "My card was charged twice for the \"pro\" plan this month. Please refund the duplicate charge.";

/// A model that quotes the ticket: faithfully, unless the body asks it to
/// fabricate.
fn quoting_model() -> (tokio::runtime::Runtime, String) {
    model_double(|messages| {
        let quote = if messages.contains("fabricate") {
            "Please refund BOTH charges."
        } else {
            "CHARGED  TWICE for the \u{201C}pro\u{201D}\n plan"
        };
        json!({"category": "billing", "priority": "normal",
            "summary": "Duplicate charge",
            "evidence": [{"value": "double charge", "quote": quote}]})
    })
}

fn workspace(model_url: &str, sink_url: &str) -> Workspace {
    let ws = Workspace::triage(model_url, sink_url);
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["evidence"] = json!({
        "type": "array", "x-seam-grounded": true,
        "items": {"type": "object", "required": ["value", "quote"], "additionalProperties": false,
                  "properties": {"value": {"type": "string"}, "quote": {"type": "string"}}}
    });
    std::fs::write(&schema, s.to_string()).unwrap();
    ws.replace(
        "summary = \"/output/summary\"",
        "summary = \"/output/summary\"\nevidence = \"/output/evidence\"",
    );
    ws
}

#[test]
fn fabricated_quotes_are_retracted_and_the_run_reviewed_or_acted_on_without_them() {
    let (_model_rt, model_url) = quoting_model();
    let sink = TestSink::start(0);
    let ws = workspace(&model_url, &sink.url);
    let mut seam_server = server(&ws.config());

    // A faithful, restyled quote: grounded, acted on.
    let (status, answer) = run_triage(&seam_server, &ticket("T-1", BODY));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["output"]["evidence"].as_array().unwrap().len(),
        1,
        "{answer}"
    );
    let d = sink.wait_for("the grounded action", |d| !d.is_empty());
    assert_eq!(d[0].body["evidence"][0]["value"], "double charge");

    // A changed word: retracted, and by default the run goes to review.
    let (status, answer) = run_triage(&seam_server, &ticket("T-2", &format!("{BODY} (fabricate)")));
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"]["type"], "retracted_claims", "{answer}");
    assert_eq!(answer["error"]["escalated"], true, "{answer}");
    let run_id = answer["error"]["run_id"].as_str().unwrap().to_string();
    let esc = get_json(&format!("{}/v1/admin/escalations", seam_server.url));
    assert!(esc.to_string().contains(&run_id), "{esc}");
    // The review keeps the model's output as proposed, and the pointers.
    let review = get_json(&format!("{}/v1/admin/reviews/{run_id}", seam_server.url));
    assert_eq!(review["reason"]["type"], "retracted_claims", "{review}");
    assert_eq!(
        review["reason"]["pointers"],
        json!(["/evidence/0"]),
        "{review}"
    );
    assert_eq!(
        review["proposed_output"]["evidence"][0]["quote"], "Please refund BOTH charges.",
        "{review}"
    );
    assert_eq!(
        review["trail"]["retracted"][0]["pointer"], "/evidence/0",
        "{review}"
    );
    assert_eq!(
        review["proposed_body"]["evidence"][0]["value"], "double charge",
        "{review}"
    );
    let run = get_json(&format!("{}/v1/runs/{run_id}", seam_server.url));
    let text = run.to_string();
    assert!(text.contains("\"grounding\""), "{run}");
    assert!(
        text.contains("/evidence/0") && text.contains("quote_not_found"),
        "{run}"
    );
    let m = metrics(&seam_server.url);
    assert!(
        m.contains(
            "seam_grounding_retractions_total{pipeline=\"triage\",reason=\"quote_not_found\"} 1"
        ),
        "{m}"
    );
    seam_server.terminate_and_wait(Duration::from_secs(10));

    // Declared `act`: the run acts on the output without the claim.
    ws.append("[pipelines.triage.grounding]\non_retraction = \"act\"\n");
    let seam_server = server(&ws.config());
    let (status, answer) = run_triage(&seam_server, &ticket("T-3", &format!("{BODY} (fabricate)")));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["output"]["evidence"], json!([]), "{answer}");
    let d = sink.wait_for("the action without the claim", |d| d.len() >= 2);
    assert_eq!(d[1].body["evidence"], json!([]));
    assert_eq!(d.len(), 2, "the reviewed run did not act");
    drop(seam_server);

    // Even with `act`, an output that no longer satisfies its schema
    // without the claim (here `minItems: 1`) goes to review.
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["evidence"]["minItems"] = json!(1);
    std::fs::write(&schema, s.to_string()).unwrap();
    let seam_server = server(&ws.config());
    let (status, answer) = run_triage(&seam_server, &ticket("T-4", &format!("{BODY} (fabricate)")));
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"]["type"], "retracted_claims", "{answer}");
    let run_id = answer["error"]["run_id"].as_str().unwrap();
    let run = get_json(&format!("{}/v1/runs/{run_id}", seam_server.url));
    assert!(run.to_string().contains("review_required_field"), "{run}");
    assert_eq!(sink.deliveries().len(), 2, "the reviewed run did not act");
}

#[test]
fn a_bad_grounding_section_is_refused_with_its_key() {
    let ws = workspace("http://127.0.0.1:9", "http://127.0.0.1:9");
    ws.append("[pipelines.triage.grounding]\non_retraction = \"maybe\"\nallow = [\"kb:*x*\"]\n");
    let out = seam(&["check", "--config", &ws.config_str()]);
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("on_retraction") && err.contains("review, act"),
        "{err}"
    );
    assert!(err.contains("allow"), "{err}");
}

/// Measured (issue 8, item 8): the simulator quotes the ticket verbatim,
/// and fabricates the quotes of a known share of its answers. Every
/// fabricated run must be retracted (and reviewed), no faithful one.
#[test]
fn measured_simulator_fabrications_are_all_retracted_and_faithful_quotes_none() {
    let sim = simulator_with(&["--faults", "fabricate=30%", "--seed", "8"]);
    let sink = TestSink::start(0);
    let ws = workspace(&sim.url, &sink.url);
    // The body is the one untrusted block the simulator quotes from.
    let prompt = ws.dir.path().join("prompts/triage.j2");
    let text = std::fs::read_to_string(&prompt).unwrap();
    std::fs::write(
        &prompt,
        text.replace(
            "<untrusted>{{ input.subject }}</untrusted>",
            "{{ input.subject }}",
        ),
    )
    .unwrap();
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["evidence"]["minItems"] = json!(1);
    s["properties"]["evidence"]["maxItems"] = json!(3);
    std::fs::write(&schema, s.to_string()).unwrap();
    let seam_server = server(&ws.config());

    let openings = [
        "I was charged twice for my March invoice and the second charge is still pending on my card",
        "The export button does nothing when I click it in the reports view of the dashboard",
        "Since the update yesterday the mobile app logs me out every few minutes without warning",
        "Could you add a dark mode to the editor because the white background hurts my eyes at night",
        "Our team cannot see the shared folder that was created by the administrator last week",
    ];
    let n = 60;
    let (mut fabricated, mut fab_retracted, mut faithful, mut faithful_retracted) = (0, 0, 0, 0);
    for i in 0..n {
        let body = format!(
            "{} and this is ticket number {i} of the batch, please take a look when you can.",
            openings[i % openings.len()]
        );
        let (status, answer) = run_triage(&seam_server, &ticket(&format!("T-{i}"), &body));
        let run_id = answer["run_id"]
            .as_str()
            .or(answer["error"]["run_id"].as_str())
            .unwrap_or_else(|| panic!("{answer}"))
            .to_string();
        let run = get_json(&format!("{}/v1/runs/{run_id}", seam_server.url)).to_string();
        let was_fabricated = SIMULATOR_INVENTED.iter().any(|s| run.contains(s));
        let retracted = match status {
            200 => {
                let evidence = answer["output"]["evidence"].as_array().unwrap();
                assert!(!evidence.is_empty(), "{answer}");
                assert!(
                    evidence
                        .iter()
                        .all(|c| c["quote"].as_str().is_some_and(|q| body.contains(q))),
                    "{answer}"
                );
                false
            }
            502 => {
                assert_eq!(answer["error"]["type"], "retracted_claims", "{answer}");
                true
            }
            _ => panic!("{status}: {answer}"),
        };
        if was_fabricated {
            fabricated += 1;
            fab_retracted += usize::from(retracted);
        } else {
            faithful += 1;
            faithful_retracted += usize::from(retracted);
            if retracted {
                eprintln!("faithful run retracted: {run}");
            }
        }
    }
    println!(
        "grounding measured (simulator, fabricate=30%): {n} runs, {fabricated} fabricated ({fab_retracted} retracted), {faithful} faithful ({faithful_retracted} retracted)"
    );
    assert!(
        (5..=35).contains(&fabricated),
        "{fabricated} of {n} fabricated"
    );
    assert_eq!(fab_retracted, fabricated, "a fabricated quote was acted on");
    assert_eq!(faithful_retracted, 0, "a faithful quote was retracted");
}

#[test]
fn a_grounding_section_without_marks_in_the_schema_is_refused() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9");
    ws.append("[pipelines.triage.grounding]\non_retraction = \"act\"\n");
    let out = seam(&["check", "--config", &ws.config_str()]);
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("x-seam-grounded"), "{err}");
}
