//! The provider simulator behind `seam simulate`: a stand-in for remote LLM
//! providers in tests and benchmarks, speaking the OpenAI Chat Completions,
//! Anthropic Messages and Gemini API wire formats, with deterministic
//! answers and injectable faults.
//!
//! Routes:
//! - `POST /v1/chat/completions` (OpenAI), `POST /v1/messages` (Anthropic),
//!   `POST /v1beta/models/{model}:generateContent | :streamGenerateContent |
//!   :countTokens` (Gemini) — JSON or SSE; answers are seeded by the request
//!   content and `--seed`, so the same request gets the same answer.
//!   Structured outputs and tool-call arguments are valid instances of their
//!   schema. Faults (see [`FAULTS_HELP`]) are decided once, in
//!   `gate.rs`, for all three, and each front-end answers them in its own
//!   wire format. The OpenAI route checks the prompt plus `max_tokens`
//!   against the model's context window (`tiny-ctx` has 512 tokens, for
//!   tests).
//! - `POST /openai/deployments/{deployment}/chat/completions?api-version=V`
//!   (Azure OpenAI) — the OpenAI handler with Azure's `api-key` header,
//!   `api-version` parameter and gateway errors; the deployment is the
//!   model. Counted as OpenAI in the stats.
//! - `GET /v1/models`, `GET /v1/models/{id}`, `GET /v1beta/models[/{id}]`,
//!   `GET /healthz`.
//! - `GET /sim/stats` — requests per protocol, 429s from `--limit`
//!   (`rate_limited`), and streams open, completed and cancelled (the
//!   client left before the last chunk).
//! - `GET /sim/faults`, `POST /sim/faults` (body: a `--faults` SPEC) — read
//!   or replace the faults at runtime, e.g. heal with an empty body
//!   (`#N` counts start again).
//! - `--limit rpm=N,tpm=N` (`limit.rs`): per-model rate limits like the
//!   hosted providers', checked before the faults.
//! - `POST /helpdesk/<path>`, `GET|DELETE /helpdesk/deliveries` — a mock
//!   helpdesk that deduplicates on `Idempotency-Key`.

mod answer;
mod anthropic;
mod azure;
mod chat;
mod conn;
mod faults;
mod gate;
mod gemini;
mod generate;
mod helpdesk;
mod http;
mod limit;
mod openai;
mod openai_fields;
mod response;
mod router;
mod stats;
mod stream;

#[cfg(test)]
mod refuse_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use faults::{FAULTS_HELP, FaultSpec, parse_faults};
pub use limit::{LIMIT_HELP, LimitSpec, parse_limit};

/// The `seam simulate --help` text after the options: faults, then limits.
pub fn help() -> String {
    format!("{FAULTS_HELP}\n{LIMIT_HELP}")
}

/// How long in-flight requests may finish after shutdown before their
/// connections are dropped.
const DRAIN: Duration = Duration::from_secs(2);
/// Conversations remembered for `#N` rates before the table is reset.
const MAX_CONVERSATIONS: usize = 1 << 20;

/// Shared by every connection.
pub(crate) struct State {
    /// The faults in force and the spec text they came from; replaced by
    /// `POST /sim/faults`.
    faults: RwLock<(Arc<FaultSpec>, String)>,
    /// `--limit`: per-model requests and tokens per minute.
    limiter: limit::Limiter,
    seed: u64,
    /// Chat requests seen, for the fault rolls.
    counter: AtomicU64,
    /// Requests seen per conversation, for `#N` rates.
    conversations: Mutex<HashMap<u64, u32>>,
    helpdesk: helpdesk::Helpdesk,
    validators: generate::validate::Validators,
    /// Requests per protocol and the fate of streams, for `GET /sim/stats`.
    stats: Arc<stats::Stats>,
    /// System prompts marked for Anthropic prompt caching.
    prompt_cache: anthropic::PromptCache,
    shutdown: watch::Receiver<bool>,
}

impl State {
    /// The faults in force now.
    fn faults(&self) -> Arc<FaultSpec> {
        self.faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// The spec text of the faults in force.
    fn faults_text(&self) -> String {
        self.faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Replace the faults; `#N` counts start again.
    fn set_faults(&self, text: &str) -> Result<(), String> {
        let spec = parse_faults(text)?;
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) =
            (Arc::new(spec), text.trim().to_string());
        self.conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        Ok(())
    }

    /// The 0-based index of this request within its conversation.
    fn conversation_index(&self, key: u64) -> u32 {
        let mut map = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_CONVERSATIONS && !map.contains_key(&key) {
            map.clear();
        }
        let n = map.entry(key).or_insert(0);
        let index = *n;
        *n = n.saturating_add(1);
        index
    }
}

/// Combine two values into a well-mixed seed (splitmix64).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    splitmix64(a ^ splitmix64(b))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What `seam simulate` is started with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The `--faults` spec text (parsed again by [`serve_with`]).
    pub faults: String,
    pub seed: u64,
    pub limits: LimitSpec,
}

/// Serve with `faults` and `seed` and no rate limits; see [`serve_with`].
pub async fn serve(
    listener: TcpListener,
    faults: FaultSpec,
    seed: u64,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run(
        listener,
        (faults, String::new()),
        seed,
        LimitSpec::default(),
        shutdown,
    )
    .await
}

/// Serve the simulator on `listener` until `shutdown` resolves: HTTP/1.1 with
/// keep-alive, one task per connection. After shutdown no connection is
/// accepted, idle connections close, and in-flight requests get a short grace
/// period.
pub async fn serve_with(
    listener: TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let faults = parse_faults(&options.faults)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let text = options.faults.trim().to_string();
    run(
        listener,
        (faults, text),
        options.seed,
        options.limits,
        shutdown,
    )
    .await
}

async fn run(
    listener: TcpListener,
    (faults, faults_text): (FaultSpec, String),
    seed: u64,
    limits: LimitSpec,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = Arc::new(State {
        faults: RwLock::new((Arc::new(faults), faults_text)),
        limiter: limit::Limiter::new(limits),
        seed,
        counter: AtomicU64::new(0),
        conversations: Mutex::new(HashMap::new()),
        helpdesk: helpdesk::Helpdesk::default(),
        validators: generate::validate::Validators::default(),
        stats: Arc::default(),
        prompt_cache: anthropic::PromptCache::default(),
        shutdown: stop_rx.clone(),
    });
    let mut conns = JoinSet::new();
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(conn::serve_connection(stream, state.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::debug!(
            open = conns.len(),
            "simulator dropping connections after shutdown grace"
        );
    }
    conns.shutdown().await;
    Ok(())
}
