//! JSON Schema → a deterministic, valid instance (and the fault mutations
//! that break one on purpose).

pub(super) mod instance;
pub(super) mod mutate;
mod numbers;
mod pattern;
mod schema;
pub(super) mod text;
pub(super) mod validate;
pub(super) mod waver;
