//! Connectors: declared systems a pipeline fetches context from, after
//! ingest and before the prompt (`[connectors.NAME]`, used by
//! `[[pipelines.NAME.context]]` steps).
//!
//! - `config.rs` — the `[connectors.NAME]` entry and its checks (secrets
//!   resolved at load).
//! - `step.rs` — a context step: its connector, request, and whether the
//!   run needs it.
//! - `http/` — GET with API-key, bearer or OAuth 2.0 client-credentials
//!   auth (`auth.rs`: token cache, refresh before expiry, single flight),
//!   rate limit, timeout and retries (`request.rs`), pagination by cursor,
//!   Link header or page number (`paginate.rs`), and a TTL response cache.
//! - `postgres.rs` — one parameterised, read-only, row-limited SELECT.
//! - `gather.rs` — runs a pipeline's steps, redacts the answers with the
//!   run's PII placeholders and writes one audit record per step.
//! - `error.rs` — why a step failed, and the class of a run it fails.

pub mod config;
pub mod error;
mod gather;
pub mod http;
pub mod postgres;
pub mod step;

use std::collections::BTreeMap;

pub use config::{ConnectorConfig, RawConnector};
pub use error::{Failure, FailureKind, StepError};
pub use gather::{Gathered, redact};
pub use step::{ContextStep, RawContextStep};

use http::HttpConnector;
use postgres::PostgresConnector;

/// A running connector.
pub enum Connector {
    Http(Box<HttpConnector>),
    Postgres(Box<PostgresConnector>),
}

/// Every declared connector, built once per process and shared by its
/// runs (token caches, rate limits, response caches and connections live
/// here).
#[derive(Default)]
pub struct Connectors {
    by_name: BTreeMap<String, Connector>,
}

impl Connectors {
    /// Start every connector on one HTTP client of their own: it follows
    /// no redirects, so an API key or token never goes to a host the
    /// config did not name (a 3xx is a refused request).
    pub fn build(config: &BTreeMap<String, ConnectorConfig>) -> Result<Connectors, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("seam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the connectors' HTTP client: {e}"))?;
        let client = &client;
        let by_name = config
            .iter()
            .map(|(name, c)| {
                let running = match c {
                    ConnectorConfig::Http(h) => {
                        Connector::Http(Box::new(HttpConnector::new(h.clone(), client.clone())))
                    }
                    ConnectorConfig::Postgres(p) => {
                        Connector::Postgres(Box::new(PostgresConnector::new(p.clone())))
                    }
                };
                (name.clone(), running)
            })
            .collect();
        Ok(Connectors { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Connector> {
        self.by_name.get(name)
    }
}
