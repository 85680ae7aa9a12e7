//! Layer 3: one model interface over many providers, with timeouts and
//! retries. Providers live in `providers/`, one file each; `registry.rs`
//! is the one place that lists them.

mod error;
mod provider;
mod providers;
mod registry;
mod retry;

pub use error::ProviderError;
pub use provider::{ChatMessage, ChatRequest, ChatResponse, Provider, Usage};
pub use registry::{ProviderKind, Providers};
pub use retry::RetryPolicy;
