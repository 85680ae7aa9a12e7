//! Drives one event through the seven layers in order. `run.rs` is the
//! driver, `attempts.rs` the model-call loop (retries, repairs, fallbacks),
//! `batch.rs` the JSONL shape, `context.rs` the shared runtime.

pub(crate) mod admission;
mod attempts;
mod batch;
mod context;
pub mod dead_letters;
mod dual;
pub mod feedback;
mod journal;
pub mod leased;
mod options;
mod progress;
pub(crate) mod record;
pub(crate) mod resume;
pub mod review;
mod run;
pub mod worker;

pub use batch::{BatchSummary, run_batch};
pub use context::Runtime;
pub use options::RunOptions;
pub use progress::{Progress, RunEvent};
pub use run::{RunFailure, RunResult, execute, execute_as, execute_queued, execute_streaming};
