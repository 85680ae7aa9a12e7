//! The webhook verifier against the official signers: the Python packages
//! `standardwebhooks` and `stripe` (pinned in tests/python/requirements.txt)
//! sign real payloads; `Verifier::verify`, configured from a
//! `[pipelines.NAME.webhook]` table with `file:` secrets, must accept what
//! they signed and refuse tampered, expired, future, wrong-secret and
//! unsigned deliveries — agreeing with the packages' own verifiers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use seam::ingest::webhook::{RawWebhook, Verifier};
use serde_json::Value;

#[test]
fn official_signers_are_accepted_and_forgeries_refused() {
    let py = common::python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sign_webhooks.py");
    let out = Command::new(py).arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "sign_webhooks.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(cases.len() >= 15, "{} cases", cases.len());

    let dir = tempfile::tempdir().unwrap();
    let (mut accepted, mut refused) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        // The receiver's config: each secret in its own file.
        let refs: Vec<String> = case["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let path = dir.path().join(format!("secret-{i}-{j}"));
                std::fs::write(&path, format!("{}\n", s.as_str().unwrap())).unwrap();
                format!("\"file:{}\"", path.display())
            })
            .collect();
        let toml_text = format!(
            "scheme = \"{}\"\nsecrets = [{}]\n",
            case["scheme"].as_str().unwrap(),
            refs.join(", ")
        );
        let raw: RawWebhook = toml::from_str(&toml_text).unwrap();
        let verifier = Verifier::load(&raw, dir.path()).unwrap();

        let mut headers = HeaderMap::new();
        for (k, v) in case["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
        let body = case["body"].as_str().unwrap().as_bytes();
        let now = UNIX_EPOCH + Duration::from_secs(case["now"].as_u64().unwrap());
        let verdict = verifier.verify(&headers, body, now);

        let expect = case["expect"].as_str().unwrap();
        let got = match &verdict {
            Ok(_) => "ok",
            Err(e) => e.check(),
        };
        assert_eq!(got, expect, "{name}: {verdict:?}");
        assert_eq!(
            verdict.is_ok(),
            case["official_accepts"].as_bool().unwrap(),
            "{name}: seam and the official package disagree"
        );
        if let Ok(v) = &verdict {
            accepted += 1;
            let want = headers
                .get("webhook-id")
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(v.delivery_id, want, "{name}");
        } else {
            refused += 1;
            let err = seam::error::Error::from(verdict.unwrap_err());
            assert_eq!(err.status(), 401, "{name}");
            assert_eq!(err.type_name(), "webhook_unauthorized");
            // The refusal never carries a secret or a signature.
            let text = err.to_string();
            for s in case["secrets"].as_array().unwrap() {
                let s = s.as_str().unwrap();
                assert!(!text.contains(&s[6..]), "{name}: {text}");
            }
            for v in case["headers"].as_object().unwrap().values() {
                assert!(!text.contains(v.as_str().unwrap()), "{name}: {text}");
            }
        }
    }
    assert!(
        accepted >= 5 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
}
