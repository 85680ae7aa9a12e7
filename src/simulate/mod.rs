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
//! - `GET /sim/stats` — requests per protocol and streams open, completed
//!   and cancelled (the client left before the last chunk).
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
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use faults::{FAULTS_HELP, FaultSpec, parse_faults};

/// How long in-flight requests may finish after shutdown before their
/// connections are dropped.
const DRAIN: Duration = Duration::from_secs(2);
/// Conversations remembered for `#N` rates before the table is reset.
const MAX_CONVERSATIONS: usize = 1 << 20;

/// Shared by every connection.
pub(crate) struct State {
    faults: FaultSpec,
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

/// Serve the simulator on `listener` until `shutdown` resolves: HTTP/1.1 with
/// keep-alive, one task per connection. After shutdown no connection is
/// accepted, idle connections close, and in-flight requests get a short grace
/// period.
pub async fn serve(
    listener: TcpListener,
    faults: FaultSpec,
    seed: u64,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = Arc::new(State {
        faults,
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
