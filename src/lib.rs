//! seam: the AI integration layer.
//!
//! Modules are listed in the order an event travels through them: a trigger
//! hands an event to `pipeline`, which drives the seven layers (`ingest`,
//! `prompt`, `infer`, `output`, `act`, `audit`, `flags`/`telemetry`), with all
//! state kept behind the `store` traits. `gateway` serves the
//! OpenAI-compatible endpoint over the same providers. `server` and `cli` are the two edges.

pub mod error;

pub mod config;
pub mod connectors;
pub mod embed;
pub mod kb;

pub mod gateway;
pub mod pipeline;

pub mod act;
pub mod audit;
pub mod budget;
pub mod eval;
pub mod flags;
pub mod infer;
pub mod ingest;
pub mod output;
pub mod prompt;
pub mod telemetry;

pub mod store;

pub mod cli;
pub mod server;
pub mod simulate;

pub mod canonical;
pub mod civil;
pub mod clock;
pub mod schema;

pub use error::{Error, ErrorClass};
