//! Connectors through the real binaries: `seam serve` in front of
//! `seam simulate`, with context steps fetching from a real HTTP API (an
//! OAuth 2.0 token endpoint, bearer/API-key auth, cursor and Link-header
//! pagination, a 503-then-200 endpoint, a rate-limited one) and from a
//! real PostgreSQL server. What the steps fetched is checked where it
//! lands: the rendered prompt of the run's audit trail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::pg::Pg;
use common::*;
use serde_json::{Value, json};

const CLIENT_SECRET: &str = "client-secret-5d1e";
const API_KEY: &str = "api-key-77c2";
const BEARER: &str = "static-bearer-19ab";
/// The token endpoint's `expires_in`, seconds: seam refreshes at 90 %.
const TOKEN_LIFE: u64 = 3;

/// What the test API saw.
#[derive(Default)]
struct Seen {
    token_requests: AtomicUsize,
    /// Requests with a missing, unknown or expired token.
    unauthorized: AtomicUsize,
    companies: AtomicUsize,
    history: AtomicUsize,
    plans: AtomicUsize,
    flaky: AtomicUsize,
    limited: AtomicUsize,
    status: AtomicUsize,
    /// Issued tokens and when.
    tokens: Mutex<HashMap<String, Instant>>,
    /// The `email` query values the companies endpoint got.
    emails: Mutex<Vec<String>>,
}

impl Seen {
    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let ok = self
            .tokens
            .lock()
            .unwrap()
            .get(token)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(TOKEN_LIFE));
        if !ok {
            self.unauthorized.fetch_add(1, Ordering::SeqCst);
        }
        ok
    }
}

struct Api {
    url: String,
    seen: Arc<Seen>,
    _runtime: tokio::runtime::Runtime,
}

fn api() -> Api {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let token = post(move |body: String| {
        let s = s.clone();
        async move {
            // A form body parses like a query string.
            let uri: axum::http::Uri = format!("/?{body}").parse().unwrap();
            let Query(form) = Query::<HashMap<String, String>>::try_from_uri(&uri).unwrap();
            s.token_requests.fetch_add(1, Ordering::SeqCst);
            let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
                && form.get("client_id").map(String::as_str) == Some("seam")
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
                && form.get("scope").map(String::as_str) == Some("companies:read");
            if !ok {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid_client"})),
                );
            }
            let n = s.token_requests.load(Ordering::SeqCst);
            let token = format!("tok-{n}");
            s.tokens
                .lock()
                .unwrap()
                .insert(token.clone(), Instant::now());
            (
                StatusCode::OK,
                axum::Json(
                    json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFE}),
                ),
            )
        }
    });
    let s = seen.clone();
    let companies = get(
        move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| {
            let s = s.clone();
            async move {
                if !s.bearer_ok(&headers) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                s.companies.fetch_add(1, Ordering::SeqCst);
                s.emails
                    .lock()
                    .unwrap()
                    .push(q.get("email").cloned().unwrap_or_default());
                let page = match q.get("cursor").map(String::as_str) {
                    None => {
                        json!({"data": [{"name": "Acme Corp", "contact": "dana@example.com"}], "next_cursor": "p2"})
                    }
                    Some("p2") => {
                        json!({"data": [{"name": "Acme EU", "contact": "ops@acme.test"}], "next_cursor": null})
                    }
                    Some(_) => return StatusCode::BAD_REQUEST.into_response(),
                };
                axum::Json(page).into_response()
            }
        },
    );
    let s = seen.clone();
    let history = get(
        move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| {
            let s = s.clone();
            async move {
                if !s.bearer_ok(&headers) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                s.history.fetch_add(1, Ordering::SeqCst);
                match q.get("page").map(String::as_str) {
                    None => (
                        [(
                            "link",
                            r#"</v1/history?page=2>; rel="next", </v1/history?page=2>; rel="last""#,
                        )],
                        axum::Json(json!([{"event": "signed up"}])),
                    )
                        .into_response(),
                    _ => axum::Json(json!([{"event": "upgraded to pro"}])).into_response(),
                }
            }
        },
    );
    let s = seen.clone();
    let plans = get(
        move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| {
            let s = s.clone();
            async move {
                if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                s.plans.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"plan": q.get("plan"), "seats": 25})).into_response()
            }
        },
    );
    let s = seen.clone();
    let flaky = get(move || {
        let s = s.clone();
        async move {
            if s.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")]).into_response();
            }
            axum::Json(json!({"sla": "gold"})).into_response()
        }
    });
    let s = seen.clone();
    let limited = get(move |headers: HeaderMap| {
        let s = s.clone();
        async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                != Some(&format!("Bearer {BEARER}"))
            {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            s.limited.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({"quota": "ok"})).into_response()
        }
    });
    let s = seen.clone();
    let status = get(move |Query(q): Query<HashMap<String, String>>| {
        let s = s.clone();
        async move {
            s.status.fetch_add(1, Ordering::SeqCst);
            // The enterprise status page is down.
            if q.get("plan").map(String::as_str) == Some("enterprise") {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            axum::Json(json!({"status": "up"})).into_response()
        }
    });
    let app = axum::Router::new()
        .route("/oauth/token", token)
        .route("/v1/companies", companies)
        .route("/v1/history", history)
        .route("/v1/plans", plans)
        .route("/v1/flaky", flaky)
        .route("/v1/limited", limited)
        .route("/v1/status", status)
        .route(
            "/v1/moved",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "http://127.0.0.1:9/collect-keys")],
                )
            }),
        );
    let (runtime, addr) = serve_in_background(app);
    Api {
        url: format!("http://{addr}"),
        seen,
        _runtime: runtime,
    }
}

fn connectors(api: &str) -> String {
    format!(
        r#"
[connectors.enrich]
kind = "http"
base_url = "{api}/v1"
timeout_ms = 3000
[connectors.enrich.auth]
kind = "oauth2_client_credentials"
token_url = "{api}/oauth/token"
client_id = "seam"
client_secret = "env:ENRICH_SECRET"
scope = "companies:read"

[connectors.plans]
kind = "http"
base_url = "{api}/v1"
cache_ttl_secs = 60
auth = {{ kind = "api_key", header = "X-Api-Key", key = "env:PLANS_KEY" }}

[connectors.ops]
kind = "http"
base_url = "{api}/v1/"
max_attempts = 3

[connectors.limited]
kind = "http"
base_url = "{api}/v1"
rate_limit = {{ requests_per_minute = 1 }}
auth = {{ kind = "bearer", token = "env:LIMITED_TOKEN" }}

[[pipelines.triage.context]]
name = "company"
connector = "enrich"
path = "/companies"
query = {{ email = "/input/customer/email" }}
paginate = {{ cursor = {{ param = "cursor", next = "/next_cursor", items = "/data" }}, max_pages = 5 }}

[[pipelines.triage.context]]
name = "history"
connector = "enrich"
path = "/history"
paginate = {{ link_header = true }}

[[pipelines.triage.context]]
name = "plan"
connector = "plans"
path = "/plans"
query = {{ plan = "/input/customer/plan" }}

[[pipelines.triage.context]]
name = "sla"
connector = "ops"
path = "/flaky"

[[pipelines.triage.context]]
name = "quota"
connector = "limited"
path = "/limited"

[[pipelines.triage.context]]
name = "moved"
connector = "plans"
path = "/moved"

[[pipelines.triage.context]]
name = "status"
connector = "ops"
path = "/status"
query = {{ plan = "/input/customer/plan" }}
required = true
"#
    )
}

/// The template shows the whole context after the ticket.
fn with_context_template(ws: &Workspace) {
    let path = ws.dir.path().join("prompts/triage.j2");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\nContext: {{ context | tojson }}\n");
    std::fs::write(path, text).unwrap();
}

fn layers(server: &Proc, run_id: &str) -> Vec<Value> {
    get_json(&format!("{}/v1/runs/{run_id}", server.url))["layers"]
        .as_array()
        .unwrap()
        .clone()
}

/// The user message the model got.
fn prompt_of(layers: &[Value]) -> String {
    let prompt = layers.iter().find(|l| l["layer"] == "prompt").unwrap();
    prompt["record"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The audit record of each context step, by step name.
fn steps_of(layers: &[Value]) -> HashMap<String, Value> {
    layers
        .iter()
        .filter(|l| l["layer"] == "context")
        .map(|l| {
            (
                l["record"]["step"].as_str().unwrap().to_string(),
                l["record"].clone(),
            )
        })
        .collect()
}

#[test]
fn http_context_steps_reach_the_prompt() {
    let api = api();
    let sim = simulator("");
    let ws = Workspace::triage(&sim.url, "http://127.0.0.1:9/unused");
    ws.append(&connectors(&api.url));
    with_context_template(&ws);
    let server = server_with_env(
        &ws.config(),
        &[
            ("ENRICH_SECRET", CLIENT_SECRET),
            ("PLANS_KEY", API_KEY),
            ("LIMITED_TOKEN", BEARER),
        ],
    );
    let seen = &api.seen;

    // Run 1: every step fetches; the two OAuth steps (run at once) share
    // one token; the 503 is retried; both paginations follow every page.
    let (status, body) = run_triage(&server, &ticket("T-1", "I was charged twice"));
    assert_eq!(status, 200, "{body}");
    let l = layers(&server, body["run_id"].as_str().unwrap());
    let prompt = prompt_of(&l);
    for fetched in [
        "Acme Corp",
        "Acme EU",
        "signed up",
        "upgraded to pro",
        "\"seats\":25",
        "gold",
        "\"quota\":\"ok\"",
        "\"status\":\"up\"",
    ] {
        assert!(
            prompt.contains(fetched),
            "{fetched} not in the prompt: {prompt}"
        );
    }
    // The API got the original e-mail (a declared, trusted system); the
    // prompt got its placeholder, the same as the input's.
    assert_eq!(seen.emails.lock().unwrap()[0], "dana@example.com");
    let audit = serde_json::to_string(&l).unwrap();
    assert!(!audit.contains("dana@example.com"), "PII in the audit");
    assert!(
        !audit.contains("ops@acme.test"),
        "a connector's answer is redacted too"
    );
    // (`tojson` escapes `<` and `>`.)
    assert!(
        prompt.contains("EMAIL_1") && prompt.contains("EMAIL_2"),
        "{prompt}"
    );
    let steps = steps_of(&l);
    assert_eq!(steps.len(), 7);
    // Redirects are not followed: the API key stays with the named host.
    assert_eq!(steps["moved"]["status"], "failed");
    assert_eq!(steps["moved"]["error"]["kind"], "rejected");
    assert_eq!(
        steps["moved"]["error"]["reason"],
        "the API answered HTTP 302"
    );
    assert_eq!(steps["company"]["status"], "ok");
    assert_eq!(steps["company"]["pages"], 2);
    assert_eq!(steps["company"]["items"], 2);
    assert_eq!(steps["history"]["pages"], 2);
    assert_eq!(steps["sla"]["attempts"], 2, "the 503 was retried once");
    assert_eq!(steps["plan"]["cache_hit"], false);
    assert!(!audit.contains(CLIENT_SECRET) && !audit.contains("tok-"));
    assert_eq!(
        seen.token_requests.load(Ordering::SeqCst),
        1,
        "single flight"
    );
    assert_eq!(seen.flaky.load(Ordering::SeqCst), 2);

    // Run 2, at once: the token is reused; the plan comes from the cache;
    // the rate limit (1 a minute) has no slot before the deadline, so the
    // optional step is left null and the run still answers.
    let (status, body) = run_triage(&server, &ticket("T-2", "Charged twice again"));
    assert_eq!(status, 200, "{body}");
    let l = layers(&server, body["run_id"].as_str().unwrap());
    let steps = steps_of(&l);
    assert_eq!(
        seen.token_requests.load(Ordering::SeqCst),
        1,
        "token reused"
    );
    assert_eq!(steps["plan"]["cache_hit"], true);
    assert_eq!(seen.plans.load(Ordering::SeqCst), 1, "no API call on a hit");
    assert_eq!(steps["quota"]["status"], "failed");
    assert_eq!(steps["quota"]["error"]["kind"], "transient");
    assert!(
        steps["quota"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("rate limit"),
        "{}",
        steps["quota"]
    );
    assert_eq!(seen.limited.load(Ordering::SeqCst), 1);
    assert!(prompt_of(&l).contains("\"quota\":null"));

    // Past 90 % of the token's life: a new token before the old expires,
    // so the API never sees an expired one.
    std::thread::sleep(Duration::from_millis(TOKEN_LIFE * 1000 * 9 / 10 + 100));
    let (status, body) = run_triage(&server, &ticket("T-3", "Charged twice, third time"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(seen.token_requests.load(Ordering::SeqCst), 2, "refreshed");
    assert_eq!(seen.unauthorized.load(Ordering::SeqCst), 0);

    // The API revokes every token: each OAuth step gets one 401, the token
    // is fetched again once (for both), and the run goes on.
    seen.tokens.lock().unwrap().clear();
    let (status, body) = run_triage(&server, &ticket("T-5", "Charged twice, after revocation"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(seen.unauthorized.load(Ordering::SeqCst), 2);
    assert_eq!(seen.token_requests.load(Ordering::SeqCst), 3, "one refresh");
    let steps = steps_of(&layers(&server, body["run_id"].as_str().unwrap()));
    assert_eq!(steps["company"]["status"], "ok");
    assert_eq!(steps["history"]["status"], "ok");

    // A required step that keeps failing fails the run: transient, 503,
    // after its retries.
    let calls = seen.status.load(Ordering::SeqCst);
    let mut down = ticket("T-4", "Charged twice");
    down["customer"]["plan"] = json!("enterprise");
    let (status, body) = run_triage(&server, &down);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "context_failed");
    assert_eq!(body["error"]["class"], "transient");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`status`")
    );
    assert_eq!(
        seen.status.load(Ordering::SeqCst) - calls,
        3,
        "max_attempts"
    );

    let m = metrics(&server.url);
    assert!(
        m.contains(r#"seam_connector_calls_total{connector="plans",outcome="cache_hit"} 3"#),
        "{m}"
    );
    assert!(m.contains(r#"seam_connector_calls_total{connector="limited",outcome="transient"}"#));
}

const DEALS: &str = "CREATE TABLE deals (
    account_email text NOT NULL,
    stage text NOT NULL,
    amount numeric NOT NULL,
    closed_at timestamptz NOT NULL
);
CREATE SEQUENCE deal_numbers;
INSERT INTO deals VALUES
    ('dana@example.com', 'won', 1200.50, '2026-01-10T00:00:00Z'),
    ('dana@example.com', 'lost', 300, '2026-02-10T00:00:00Z'),
    ('dana@example.com', 'renewed', 1500, '2026-03-10T00:00:00Z'),
    ('someone@else.test', 'won', 9999, '2026-03-11T00:00:00Z');";

const PG_STEPS: &str = r#"
[connectors.crm]
kind = "postgres"
url = "env:CRM_DB_URL"
max_rows = 2
timeout_ms = 3000

[[pipelines.triage.context]]
name = "deals"
connector = "crm"
sql = "SELECT stage, amount, closed_at FROM deals WHERE account_email = $1 ORDER BY closed_at DESC"
params = ["/input/customer/email"]
required = true

[[pipelines.triage.context]]
name = "sneaky"
connector = "crm"
sql = "SELECT nextval('deal_numbers') AS n"
"#;

#[test]
fn postgres_context_step_is_read_only_and_row_limited() {
    let pg = Pg::start();
    pg.execute(DEALS);
    let sim = simulator("");
    let ws = Workspace::triage(&sim.url, "http://127.0.0.1:9/unused");
    ws.append(PG_STEPS);
    with_context_template(&ws);
    let server = server_with_env(&ws.config(), &[("CRM_DB_URL", &pg.url())]);

    let (status, body) = run_triage(&server, &ticket("T-1", "I was charged twice"));
    assert_eq!(status, 200, "{body}");
    let l = layers(&server, body["run_id"].as_str().unwrap());
    let prompt = prompt_of(&l);
    // The two latest of dana's three deals, typed by the server.
    assert!(prompt.contains("\"stage\":\"renewed\""), "{prompt}");
    assert!(prompt.contains("\"stage\":\"lost\""), "{prompt}");
    assert!(!prompt.contains("\"won\""), "max_rows = 2: {prompt}");
    assert!(!prompt.contains("9999"), "another account's row");
    assert!(prompt.contains("\"amount\":1500"), "{prompt}");
    let steps = steps_of(&l);
    assert_eq!(steps["deals"]["rows"], 2);
    assert_eq!(steps["deals"]["truncated"], true);
    // The connection is read-only: a function that writes is refused by
    // the server, and the optional step is left null.
    assert_eq!(steps["sneaky"]["status"], "failed", "{}", steps["sneaky"]);
    assert_eq!(steps["sneaky"]["error"]["kind"], "rejected");
    assert!(prompt.contains("\"sneaky\":null"));
    let audit = serde_json::to_string(&l).unwrap();
    assert!(!audit.contains("dana@example.com") && !audit.contains(common::pg::PASSWORD));
    assert_eq!(
        pg.rows("SELECT last_value, is_called FROM deal_numbers"),
        vec![json!({"last_value": 1, "is_called": false})]
    );

    // The step's answers have a contract: learned from the first run
    // (learn_events = 1 here), then a column whose type changed upstream is
    // drift on that source.
    drop(server);
    ws.append("[pipelines.triage.drift]\nlearn_events = 1\n");
    let server = server_with_env(&ws.config(), &[("CRM_DB_URL", &pg.url())]);
    pg.execute("ALTER TABLE deals ALTER COLUMN amount TYPE text USING amount::text");
    let (status, body) = run_triage(&server, &ticket("T-2", "I was charged twice"));
    assert_eq!(status, 200, "observe mode: the run goes on: {body}");
    let drift = get_json(&format!("{}/v1/admin/drift", server.url));
    let rows = drift["drift"].as_array().unwrap();
    assert!(
        rows.iter().any(|d| d["source"] == "triage.context.deals"
            && d["kind"] == "retyped"
            && d["path"] == "/*/amount"
            && d["was"] == "number"
            && d["now"] == "string"),
        "{drift}"
    );

    // A write statement is refused when the config loads, with its place.
    drop(server);
    ws.replace(
        "SELECT nextval('deal_numbers') AS n",
        "DELETE FROM deals WHERE account_email = $1",
    );
    let out = std::process::Command::new(SEAM)
        .args(["check", "--config", &ws.config_str()])
        .env("CRM_DB_URL", pg.url())
        .output()
        .unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stderr.contains("seam.toml:") && stderr.contains("pipelines.triage.context.1.sql"),
        "{stderr}"
    );
    assert!(stderr.contains("connectors only read"), "{stderr}");
}

#[test]
fn connector_config_errors_name_file_line_and_key() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/unused");
    ws.append(
        r#"
[connectors.api]
kind = "http"
base_url = "ftp://nope"
colour = "red"
[connectors.api.auth]
kind = "bearer"
token = "sk-inline-secret"

[[pipelines.triage.context]]
name = "company"
connector = "missing"

[[pipelines.triage.context]]
name = "page"
connector = "api"
paginate = { cursor = { param = "c", next = "next", items = "/data" } }
"#,
    );
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = ws.config_str();
    let text = std::fs::read_to_string(ws.config()).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (needle, key) in [
        ("colour = ", "connectors.api.colour: unknown field `colour`"),
        (
            "base_url = \"ftp",
            "connectors.api.base_url: `ftp://nope` must be an http",
        ),
        (
            "token = \"sk-inline",
            "connectors.api.auth.token: secrets must be referenced",
        ),
        (
            "connector = \"missing\"",
            "pipelines.triage.context.0.connector: connector `missing` is not declared",
        ),
        (
            "paginate = {",
            "pipelines.triage.context.1.paginate.cursor.next: `next` is not a JSON pointer",
        ),
    ] {
        let expected = format!("{file}:{}: {key}", line_of(needle));
        assert!(err.contains(&expected), "{expected}\nnot in\n{err}");
    }
    assert!(!err.contains("sk-inline-secret"), "a secret in an error");
}
