//! Every provider path, without keys: the ticket-triage pipeline and the
//! OpenAI-compatible endpoint served by Anthropic Messages and Gemini
//! `generateContent` as `seam simulate` speaks them, with faults injected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Proc, TestSink, Workspace, client, server, simulator, ticket};
use serde_json::{Value, json};

struct Kind {
    kind: &'static str,
    upstream: &'static str,
    mode: &'static str,
}

const ANTHROPIC: Kind = Kind {
    kind: "anthropic",
    upstream: "claude-haiku-4-5",
    mode: "tool",
};
const GEMINI: Kind = Kind {
    kind: "gemini",
    upstream: "gemini-2.5-flash",
    mode: "response_schema",
};
const AZURE: Kind = Kind {
    kind: "azure",
    upstream: "gpt-4o-mini-prod",
    mode: "json_schema",
};
const OPENAI: Kind = Kind {
    kind: "openai",
    upstream: "gpt-4o-mini",
    mode: "json_schema",
};

struct Setup {
    server: Proc,
    sink: TestSink,
    _sim: Proc,
    _ws: Workspace,
}

/// The triage example with its primary model `small` served by `k`.
fn setup(k: &Kind, faults: &str) -> Setup {
    let sim = simulator(faults);
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let key = ws.dir.path().join("provider.key");
    std::fs::write(&key, "sk-test-not-a-real-key\n").unwrap();
    let base = if k.kind == "openai" {
        format!("{}/v1", sim.url)
    } else {
        sim.url.clone()
    };
    let api_version = if k.kind == "azure" {
        "api_version = \"2024-10-21\"\n"
    } else {
        ""
    };
    ws.append(&format!(
        "[providers.remote]\nkind = \"{}\"\nbase_url = \"{base}\"\napi_key = \"file:{}\"\ntimeout_ms = 5000\n{api_version}",
        k.kind,
        key.display()
    ));
    ws.replace(
        "provider = \"sim\"\nupstream = \"gpt-4o-mini\"",
        &format!("provider = \"remote\"\nupstream = \"{}\"", k.upstream),
    );
    let check = common::seam(&["check", "--config", ws.config().to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let server = server(&ws.config());
    Setup {
        server,
        sink,
        _sim: sim,
        _ws: ws,
    }
}

fn run(s: &Setup, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", s.server.url))
        .json(body)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

fn infer_records(s: &Setup, run_id: &str) -> Vec<Value> {
    let v: Value = client()
        .get(format!("{}/v1/runs/{run_id}", s.server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .map(|l| l["record"].clone())
        .collect()
}

fn pipeline_runs_verified(k: &Kind) {
    let s = setup(k, "");
    let (status, body) = run(&s, &ticket("T-51", "I was charged twice for invoice 42"));
    assert_eq!(status, 200, "{}: {body}", k.kind);
    assert_eq!(body["model"], "small");
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(
        body["cost_micros"].as_u64().unwrap() > 0,
        "built-in prices apply"
    );
    let infer = infer_records(&s, body["run_id"].as_str().unwrap());
    assert_eq!(infer[0]["params"]["structured_output"], k.mode, "{infer:?}");
    assert_eq!(infer[0]["upstream"], k.upstream);
    s.sink.wait_for("one delivery", |d| d.len() == 1);
}

fn transient_errors_retry(k: &Kind) {
    // First call rate-limited, second overloaded (529 for Anthropic), then ok.
    let s = setup(k, "429=#1:0,503=#2");
    let (status, body) = run(&s, &ticket("T-52", "The export page crashes"));
    assert_eq!(status, 200, "{}: {body}", k.kind);
    assert_eq!(body["attempts"], 3);
    let infer = infer_records(&s, body["run_id"].as_str().unwrap());
    assert_eq!(
        infer[0]["error"]["type"], "provider_rate_limited",
        "{infer:?}"
    );
    assert_eq!(
        infer[1]["error"]["type"], "provider_overloaded",
        "{infer:?}"
    );
    if k.kind == "anthropic" {
        assert!(
            infer[1]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("529"),
            "{infer:?}"
        );
    }
}

fn schema_violations_are_repaired(k: &Kind) {
    let s = setup(k, "violate=#1");
    let (status, body) = run(&s, &ticket("T-53", "Please add dark mode"));
    assert_eq!(status, 200, "{}: {body}", k.kind);
    assert_eq!(body["attempts"], 2);
}

fn chat_with_tools_and_streams(k: &Kind) {
    let s = setup(k, "");
    let tools = json!([{"type": "function", "function": {"name": "lookup_invoice",
        "parameters": {"type": "object", "required": ["number"], "properties": {"number": {"type": "integer"}}}}}]);
    let resp: Value = client()
        .post(format!("{}/v1/chat/completions", s.server.url))
        .json(&json!({"model": "small", "messages": [{"role": "system", "content": "You look up invoices."},
            {"role": "user", "content": "Status of invoice 42?"}],
            "tools": tools, "tool_choice": "required"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let call = &resp["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(
        call["function"]["name"], "lookup_invoice",
        "{}: {resp}",
        k.kind
    );
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args["number"].is_i64(), "{args}");
    // The tool result goes back through the provider's own format.
    let resp: Value = client()
        .post(format!("{}/v1/chat/completions", s.server.url))
        .json(&json!({"model": "small", "tools": tools, "messages": [
            {"role": "user", "content": "Status of invoice 42?"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "{\"status\":\"paid\"}"}]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        resp["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{}: {resp}",
        k.kind
    );
    // Streaming, with usage.
    let text = client()
        .post(format!("{}/v1/chat/completions", s.server.url))
        .json(
            &json!({"model": "small", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "Summarise: the printer is jammed."}]}),
        )
        .send()
        .unwrap()
        .text()
        .unwrap();
    let chunks: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!content.is_empty(), "{}: {text}", k.kind);
    let usage = &chunks.last().unwrap()["usage"];
    assert!(
        usage["completion_tokens"].as_u64().unwrap() > 0,
        "{}: {text}",
        k.kind
    );
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

/// A content-filter refusal is a safety error: not retried, not repaired,
/// no fallback, no action.
fn refusals_are_safety_errors(k: &Kind) {
    let s = setup(k, "refuse=100%");
    let (status, body) = run(&s, &ticket("T-54", "Something the filter dislikes"));
    assert_eq!(
        body["error"]["type"], "content_filtered",
        "{}: {body}",
        k.kind
    );
    assert_eq!(body["error"]["class"], "safety");
    assert_eq!(status, 422);
    let infer = infer_records(&s, body["error"]["run_id"].as_str().unwrap());
    assert_eq!(infer.len(), 1, "{}: {infer:?}", k.kind);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(s.sink.deliveries().is_empty());
}

#[test]
fn refusals_in_every_wire_format() {
    for k in [&OPENAI, &ANTHROPIC, &GEMINI, &AZURE] {
        refusals_are_safety_errors(k);
    }
}

#[test]
fn azure_deployments_take_the_api_key_header() {
    pipeline_runs_verified(&AZURE);
    transient_errors_retry(&AZURE);
    // Without a key the deployment refuses: an auth error, never retried.
    let s = setup(&AZURE, "");
    let text = std::fs::read_to_string(s._ws.config()).unwrap();
    let no_key: String = text
        .lines()
        .filter(|l| !(l.starts_with("api_key = \"file:") && l.contains("provider.key")))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(s._ws.config(), no_key).unwrap();
    let server = server(&s._ws.config());
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", server.url))
        .json(&ticket("T-55", "x"))
        .send()
        .unwrap();
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"]["type"], "provider_auth", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Access denied"),
        "{body}"
    );
}

#[test]
fn a_provider_context_length_error_falls_back_to_a_larger_model() {
    // The model claims a large window, so the preflight lets the call go;
    // the provider (a 512-token model) refuses it, and the fallback answers.
    let s = setup(&OPENAI, "");
    let text = std::fs::read_to_string(s._ws.config()).unwrap();
    std::fs::write(
        s._ws.config(),
        text.replace("upstream = \"gpt-4o-mini\"", "upstream = \"tiny-ctx\""),
    )
    .unwrap();
    let server = server(&s._ws.config());
    let long = "The invoice export fails with a timeout. ".repeat(60);
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", server.url))
        .json(&ticket("T-56", &long))
        .send()
        .unwrap();
    let body: Value = resp.json().unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["model"], "large");
    let v: Value = client()
        .get(format!(
            "{}/v1/runs/{}",
            server.url,
            body["run_id"].as_str().unwrap()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let infer: Vec<&Value> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "infer")
        .collect();
    assert_eq!(
        infer[0]["record"]["error"]["type"], "context_length_exceeded",
        "{v}"
    );
    assert!(
        infer[0]["record"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length")
    );
    assert_eq!(infer.len(), 2, "not retried on the same model: {v}");
}

#[test]
fn anthropic_pipeline() {
    pipeline_runs_verified(&ANTHROPIC);
    transient_errors_retry(&ANTHROPIC);
    schema_violations_are_repaired(&ANTHROPIC);
}

#[test]
fn gemini_pipeline() {
    pipeline_runs_verified(&GEMINI);
    transient_errors_retry(&GEMINI);
    schema_violations_are_repaired(&GEMINI);
}

#[test]
fn openai_pipeline_structured_mode() {
    pipeline_runs_verified(&OPENAI);
}

#[test]
fn anthropic_chat() {
    chat_with_tools_and_streams(&ANTHROPIC);
}

#[test]
fn gemini_chat() {
    chat_with_tools_and_streams(&GEMINI);
}

#[test]
fn openai_chat() {
    chat_with_tools_and_streams(&OPENAI);
}
