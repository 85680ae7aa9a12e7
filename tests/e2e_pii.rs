//! PII end to end: placeholders in the model's output are re-associated
//! in the action only (the audit trail and the runs row keep them); an
//! escalated run keeps its map sealed for the human who finishes it; and
//! `seam check` places bad `[pii]` settings by file, line and key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// An OpenAI-style provider whose every answer echoes placeholders of the
/// redacted prompt back in its summary.
fn echo_provider() -> (tokio::runtime::Runtime, String) {
    let content = json!({
        "category": "billing",
        "priority": "high",
        "summary": "Refund card <CARD_1> and confirm to <EMAIL_1>"
    })
    .to_string();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            let content = content.clone();
            async move {
                axum::Json(json!({
                    "id": "chatcmpl-echo",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "gpt-4o-mini",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
                }))
            }
        }),
    );
    let (rt, addr) = serve_in_background(app);
    (rt, format!("http://{addr}"))
}

fn run_view(server: &Proc, run_id: &str) -> Value {
    client()
        .get(format!("{}/v1/runs/{run_id}", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}


const CARD: &str = "4111 1111 1111 1111";
const EMAIL: &str = "dana@example.com";

#[test]
fn placeholders_are_restored_in_the_action_only() {
    let (_provider_rt, provider) = echo_provider();
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&provider, &sink.url);
    let server = server(&ws.config());

    let (status, body) = run_triage(
        &server,
        &ticket("T-9", &format!("Charged twice on {CARD}, mail {EMAIL}")),
    );
    assert_eq!(status, 200, "{body}");
    let summary = format!("Refund card {CARD} and confirm to {EMAIL}");
    assert_eq!(body["output"]["summary"], summary.as_str());

    let delivered = sink.wait_for("one delivery", |d| !d.is_empty());
    assert_eq!(
        delivered[0].body["summary"],
        summary.as_str(),
        "the action has the values"
    );

    let run_id = body["run_id"].as_str().unwrap();
    let view = serde_json::to_string(&run_view(&server, run_id)).unwrap();
    assert!(view.contains("<CARD_1>") && view.contains("<EMAIL_1>"));
    let audit = ws.db_text("SELECT body FROM audit");
    let runs = ws.db_text(
        "SELECT coalesce(output, '') || coalesce(event_id, '') FROM runs",
    );
    for (what, text) in [("audit", &audit), ("runs", &runs), ("run view", &view)] {
        assert!(!text.contains(EMAIL), "{what} holds the e-mail");
        assert!(
            !text.contains(CARD) && !text.contains("4111111111111111"),
            "{what} holds the card"
        );
    }
    assert!(runs.contains("<CARD_1>"), "{runs}");
    // A successful run keeps no map.
    assert_eq!(ws.db_text("SELECT count(*) || '' FROM pii_maps"), "0");
}

#[test]
fn an_escalated_run_keeps_its_map_sealed_until_it_expires() {
    // A rejected key: no model and no baseline rule answers, a human must.
    let provider = FailingProvider::start(401);
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&provider.url, &sink.url);
    ws.append("[pii]\nkey = \"env:SEAM_TEST_PII_KEY\"\nretention_hours = 24\n");
    let mut server = server_with_env(&ws.config(), &[("SEAM_TEST_PII_KEY", KEY_HEX)]);

    let (status, body) = run_triage(&server, &ticket("T-10", &format!("Refund {CARD} please")));
    assert_ne!(status, 200, "{body}");
    let run_id = body["error"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(body["error"]["escalated"], true, "{body}");

    let audit = ws.db_text("SELECT body FROM audit");
    assert!(audit.contains("kept sealed"), "{audit}");
    assert!(!audit.contains(CARD) && !audit.contains(EMAIL));
    server.terminate_and_wait(Duration::from_secs(10));

    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let (sealed, expires): (Vec<u8>, i64) = conn
        .query_row(
            "SELECT sealed, expires_at_ms FROM pii_maps WHERE run_id = ?1",
            [&run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let plain = String::from_utf8_lossy(&sealed);
    assert!(
        !plain.contains(EMAIL) && !plain.contains("4111"),
        "sealed at rest"
    );
    let day_ms = 24 * 3600 * 1000;
    assert!((expires - seam::clock::now_ms() - day_ms).abs() < 60_000);

    // Loaded back by run id with the key, the map re-associates.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = seam::store::sqlite::SqliteStore::open(&seam::config::StoreConfig {
        path: ws.db(),
        synchronous: seam::config::Synchronous::Full,
        group_commit_max: 1,
    })
    .unwrap();
    let key = seam::ingest::pii::PiiKey::parse(KEY_HEX).unwrap();
    let map = rt
        .block_on(seam::ingest::pii::load_kept(&store, &key, &run_id))
        .unwrap()
        .expect("a kept map");
    assert_eq!(
        map.restore_str("card <CARD_1> of <EMAIL_1>"),
        format!("card {CARD} of {EMAIL}")
    );
    let wrong = seam::ingest::pii::PiiKey::parse(&"ff".repeat(32)).unwrap();
    assert!(
        rt.block_on(seam::ingest::pii::load_kept(&store, &wrong, &run_id))
            .is_err()
    );

    // Expired: not loaded, and swept.
    use seam::store::RunStore;
    let later = seam::clock::now_ms() + 2 * day_ms;
    assert!(
        rt.block_on(store.pii_map(&run_id, later))
            .unwrap()
            .is_none()
    );
    assert_eq!(rt.block_on(store.sweep_pii_maps(later)).unwrap(), 1);
    assert!(
        rt.block_on(store.pii_map(&run_id, seam::clock::now_ms()))
            .unwrap()
            .is_none()
    );
}

#[test]
fn without_a_key_the_map_is_not_kept() {
    let provider = FailingProvider::start(401);
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&provider.url, &sink.url);
    let server = server(&ws.config());
    let (_, body) = run_triage(&server, &ticket("T-11", "nothing secret"));
    assert_eq!(body["error"]["escalated"], true, "{body}");
    let audit = ws.db_text("SELECT body FROM audit");
    assert!(audit.contains("not kept: no [pii].key"), "{audit}");
    assert_eq!(ws.db_text("SELECT count(*) || '' FROM pii_maps"), "0");
}

#[test]
fn check_places_bad_pii_settings() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/sink");
    ws.append(
        r#"[pii]
detectors = ["email", "fax"]
key = "env:SEAM_TEST_PII_KEY_UNSET"

[[pii.patterns]]
name = "nhs number"
regex = '(\d{3}'
checksum = "crc32"
"#,
    );
    ws.replace(
        "[pipelines.triage.sink]",
        "[pipelines.triage.pii]\ndetectors = [\"ssn\"]\nmystery = 1\n\n[pipelines.triage.sink]",
    );
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let text = ws.config_str();
    let lines: Vec<&str> = err.lines().collect();
    for (key, says) in [
        ("pii.detectors.1", "`fax` is not a detector"),
        ("pii.key", "SEAM_TEST_PII_KEY_UNSET"),
        ("pii.patterns.0.name", "UPPER_SNAKE"),
        ("pii.patterns.0.regex", "does not compile"),
        ("pii.patterns.0.checksum", "`crc32`"),
        ("pipelines.triage.pii.mystery", "unknown field"),
    ] {
        assert!(
            lines.iter().any(|l| {
                let Some(rest) = l.strip_prefix(&format!("{text}:")) else {
                    return false;
                };
                let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
                !line.is_empty()
                    && rest[line.len()..].starts_with(&format!(": {key}: "))
                    && l.contains(says)
            }),
            "no `{key}` ... `{says}` with a line in:\n{err}"
        );
    }
}
