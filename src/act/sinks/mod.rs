//! Sinks, one folder each. Adding a sink: a folder, a variant of
//! [`SinkConfig`] and of [`Sink`]'s dispatch, and its kind-only keys in
//! [`KIND_KEYS`]. The outbox worker never learns sink names.

pub mod fields;
pub mod http;
pub mod postgres;

use std::path::Path;

use serde_json::Value;

use crate::config::RawSink;

/// Longest delivery timeout of any sink: a delivery holds its outbox row
/// (its lease renewed) while it runs, and shutdown waits for it.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// `max_attempts` (default 8, at least 1) and `timeout_ms` (default 10 s,
/// at most [`MAX_TIMEOUT_MS`]), the same for every sink kind.
pub(crate) fn delivery_limits(
    raw: &RawSink,
    errors: &mut SinkErrors,
) -> (u32, std::time::Duration) {
    let timeout_ms = raw.timeout_ms.unwrap_or(10_000);
    if timeout_ms > MAX_TIMEOUT_MS {
        errors.push((
            vec!["timeout_ms".into()],
            format!(
                "must be at most {MAX_TIMEOUT_MS} (a delivery holds its outbox row while it runs)"
            ),
        ));
    }
    (
        raw.max_attempts.unwrap_or(8).max(1),
        std::time::Duration::from_millis(timeout_ms),
    )
}

/// Sink kinds and the `[sink]` keys that belong to that kind alone.
const KIND_KEYS: &[(&str, &[&str])] = &[
    ("http", &["method", "headers"]),
    ("postgres", &["table", "key_column"]),
];

/// A declared sink.
#[derive(Debug)]
pub enum SinkConfig {
    Http(http::HttpSinkConfig),
    Postgres(Box<postgres::PostgresSink>),
}

/// Problems as (key path inside `sink`, message).
pub type SinkErrors = Vec<(Vec<String>, String)>;

/// The kind-only keys present in `raw`.
fn present_kind_keys(raw: &RawSink) -> Vec<&'static str> {
    let present = [
        ("method", raw.method.is_some()),
        ("headers", raw.headers.is_some()),
        ("table", raw.table.is_some()),
        ("key_column", raw.key_column.is_some()),
    ];
    present
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect()
}

/// Keys of another kind set on this sink.
fn foreign_keys(raw: &RawSink) -> SinkErrors {
    let mut errors = SinkErrors::new();
    for key in present_kind_keys(raw) {
        let owner = KIND_KEYS
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(kind, _)| *kind);
        if let Some(owner) = owner
            && owner != raw.kind
        {
            errors.push((
                vec![key.to_string()],
                format!("`{key}` is only for kind = \"{owner}\""),
            ));
        }
    }
    errors
}

impl SinkConfig {
    pub fn load(raw: &RawSink, dir: &Path) -> Result<SinkConfig, SinkErrors> {
        let known = KIND_KEYS.iter().map(|(k, _)| *k);
        if !known.clone().any(|k| k == raw.kind) {
            let known: Vec<String> = known.map(|k| format!("`{k}`")).collect();
            return Err(vec![(
                vec!["kind".into()],
                format!(
                    "`{}` is not a sink kind; known kinds: {}",
                    raw.kind,
                    known.join(", ")
                ),
            )]);
        }
        let foreign = foreign_keys(raw);
        let loaded = match raw.kind.as_str() {
            "postgres" => postgres::PostgresSinkConfig::load(raw, dir)
                .map(|c| SinkConfig::Postgres(Box::new(postgres::PostgresSink::new(c)))),
            _ => http::HttpSinkConfig::load(raw, dir).map(SinkConfig::Http),
        };
        match loaded {
            Ok(sink) if foreign.is_empty() => Ok(sink),
            Ok(_) => Err(foreign),
            Err(mut errors) => {
                errors.extend(foreign);
                Err(errors)
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Http(_) => "http",
            SinkConfig::Postgres(_) => "postgres",
        }
    }

    /// Where the action goes, for the audit: method, scheme and host only,
    /// since paths and queries of webhook URLs often carry tokens; for
    /// PostgreSQL the host and table, never the user or password.
    pub fn target(&self) -> String {
        match self {
            SinkConfig::Http(c) => format!(
                "{} {}://{}",
                c.method,
                c.url.scheme(),
                c.url.host_str().unwrap_or("")
            ),
            SinkConfig::Postgres(s) => s.config().target(),
        }
    }

    /// Longest a delivery may take.
    pub fn timeout(&self) -> std::time::Duration {
        match self {
            SinkConfig::Http(c) => c.timeout,
            SinkConfig::Postgres(s) => s.config().timeout,
        }
    }

    /// Body fields filled from the output: (field name, pointer inside `/output`).
    pub fn output_pointers(&self) -> Vec<(&str, &str)> {
        match self {
            SinkConfig::Http(c) => fields::output_pointers(&c.fields),
            SinkConfig::Postgres(s) => fields::output_pointers(&s.config().fields),
        }
    }

    pub fn max_attempts(&self) -> u32 {
        match self {
            SinkConfig::Http(c) => c.max_attempts,
            SinkConfig::Postgres(s) => s.config().max_attempts,
        }
    }

    /// Build the action body from the run's data.
    pub fn body(&self, input: &Value, output: &Value, run: &Value) -> Value {
        match self {
            SinkConfig::Http(c) => c.body(input, output, run),
            SinkConfig::Postgres(s) => fields::body(&s.config().fields, input, output, run),
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
            SinkConfig::Postgres(s) => s.deliver(body, key).await,
        }
    }
}

/// A confirmed delivery.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The HTTP status; none for sinks that do not speak HTTP.
    pub status: Option<u16>,
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
