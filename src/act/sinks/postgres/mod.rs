//! The PostgreSQL sink: one row per action in a fixed table, the
//! idempotency key in a UNIQUE column, written with
//! `INSERT ... ON CONFLICT (key) DO NOTHING` so a redelivery never adds a
//! second row. The connection URL comes from a secret reference.

mod config;
mod sink;

pub use config::{PostgresSinkConfig, connect_config, is_identifier};
pub use sink::{PostgresSink, classify};

#[cfg(test)]
mod tests;
