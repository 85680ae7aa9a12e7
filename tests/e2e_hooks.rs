//! `POST /hooks/{pipeline}` through the real binaries, with deliveries
//! signed by the official `standardwebhooks` package: verified before
//! anything else, committed before the 202, deduplicated, run once, acted
//! once; forged and expired deliveries are 401 and recorded as rejected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const SIGN: &str = r#"
import base64, json, sys, time
from datetime import datetime, timezone
import standardwebhooks

secret, bodies = sys.argv[1], json.loads(sys.argv[2])
hook = standardwebhooks.Webhook(secret)
out = []
for i, body in enumerate(bodies):
    text = json.dumps(body)
    ts = int(time.time())
    mid = f"msg_{i}"
    out.append({"headers": {"webhook-id": mid, "webhook-timestamp": str(ts),
                            "webhook-signature": hook.sign(mid, datetime.fromtimestamp(ts, tz=timezone.utc), text)},
                "body": text})
# Forged: signed with another secret. Expired: signed an hour ago.
other = standardwebhooks.Webhook("whsec_" + base64.b64encode(b"another secret, 24 bytes!").decode())
text = json.dumps(bodies[0]); ts = int(time.time())
out.append({"headers": {"webhook-id": "msg_forged", "webhook-timestamp": str(ts),
                        "webhook-signature": other.sign("msg_forged", datetime.fromtimestamp(ts, tz=timezone.utc), text)},
            "body": text})
old = int(time.time()) - 3600
out.append({"headers": {"webhook-id": "msg_old", "webhook-timestamp": str(old),
                        "webhook-signature": hook.sign("msg_old", datetime.fromtimestamp(old, tz=timezone.utc), text)},
            "body": text})
print(json.dumps(out))
"#;

fn signed(secret: &str, bodies: &[Value]) -> Vec<Value> {
    let out = Command::new(python())
        .args(["-c", SIGN, secret, &json!(bodies).to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn deliver(url: &str, d: &Value) -> (u16, Value) {
    let mut req = client()
        .post(format!("{url}/hooks/triage"))
        .header("content-type", "application/json")
        .body(d["body"].as_str().unwrap().to_string());
    for (k, v) in d["headers"].as_object().unwrap() {
        req = req.header(k, v.as_str().unwrap());
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

#[test]
fn signed_deliveries_are_queued_once_and_forgeries_are_refused_and_recorded() {
    let mut st = stack("", 0);
    let secret = format!("whsec_{}", "c2VhbS10ZXN0LXNlY3JldC0yNC1ieXRlcyE=");
    let secret_file = st.ws.dir.path().join("whsec");
    std::fs::write(&secret_file, &secret).unwrap();
    st.ws.append(&format!(
        "[pipelines.triage.webhook]\nscheme = \"standard\"\nsecret = \"file:{}\"\n",
        secret_file.display()
    ));
    st.server = server(&st.ws.config());

    let bodies: Vec<Value> = (0..5)
        .map(|i| ticket(&format!("T-95{i:02}"), "Refund please"))
        .collect();
    let deliveries = signed(&secret, &bodies);
    let mut ids = Vec::new();
    for d in &deliveries[..5] {
        let (status, body) = deliver(&st.server.url, d);
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["duplicate"], false);
        ids.push(body["run_id"].as_str().unwrap().to_string());
    }
    // A provider's redelivery of the same event is acknowledged, not queued.
    let (status, body) = deliver(&st.server.url, &deliveries[2]);
    assert_eq!(status, 202);
    assert_eq!(body["duplicate"], true);
    assert_eq!(body["run_id"], ids[2].as_str());
    // Forged and expired: 401 with the check that failed.
    for (d, check) in [(&deliveries[5], "signature"), (&deliveries[6], "old")] {
        let (status, body) = deliver(&st.server.url, d);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["type"], "webhook_unauthorized");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(check),
            "{body}"
        );
        assert!(!body.to_string().contains(&secret));
    }
    // Unsigned.
    let (status, _) = deliver(
        &st.server.url,
        &json!({"headers": {}, "body": deliveries[0]["body"]}),
    );
    assert_eq!(status, 401);

    // Each accepted event runs once and acts once.
    let until = Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            let v = get_json(&format!("{}/v1/runs/{id}", st.server.url));
            if v["run"]["status"] == "succeeded" {
                assert_eq!(v["queue"]["source"], "webhook");
                break;
            }
            assert!(Instant::now() < until, "{v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let d = st.sink.wait_for("five actions", |d| d.len() >= 5);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(st.sink.deliveries().len(), 5, "{d:?}");
    let metrics = metrics(&st.server.url);
    assert!(
        metrics.contains(r#"seam_webhooks_total{pipeline="triage",outcome="accepted"} 5"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"seam_webhooks_total{pipeline="triage",outcome="rejected"} 3"#),
        "{metrics}"
    );
    drop(st.server);

    // The rejections are in the audit (no payload), and the chain holds.
    let db = rusqlite::Connection::open(st.ws.db()).unwrap();
    let rejected: Vec<String> = db
        .prepare("SELECT body FROM audit WHERE layer = 'webhook'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert!(rejected.iter().all(|b| !b.contains("T-95")), "{rejected:?}");
    let out = seam(&[
        "audit",
        "verify",
        "--config",
        st.ws.config().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
