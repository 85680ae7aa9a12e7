//! The end of the fallback chain, through the real binaries: when every
//! model fails, the baseline rules answer (and say why the models did not);
//! when no rule matches, the run goes to the escalation queue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

fn post(st: &Stack, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

fn escalations(st: &Stack, query: &str) -> Vec<Value> {
    let v: Value = client()
        .get(format!("{}/v1/admin/escalations{query}", st.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["escalations"].as_array().unwrap().clone()
}

#[test]
fn when_every_model_fails_a_baseline_rule_answers_and_the_response_says_why() {
    let st = stack("503=100%", 0);
    let (status, body) = post(&st, &ticket("T-7001", "My card was charged twice."));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["answered_by"],
        json!({"step": "baseline", "rule": "billing"})
    );
    assert_eq!(body["model"], "baseline");
    assert_eq!(
        body["output"],
        json!({"category": "billing", "priority": "normal", "summary": "Charged twice"})
    );
    // Both models were tried, in chain order, and each says why it did not answer.
    let declined = body["declined"].as_array().unwrap();
    let models: Vec<&str> = declined
        .iter()
        .map(|d| d["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["small", "large"], "{body}");
    for d in declined {
        assert_eq!(d["error"]["class"], "transient", "{d}");
    }
    // The action is delivered like any other.
    let d = st
        .sink
        .wait_for("the baseline's delivery", |d| !d.is_empty());
    assert_eq!(d[0].body["category"], "billing");

    // The audit holds a baseline record between the model attempts and the result.
    let run_id = body["run_id"].as_str().unwrap();
    let run: Value = client()
        .get(format!("{}/v1/runs/{run_id}", st.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let layers: Vec<&str> = run["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    let baseline_at = layers.iter().position(|l| *l == "baseline").unwrap();
    assert!(layers[..baseline_at].contains(&"infer"), "{layers:?}");
    assert_eq!(
        &layers[baseline_at + 1..baseline_at + 3],
        ["act", "result"],
        "{layers:?}"
    );
    let record = &run["layers"][baseline_at]["record"];
    assert_eq!(record["rule"], "billing");
    assert_eq!(record["because"]["class"], "transient");
    assert!(escalations(&st, "").is_empty());
}

#[test]
fn when_no_rule_matches_the_run_is_escalated_with_its_reason() {
    let st = stack("503=100%", 0);
    let mut t = ticket("T-7002", "Just saying hello.");
    t["subject"] = json!("Greetings");
    let (status, body) = post(&st, &t);
    assert_eq!(status, 503, "{body}");
    let error = &body["error"];
    assert_eq!(error["escalated"], true, "{body}");
    assert_eq!(error["class"], "transient");
    assert_eq!(error["declined"].as_array().unwrap().len(), 2, "{body}");
    let run_id = error["run_id"].as_str().unwrap();

    let open = escalations(&st, "");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["run_id"], run_id);
    assert_eq!(open[0]["pipeline"], "triage");
    assert_eq!(open[0]["event_id"], "T-7002");
    assert_eq!(open[0]["reason_class"], "transient");
    assert_eq!(open[0]["status"], "open");
    assert_eq!(escalations(&st, "?status=resolved").len(), 0);
    assert_eq!(escalations(&st, "?status=all").len(), 1);
    // Nothing was sent to the helpdesk.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(st.sink.deliveries().is_empty());

    let run: Value = client()
        .get(format!("{}/v1/runs/{run_id}", st.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(run["run"]["status"], "escalated");

    let bad = client()
        .get(format!(
            "{}/v1/admin/escalations?status=closed",
            st.server.url
        ))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

#[test]
fn a_baseline_that_breaks_the_output_schema_fails_check_with_file_line_and_key() {
    let ws = Workspace::triage("http://127.0.0.1:1", "http://127.0.0.1:1/x");
    ws.append(
        r#"
[[pipelines.triage.baseline.rules]]
name = "broken"
when = { "/subject" = "(unclosed" }
output = { category = "spam", priority = "low", summary = "x" }
"#,
    );
    let out = seam(&["check", "--config", ws.config().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = ws.config();
    let file = file.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{file}:{}: pipelines.triage.baseline.rules.3.when./subject: not a valid regex",
            line_of(&ws, "(unclosed")
        )),
        "{err}"
    );
    assert!(
        err.contains("pipelines.triage.baseline.rules.3.output: does not satisfy the output schema at `/category`"),
        "{err}"
    );
}

/// 1-based line of the first line of the config containing `needle`.
fn line_of(ws: &Workspace, needle: &str) -> usize {
    std::fs::read_to_string(ws.config())
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

fn sim_calls(st: &Stack) -> u64 {
    let v: Value = client()
        .get(format!("{}/sim/stats", st.sim.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["requests"]["openai"].as_u64().unwrap()
}

/// The stack with extra config appended, and seam restarted on it.
fn restarted(faults: &str, extra: &str) -> Stack {
    let mut st = stack(faults, 0);
    st.ws.append(extra);
    st.server = server(&st.ws.config());
    st
}

#[test]
fn a_call_over_the_pipelines_per_inference_cap_is_refused_before_any_call_and_escalated() {
    // Both models' worst case (300 output tokens at their prices) is over 50 µ$.
    let st = restarted(
        "",
        "[pipelines.triage.limits]\nmax_cost_micros_per_call = 50\n",
    );
    let (status, body) = post(&st, &ticket("T-7101", "Refund please"));
    assert_eq!(status, 402, "{body}");
    let e = &body["error"];
    assert_eq!(e["type"], "cost_cap_exceeded", "{body}");
    assert_eq!(e["class"], "budget");
    assert_eq!(e["escalated"], true);
    // Tried the cheaper fallback too; neither was called; no baseline for cost.
    let declined: Vec<&str> = e["declined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["error"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        declined,
        ["cost_cap_exceeded", "cost_cap_exceeded"],
        "{body}"
    );
    assert_eq!(sim_calls(&st), 0);
    let open = escalations(&st, "");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["reason_type"], "cost_cap_exceeded");
}

#[test]
fn a_run_stops_at_its_call_limit_without_restarting_the_retry_cycle() {
    // Every call fails; the run may make two calls in all, retries and
    // fallbacks included (LiteLLM #19985, #7091: a fallback must not restart
    // the retry cycle or loop).
    let st = restarted(
        "503=100%",
        "[pipelines.triage.limits]\nmax_calls_per_run = 2\n",
    );
    let (status, body) = post(&st, &ticket("T-7102", "Refund please"));
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["type"], "run_budget_exceeded", "{body}");
    assert_eq!(sim_calls(&st), 2);

    // Without the limit, the chain is bounded too: three attempts per model,
    // each model once, then the baseline.
    let st = stack("503=100%", 0);
    let (status, body) = post(&st, &ticket("T-7103", "Refund please"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answered_by"]["step"], "baseline");
    assert_eq!(sim_calls(&st), 6);
}

#[test]
fn a_tenants_budget_holds_on_the_pipeline_and_the_chat_endpoint() {
    let st = restarted(
        "",
        r#"
[[budgets]]
scope = "tenant"
name = "acme"
period = "month"
limit_micros = 1
"#,
    );
    let as_acme = |path: &str, body: &Value| {
        let resp = client()
            .post(format!("{}{path}", st.server.url))
            .header("Seam-Tenant", "acme")
            .json(body)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().unwrap())
    };
    // acme's month allows 1 µ$: no call fits, on either interface.
    let (status, body) = as_acme(
        "/v1/pipelines/triage/runs",
        &ticket("T-7201", "Refund please"),
    );
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["type"], "budget_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant \"acme\""),
        "{body}"
    );
    let chat = json!({"model": "small", "messages": [{"role": "user", "content": "hello"}]});
    let (status, body) = as_acme("/v1/chat/completions", &chat);
    assert_eq!(status, 402, "{body}");
    // OpenAI's shape: its quota type, seam's error type as the code.
    assert_eq!(body["error"]["type"], "insufficient_quota", "{body}");
    assert_eq!(body["error"]["code"], "budget_exceeded", "{body}");
    assert_eq!(sim_calls(&st), 0);
    // Other tenants (and callers that name none) are not limited by it.
    let (status, body) = post(&st, &ticket("T-7202", "Refund please"));
    assert_eq!(status, 200, "{body}");
    // A malformed tenant name is a client error.
    let bad = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .header("Seam-Tenant", "not a name")
        .json(&ticket("T-7203", "x"))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}
