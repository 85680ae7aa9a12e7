//! Dual generation through the real binary: the triage schema marks
//! `category` and `priority` high-stakes (`x-seam-dual`); every answer is
//! generated twice by `seam simulate`, which with `--faults waver=…`
//! changes the decisive values of a known share of its answers (as a model
//! that makes a value up differs between samples). A divergence is a
//! hallucination canary: the run goes to review, or with
//! `on_divergence = "act"` acts, flagged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

fn workspace(sim_url: &str, sink_url: &str) -> Workspace {
    let ws = Workspace::triage(sim_url, sink_url);
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["category"]["x-seam-dual"] = json!("exact");
    s["properties"]["priority"]["x-seam-dual"] = json!({"rule": "exact"});
    std::fs::write(&schema, s.to_string()).unwrap();
    ws
}

/// The parsed outputs of the run's successful model calls, in order.
fn answers(run: &Value) -> Vec<Value> {
    run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer" && l["record"]["status"] == "ok")
        .map(|l| serde_json::from_str(l["record"]["raw_output"].as_str().unwrap()).unwrap())
        .collect()
}

fn record<'a>(run: &'a Value, layer: &str) -> &'a Value {
    run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == layer)
        .map(|l| &l["record"])
        .unwrap_or_else(|| panic!("no {layer} record in {run}"))
}

fn run_id(answer: &Value) -> String {
    answer["run_id"]
        .as_str()
        .or(answer["error"]["run_id"].as_str())
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string()
}

const OPENINGS: [&str; 5] = [
    "I was charged twice for my March invoice and the second charge is still pending",
    "The export button does nothing when I click it in the reports view",
    "Since the update yesterday the mobile app logs me out every few minutes",
    "Could you add a dark mode to the editor because the white background hurts",
    "Our team cannot see the shared folder that the administrator created last week",
];

/// Measured (issue 8, item 3): with 30 % of answers wavered, every run
/// whose two generations disagree on a marked field is flagged and
/// reviewed, and no run whose generations agree is.
#[test]
fn measured_divergent_generations_are_flagged_and_reviewed_and_agreeing_ones_act() {
    let sim = simulator_with(&["--faults", "waver=30%", "--seed", "11"]);
    let sink = TestSink::start(0);
    let ws = workspace(&sim.url, &sink.url);
    let seam_server = server(&ws.config());
    let n = 60;
    let (mut diverged, mut flagged, mut agreed, mut acted) = (0, 0, 0, 0);
    for i in 0..n {
        let body = format!("{} (ticket {i} of the batch).", OPENINGS[i % OPENINGS.len()]);
        let (status, answer) = run_triage(&seam_server, &ticket(&format!("T-{i}"), &body));
        let id = run_id(&answer);
        let run = get_json(&format!("{}/v1/runs/{id}", seam_server.url));
        // The ground truth, recounted from the two raw answers.
        let both = answers(&run);
        assert_eq!(both.len(), 2, "two generations per run: {run}");
        let differ = ["category", "priority"]
            .iter()
            .any(|f| both[0][f] != both[1][f]);
        let dual = record(&run, "dual");
        if differ {
            diverged += 1;
            assert_eq!(status, 502, "{answer}");
            assert_eq!(answer["error"]["type"], "hallucination_canary", "{answer}");
            assert_eq!(answer["error"]["escalated"], true, "{answer}");
            assert_eq!(dual["decision"], "diverged");
            assert_eq!(dual["action"], "review");
            assert_eq!(run["run"]["status"], "escalated");
            flagged += 1;
        } else {
            agreed += 1;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(dual["decision"], "agree");
            assert_eq!(answer["attempts"], 2, "{answer}");
            acted += 1;
        }
        // Pointers and rules only, never the values.
        assert!(dual.get("diverged").is_some() && !dual.to_string().contains(&body));
    }
    println!(
        "dual generation measured (simulator, waver=30%): {n} runs, {diverged} diverged ({flagged} flagged), {agreed} agreed ({acted} acted)"
    );
    // 1 - 0.7^2 = 51 % of runs have a wavered generation.
    assert!((15..=45).contains(&diverged), "{diverged} of {n} diverged");
    let m = metrics(&seam_server.url);
    let canaries: f64 = m
        .lines()
        .filter(|l| l.starts_with("seam_dual_generations_total{") && l.contains("decision=\"diverged\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(canaries as usize, diverged, "{m}");
    assert!(m.contains("seam_hallucination_canary_total{"), "{m}");
    // Only agreeing runs reached the helpdesk.
    sink.wait_for("one delivery per agreeing run", |d| d.len() == acted);
}

#[test]
fn on_divergence_act_acts_on_the_first_answer_flagged() {
    // The first generation of every conversation wavers: each run diverges.
    let sim = simulator_with(&["--faults", "waver=#1"]);
    let sink = TestSink::start(0);
    let ws = workspace(&sim.url, &sink.url);
    ws.append("[pipelines.triage.dual]\non_divergence = \"act\"\ntemperature = 0.7\n");
    let seam_server = server(&ws.config());
    let (status, answer) = run_triage(&seam_server, &ticket("T-1", "I was charged twice for March."));
    assert_eq!(status, 200, "{answer}");
    let run = get_json(&format!("{}/v1/runs/{}", seam_server.url, run_id(&answer)));
    let dual = record(&run, "dual");
    assert_eq!(dual["decision"], "diverged", "{dual}");
    assert_eq!(dual["action"], "act");
    let both = answers(&run);
    assert_eq!(answer["output"]["category"], both[0]["category"], "acts on the first answer");
    // The second generation ran at the declared temperature.
    let temps: Vec<_> = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .map(|l| l["record"]["params"]["temperature"].as_f64().unwrap())
        .collect();
    assert_eq!(temps, [0.0, 0.7]);
    sink.wait_for("the action", |d| d.len() == 1);
}

#[test]
fn dual_marks_and_section_are_checked_with_line_and_key() {
    let ws = workspace("http://127.0.0.1:9", "http://127.0.0.1:9");
    let schema = ws.dir.path().join("schemas/triage.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    s["properties"]["priority"]["x-seam-dual"] = json!("fuzzy");
    std::fs::write(&schema, s.to_string()).unwrap();
    let err = ws.check_appended(
        "[pipelines.triage.dual]\nmodel = \"no-such-model\"\non_divergence = \"ignore\"\n",
        &[
            (2, "pipelines.triage.dual.model: model `no-such-model` is not declared"),
            (3, "pipelines.triage.dual.on_divergence: `ignore` is not one of review, act"),
        ],
    );
    let needle = "pipelines.triage.output_schema: /properties/priority/x-seam-dual: unknown rule `fuzzy`";
    assert!(err.contains(needle), "missing {needle:?} in {err}");
}
