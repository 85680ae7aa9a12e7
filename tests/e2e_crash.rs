//! The crash test: signed webhooks pour in while `seam serve` is killed
//! with SIGKILL several times and started again on the same store. A sender
//! that got no 2xx sends the event again later (as webhook providers do).
//! At the end every acknowledged event has exactly one outcome — its action
//! applied by the sink, or a dead-letter entry — the sink applied each
//! action exactly once (deduplicating by the idempotency key, as a sink
//! must: a kill between the sink's answer and the outbox commit makes a
//! redelivery with the same key), and `seam audit verify` passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const EVENTS: usize = 1500;
/// Every `INVALID`th event breaks the input schema: it must end in the
/// dead-letter queue, not be lost and not be acted on.
const INVALID: usize = 10;
const KILLS: usize = 5;
const SENDERS: usize = 8;
/// Pause between one sender's requests: ~400 events/s in all, so the
/// load spans every kill.
const PACE: Duration = Duration::from_millis(20);
const SECRET: &[u8] = b"seam crash test secret, 32 bytes";

/// One event: its delivery body and webhook id (stable across resends).
struct Event {
    id: String,
    body: String,
}

fn events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            let ticket = format!("T-{i:04}");
            let body = if i % INVALID == 0 {
                json!({"ticket_id": ticket, "subject": 42})
            } else {
                ticket_json(&ticket, i)
            };
            Event {
                id: format!("msg_{ticket}"),
                body: body.to_string(),
            }
        })
        .collect()
}

fn ticket_json(id: &str, i: usize) -> Value {
    let subjects = ["Charged twice", "Site is down", "Cannot log in", "Question"];
    json!({
        "ticket_id": id,
        "subject": subjects[i % subjects.len()],
        "body": format!("Ticket number {i}, please help."),
        "customer": {"email": "dana@example.com", "plan": "pro"}
    })
}

/// Standard Webhooks signature headers, signed now.
fn sign(e: &Event) -> [(String, String); 3] {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(format!("{}.{ts}.{}", e.id, e.body).as_bytes());
    let sig = B64.encode(mac.finalize().into_bytes());
    [
        ("webhook-id".into(), e.id.clone()),
        ("webhook-timestamp".into(), ts),
        ("webhook-signature".into(), format!("v1,{sig}")),
    ]
}

/// What the sink saw: every request, and the actions it applied (one per
/// idempotency key).
#[derive(Default)]
struct SinkLog {
    requests: usize,
    applied: BTreeMap<String, Value>,
}

struct Sink {
    url: String,
    log: Arc<Mutex<SinkLog>>,
    _runtime: tokio::runtime::Runtime,
}

fn sink() -> Sink {
    use axum::http::{HeaderMap, StatusCode};
    let log: Arc<Mutex<SinkLog>> = Arc::default();
    let shared = log.clone();
    let app = axum::Router::new().route(
        "/tickets/triage",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = shared.clone();
            async move {
                // A little latency, so kills land while deliveries are out.
                tokio::time::sleep(Duration::from_millis(fastrand::u64(1..15))).await;
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut log = log.lock().unwrap();
                log.requests += 1;
                if key.is_empty() {
                    return StatusCode::BAD_REQUEST;
                }
                log.applied.entry(key).or_insert(body);
                StatusCode::CREATED
            }
        }),
    );
    let (runtime, addr) = serve_in_background(app);
    Sink {
        url: format!("http://{addr}/tickets/triage"),
        log,
        _runtime: runtime,
    }
}

/// Send pending events to `url` from several threads until `stop` is set
/// or nothing is pending. An event answered 2xx is acknowledged (its run
/// id kept); any other end puts it back for a later resend.
fn send_until(
    url: &str,
    all: &Arc<Vec<Event>>,
    pending: &Arc<Mutex<VecDeque<usize>>>,
    acked: &Arc<Mutex<BTreeMap<usize, String>>>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..SENDERS)
        .map(|_| {
            let (url, all, pending, acked, stop) = (
                url.to_string(),
                all.clone(),
                pending.clone(),
                acked.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let Some(i) = pending.lock().unwrap().pop_front() else {
                        return;
                    };
                    let e = &all[i];
                    let mut req = client
                        .post(format!("{url}/hooks/triage"))
                        .header("content-type", "application/json")
                        .body(e.body.clone());
                    for (k, v) in sign(e) {
                        req = req.header(k, v);
                    }
                    let answer = req
                        .send()
                        .ok()
                        .filter(|r| r.status().is_success())
                        .and_then(|r| r.json::<Value>().ok());
                    match answer.and_then(|b| b["run_id"].as_str().map(str::to_string)) {
                        Some(run_id) => {
                            let mut acked = acked.lock().unwrap();
                            if let Some(before) = acked.insert(i, run_id.clone()) {
                                assert_eq!(before, run_id, "a resent event got another run");
                            }
                        }
                        None => pending.lock().unwrap().push_back(i),
                    }
                    std::thread::sleep(PACE);
                }
            })
        })
        .collect()
}

fn open_work(db: &std::path::Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let q: i64 = conn
        .query_row(
            "SELECT count(*) FROM queue WHERE status IN ('queued', 'leased')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'inflight')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (q, o)
}

#[test]
fn acknowledged_webhooks_survive_sigkill_with_exactly_one_outcome_each() {
    let sim = simulator("");
    let sink = sink();
    let ws = Workspace::triage(&sim.url, &sink.url);
    let secret_file = ws.dir.path().join("whsec");
    std::fs::write(&secret_file, format!("whsec_{}", B64.encode(SECRET))).unwrap();
    ws.append(&format!(
        "[pipelines.triage.webhook]\nscheme = \"standard\"\nsecret = \"file:{}\"\n\n\
         [pipelines.triage.queue]\nconcurrency = 8\nbase_delay_ms = 50\nmax_delay_ms = 500\n",
        secret_file.display()
    ));

    let all = Arc::new(events());
    let pending = Arc::new(Mutex::new((0..EVENTS).collect::<VecDeque<_>>()));
    let acked: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    let mut kills_with_work_open = 0;
    for round in 0..KILLS {
        let server = server(&ws.config());
        let stop = Arc::new(AtomicBool::new(false));
        let senders = send_until(&server.url, &all, &pending, &acked, &stop);
        std::thread::sleep(Duration::from_millis(fastrand::u64(400..900)));
        // SIGKILL (Child::kill) while deliveries, runs and sends are in flight.
        drop(server);
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.join().unwrap();
        }
        let (q, o) = open_work(&ws.db());
        if q + o > 0 {
            kills_with_work_open += 1;
        }
        eprintln!(
            "kill {}: {} acknowledged, {q} queued runs and {o} deliveries open",
            round + 1,
            acked.lock().unwrap().len()
        );
    }
    assert!(
        kills_with_work_open >= 2,
        "the kills should land while work is open"
    );

    // The last start: send what is left, then let the queue and outbox drain.
    let mut server = server(&ws.config());
    let stop = Arc::new(AtomicBool::new(false));
    for s in send_until(&server.url, &all, &pending, &acked, &stop) {
        s.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        EVENTS,
        "every event is acknowledged in the end"
    );
    let until = Instant::now() + Duration::from_secs(120);
    while open_work(&ws.db()) != (0, 0) {
        assert!(
            Instant::now() < until,
            "work still open: {:?}",
            open_work(&ws.db())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.terminate_and_wait(Duration::from_secs(40)).success());

    // Outcomes: the sink's applied actions by ticket, the dead-letter queue.
    let log = sink.log.lock().unwrap();
    let mut actions: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for body in log.applied.values() {
        let ticket = body["ticket_id"].as_str().unwrap().to_string();
        actions.entry(ticket).or_default().push(body);
    }
    let out = seam(&[
        "dlq",
        "list",
        "--config",
        &ws.config_str(),
        "--json",
        "--limit",
        "10000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dlq: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dead: BTreeSet<String> = dlq["dead"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let run_ids: BTreeSet<&String> = acked.values().collect();
    assert_eq!(run_ids.len(), EVENTS, "one run per event, resends included");
    for (i, run_id) in &acked {
        let ticket = format!("T-{i:04}");
        let acted = actions.get(&ticket).map_or(0, Vec::len);
        let dead_lettered = dead.contains(run_id);
        if i % INVALID == 0 {
            assert!(
                dead_lettered && acted == 0,
                "{ticket} (invalid) must be dead-lettered only: dead {dead_lettered}, actions {acted}"
            );
        } else {
            assert!(
                acted == 1 && !dead_lettered,
                "{ticket} must be acted on exactly once: actions {acted}, dead {dead_lettered}"
            );
            assert_eq!(actions[&ticket][0]["run_id"], json!(run_id));
        }
    }
    assert_eq!(dead.len(), EVENTS / INVALID, "nothing else dead-lettered");
    assert_eq!(
        log.applied.len(),
        EVENTS - EVENTS / INVALID,
        "no action for anything else"
    );
    eprintln!(
        "sink: {} requests for {} actions ({} redelivered with the same key)",
        log.requests,
        log.applied.len(),
        log.requests - log.applied.len()
    );

    let out = seam(&["audit", "verify", "--config", &ws.config_str()]);
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
