//! Layer 3: one model interface over many providers, with timeouts and
//! retries. Providers live in `providers/`, one file or folder each;
//! `registry.rs` is the one place that lists them.

pub mod baseline;
mod error;
pub mod guard;
pub mod http;
pub mod prices;
mod provider;
mod providers;
mod registry;
mod retry;
pub mod stream;
pub mod structured;
pub mod tokens;

pub use error::ProviderError;
/// How an `embedding-classifier` fills an output schema (checked at load).
pub use providers::embedding_classifier::plan::plan as classifier_plan;
/// The output schema as providers other than classifiers see it.
pub use provider::{
    ChatMessage, ChatRequest, ChatResponse, ChatStream, Provider, ResponseFormat, Role,
    StreamEvent, Tool, ToolCall, ToolChoice, Usage, finish,
};
pub use registry::{ProviderKind, Providers};
pub use retry::RetryPolicy;
pub use structured::StructuredMode;
