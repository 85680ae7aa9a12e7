//! Delivering one action as one `INSERT ... ON CONFLICT DO NOTHING` on a
//! connection kept per sink; this sink alone decides which of its failures
//! are transient.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::PostgresSinkConfig;
use crate::act::sinks::{DeliveryError, Receipt};

/// An open connection with the insert prepared on it.
struct Live {
    client: Client,
    insert: Statement,
}

/// The sink: its config and one connection shared by concurrent
/// deliveries (tokio-postgres pipelines their statements), opened on first
/// use and reopened after it breaks.
pub struct PostgresSink {
    config: PostgresSinkConfig,
    live: Mutex<Option<Arc<Live>>>,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PostgresSink {
    pub fn new(config: PostgresSinkConfig) -> PostgresSink {
        PostgresSink {
            config,
            live: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &PostgresSinkConfig {
        &self.config
    }

    /// Insert the row of `body` under `key`. A row already holding the key
    /// counts as delivered: an earlier attempt wrote it.
    pub async fn deliver(&self, body: &Value, key: &str) -> Result<Receipt, DeliveryError> {
        let mut row = match body {
            Value::Object(map) => map.clone(),
            _ => return Err(permanent("the action body is not an object", String::new())),
        };
        row.insert(self.config.key_column.clone(), Value::String(key.into()));
        let row = Value::Object(row).to_string();
        let attempt = async {
            let live = self.connection().await?;
            match live.client.execute(&live.insert, &[&row]).await {
                Ok(inserted) => {
                    if inserted == 0 {
                        tracing::debug!(table = %self.config.table_name, "row already written under this key");
                    }
                    Ok(Receipt { status: None })
                }
                Err(e) => {
                    if e.is_closed() || e.as_db_error().is_none() {
                        self.forget(&live).await;
                    }
                    Err(classify(&e))
                }
            }
        };
        match tokio::time::timeout(self.config.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                // A stalled connection is not trusted again.
                *self.live.lock().await = None;
                Err(DeliveryError {
                    transient: true,
                    status: None,
                    reason: "the delivery timed out".into(),
                    detail: "the delivery timed out".into(),
                })
            }
        }
    }

    /// The open connection, or a new one with the insert prepared.
    async fn connection(&self) -> Result<Arc<Live>, DeliveryError> {
        let mut slot = self.live.lock().await;
        if let Some(live) = slot.as_ref()
            && !live.client.is_closed()
        {
            return Ok(live.clone());
        }
        *slot = None;
        let (client, connection) = self
            .config
            .connect
            .connect(NoTls)
            .await
            .map_err(|e| classify(&e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres sink connection ended");
            }
        });
        let insert = client
            .prepare(&self.config.insert)
            .await
            .map_err(|e| classify(&e))?;
        let live = Arc::new(Live { client, insert });
        *slot = Some(live.clone());
        Ok(live)
    }

    /// Drop `live` if it is still the shared connection.
    async fn forget(&self, live: &Arc<Live>) {
        let mut slot = self.live.lock().await;
        if slot.as_ref().is_some_and(|l| Arc::ptr_eq(l, live)) {
            *slot = None;
        }
    }
}

fn permanent(reason: &str, detail: String) -> DeliveryError {
    DeliveryError {
        transient: false,
        status: None,
        reason: reason.into(),
        detail,
    }
}

/// Map a client error: lost connections and the server's transient
/// classes (08 connection, 40 rollback, 53 resources, 57P shutdown,
/// 57014 cancelled, 58 system) are retried; every other SQLSTATE (a
/// missing table or column, a type or constraint error, permission) is
/// permanent. The reason names the class and SQLSTATE only; the server's
/// message, which may quote row values, goes to the detail.
pub fn classify(e: &tokio_postgres::Error) -> DeliveryError {
    let Some(db) = e.as_db_error() else {
        let shown = e.to_string();
        // Settings the client itself refuses (a password the server asks
        // for and the URL lacks, an unsupported option) will not heal.
        if shown.starts_with("authentication error") || shown.starts_with("invalid configuration") {
            let reason = "the connection settings were refused";
            return permanent(reason, format!("{reason}: {}", with_cause(e)));
        }
        let reason = if e.is_closed() {
            "the connection to the database closed"
        } else {
            "the connection to the database failed"
        };
        return DeliveryError {
            transient: true,
            status: None,
            reason: reason.into(),
            detail: format!("{reason}: {}", with_cause(e)),
        };
    };
    let code = db.code().code();
    let transient = ["08", "40", "53", "57P", "58"]
        .iter()
        .any(|p| code.starts_with(p))
        || db.code() == &SqlState::QUERY_CANCELED;
    let what = describe(db.code());
    DeliveryError {
        transient,
        status: None,
        reason: format!("{what} (SQLSTATE {code})"),
        detail: format!("SQLSTATE {code}: {}", db.message()),
    }
}

/// The error and its cause (tokio-postgres shows them apart); neither
/// holds the connection URL.
fn with_cause(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// A fixed description of a SQLSTATE.
fn describe(code: &SqlState) -> &'static str {
    let c = code.code();
    if *code == SqlState::UNDEFINED_TABLE {
        "the table does not exist"
    } else if *code == SqlState::UNDEFINED_COLUMN {
        "a column does not exist"
    } else if *code == SqlState::INVALID_COLUMN_REFERENCE {
        "the key column has no UNIQUE constraint"
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        "permission denied"
    } else if c.starts_with("28") {
        "the database refused the credentials"
    } else if c.starts_with("22") || c.starts_with("42804") {
        "a value does not fit its column type"
    } else if c.starts_with("23") {
        "the row violates a constraint"
    } else if c.starts_with("08") {
        "the connection to the database failed"
    } else if c.starts_with("40") {
        "the transaction was rolled back (serialization failure or deadlock)"
    } else if c.starts_with("53") {
        "the database is out of resources"
    } else if c.starts_with("57") {
        "the database is shutting down or cancelled the statement"
    } else {
        "the database refused the row"
    }
}
