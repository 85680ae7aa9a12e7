//! Layer 5: turn a verified output into an action on a declared sink,
//! written to the outbox with the run and delivered by a worker with
//! retries. Every delivery carries an idempotency key.

pub mod breakers;
pub mod idempotency;
pub mod outbox;
pub mod sinks;
