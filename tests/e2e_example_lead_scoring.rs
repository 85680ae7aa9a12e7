//! The lead-scoring example (examples/lead-scoring/) end to end through the
//! real binaries: `seam serve` on a copy of the example, `seam simulate` as
//! the model, and stand-ins for the two business systems: an enrichment
//! API (an OAuth 2.0 token endpoint and a bearer-protected company lookup)
//! and the CRM (records the scores written back, deduplicating on
//! `Idempotency-Key` as a real one must). Every lead of `leads.jsonl` goes
//! in as a Standard-Webhooks-signed delivery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const CLIENT_ID: &str = "seam-lead-scoring";
const CLIENT_SECRET: &str = "enrich-client-secret-3f9a";
const WEBHOOK_KEY: &[u8] = b"lead scoring example key, 32 b!!";

/// What the enrichment stand-in saw.
#[derive(Default)]
struct Seen {
    token_requests: AtomicUsize,
    /// Lookups with a missing or unknown bearer token.
    unauthorized: AtomicUsize,
    /// Issued tokens.
    tokens: Mutex<Vec<String>>,
    /// (bearer token, `domain` query) of each authorised lookup.
    lookups: Mutex<Vec<(String, String)>>,
}

struct Enrichment {
    url: String,
    seen: Arc<Seen>,
    _runtime: tokio::runtime::Runtime,
}

/// What the stand-in knows; any other domain is 404. The Northwind answer
/// carries a contact e-mail, which must be redacted like the lead's own.
fn company(domain: &str) -> Option<Value> {
    match domain {
        "northwind.example" => Some(
            json!({"name": "Northwind Traders", "industry": "retail", "employees": 4200, "country": "US", "contact": "it-buying@northwind.example"}),
        ),
        "globex.example" => Some(
            json!({"name": "Globex", "industry": "manufacturing", "employees": 12000, "country": "DE"}),
        ),
        "initech.example" => Some(
            json!({"name": "Initech", "industry": "software", "employees": 850, "country": "US"}),
        ),
        "tinyshop.example" => Some(
            json!({"name": "Tiny Shop", "industry": "retail", "employees": 3, "country": "SE"}),
        ),
        _ => None,
    }
}

fn enrichment() -> Enrichment {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let token = post(move |body: String| {
        let s = s.clone();
        async move {
            // A form body parses like a query string.
            let uri: axum::http::Uri = format!("/?{body}").parse().unwrap();
            let Query(form) = Query::<HashMap<String, String>>::try_from_uri(&uri).unwrap();
            let n = s.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
            let field = |k: &str| form.get(k).map(String::as_str);
            if field("grant_type") != Some("client_credentials")
                || field("client_id") != Some(CLIENT_ID)
                || field("client_secret") != Some(CLIENT_SECRET)
                || field("scope") != Some("companies:read")
            {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid_client"})),
                );
            }
            let token = format!("tok-{n}");
            s.tokens.lock().unwrap().push(token.clone());
            (
                StatusCode::OK,
                axum::Json(
                    json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}),
                ),
            )
        }
    });
    let s = seen.clone();
    let companies = get(
        move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| {
            let s = s.clone();
            async move {
                let bearer = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default()
                    .to_string();
                if !s.tokens.lock().unwrap().contains(&bearer) {
                    s.unauthorized.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                let domain = q.get("domain").cloned().unwrap_or_default();
                s.lookups.lock().unwrap().push((bearer, domain.clone()));
                match company(&domain) {
                    Some(c) => axum::Json(c).into_response(),
                    None => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": "unknown domain"})),
                    )
                        .into_response(),
                }
            }
        },
    );
    let app = axum::Router::new()
        .route("/oauth/token", token)
        .route("/v1/companies", companies);
    let (runtime, addr) = serve_in_background(app);
    Enrichment {
        url: format!("http://{addr}"),
        seen,
        _runtime: runtime,
    }
}

/// One request the CRM stand-in got.
#[derive(Debug, Clone)]
struct Write {
    key: String,
    body: Value,
}

struct Crm {
    url: String,
    /// Every request, duplicates included.
    requests: Arc<Mutex<Vec<Write>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Crm {
    fn requests(&self) -> Vec<Write> {
        self.requests.lock().unwrap().clone()
    }

    /// The scores applied: one per idempotency key.
    fn applied(&self) -> HashMap<String, Value> {
        self.requests()
            .into_iter()
            .map(|w| (w.key, w.body))
            .collect()
    }
}

fn crm() -> Crm {
    let requests: Arc<Mutex<Vec<Write>>> = Arc::default();
    let log = requests.clone();
    let app = axum::Router::new().route(
        "/crm/leads/score",
        patch(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let mut log = log.lock().unwrap();
                let repeat = log.iter().any(|w| w.key == key);
                log.push(Write {
                    key,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                if repeat {
                    StatusCode::OK
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let (runtime, addr) = serve_in_background(app);
    Crm {
        url: format!("http://{addr}/crm/leads/score"),
        requests,
        _runtime: runtime,
    }
}

/// A temp copy of examples/lead-scoring with the simulator, the
/// enrichment API and the CRM at the stand-ins' addresses.
fn workspace(sim: &str, enrich: &str, crm: &str) -> Workspace {
    let ws = Workspace::example("lead-scoring", sim);
    ws.replace("http://127.0.0.1:8788/", &format!("{enrich}/"));
    ws.replace("http://127.0.0.1:8789/crm/leads/score", crm);
    ws
}

fn webhook_secret() -> String {
    format!("whsec_{}", B64.encode(WEBHOOK_KEY))
}

/// POST a Standard-Webhooks-signed delivery (signed now) to /hooks/lead.
fn deliver(server: &str, webhook_id: &str, body: &str) -> (u16, Value) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_KEY).unwrap();
    mac.update(format!("{webhook_id}.{ts}.{body}").as_bytes());
    let sig = B64.encode(mac.finalize().into_bytes());
    let resp = client()
        .post(format!("{server}/hooks/lead"))
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", ts)
        .header("webhook-signature", format!("v1,{sig}"))
        .body(body.to_string())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

/// Wait until the run has finished, and return it with its audit trail.
fn finished_run(server: &str, run_id: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let v = get_json(&format!("{server}/v1/runs/{run_id}"));
        if v["run"]["status"] == "succeeded" {
            return v;
        }
        assert!(Instant::now() < until, "run did not succeed: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signed_crm_leads_are_enriched_scored_and_written_back_once() {
    let sim = simulator("");
    let api = enrichment();
    let crm = crm();
    let ws = workspace(&sim.url, &api.url, &crm.url);
    let dir = &ws.dir;
    let config = dir.path().join("seam.toml");
    let secret = webhook_secret();
    let env = [
        ("ENRICH_CLIENT_SECRET", CLIENT_SECRET),
        ("CRM_WEBHOOK_SECRET", secret.as_str()),
    ];

    let out = Command::new(SEAM)
        .args(["check", "--config", config.to_str().unwrap()])
        .envs(env)
        .env_remove("SEAM_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seam check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let server = server_with_env(&config, &env);

    // Every sample lead, as the CRM would send it.
    let lines = std::fs::read_to_string(dir.path().join("leads.jsonl")).unwrap();
    let leads: Vec<Value> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(leads.len() >= 5, "a handful of sample leads");
    let mut runs: HashMap<String, String> = HashMap::new(); // lead id → run id
    for lead in &leads {
        let id = lead["lead_id"].as_str().unwrap();
        let (status, body) = deliver(&server.url, &format!("msg_{id}"), &lead.to_string());
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["duplicate"], false, "{body}");
        runs.insert(id.into(), body["run_id"].as_str().unwrap().into());
    }

    // One score per lead reaches the CRM, with the declared fields only.
    let until = Instant::now() + Duration::from_secs(30);
    while crm.applied().len() < leads.len() {
        assert!(
            Instant::now() < until,
            "scores written back: {:?}",
            crm.requests()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let applied = crm.applied();
    assert_eq!(applied.len(), leads.len(), "{applied:?}");
    let mut scored = BTreeSet::new();
    for (key, body) in &applied {
        assert!(!key.is_empty(), "an Idempotency-Key on every write");
        let fields: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            BTreeSet::from(["lead_id", "score", "tier", "reason", "run_id"]),
            "{body}"
        );
        let score = body["score"].as_i64().unwrap();
        assert!((0..=100).contains(&score), "{body}");
        assert!(["hot", "warm", "cold"].contains(&body["tier"].as_str().unwrap()));
        let reason = body["reason"].as_str().unwrap();
        assert!(
            !reason.is_empty() && reason.chars().count() <= 300,
            "{body}"
        );
        let lead_id = body["lead_id"].as_str().unwrap();
        assert_eq!(
            body["run_id"].as_str(),
            runs.get(lead_id).map(String::as_str)
        );
        scored.insert(lead_id.to_string());
    }
    assert_eq!(scored, runs.keys().cloned().collect::<BTreeSet<_>>());

    // The enrichment API was called with a token from its token endpoint:
    // one fetch, reused by every lookup (it lives an hour), and each
    // lookup got the lead's domain.
    let seen = &api.seen;
    assert_eq!(seen.token_requests.load(Ordering::SeqCst), 1);
    assert_eq!(seen.unauthorized.load(Ordering::SeqCst), 0);
    let lookups = seen.lookups.lock().unwrap().clone();
    assert_eq!(lookups.len(), leads.len(), "{lookups:?}");
    assert!(
        lookups.iter().all(|(token, _)| token == "tok-1"),
        "{lookups:?}"
    );
    let domains: BTreeSet<&str> = lookups.iter().map(|(_, d)| d.as_str()).collect();
    let wanted: BTreeSet<&str> = leads
        .iter()
        .map(|l| l["company_domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, wanted);

    // Each run's audit: the context step (ok where the API knew the
    // company, an optional failure where it answered 404), the company in
    // the prompt, and neither the lead's e-mail nor the API's in the trail.
    for lead in &leads {
        let id = lead["lead_id"].as_str().unwrap();
        let run = finished_run(&server.url, &runs[id]);
        assert_eq!(run["queue"]["source"], "webhook");
        let layers = run["layers"].as_array().unwrap();
        let step = layers
            .iter()
            .find(|l| l["layer"] == "context" && l["record"]["step"] == "company")
            .unwrap_or_else(|| panic!("no context record for {id}: {run}"));
        let domain = lead["company_domain"].as_str().unwrap();
        let prompt = layers.iter().find(|l| l["layer"] == "prompt").unwrap();
        let prompt = prompt["record"]["messages"][1]["content"].as_str().unwrap();
        match company(domain) {
            Some(c) => {
                assert_eq!(step["record"]["status"], "ok", "{step}");
                assert_eq!(step["record"]["connector"], "enrichment", "{step}");
                let name = c["name"].as_str().unwrap();
                assert!(prompt.contains(name), "{name} not in the prompt: {prompt}");
            }
            None => {
                assert_eq!(step["record"]["status"], "failed", "{step}");
                assert!(
                    prompt.contains("knows nothing about this company"),
                    "{prompt}"
                );
            }
        }
        let audit = serde_json::to_string(&run).unwrap();
        let email = lead["email"].as_str().unwrap();
        assert!(!audit.contains(email), "{email} in the audit of {id}");
        assert!(!audit.contains("it-buying@northwind.example"), "{id}");
        assert!(
            !audit.contains("555 0188"),
            "a phone number in the audit of {id}"
        );
        assert!(
            !audit.contains("tok-1"),
            "the bearer token in the audit of {id}"
        );
    }

    // The CRM resends the first lead (same webhook-id): acknowledged as a
    // duplicate of the first run, not scored again.
    let first = &leads[0];
    let id = first["lead_id"].as_str().unwrap();
    let (status, body) = deliver(&server.url, &format!("msg_{id}"), &first.to_string());
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicate"], true, "{body}");
    assert_eq!(body["run_id"].as_str(), Some(runs[id].as_str()));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(crm.requests().len(), leads.len(), "{:?}", crm.requests());
    assert_eq!(seen.lookups.lock().unwrap().len(), leads.len());
}
