//! Contract drift through the real binary: a pipeline learns its events'
//! shape, then a new field is recorded (drift row, metric, alert, audit)
//! while the event goes on; made strict, a missing field sends the event
//! to 422 (sync) or the dead-letter queue (background) until the drift is
//! accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn with_customer(id: &str, customer: Value) -> Value {
    let mut t = ticket(id, "Refund please");
    t["customer"] = customer;
    t
}

fn drift_cli(ws: &Workspace, args: &[&str]) -> Value {
    let config = ws.config_str();
    let mut all = vec!["drift"];
    all.extend_from_slice(args);
    all.extend(["--config", &config]);
    let out = seam(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_changed_payload_shape_is_recorded_and_a_strict_source_refuses_it_until_accepted() {
    let mut st = stack("", 0);
    st.ws.append("[pipelines.triage.drift]\nlearn_events = 3\n");
    st.server = server(&st.ws.config());
    let url = st.server.url.clone();
    for i in 0..3 {
        let c = json!({"email": "dana@example.com", "plan": "pro"});
        assert_eq!(
            run_triage(&st.server, &with_customer(&format!("T-{i}"), c)).0,
            200
        );
    }
    // A new field: recorded, counted, alerted; the run goes on.
    let c = json!({"email": "dana@example.com", "plan": "pro", "tier": 3});
    let (status, body) = run_triage(&st.server, &with_customer("T-10", c.clone()));
    assert_eq!(status, 200, "{body}");
    let id = body["run_id"].as_str().unwrap();
    let v = get_json(&format!("{url}/v1/runs/{id}"));
    let ingest = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "ingest")
        .unwrap()
        .clone();
    let changes = &ingest["record"]["drift"]["changes"];
    assert_eq!(changes[0]["kind"], "new", "{ingest}");
    assert_eq!(changes[0]["path"], "/customer/tier");
    assert_eq!(changes[0]["now"], "number");
    assert!(!ingest.to_string().contains("dana@"), "no values: {ingest}");
    // The same shape again is no longer news.
    assert_eq!(run_triage(&st.server, &with_customer("T-11", c)).0, 200);
    let listed = get_json(&format!("{url}/v1/admin/drift"));
    let rows = listed["drift"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["count"], 1);
    assert_eq!(rows[0]["first_run_id"], id);
    let alerts = get_json(&format!("{url}/v1/admin/alerts"));
    let alert = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "contract_drift")
        .unwrap_or_else(|| panic!("no drift alert: {alerts}"));
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .contains("/customer/tier")
    );
    assert!(metrics(&url).contains(r#"seam_contract_drift_total{source="triage",kind="new"} 1"#));

    // Strict, on the same store: a missing field is refused unparsed.
    st.ws
        .replace("learn_events = 3", "learn_events = 3\nmode = \"strict\"");
    st.server = server(&st.ws.config());
    let url = st.server.url.clone();
    let lacking = with_customer("T-12", json!({"email": "dana@example.com"}));
    let (status, body) = run_triage(&st.server, &lacking);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["type"], "contract_drift");
    assert_eq!(body["error"]["class"], "data");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing /customer/plan")
    );
    // In the background it is dead-lettered at the ingest layer.
    let resp = client()
        .post(format!("{url}/v1/pipelines/triage/runs"))
        .header("Prefer", "respond-async")
        .json(&with_customer("T-13", json!({"email": "dana@example.com"})))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let queued = resp.json::<Value>().unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let until = Instant::now() + Duration::from_secs(15);
    let entry = loop {
        let dead = get_json(&format!("{url}/v1/admin/dlq"));
        if let Some(e) = dead["dead"].as_array().unwrap().first() {
            break e.clone();
        }
        assert!(Instant::now() < until, "never dead-lettered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entry["id"], queued.as_str());
    assert_eq!(entry["layer"], "ingest");
    assert_eq!(entry["error_type"], "contract_drift");
    let open = drift_cli(&st.ws, &["list", "--json", "--source", "triage"]);
    assert!(
        open["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "missing"),
        "{open}"
    );

    // Accepted (by the CLI, while seam runs): the shape is taken again.
    let out = seam(&["drift", "accept", "triage", "--config", &st.ws.config_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted"));
    let (status, body) = run_triage(
        &st.server,
        &with_customer("T-14", json!({"email": "dana@example.com"})),
    );
    assert_eq!(status, 200, "{body}");
    let open = get_json(&format!("{url}/v1/admin/drift"));
    assert!(open["drift"].as_array().unwrap().is_empty(), "{open}");
}
