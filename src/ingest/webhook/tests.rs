//! Vectors from the schemes' documentation, and the refusals.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

// The example of the Standard Webhooks specification.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS: u64 = 1614265330;
const SW_BODY: &str = r#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn standard() -> Verifier {
    let key = standard::key_from_secret(SW_SECRET).unwrap();
    Verifier::new(Scheme::Standard, vec![key], DEFAULT_TOLERANCE)
}

fn sw_headers(sig: &str, ts: &str) -> HeaderMap {
    headers(&[
        ("webhook-id", SW_ID),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ])
}

#[test]
fn standard_webhooks_spec_vector() {
    let ts = SW_TS.to_string();
    let ok = standard()
        .verify(&sw_headers(SW_SIG, &ts), SW_BODY.as_bytes(), at(SW_TS + 10))
        .unwrap();
    assert_eq!(ok.delivery_id.as_deref(), Some(SW_ID));
    // Rotation: any one of several space-separated signatures, other versions skipped.
    let several = format!("v1a,xyz v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {SW_SIG}");
    assert!(
        standard()
            .verify(&sw_headers(&several, &ts), SW_BODY.as_bytes(), at(SW_TS))
            .is_ok()
    );
}

#[test]
fn standard_webhooks_refusals() {
    let ts = SW_TS.to_string();
    let v = standard();
    let body = SW_BODY.as_bytes();
    assert_eq!(
        v.verify(
            &sw_headers(SW_SIG, &ts),
            br#"{"test": 2432232315}"#,
            at(SW_TS)
        ),
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        v.verify(&sw_headers(SW_SIG, &ts), body, at(SW_TS + 301)),
        Err(WebhookError::Expired { .. })
    ));
    assert!(matches!(
        v.verify(&sw_headers(SW_SIG, &ts), body, at(SW_TS - 301)),
        Err(WebhookError::Future { .. })
    ));
    // The timestamp is signed: moving it breaks the signature.
    let moved = (SW_TS + 1).to_string();
    assert_eq!(
        v.verify(&sw_headers(SW_SIG, &moved), body, at(SW_TS)),
        Err(WebhookError::BadSignature)
    );
    let mut missing = sw_headers(SW_SIG, &ts);
    missing.remove("webhook-signature");
    assert_eq!(
        v.verify(&missing, body, at(SW_TS)),
        Err(WebhookError::MissingHeader("webhook-signature".into()))
    );
    assert!(matches!(
        v.verify(&sw_headers("v2,abc", &ts), body, at(SW_TS)),
        Err(WebhookError::Malformed(_))
    ));
    let other = Verifier::new(
        Scheme::Standard,
        vec![b"another secret".to_vec()],
        DEFAULT_TOLERANCE,
    );
    assert_eq!(
        other.verify(&sw_headers(SW_SIG, &ts), body, at(SW_TS)),
        Err(WebhookError::BadSignature)
    );
    // A rotation accepts the old key as well as the new.
    let both = Verifier::new(
        Scheme::Standard,
        vec![
            b"another secret".to_vec(),
            standard::key_from_secret(SW_SECRET).unwrap(),
        ],
        DEFAULT_TOLERANCE,
    );
    assert!(
        both.verify(&sw_headers(SW_SIG, &ts), body, at(SW_TS))
            .is_ok()
    );
}

#[test]
fn stripe_signature() {
    let secret = b"whsec_test_secret".to_vec();
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let ts = 1_700_000_000u64;
    let sig = hex::encode(mac::sign(&secret, &[ts.to_string().as_bytes(), b".", body]));
    let v = Verifier::new(Scheme::Stripe, vec![secret], DEFAULT_TOLERANCE);
    let h = |value: String| headers(&[("Stripe-Signature", &value)]);
    let ok = v
        .verify(&h(format!("t={ts},v1={sig},v0=00")), body, at(ts + 5))
        .unwrap();
    assert_eq!(ok.delivery_id, None);
    let rotated = format!("t={ts},v1={},v1={sig}", "ab".repeat(32));
    assert!(v.verify(&h(rotated), body, at(ts)).is_ok());
    assert!(matches!(
        v.verify(&h(format!("t={ts},v1={sig}")), body, at(ts + 301)),
        Err(WebhookError::Expired { .. })
    ));
    assert_eq!(
        v.verify(&h(format!("t={},v1={sig}", ts + 1)), body, at(ts)),
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        v.verify(&h(format!("v1={sig}")), body, at(ts)),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        v.verify(&h(format!("t={ts},v0={sig}")), body, at(ts)),
        Err(WebhookError::Malformed(_))
    ));
}

#[test]
fn github_documentation_vector() {
    // docs.github.com "Validating webhook deliveries" example.
    let v = Verifier::new(
        Scheme::Github,
        vec![b"It's a Secret to Everybody".to_vec()],
        DEFAULT_TOLERANCE,
    );
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let h = headers(&[
        ("X-Hub-Signature-256", sig),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ]);
    let ok = v.verify(&h, b"Hello, World!", SystemTime::now()).unwrap();
    assert_eq!(
        ok.delivery_id.as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(
        v.verify(&h, b"Hello, World?", SystemTime::now()),
        Err(WebhookError::BadSignature)
    );
    let unprefixed = headers(&[(
        "X-Hub-Signature-256",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    )]);
    assert!(matches!(
        v.verify(&unprefixed, b"Hello, World!", SystemTime::now()),
        Err(WebhookError::Malformed(_))
    ));
    assert_eq!(
        v.verify(&HeaderMap::new(), b"Hello, World!", SystemTime::now()),
        Err(WebhookError::MissingHeader("x-hub-signature-256".into()))
    );
}

#[test]
fn shopify_and_generic_hmac() {
    let key = b"shpss_secret".to_vec();
    let body = br#"{"id":820982911946154508}"#;
    let raw = mac::sign(&key, &[body]);
    let shopify = Verifier::new(Scheme::Shopify, vec![key.clone()], DEFAULT_TOLERANCE);
    let h = headers(&[
        ("X-Shopify-Hmac-Sha256", &B64.encode(&raw)),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
    ]);
    let ok = shopify.verify(&h, body, SystemTime::now()).unwrap();
    assert_eq!(
        ok.delivery_id.as_deref(),
        Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );
    assert_eq!(
        shopify.verify(&h, b"{}", SystemTime::now()),
        Err(WebhookError::BadSignature)
    );

    let generic = |encoding, prefix: &str| {
        Verifier::new(
            Scheme::Hmac {
                header: "x-signature".into(),
                encoding,
                prefix: prefix.into(),
            },
            vec![key.clone()],
            DEFAULT_TOLERANCE,
        )
    };
    let hex_h = headers(&[("X-Signature", &format!("sha256={}", hex::encode(&raw)))]);
    assert!(
        generic(Encoding::Hex, "sha256=")
            .verify(&hex_h, body, SystemTime::now())
            .is_ok()
    );
    assert!(matches!(
        generic(Encoding::Hex, "").verify(&hex_h, body, SystemTime::now()),
        Err(WebhookError::Malformed(_))
    ));
    let b64_h = headers(&[("X-Signature", &B64.encode(&raw))]);
    assert!(
        generic(Encoding::Base64, "")
            .verify(&b64_h, body, SystemTime::now())
            .is_ok()
    );
    assert_eq!(
        generic(Encoding::Base64, "").verify(&b64_h, b"x", SystemTime::now()),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn errors_never_show_secrets_or_expected_signatures() {
    let v = standard();
    let ts = SW_TS.to_string();
    let err = v
        .verify(&sw_headers("v1,AAAA", &ts), b"tampered", at(SW_TS))
        .unwrap_err();
    let text = format!("{err} {err:?} {v:?}");
    assert!(!text.contains("MfKQ9r8G"), "{text}");
    assert!(!text.contains("g0hM9SsE"), "{text}");
}

fn load(toml_text: &str) -> Result<Verifier, Vec<(Vec<String>, String)>> {
    let raw: RawWebhook = toml::from_str(toml_text).unwrap();
    Verifier::load(&raw, std::path::Path::new("/nonexistent"))
}

#[test]
fn config_resolves_secrets_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sw");
    std::fs::write(&file, format!("{SW_SECRET}\n")).unwrap();
    let raw: RawWebhook = toml::from_str(&format!(
        "scheme = \"standard\"\nsecret = \"file:{}\"\ntolerance_secs = 60",
        file.display()
    ))
    .unwrap();
    let v = Verifier::load(&raw, dir.path()).unwrap();
    let ts = SW_TS.to_string();
    assert!(
        v.verify(&sw_headers(SW_SIG, &ts), SW_BODY.as_bytes(), at(SW_TS + 59))
            .is_ok()
    );
    assert!(matches!(
        v.verify(&sw_headers(SW_SIG, &ts), SW_BODY.as_bytes(), at(SW_TS + 61)),
        Err(WebhookError::Expired { .. })
    ));

    let keys = |r: Result<Verifier, Vec<(Vec<String>, String)>>| -> Vec<String> {
        r.unwrap_err()
            .into_iter()
            .map(|(k, _)| k.join("."))
            .collect()
    };
    assert_eq!(
        keys(load("scheme = \"github\"\nsecret = \"hunter2\"")),
        ["secret"]
    );
    assert_eq!(
        keys(load("scheme = \"svix\"\nsecret = \"env:X\"")),
        ["scheme", "secret"]
    );
    assert_eq!(
        keys(load(
            "scheme = \"github\"\nsecrets = [\"env:SEAM_TEST_UNSET_A\", \"env:SEAM_TEST_UNSET_B\"]"
        )),
        ["secrets.0", "secrets.1"]
    );
    assert_eq!(
        keys(load(
            "scheme = \"hmac\"\nsecret = \"file:/nonexistent/x\"\nencoding = \"b32\""
        )),
        ["header", "encoding", "secret"]
    );
    assert_eq!(
        keys(load(
            "scheme = \"github\"\nsecret = \"env:X\"\ntolerance_secs = 5\nprefix = \"a\""
        )),
        ["prefix", "tolerance_secs", "secret"]
    );
    assert_eq!(keys(load("scheme = \"stripe\"")), [""]);
    // The error about an unset variable names it, not a value.
    let errs = load("scheme = \"stripe\"\nsecret = \"env:SEAM_TEST_UNSET_C\"").unwrap_err();
    assert!(errs[0].1.contains("SEAM_TEST_UNSET_C"), "{errs:?}");
    assert!(toml::from_str::<RawWebhook>("scheme = \"github\"\nsecert = \"env:X\"").is_err());
}
