//! Normalisation before validation, through the real binaries: declared
//! fields reach the model and the sink in canonical form; a value that
//! cannot be normalised is a field error with its pointer (422 for a sync
//! run, the dead-letter queue at layer `ingest` for a background one);
//! invalid UTF-8 is refused with its position by the run API, the webhook
//! route and the batch; bad rules are named by file, line and key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const RULES: &str = r#"
[pipelines.triage.normalize.fields]
"/created_at" = { kind = "datetime", order = "dmy", offset = "+01:00" }
"/subject" = { kind = "text" }
"#;

/// The usual stack with normalisation rules, `created_at` written to the
/// sink, and seam restarted on that config.
fn normalizing_stack() -> Stack {
    let mut st = stack("", 0);
    st.ws.replace(
        "run_id = \"/run/id\"",
        "run_id = \"/run/id\"\ncreated_at = \"/input/created_at\"",
    );
    st.ws.append(RULES);
    st.ws.append(
        "[pipelines.triage.queue]\nmax_attempts = 2\nbase_delay_ms = 20\nmax_delay_ms = 50\n",
    );
    st.server = server(&st.ws.config());
    st
}

fn post(st: &Stack, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn ticket_at(id: &str, created_at: &str) -> Value {
    let mut t = ticket(id, "I was charged twice.");
    t["created_at"] = json!(created_at);
    t
}

#[test]
fn normalised_fields_reach_the_sink_and_bad_values_are_422_with_their_pointer() {
    let st = normalizing_stack();
    let mut t = ticket_at("T-7001", "03.11.2026 14:05");
    t["subject"] = json!("  Charged twice\u{7} ");
    let (status, body) = post(&st, serde_json::to_vec(&t).unwrap(), &[]);
    assert_eq!(status, 200, "{body}");
    let d = st.sink.wait_for("the action", |d| !d.is_empty());
    assert_eq!(
        d[0].body["created_at"], "2026-11-03T13:05:00Z",
        "{:?}",
        d[0]
    );

    // The audit shows the canonical input and which pointers changed, never
    // the values before.
    let run_id = body["run_id"].as_str().unwrap();
    let v = get_json(&format!("{}/v1/runs/{run_id}", st.server.url));
    let ingest = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "ingest")
        .unwrap()["record"]
        .clone();
    assert_eq!(ingest["input"]["created_at"], "2026-11-03T13:05:00Z");
    assert_eq!(ingest["input"]["subject"], "Charged twice");
    let mut changed: Vec<(String, String)> = ingest["normalized"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["pointer"].as_str().unwrap().into(),
                n["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            ("/created_at".to_string(), "datetime".to_string()),
            ("/subject".to_string(), "text".to_string())
        ]
    );
    assert!(!ingest.to_string().contains("03.11.2026"), "{ingest}");
    // The model saw the canonical text (trimmed, the bell gone).
    let prompt = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "prompt")
        .unwrap()["record"]["messages"]
        .to_string();
    assert!(
        prompt.contains("Subject: <untrusted>Charged twice</untrusted>"),
        "{prompt}"
    );

    // A date that does not exist, and a schema error: both reported, each
    // once, with its pointer and a plain message.
    let mut bad = ticket_at("nope", "31/13/2026");
    bad["subject"] = json!("x");
    let (status, body) = post(&st, serde_json::to_vec(&bad).unwrap(), &[]);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["type"], "input_invalid");
    let errors = body["error"]["errors"].as_array().unwrap();
    let at = |p: &str| {
        errors
            .iter()
            .filter(|e| e["pointer"] == p)
            .collect::<Vec<_>>()
    };
    assert_eq!(at("/created_at").len(), 1, "{errors:?}");
    assert_eq!(
        at("/created_at")[0]["message"],
        "`31/13/2026` is not a date in day/month/year order: month 13 does not exist"
    );
    assert_eq!(at("/ticket_id").len(), 1, "{errors:?}");

    // Words are not a date: the rule says so (once; the schema's
    // `format` check on the same pointer is not repeated).
    let (status, body) = post(
        &st,
        serde_json::to_vec(&ticket_at("T-7002", "yesterday")).unwrap(),
        &[],
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a date or time in a recognised format"),
        "{body}"
    );

    // Invalid UTF-8: a 400 naming the byte and where it is.
    let mut raw = serde_json::to_vec(&ticket("T-7003", "abc")).unwrap();
    let pos = raw.windows(3).position(|w| w == b"abc").unwrap();
    raw[pos + 1] = 0xff;
    let (status, body) = post(&st, raw, &[]);
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "byte 0xFF at offset {} (line 1, column {})",
            pos + 1,
            pos + 2
        )),
        "{msg}"
    );
}

#[test]
fn without_a_rule_the_schema_format_is_asserted() {
    let st = stack("", 0);
    let (status, body) = post(
        &st,
        serde_json::to_vec(&ticket_at("T-7050", "03/11/2026")).unwrap(),
        &[],
    );
    assert_eq!(status, 422, "{body}");
    let e = &body["error"]["errors"][0];
    assert_eq!(e["pointer"], "/created_at", "{body}");
    assert!(
        e["message"].as_str().unwrap().contains("date-time"),
        "{body}"
    );
    let (status, body) = post(
        &st,
        serde_json::to_vec(&ticket_at("T-7051", "2026-11-03T14:05:00+01:00")).unwrap(),
        &[],
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_background_run_with_a_bad_date_is_dead_lettered_at_ingest() {
    let st = normalizing_stack();
    let (status, body) = post(
        &st,
        serde_json::to_vec(&ticket_at("T-7101", "02/30/2026")).unwrap(),
        &[("Prefer", "respond-async")],
    );
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(20);
    let v = loop {
        let v = get_json(&format!("{}/v1/runs/{id}", st.server.url));
        if v["run"]["status"] == "dead" {
            break v;
        }
        assert!(Instant::now() < until, "run {id} stuck: {v}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(v["queue"]["error_type"], "input_invalid", "{v}");
    assert_eq!(
        v["queue"]["attempts"], 1,
        "data errors are not retried: {v}"
    );
    // The reason: which pointer failed which rule (never the value).
    let ingest = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "ingest")
        .unwrap_or_else(|| panic!("no ingest record: {v}"))["record"]
        .clone();
    assert_eq!(
        ingest["errors"],
        json!([{"pointer": "/created_at", "schema_path": "normalize:/created_at"}]),
        "{v}"
    );
    assert!(!v.to_string().contains("02/30/2026"), "{v}");
    let dlq = get_json(&format!("{}/v1/admin/dlq", st.server.url));
    let entry = dlq["dead"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {dlq}"))
        .clone();
    assert_eq!(entry["layer"], "ingest", "{entry}");
    assert!(st.sink.deliveries().is_empty());
}

#[test]
fn the_webhook_route_and_the_batch_report_where_utf8_breaks() {
    use hmac::{Hmac, Mac};
    let mut st = stack("", 0);
    let secret = st.ws.dir.path().join("hook-secret");
    std::fs::write(&secret, "s3cret-for-tests").unwrap();
    st.ws.append(&format!(
        "[pipelines.triage.webhook]\nscheme = \"hmac\"\nheader = \"x-signature\"\nsecret = \"file:{}\"\n",
        secret.display()
    ));
    st.server = server(&st.ws.config());
    let body = b"{\"ticket_id\": \"T-1\",\n \"subject\": \"caf\xe9\"}".to_vec();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret-for-tests").unwrap();
    mac.update(&body);
    let sig = hex::encode(mac.finalize().into_bytes());
    let resp = client()
        .post(format!("{}/hooks/triage", st.server.url))
        .header("x-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("the delivery is not valid UTF-8: byte 0xE9 at offset 37 (line 2, column 17)"),
        "{msg}"
    );

    // The batch: the bad line is an error result naming its column; the
    // others run.
    let input = st.ws.dir.path().join("in.jsonl");
    let output = st.ws.dir.path().join("out.jsonl");
    let good = serde_json::to_string(&ticket("T-7201", "Refund please")).unwrap();
    let mut bytes = format!("{good}\n").into_bytes();
    bytes.extend_from_slice(b"{\"ticket_id\": \"T-7202\", \"subject\": \"\xc3(\"}\n");
    std::fs::write(&input, bytes).unwrap();
    st.ws.run_batch(&input, Some(&output));
    let lines: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0]["result"].is_object(), "{lines:?}");
    assert_eq!(
        lines[1]["error"]["message"],
        "line 2 is not valid UTF-8: byte 0xC3 at column 37"
    );
}

#[test]
fn check_names_file_line_and_key_of_bad_rules() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/sink");
    ws.check_appended(
        r#"[pipelines.triage.normalize]
text = "some"
[pipelines.triage.normalize.fields]
"/created_at" = { kind = "datetime", order = "ydm", offset = "Europe/Berlin" }
"/total" = { kind = "number", locale = "xx", order = "dmy" }
"/n" = { kind = "text", empty = "none", colour = "red" }
"#,
        &[
            (2, "pipelines.triage.normalize.text: must be `all` or `declared`"),
            (4, "pipelines.triage.normalize.fields./created_at.order: must be `dmy`, `mdy` or `ymd`, not `ydm`"),
            (4, "pipelines.triage.normalize.fields./created_at.offset: must be a UTC offset"),
            (5, "pipelines.triage.normalize.fields./total.locale: must be"),
            (5, "pipelines.triage.normalize.fields./total.order: applies to `datetime` rules only"),
            (6, "pipelines.triage.normalize.fields./n.colour: unknown field `colour`"),
        ],
    );

    // Valid rules on a pointer the input schema does not declare.
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/sink");
    let err = ws.check_appended(
        "[pipelines.triage.normalize.fields]\n\"/creatd_at\" = { kind = \"datetime\" }\n\"/items/*/n\" = { kind = \"number\" }\n",
        &[(2, "pipelines.triage.normalize.fields./creatd_at: `/creatd_at` is not a property declared by the input schema")],
    );
    assert!(
        !err.contains("/items/*/n"),
        "wildcards are not checked: {err}"
    );
}
