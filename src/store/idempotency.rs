//! `Idempotency-Key` records for the run API: claim a key, store the first
//! answer, replay it.

use std::time::Duration;

/// A request asking to run under an idempotency key.
#[derive(Debug, Clone)]
pub struct IdemClaim {
    pub tenant: String,
    pub key: String,
    pub pipeline: String,
    /// SHA-256 of the canonical JSON body.
    pub body_sha256: String,
    /// How long the claim holds while the run is in flight.
    pub lock: Duration,
    /// Keys older than this are forgotten (at least 24 h).
    pub ttl: Duration,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdemBegin {
    /// The key is new (or its holder died): this request runs.
    Fresh,
    /// A first answer is stored: replay it.
    Replay { status: u16, body: String },
    /// The key was used with another body or pipeline.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claim `claim.key` for a run, atomically (through the writer).
    async fn idem_begin(&self, claim: IdemClaim) -> super::Result<IdemBegin>;
    /// Store the answer of the run that claimed the key.
    async fn idem_finish(
        &self,
        tenant: String,
        key: String,
        status: u16,
        body: String,
    ) -> super::Result<()>;
}
