//! What can go wrong running a local model, and how each failure maps onto
//! the provider error classes that decide retries.

use crate::infer::ProviderError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum LocalError {
    #[error("cannot start the llama.cpp backend: {0}")]
    Backend(String),
    #[error("cannot load the model {path}: {message}")]
    Load { path: String, message: String },
    #[error("cannot create a llama.cpp context: {0}")]
    Context(String),
    #[error("cannot build the JSON-Schema constraint: {0}")]
    Schema(String),
    #[error("cannot apply the chat template: {0}")]
    Template(String),
    #[error(
        "the prompt is {prompt} tokens, which does not fit the context of {context}; raise `context_size`"
    )]
    PromptTooLong { prompt: usize, context: usize },
    #[error("llama.cpp failed while decoding: {0}")]
    Decode(String),
    #[error("the request ran out of time")]
    Timeout,
    #[error("the local model worker has stopped")]
    WorkerGone,
}

impl LocalError {
    /// The provider error a run sees. Problems with the request or its
    /// schema are not retried; a worker that died or a decode failure are.
    pub fn into_provider_error(self, timeout_ms: u64) -> ProviderError {
        let message = self.to_string();
        match self {
            LocalError::Timeout => ProviderError::Timeout(timeout_ms),
            LocalError::Schema(_) | LocalError::Template(_) | LocalError::PromptTooLong { .. } => {
                ProviderError::Rejected {
                    status: 400,
                    message,
                }
            }
            LocalError::WorkerGone => ProviderError::Connection(message),
            LocalError::Backend(_)
            | LocalError::Load { .. }
            | LocalError::Context(_)
            | LocalError::Decode(_) => ProviderError::Server {
                status: 500,
                retry_after: None,
                message,
            },
        }
    }
}
