//! `[embeddings.NAME]`, `POST /v1/embeddings` and `kind =
//! "embedding-classifier"`: config checks in every build; with the `embed`
//! feature (or `local`), the real model (fetched into models/ on first
//! use) behind the real `seam serve`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;

fn check(config: &std::path::Path) -> (Option<i32>, String) {
    let out = seam(&["check", "--config", config.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NOT_BUILT: &str = "this seam was built without the `embed` feature; rebuild with `cargo build --release --features embed`";

/// The triage example with an offline classifier after its first model,
/// which points at `model_url`; the embeddings at `embeddings_path`.
fn classifier_workspace(model_url: &str, sink_url: &str, embeddings_path: &str) -> Workspace {
    let ws = Workspace::triage(model_url, sink_url);
    ws.replace("fallbacks = [\"large\"]", "fallbacks = [\"triage-offline\"]");
    ws.append(&format!(
        r#"
[embeddings.mini]
path = "{embeddings_path}"

[providers.clf]
kind = "embedding-classifier"
embeddings = "mini"

[models.triage-offline]
provider = "clf"
upstream = "all-minilm-l6-v2"
"#
    ));
    ws
}

#[test]
fn embeddings_problems_name_file_line_and_key() {
    let ws = classifier_workspace("http://127.0.0.1:1", "http://127.0.0.1:1/x", "models/none");
    ws.append(
        r#"
[embeddings.typo]
path = "x"
pth = "y"

[providers.clf2]
kind = "embedding-classifier"
embeddings = "nope"
base_url = "http://127.0.0.1:1/v1"

[providers.sim2]
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
embeddings = "mini"
"#,
    );
    let (code, err) = check(&ws.config());
    assert_eq!(code, Some(1), "{err}");
    let text = std::fs::read_to_string(ws.config()).unwrap();
    // The line of the first line starting with `needle` after `section`.
    let line = |section: &str, needle: &str| {
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.iter().position(|l| *l == section).unwrap();
        from + lines[from..]
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} not in {section}"))
            + 1
    };
    let file = ws.config_str();
    let mut expected = vec![
        format!(
            "{file}:{}: embeddings.typo.pth: unknown field `pth`",
            line("[embeddings.typo]", "pth =")
        ),
        format!(
            "{file}:{}: providers.clf2.embeddings: `nope` is not declared in [embeddings]",
            line("[providers.clf2]", "embeddings =")
        ),
        format!(
            "{file}:{}: providers.clf2.base_url: not allowed for `kind = \"embedding-classifier\"`",
            line("[providers.clf2]", "base_url =")
        ),
        format!(
            "{file}:{}: providers.sim2.embeddings: only for `kind = \"embedding-classifier\"`",
            line("[providers.sim2]", "embeddings =")
        ),
    ];
    if cfg!(feature = "embed") {
        expected.push(format!(
            "{file}:{}: embeddings.mini.path: the embedding model folder",
            line("[embeddings.mini]", "path =")
        ));
        assert!(
            err.contains("scripts/fetch-model.sh all-minilm-l6-v2"),
            "{err}"
        );
    } else {
        expected.push(format!(
            "{file}:{}: embeddings.mini: {NOT_BUILT}",
            line("[embeddings.mini]", "[embeddings.mini]")
        ));
        expected.push(format!(
            "{file}:{}: providers.clf.kind: {NOT_BUILT}",
            line("[providers.clf]", "kind =")
        ));
    }
    for e in &expected {
        assert!(err.contains(e.as_str()), "missing {e:?} in:\n{err}");
    }
}

#[test]
fn a_classifier_in_the_chain_of_a_schema_it_cannot_fill_fails_check() {
    let ws = classifier_workspace("http://127.0.0.1:1", "http://127.0.0.1:1/x", "models/none");
    // Without the extract mark, nothing can honestly fill the summary.
    let schema = ws.dir.path().join("schemas/triage.json");
    let text = std::fs::read_to_string(&schema)
        .unwrap()
        .replace(", \"x-seam-extract\": \"untrusted\"", "");
    std::fs::write(&schema, text).unwrap();
    let (code, err) = check(&ws.config());
    assert_eq!(code, Some(1), "{err}");
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let line = config
        .lines()
        .position(|l| l.starts_with("fallbacks = [\"triage-offline\"]"))
        .unwrap()
        + 1;
    let expected = format!(
        "{}:{line}: pipelines.triage.fallbacks.0: model `triage-offline` is an embedding classifier and cannot answer this pipeline's output schema: required field(s) `/summary`",
        ws.config_str()
    );
    assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
}

#[cfg(not(feature = "embed"))]
#[test]
fn without_the_feature_serve_refuses_an_embeddings_config_with_the_rebuild_hint() {
    let model = embedding_model();
    let ws = classifier_workspace(
        "http://127.0.0.1:1",
        "http://127.0.0.1:1/x",
        model.to_str().unwrap(),
    );
    let out = seam(&[
        "serve",
        "--config",
        &ws.config_str(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(NOT_BUILT), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[cfg(feature = "embed")]
mod with_the_model {
    use super::*;
    use serde_json::{Value, json};

    fn serve_embeddings() -> (tempfile::TempDir, Proc) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("seam.toml");
        std::fs::write(
            &config,
            format!(
                "[store]\npath = \"seam.db\"\n\n[embeddings.mini]\npath = \"{}\"\n",
                embedding_model().display()
            ),
        )
        .unwrap();
        let (code, err) = check(&config);
        assert_eq!(code, Some(0), "{err}");
        let s = server(&config);
        (dir, s)
    }

    fn post(url: &str, body: &Value) -> (u16, Value) {
        let resp = client()
            .post(format!("{url}/v1/embeddings"))
            .json(body)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }

    fn vector(v: &Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn embeddings_in_the_openai_format_with_clear_refusals() {
        let (_dir, s) = serve_embeddings();
        let (status, body) = post(
            &s.url,
            &json!({"model": "mini", "input": [
                "refund my double charge",
                "billing question about a duplicate payment",
                "the app crashes on startup"]}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["object"], "list");
        assert_eq!(body["model"], "mini");
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 3);
        let vs: Vec<Vec<f32>> = data
            .iter()
            .enumerate()
            .map(|(i, d)| {
                assert_eq!(d["object"], "embedding");
                assert_eq!(d["index"], i);
                vector(&d["embedding"])
            })
            .collect();
        for v in &vs {
            assert_eq!(v.len(), 384);
            assert!((dot(v, v) - 1.0).abs() < 1e-3);
        }
        assert!(dot(&vs[0], &vs[1]) > dot(&vs[0], &vs[2]) + 0.1);
        let tokens = body["usage"]["prompt_tokens"].as_u64().unwrap();
        assert!(tokens >= 15, "{body}");
        assert_eq!(body["usage"]["total_tokens"], tokens);

        // One string, base64 (little-endian f32), dimensions 384: the same vector.
        let (status, b64) = post(
            &s.url,
            &json!({"model": "mini", "input": "refund my double charge",
                    "encoding_format": "base64", "dimensions": 384}),
        );
        assert_eq!(status, 200, "{b64}");
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(decoded.len(), 384);
        assert!(decoded.iter().zip(&vs[0]).all(|(a, b)| (a - b).abs() < 1e-5));
        assert_eq!(b64["usage"]["prompt_tokens"], 7);

        for (req, param, says) in [
            (json!({"model": "nope", "input": "x"}), "model", "embedding models: mini"),
            (json!({"model": "mini", "input": [[101, 2023]]}), "input", "token arrays"),
            (json!({"model": "mini", "input": [1, 2]}), "input", "token arrays"),
            (json!({"model": "mini", "input": []}), "input", "empty array"),
            (json!({"model": "mini", "input": ""}), "input", "empty"),
            (json!({"model": "mini", "input": vec!["x"; 257]}), "input", "at most 256"),
            (json!({"model": "mini", "input": "x", "dimensions": 1536}), "dimensions", "384"),
            (json!({"model": "mini", "input": "x", "encoding_format": "hex"}), "encoding_format", "base64"),
        ] {
            let (status, body) = post(&s.url, &req);
            assert_eq!(status, 400, "{req}: {body}");
            let e = &body["error"];
            assert_eq!(e["type"], "invalid_request_error", "{body}");
            assert_eq!(e["param"], param, "{req}: {body}");
            assert!(e["message"].as_str().unwrap().contains(says), "{req}: {body}");
        }
        let m = metrics(&s.url);
        assert!(
            m.contains("seam_embeddings_requests_total{model=\"mini\",outcome=\"ok\"} 2"),
            "{m}"
        );
        assert!(m.contains("seam_embeddings_inputs_total{model=\"mini\"} 4"), "{m}");
        assert!(
            m.contains("seam_embeddings_duration_seconds_count{model=\"mini\"} 2"),
            "{m}"
        );
        // Refused before the model is known: under `-`; the dimensions
        // refusal names it.
        assert!(
            m.contains("seam_embeddings_requests_total{model=\"-\",outcome=\"invalid_request\"} 7"),
            "{m}"
        );
        assert!(
            m.contains("seam_embeddings_requests_total{model=\"mini\",outcome=\"invalid_request\"} 1"),
            "{m}"
        );
    }

    #[test]
    fn the_official_openai_python_client_gets_embeddings() {
        let (_dir, s) = serve_embeddings();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/test_openai_embeddings.py");
        let out = std::process::Command::new(python())
            .arg(script)
            .arg(format!("{}/v1", s.url))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "SDK checks failed\n{stdout}\n{stderr}");
        assert_eq!(
            stdout.lines().filter(|l| l.starts_with("ok ")).count(),
            4,
            "{stdout}"
        );
    }

    #[test]
    fn the_classifier_answers_when_the_first_model_is_down() {
        let sink = TestSink::start(0);
        // Nothing listens on port 1: the first model's calls fail to connect.
        let model = embedding_model();
        let ws = classifier_workspace("http://127.0.0.1:1", &sink.url, model.to_str().unwrap());
        let (code, err) = check(&ws.config());
        assert_eq!(code, Some(0), "{err}");
        let s = server(&ws.config());
        let (status, body) = run_triage(
            &s,
            &json!({"ticket_id": "T-9001", "subject": "Charged twice for my subscription",
                "body": "My credit card was billed two times this month for the same invoice. Please refund the duplicate payment.",
                "customer": {"email": "dana@example.com", "plan": "pro"}}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["answered_by"],
            json!({"step": "model", "model": "triage-offline"}),
            "{body}"
        );
        assert_eq!(body["output"]["category"], "billing", "{body}");
        assert_eq!(body["output"]["summary"], "Charged twice for my subscription", "{body}");
        assert_eq!(body["declined"][0]["model"], "small", "{body}");
        assert_eq!(body["cost_micros"], 0, "{body}");
        let delivered = sink.wait_for("the triage delivery", |d| !d.is_empty());
        assert_eq!(delivered[0].body["category"], "billing");
    }
}
