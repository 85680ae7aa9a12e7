//! Test harness: start the real `seam` binary (server or simulator) on a
//! free loopback port, read the port from its "listening on" line, and kill
//! it when the handle drops. A small real HTTP sink records deliveries.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod pg;

pub const SEAM: &str = env!("CARGO_BIN_EXE_seam");

/// A running `seam` process.
pub struct Proc {
    child: Child,
    pub url: String,
}

impl Proc {
    /// Send SIGTERM and wait for the process to exit.
    pub fn terminate_and_wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "seam did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Proc {
    spawn_with_env(args, &[])
}

fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut child = Command::new(SEAM)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SEAM_LOG")
        .env_remove("SEAM_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start seam");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read listening line");
    let url = line
        .trim()
        .rsplit_once("listening on ")
        .map(|(_, u)| u.to_string())
        .unwrap_or_else(|| panic!("no listening line from seam {args:?}: {line:?}"));
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Proc { child, url }
}

/// `seam simulate` on a free port with the given fault spec.
pub fn simulator(faults: &str) -> Proc {
    spawn(&["simulate", "--listen", "127.0.0.1:0", "--faults", faults])
}

/// `seam simulate` on a free port with extra arguments (`--faults`,
/// `--limit`, `--seed`).
pub fn simulator_with(args: &[&str]) -> Proc {
    let mut all = vec!["simulate", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    spawn(&all)
}

/// `seam serve` on a free port.
pub fn server(config: &Path) -> Proc {
    spawn(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
}

/// `seam serve` on a free port with extra environment variables (secrets
/// the config references as `env:NAME`).
pub fn server_with_env(config: &Path, env: &[(&str, &str)]) -> Proc {
    spawn_with_env(
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        env,
    )
}

/// Run a `seam` command to completion.
pub fn seam(args: &[&str]) -> Output {
    Command::new(SEAM)
        .args(args)
        .env_remove("SEAM_LOG")
        .output()
        .expect("run seam")
}

/// A temp folder holding a copy of the ticket-triage example, with the
/// provider pointed at `provider_url` and the sink at `sink_url`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn triage(provider_url: &str, sink_url: &str) -> Workspace {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ticket-triage");
        let dir = tempfile::tempdir().unwrap();
        for sub in ["schemas", "prompts"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(example.join(sub)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(
            example.join("tickets.jsonl"),
            dir.path().join("tickets.jsonl"),
        )
        .unwrap();
        let config = std::fs::read_to_string(example.join("seam.toml"))
            .unwrap()
            .replace("http://127.0.0.1:8787/v1", &format!("{provider_url}/v1"))
            .replace("http://127.0.0.1:8787/helpdesk/tickets/triage", sink_url)
            .replace("base_delay_ms = 100", "base_delay_ms = 20")
            .replace("max_delay_ms = 2000", "max_delay_ms = 200");
        std::fs::write(dir.path().join("seam.toml"), config).unwrap();
        Workspace { dir }
    }

    /// A temp copy of `examples/NAME/` (its store left behind) with every
    /// `http://127.0.0.1:8787` (the simulator, and the business system it
    /// plays) pointed at `sim_url`.
    pub fn example(name: &str, sim_url: &str) -> Workspace {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                let (src, dst) = (entry.path(), to.join(entry.file_name()));
                if entry.file_name() == ".seam" {
                    continue;
                }
                if src.is_dir() {
                    copy(&src, &dst);
                } else {
                    std::fs::copy(&src, &dst).unwrap();
                }
            }
        }
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        let dir = tempfile::tempdir().unwrap();
        copy(&example, dir.path());
        let config = std::fs::read_to_string(dir.path().join("seam.toml"))
            .unwrap()
            .replace("http://127.0.0.1:8787", sim_url);
        std::fs::write(dir.path().join("seam.toml"), config).unwrap();
        Workspace { dir }
    }

    /// Replace text in the config (it must be there).
    pub fn replace(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(self.config(), text.replace(from, to)).unwrap();
    }

    /// Add TOML tables (models, providers) to the config.
    pub fn append(&self, toml: &str) {
        let mut text = std::fs::read_to_string(self.config()).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(self.config(), text).unwrap();
    }

    /// Append `toml` to the config and run `seam check`, which must fail
    /// (exit 1). Each `(n, "key: message")` must be reported as
    /// `FILE:LINE: key: message…` where LINE is the n-th line of `toml`
    /// (1-based). Returns the whole report.
    pub fn check_appended(&self, toml: &str, expected: &[(usize, &str)]) -> String {
        let before = std::fs::read_to_string(self.config()).unwrap().lines().count();
        self.append(toml);
        let out = seam(&["check", "--config", &self.config_str()]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{err}");
        // `append` adds a newline first: toml's line 1 is line before + 2.
        for (n, what) in expected {
            let want = format!("{}:{}: {what}", self.config_str(), before + 1 + n);
            assert!(err.contains(&want), "missing {want:?} in:\n{err}");
        }
        err
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("seam.toml")
    }

    pub fn config_str(&self) -> String {
        self.config().to_str().unwrap().to_string()
    }

    /// `seam run triage --input FILE [--output FILE]` on this workspace.
    pub fn run_batch(&self, input: &Path, output: Option<&Path>) -> Output {
        let mut args = vec!["run", "triage", "--config"];
        let config = self.config_str();
        args.push(&config);
        args.extend(["--input", input.to_str().unwrap()]);
        if let Some(out) = output {
            args.extend(["--output", out.to_str().unwrap()]);
        }
        seam(&args)
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join(".seam/triage.db")
    }

    /// The first column of every row `sql` selects from the store, one a
    /// line (to search the stored text for what must not be there).
    pub fn db_text(&self, sql: &str) -> String {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join("\n")
    }
}

pub fn ticket(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "ticket_id": id,
        "subject": "Charged twice",
        "body": body,
        "customer": {"email": "dana@example.com", "plan": "pro"}
    })
}

/// `POST /v1/pipelines/triage/runs` (a sync run): status and JSON body.
pub fn run_triage(server: &Proc, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", server.url))
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A delivery the test sink received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub key: String,
    pub body: serde_json::Value,
    pub status: u16,
}

/// A real HTTP sink on a free port that fails the first `fail_first`
/// requests with 500, then answers 201.
pub struct TestSink {
    pub url: String,
    pub received: Arc<Mutex<Vec<Delivery>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TestSink {
    pub fn start(fail_first: usize) -> TestSink {
        use axum::http::{HeaderMap, StatusCode};
        let received: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/tickets/triage",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let mut log = log.lock().unwrap();
                    let status = if log.len() < fail_first { 500 } else { 201 };
                    log.push(Delivery {
                        key: headers
                            .get("idempotency-key")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default(),
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                        status,
                    });
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let (runtime, addr) = serve_in_background(app);
        TestSink {
            url: format!("http://{addr}/tickets/triage"),
            received,
            _runtime: runtime,
        }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until `pred` holds for the deliveries, or panic after 15 s.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let d = self.deliveries();
            if pred(&d) {
                return d;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}: {d:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The usual test stack: simulator (with `faults`), a sink failing its
/// first `sink_failures` requests, the triage example wired to both, and
/// `seam serve` on it.
pub struct Stack {
    pub server: Proc,
    pub sink: TestSink,
    pub ws: Workspace,
    pub sim: Proc,
}

pub fn stack(faults: &str, sink_failures: usize) -> Stack {
    let sim = simulator(faults);
    let sink = TestSink::start(sink_failures);
    let ws = Workspace::triage(&sim.url, &sink.url);
    let server = server(&ws.config());
    Stack {
        server,
        sink,
        ws,
        sim,
    }
}

/// A provider endpoint that always answers `status` with an OpenAI-style
/// error body, counting the calls it gets. Returns (base URL, counter).
pub struct FailingProvider {
    pub url: String,
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl FailingProvider {
    pub fn start(status: u16) -> FailingProvider {
        use std::sync::atomic::Ordering;
        let calls: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = serde_json::json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}});
                    (axum::http::StatusCode::from_u16(status).unwrap(), axum::Json(body))
                }
            }),
        );
        let (runtime, addr) = serve_in_background(app);
        FailingProvider {
            url: format!("http://{addr}"),
            calls,
            _runtime: runtime,
        }
    }
}

/// Serve `app` on a free loopback port from a runtime of its own; the
/// server lives as long as the returned runtime.
pub fn serve_in_background(app: axum::Router) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (runtime, addr)
}

/// What `seam simulate --faults fabricate=…` puts in place of a quote
/// (`src/simulate/generate/mutate.rs`), copied here on purpose: the ground
/// truth of which runs were fabricated, independent of seam's matcher.
pub const SIMULATOR_INVENTED: &[&str] = &[
    "According to the signed contract, a full refund is guaranteed within 24 hours",
    "The account was flagged for review by the security team on 12 March",
    "Our records show the order shipped on 2 February via express courier",
    "The customer confirmed they had already reset their password twice",
    "Section 4.2 of the service agreement waives all late fees",
];

/// An OpenAI chat-completion response for `model` whose assistant message
/// is `content`.
pub fn chat_completion(model: &serde_json::Value, content: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "chatcmpl-double", "object": "chat.completion", "created": 0,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    })
}

/// A model double on a loopback port speaking the OpenAI chat wire:
/// `answer` maps the request's messages (as JSON text) to the assistant's
/// answer (a JSON value, sent as its text). Returns the runtime serving it
/// and its base URL (without `/v1`).
pub fn model_double(answer: fn(&str) -> serde_json::Value) -> (tokio::runtime::Runtime, String) {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(
            move |axum::Json(req): axum::Json<serde_json::Value>| async move {
                let content = answer(&req["messages"].to_string()).to_string();
                axum::Json(chat_completion(&req["model"], &content))
            },
        ),
    );
    let (runtime, addr) = serve_in_background(app);
    (runtime, format!("http://{addr}"))
}

/// A Python with the test clients of tests/python/requirements.txt, in a
/// venv under target/ made on first use (and remade when the requirements
/// change). `.ci/run` makes it ahead of time.
pub fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/py-venv");
    let py = venv.join("bin/python");
    let requirements = root.join("tests/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let stamp = venv.join(".requirements");
    if py.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return py;
    }
    let ok = Command::new("python3")
        .args(["-m", "venv", venv.to_str().unwrap()])
        .status()
        .expect("python3 is needed for the SDK tests")
        .success();
    assert!(ok, "python3 -m venv failed");
    let ok = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .unwrap()
        .success();
    assert!(ok, "pip install -r tests/python/requirements.txt failed");
    std::fs::write(&stamp, wanted).unwrap();
    py
}

/// The small GGUF model the local-provider tests run, fetched (and its
/// sha256 checked) by scripts/fetch-model.sh on first use.
pub fn model_weights() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.is_file() {
        let out = Command::new(root.join("scripts/fetch-model.sh"))
            .output()
            .expect("cannot run scripts/fetch-model.sh");
        assert!(
            out.status.success() && path.is_file(),
            "scripts/fetch-model.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}

/// The embedding model's folder (all-MiniLM-L6-v2: model.safetensors,
/// config.json, tokenizer.json), fetched (each file's sha256 checked) by
/// `scripts/fetch-model.sh all-minilm-l6-v2` on first use.
pub fn embedding_model() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("models/all-minilm-l6-v2");
    let complete = ["model.safetensors", "config.json", "tokenizer.json"]
        .iter()
        .all(|f| dir.join(f).is_file());
    if !complete {
        let out = Command::new(root.join("scripts/fetch-model.sh"))
            .arg("all-minilm-l6-v2")
            .output()
            .expect("cannot run scripts/fetch-model.sh");
        assert!(
            out.status.success() && dir.join("model.safetensors").is_file(),
            "scripts/fetch-model.sh all-minilm-l6-v2 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

/// GET `url`, which must answer 2xx, as JSON.
pub fn get_json(url: &str) -> serde_json::Value {
    let resp = client().get(url).send().unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().unwrap()
}

/// The Prometheus text of the server at `base_url`.
pub fn metrics(base_url: &str) -> String {
    client()
        .get(format!("{base_url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}
