//! Sinks, one folder each. Adding a sink: a folder, a variant of
//! [`SinkConfig`] and of [`Sink`]'s dispatch. The outbox worker never
//! learns sink names.

pub mod http;

use std::path::Path;

use serde_json::Value;

use crate::config::RawSink;

/// A declared sink.
#[derive(Debug)]
pub enum SinkConfig {
    Http(http::HttpSinkConfig),
}

/// Problems as (key path inside `sink`, message).
pub type SinkErrors = Vec<(Vec<String>, String)>;

impl SinkConfig {
    pub fn load(raw: &RawSink, dir: &Path) -> Result<SinkConfig, SinkErrors> {
        match raw.kind.as_str() {
            "http" => http::HttpSinkConfig::load(raw, dir).map(SinkConfig::Http),
            other => Err(vec![(
                vec!["kind".into()],
                format!("`{other}` is not a sink kind; known kinds: `http`"),
            )]),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Http(_) => "http",
        }
    }

    /// Where the action goes, for the audit: method, scheme and host only,
    /// since paths and queries of webhook URLs often carry tokens.
    pub fn target(&self) -> String {
        match self {
            SinkConfig::Http(c) => format!(
                "{} {}://{}",
                c.method,
                c.url.scheme(),
                c.url.host_str().unwrap_or("")
            ),
        }
    }

    /// Longest a delivery may take; the outbox lease outlasts it.
    pub fn timeout(&self) -> std::time::Duration {
        match self {
            SinkConfig::Http(c) => c.timeout,
        }
    }

    /// Body fields filled from the output: (field name, pointer inside `/output`).
    pub fn output_pointers(&self) -> Vec<(&str, &str)> {
        match self {
            SinkConfig::Http(c) => c
                .fields
                .iter()
                .filter(|(_, src)| src.root == "output")
                .map(|(name, src)| (name.as_str(), src.pointer.as_str()))
                .collect(),
        }
    }

    pub fn max_attempts(&self) -> u32 {
        match self {
            SinkConfig::Http(c) => c.max_attempts,
        }
    }

    /// Build the action body from the run's data.
    pub fn body(&self, input: &Value, output: &Value, run: &Value) -> Value {
        match self {
            SinkConfig::Http(c) => c.body(input, output, run),
        }
    }

    /// Deliver one action.
    pub async fn deliver(
        &self,
        client: &reqwest::Client,
        body: &Value,
        key: &str,
    ) -> Result<Receipt, DeliveryError> {
        match self {
            SinkConfig::Http(c) => http::deliver(c, client, body, key).await,
        }
    }
}

/// A confirmed delivery.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub status: u16,
}

/// A failed delivery; the sink decides whether it is worth retrying.
#[derive(Debug, Clone)]
pub struct DeliveryError {
    pub transient: bool,
    pub status: Option<u16>,
    /// A fixed description that holds no data from the sink (safe for the
    /// audit log).
    pub reason: String,
    /// The sink's own words (its response body may echo PII): kept with the
    /// outbox row only.
    pub detail: String,
}
