//! Configuration: `raw.rs` (serde, strict) → `load.rs` (validate, resolve
//! files, compile schemas and templates) → `model.rs` (the checked types
//! the pipeline uses). `locate.rs` maps keys to lines for error reports.

mod budgets;
mod embeddings;
mod guard;
mod load;
mod locate;
mod model;
mod providers;
mod raw;
mod secret;

pub use load::{ConfigError, ConfigErrors, load};
pub use model::{
    Config, EmbeddingsConfig, LocalModelConfig, ModelConfig, Pipeline, ProviderConfig, ServerConfig, StoreConfig,
    Synchronous,
};
pub use raw::RawSink;
pub use secret::{Secret, SecretRef};
