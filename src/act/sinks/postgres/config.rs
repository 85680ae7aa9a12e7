//! PostgreSQL sink config, checked at load without connecting.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};

use crate::act::sinks::fields::{self, FieldSource};
use crate::act::sinks::{SinkErrors, delivery_limits};
use crate::config::{RawSink, SecretRef};

/// PostgreSQL's longest identifier, in bytes.
const MAX_IDENT: usize = 63;

pub struct PostgresSinkConfig {
    /// The parsed connection settings (from a secret: never shown).
    pub connect: tokio_postgres::Config,
    /// `"table"` or `"schema"."table"`, quoted.
    pub table: String,
    /// The unquoted table name, for the audit target.
    pub table_name: String,
    pub key_column: String,
    /// Columns (the field names) and where their values come from.
    pub fields: Vec<(String, FieldSource)>,
    pub max_attempts: u32,
    pub timeout: Duration,
    /// The one statement of a delivery; `$1` is the row as JSON text.
    pub insert: String,
}

impl fmt::Debug for PostgresSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSinkConfig")
            .field("table", &self.table)
            .field("key_column", &self.key_column)
            .field("fields", &self.fields)
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Whether `name` is a plain identifier: a letter or `_`, then letters,
/// digits or `_`, at most 63 bytes. Such names are safe to quote.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_IDENT
}

fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

const IDENT_RULE: &str = "letters, digits and `_`, not starting with a digit, at most 63 bytes";

/// Parse the connection URL (or key=value string) behind the secret
/// reference `url`. Messages never hold the value. Shared with the
/// PostgreSQL connector (`connectors/postgres/`).
pub fn connect_config(url: &str, dir: &Path) -> Result<tokio_postgres::Config, String> {
    let secret = SecretRef::parse_required(url, dir)
        .map_err(|e| format!("{e} (the connection URL holds credentials)"))?
        .resolve()?;
    let mut config = tokio_postgres::Config::from_str(secret.expose()).map_err(|e| {
        let msg = std::error::Error::source(&e)
            .map(|c| c.to_string())
            .unwrap_or_default();
        // Only the option names of these messages are shown, never values.
        if msg.contains("invalid value for option") || msg.contains("unknown option") {
            format!("the connection URL is not valid: {msg}")
        } else {
            "the connection URL is not a valid PostgreSQL URL or key=value string".into()
        }
    })?;
    match config.get_ssl_mode() {
        SslMode::Require => {
            return Err(
                "`sslmode=require`: this sink does not speak TLS yet; connect over a \
                        trusted network or a unix socket and drop `sslmode`"
                    .into(),
            );
        }
        // `prefer` would silently fall back to plaintext; say plaintext.
        _ => {
            config.ssl_mode(SslMode::Disable);
        }
    }
    if config.get_hosts().is_empty() {
        return Err("the connection URL names no host".into());
    }
    if config.get_dbname().is_none() {
        return Err("the connection URL names no database".into());
    }
    Ok(config)
}

impl PostgresSinkConfig {
    pub fn load(raw: &RawSink, dir: &Path) -> Result<PostgresSinkConfig, SinkErrors> {
        let mut errors: SinkErrors = Vec::new();
        let mut err = |path: &[&str], msg: String| {
            errors.push((path.iter().map(|s| s.to_string()).collect(), msg))
        };
        let connect = connect_config(&raw.url, dir)
            .map_err(|e| err(&["url"], e))
            .ok();
        let table = match raw.table.as_deref() {
            None => {
                err(
                    &["table"],
                    "`table` is required for kind = \"postgres\"".into(),
                );
                None
            }
            Some(t) => {
                let parts: Vec<&str> = t.split('.').collect();
                if parts.len() <= 2 && parts.iter().all(|p| is_identifier(p)) {
                    let quoted: Vec<String> = parts.iter().map(|p| quote(p)).collect();
                    Some((quoted.join("."), parts[parts.len() - 1].to_string()))
                } else {
                    err(
                        &["table"],
                        format!("`{t}` must be `table` or `schema.table`, each {IDENT_RULE}"),
                    );
                    None
                }
            }
        };
        let key_column = raw.key_column.as_deref().unwrap_or("idempotency_key");
        if !is_identifier(key_column) {
            err(
                &["key_column"],
                format!("`{key_column}` must be {IDENT_RULE}"),
            );
        }
        for name in raw.fields.keys() {
            if !is_identifier(name) {
                err(
                    &["fields", name],
                    format!("the column name must be {IDENT_RULE}"),
                );
            } else if name == key_column {
                err(
                    &["fields", name],
                    format!("`{name}` is the key column; seam fills it with the idempotency key"),
                );
            }
        }
        let (max_attempts, timeout) = delivery_limits(raw, &mut errors);
        let fields = fields::parse(&raw.fields, &mut errors);
        match (connect, table) {
            (Some(connect), Some((table, table_name))) if errors.is_empty() => {
                let insert = insert_sql(&table, key_column, &fields);
                Ok(PostgresSinkConfig {
                    connect,
                    table,
                    table_name,
                    key_column: key_column.to_string(),
                    fields,
                    max_attempts,
                    timeout,
                    insert,
                })
            }
            _ => Err(errors),
        }
    }

    /// For the audit: host (or socket folder) and table, no credentials.
    pub fn target(&self) -> String {
        let host = match self.connect.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        format!("postgres {host} {}", self.table_name)
    }
}

/// One statement: the row is bound as JSON text and
/// `jsonb_populate_record` converts each value to its column's type
/// (strings to text, numbers to integer or numeric, booleans to boolean,
/// objects and arrays to json/jsonb), so the server does the typing; a
/// row already holding the key is left alone.
fn insert_sql(table: &str, key_column: &str, fields: &[(String, FieldSource)]) -> String {
    let columns: Vec<String> = std::iter::once(key_column)
        .chain(fields.iter().map(|(n, _)| n.as_str()))
        .map(quote)
        .collect();
    let columns = columns.join(", ");
    format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} \
         FROM jsonb_populate_record(NULL::{table}, $1::text::jsonb) \
         ON CONFLICT ({}) DO NOTHING",
        quote(key_column)
    )
}
