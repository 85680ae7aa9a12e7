//! The fault decision shared by the three chat front-ends (OpenAI, Anthropic,
//! Gemini): check the `--limit` rate limits, count the request, roll the
//! faults, add latency, and carry out the faults that end the connection.
//! Error faults and limit refusals come back as a [`Refusal`] that each
//! front-end renders in its own wire format.

use std::sync::atomic::Ordering;
use std::time::Duration;

use fastrand::Rng;
use hyper::Response;
use sha2::{Digest, Sha256};

use super::faults::Fault;
use super::http::Body;
use super::limit::Over;
use super::stream::Control;
use super::{State, mix};

/// How the connection should end.
pub(crate) enum Outcome {
    Respond(Response<Body>),
    /// Close with RST, no response.
    Reset,
    /// Close quietly, no response.
    Close,
}

/// An error fault, to be answered in the front-end's wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// HTTP 429 with this Retry-After (seconds).
    RateLimited(u64),
    /// Overloaded (503, or 529 for Anthropic), with an optional Retry-After.
    Unavailable(Option<u64>),
    /// HTTP 500.
    ServerError,
    /// HTTP 429 from the `--limit` rate limits.
    OverLimit(Over),
}

/// What the rate limits need to know of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// The model (or Azure deployment) as the request names it.
    pub model: &'a str,
    /// The provider's estimate: prompt text ≈ chars/4 plus the output allowance.
    pub tokens: u64,
}

/// A request that goes on to be answered.
pub(crate) struct Pass {
    /// The request counter, for ids.
    pub counter: u64,
    /// A content fault, or a stall for a streamed answer.
    pub fault: Option<Fault>,
    /// Fault rolls left for content mutations.
    pub frng: Rng,
    /// Delay between stream chunks.
    pub pace: Duration,
}

impl Pass {
    /// How to deliver a stream: paced, and stalled after `first` frames when
    /// the stall fault hit.
    pub(crate) fn control(&self, first: usize) -> Control {
        let stall = match self.fault {
            Some(Fault::Stall(d)) => Some((first, d)),
            _ => None,
        };
        Control {
            pace: self.pace,
            stall,
        }
    }
}

/// What the fault roll says about one request.
pub(crate) enum Gate {
    Pass(Pass),
    Refuse(Refusal),
    /// The connection ends without a response (reset, timeout, or a stall of
    /// a request that does not stream); holds have already been waited out.
    Drop(Outcome),
}

/// Identifies a conversation for `#N` rates: the model and the text of the
/// first user message.
pub(crate) fn conversation_key(model: &str, first_user_text: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(model.as_bytes());
    h.update([0]);
    h.update(first_user_text.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Check the rate limits, then roll the faults of one chat request of
/// `conversation`.
pub(crate) async fn gate(state: &State, ask: Ask<'_>, conversation: u64, stream: bool) -> Gate {
    if let Err(over) = state
        .limiter
        .take(ask.model, ask.tokens, std::time::Instant::now())
    {
        state.stats.rate_limited();
        return Gate::Refuse(Refusal::OverLimit(over));
    }
    let faults = state.faults();
    let counter = state.counter.fetch_add(1, Ordering::Relaxed);
    let conv_index = if faults.uses_conversations() {
        state.conversation_index(conversation)
    } else {
        0
    };
    let mut frng = Rng::with_seed(mix(state.seed, counter));
    let decision = faults.decide(&mut frng, conv_index);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let refusal = match decision.fault {
        Some(Fault::Reset) => return Gate::Drop(Outcome::Reset),
        Some(Fault::Timeout(d)) => {
            hold(state, d).await;
            return Gate::Drop(Outcome::Close);
        }
        Some(Fault::Stall(d)) if !stream => {
            hold(state, d).await;
            return Gate::Drop(Outcome::Close);
        }
        Some(Fault::RateLimited(secs)) => Refusal::RateLimited(secs),
        Some(Fault::Unavailable(secs)) => Refusal::Unavailable(secs),
        Some(Fault::ServerError) => Refusal::ServerError,
        _ => {
            return Gate::Pass(Pass {
                counter,
                fault: decision.fault,
                frng,
                pace: decision.pace,
            });
        }
    };
    Gate::Refuse(refusal)
}

/// Wait `d`, or until the server shuts down.
async fn hold(state: &State, d: Duration) {
    let mut shutdown = state.shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {}
    }
}
