//! `kind = "local"`: config checks in every build, and (with the `local`
//! feature) a batch run on the real embedded model, whose weights are
//! fetched into models/ on first use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;

/// A config whose one provider is `kind = "local"` with the given extra keys.
fn local_config(dir: &std::path::Path, provider: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("ok.json"), r#"{"type": "object"}"#).unwrap();
    std::fs::write(dir.join("p.j2"), "hello {{ input.x }}").unwrap();
    let config = dir.join("seam.toml");
    std::fs::write(
        &config,
        format!(
            r#"[providers.tiny]
kind = "local"
{provider}
[models.m]
provider = "tiny"
upstream = "tiny"
input_price_per_mtok = 0
output_price_per_mtok = 0
context_window = 2048

[pipelines.a]
input_schema = "ok.json"
prompt = "p.j2"
model = "m"
output_schema = "ok.json"
[pipelines.a.sink]
kind = "http"
url = "http://127.0.0.1:1/x"
fields = {{ x = "/output/x" }}
"#
        ),
    )
    .unwrap();
    config
}

fn check(config: &std::path::Path) -> (Option<i32>, String) {
    let out = seam(&["check", "--config", config.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NOT_BUILT: &str = "providers.tiny.kind: this seam was built without the `local` feature; rebuild with `cargo build --release --features local`";

#[test]
fn local_provider_problems_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = local_config(
        dir.path(),
        "path = \"models/missing.gguf\"\nbase_url = \"http://127.0.0.1:1/v1\"\napi_key = \"env:KEY\"\nthreads = 0\ncontext_size = 0\n",
    );
    let (code, err) = check(&config);
    assert_eq!(code, Some(1));
    let file = config.to_str().unwrap();
    for expected in [
        format!("{file}:3: providers.tiny.path: cannot read the model file"),
        format!("{file}:4: providers.tiny.base_url: not allowed for `kind = \"local\"`"),
        format!("{file}:5: providers.tiny.api_key: not allowed for `kind = \"local\"`"),
        format!("{file}:6: providers.tiny.threads: must be greater than 0"),
        format!("{file}:7: providers.tiny.context_size: must be greater than 0"),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("scripts/fetch-model.sh"), "{err}");
    assert_eq!(
        err.contains(NOT_BUILT),
        cfg!(not(feature = "local")),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_gguf_and_a_missing_path_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.gguf"), "not a model").unwrap();
    let config = local_config(dir.path(), "path = \"model.gguf\"\n");
    let (code, err) = check(&config);
    assert_eq!(code, Some(1));
    let file = config.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{file}:3: providers.tiny.path: {} is not a GGUF model file",
            dir.path().join("model.gguf").display()
        )),
        "{err}"
    );

    let config = local_config(dir.path(), "");
    let (code, err) = check(&config);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!(
            "{file}:1: providers.tiny: missing field `path` (the GGUF model file)"
        )),
        "{err}"
    );
}

#[cfg(not(feature = "local"))]
#[test]
fn without_the_feature_a_valid_local_config_fails_check_and_startup_with_the_rebuild_hint() {
    let dir = tempfile::tempdir().unwrap();
    // Any file starting with the GGUF magic passes the file check.
    std::fs::write(dir.path().join("model.gguf"), "GGUF....").unwrap();
    let config = local_config(dir.path(), "path = \"model.gguf\"\n");
    let (code, err) = check(&config);
    assert_eq!(code, Some(1));
    let file = config.to_str().unwrap();
    assert!(err.contains(&format!("{file}:2: {NOT_BUILT}")), "{err}");
    assert!(err.contains("1 problem(s)"), "{err}");

    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"x\": 1}\n").unwrap();
    let out = seam(&[
        "run",
        "a",
        "--config",
        file,
        "--input",
        input.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(NOT_BUILT), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[cfg(feature = "local")]
mod with_the_model {
    use super::*;
    use serde_json::Value;
    use std::path::Path;

    fn weights() -> std::path::PathBuf {
        model_weights()
    }

    /// The example's local.toml in a temp copy of the example, with the
    /// model path made absolute and the sink pointed at `sink_url`.
    fn workspace(sink_url: &str) -> Workspace {
        let ws = Workspace::triage("http://127.0.0.1:1", sink_url);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ticket-triage");
        let config = std::fs::read_to_string(example.join("local.toml"))
            .unwrap()
            .replace(
                "../../models/SmolLM2-135M-Instruct.Q4_1.gguf",
                weights().to_str().unwrap(),
            )
            .replace("http://127.0.0.1:8787/helpdesk/tickets/triage", sink_url);
        std::fs::write(ws.config(), config).unwrap();
        ws
    }

    #[test]
    fn example_local_config_checks_clean() {
        weights();
        let config = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/ticket-triage/local.toml"
        );
        let (code, err) = check(Path::new(config));
        assert_eq!(code, Some(0), "{err}");
    }

    #[test]
    fn batch_run_on_the_local_model_verifies_every_valid_ticket() {
        let sink = TestSink::start(0);
        let ws = workspace(&sink.url);
        let input = ws.dir.path().join("tickets.jsonl");
        let output = ws.dir.path().join("results.jsonl");
        let out = ws.run_batch(&input, Some(&output));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The two lines that break the input contract fail; nothing else.
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        let lines: Vec<Value> = std::fs::read_to_string(&output)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 7, "{lines:?}");
        let schema = seam::schema::JsonSchema::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/ticket-triage/schemas/triage.json"),
        )
        .unwrap();
        for line in &lines[..5] {
            let result = &line["result"];
            assert_eq!(result["status"], "succeeded", "{line}");
            assert_eq!(result["model"], "smollm2", "{line}");
            assert!(schema.is_valid(&result["output"]), "{line}");
            assert!(
                result["usage"]["input_tokens"].as_u64().unwrap() > 100,
                "{line}"
            );
            assert!(
                result["usage"]["output_tokens"].as_u64().unwrap() > 5,
                "{line}"
            );
        }
        assert_eq!(lines[5]["error"]["type"], "input_invalid");
        assert_eq!(lines[6]["error"]["type"], "invalid_request");
        let d = sink.wait_for("five deliveries", |d| d.len() >= 5);
        assert_eq!(d.len(), 5);
    }
}
