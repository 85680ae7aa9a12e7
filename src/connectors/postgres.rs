//! The PostgreSQL connector: one parameterised SELECT per step, read-only
//! and row-limited, each row a JSON object.
//!
//! The statement is checked at load (one SELECT or WITH … SELECT, no
//! data-modifying keyword, `$n` placeholders matching `params`), then run
//! as `SELECT row_to_json(q)::text FROM (<sql>) AS q LIMIT max_rows + 1`
//! on a connection opened with `default_transaction_read_only=on` (every
//! statement is its own read-only transaction, which a connection shared
//! by concurrent runs can hold safely, unlike `BEGIN READ ONLY`) and the
//! connector's `statement_timeout`. The server does the typing: any
//! column type becomes JSON. A read-only database role is still the
//! recommended guard.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::config::PostgresConfig;
use super::error::{Failure, FailureKind};

/// Words that make a statement write, lock, or change the session (a
/// `set_config` could switch the shared connection out of read-only):
/// refused inside string literals too (a simple check, on purpose).
const REFUSED: [&str; 12] = [
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "TRUNCATE",
    "DROP",
    "ALTER",
    "CREATE",
    "INTO",
    "SET",
    "RESET",
    "SET_CONFIG",
];

/// Check a step's SQL and return it without a trailing `;`.
pub fn check_sql(sql: &str, params: usize) -> Result<String, String> {
    let body = sql.trim().trim_end_matches(';').trim_end();
    if body.contains(';') {
        return Err("must be a single statement (no `;` inside)".into());
    }
    let words: Vec<String> = body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect();
    if !matches!(words.first().map(String::as_str), Some("SELECT" | "WITH")) {
        return Err("must be one SELECT (or WITH … SELECT) statement: connectors only read".into());
    }
    if let Some(w) = words.iter().find(|w| REFUSED.contains(&w.as_str())) {
        return Err(format!(
            "must only read: `{w}` is not allowed in a connector's query"
        ));
    }
    let used = placeholders(body);
    let highest = used.iter().copied().max().unwrap_or(0);
    if highest != params {
        return Err(format!(
            "uses placeholders up to ${highest} but `params` has {params} value(s); \
             every value must be a `$n` placeholder, never spliced into the text"
        ));
    }
    if let Some(missing) = (1..=highest).find(|n| !used.contains(n)) {
        return Err(format!("placeholder ${missing} is never used"));
    }
    Ok(body.to_string())
}

/// The numbers of every `$n` in `sql`.
fn placeholders(sql: &str) -> Vec<usize> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if let Ok(n) = sql[start..end].parse::<usize>() {
                found.push(n);
            }
            i = end.max(start);
        } else {
            i += 1;
        }
    }
    found
}

/// What a query gave.
#[derive(Debug, Clone)]
pub struct Rows {
    pub rows: Vec<Value>,
    /// More than `max_rows` matched; the rest were left.
    pub truncated: bool,
}

pub struct PostgresConnector {
    config: PostgresConfig,
    live: Mutex<Option<Arc<Client>>>,
}

impl PostgresConnector {
    pub fn new(mut config: PostgresConfig) -> PostgresConnector {
        let mut options = config.connect.get_options().unwrap_or_default().to_string();
        options.push_str(&format!(
            " -c default_transaction_read_only=on -c statement_timeout={}",
            config.timeout.as_millis()
        ));
        config.connect.options(options.trim());
        PostgresConnector {
            config,
            live: Mutex::new(None),
        }
    }

    pub async fn query(
        &self,
        sql: &str,
        params: &[&Value],
        deadline: Instant,
    ) -> Result<Rows, Failure> {
        let limit = u64::from(self.config.max_rows) + 1;
        let wrapped = format!("SELECT row_to_json(q)::text FROM ({sql}) AS q LIMIT {limit}");
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::transient("the run's deadline passed"));
        }
        let run = async {
            let client = self.connection().await?;
            let statement = client
                .prepare(&wrapped)
                .await
                .map_err(|e| self.fail(&client, &e))?;
            let bound = bind(statement.params(), params)?;
            let refs: Vec<&(dyn ToSql + Sync)> = bound
                .iter()
                .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let rows = client
                .query(&statement, &refs)
                .await
                .map_err(|e| self.fail(&client, &e))?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let text: String = row
                    .try_get(0)
                    .map_err(|_| Failure::new(FailureKind::Response, "a row is not JSON"))?;
                out.push(
                    serde_json::from_str(&text)
                        .map_err(|_| Failure::new(FailureKind::Response, "a row is not JSON"))?,
                );
            }
            let truncated = out.len() as u64 >= limit;
            out.truncate(self.config.max_rows as usize);
            Ok(Rows {
                rows: out,
                truncated,
            })
        };
        let timeout = self.config.timeout.min(remaining);
        match tokio::time::timeout(timeout + Duration::from_millis(200), run).await {
            Ok(result) => result,
            Err(_) => {
                // A stalled connection is not trusted again.
                *self.live.lock().await = None;
                Err(Failure::transient(format!(
                    "the query timed out after {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }

    /// Map a client error, dropping a broken connection.
    fn fail(&self, client: &Arc<Client>, e: &tokio_postgres::Error) -> Failure {
        let classified = crate::act::sinks::postgres::classify(e);
        if (e.is_closed() || e.as_db_error().is_none())
            && let Ok(mut slot) = self.live.try_lock()
            && slot.as_ref().is_some_and(|l| Arc::ptr_eq(l, client))
        {
            *slot = None;
        }
        let kind = if classified.transient {
            FailureKind::Transient
        } else {
            FailureKind::Rejected
        };
        Failure::new(kind, classified.reason.replace("the row", "the query"))
    }

    async fn connection(&self) -> Result<Arc<Client>, Failure> {
        let mut slot = self.live.lock().await;
        if let Some(client) = slot.as_ref()
            && !client.is_closed()
        {
            return Ok(client.clone());
        }
        *slot = None;
        let (client, connection) = self.config.connect.connect(NoTls).await.map_err(|e| {
            let c = crate::act::sinks::postgres::classify(&e);
            let kind = if c.transient {
                FailureKind::Transient
            } else {
                FailureKind::Auth
            };
            Failure::new(kind, c.reason)
        })?;
        let name = self.config.name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(connector = %name, error = %e, "postgres connector connection ended");
            }
        });
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}

type Bound = Box<dyn ToSql + Sync + Send>;

/// Convert each JSON value to the type the server inferred for its
/// placeholder. Messages name the placeholder and type, not the value.
fn bind(types: &[Type], values: &[&Value]) -> Result<Vec<Bound>, Failure> {
    types
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (ty, v))| {
            let n = i + 1;
            let wrong = || {
                Failure::new(
                    FailureKind::Input,
                    format!("the value of ${n} does not fit its type `{ty}`"),
                )
            };
            let text = || match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let b: Bound = match *ty {
                Type::BOOL => Box::new(match v {
                    Value::Bool(b) => *b,
                    Value::String(s) => s.parse().map_err(|_| wrong())?,
                    _ => return Err(wrong()),
                }),
                Type::INT2 => {
                    Box::new(i16::try_from(int(v).ok_or_else(wrong)?).map_err(|_| wrong())?)
                }
                Type::INT4 => {
                    Box::new(i32::try_from(int(v).ok_or_else(wrong)?).map_err(|_| wrong())?)
                }
                Type::INT8 => Box::new(int(v).ok_or_else(wrong)?),
                Type::FLOAT4 => Box::new(float(v).ok_or_else(wrong)? as f32),
                Type::FLOAT8 => Box::new(float(v).ok_or_else(wrong)?),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    Box::new(text())
                }
                _ => {
                    return Err(Failure::new(
                        FailureKind::Rejected,
                        format!(
                            "${n} has type `{ty}`, which a connector does not bind; \
                             cast it in the SQL (e.g. `${n}::text::{ty}`)"
                        ),
                    ));
                }
            };
            Ok(b)
        })
        .collect()
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_reads_pass() {
        assert_eq!(
            check_sql(" SELECT a FROM t WHERE d = $1 ; ", 1).as_deref(),
            Ok("SELECT a FROM t WHERE d = $1")
        );
        assert!(check_sql("with x as (select 1) select * from x", 0).is_ok());
        assert!(check_sql("SELECT updated_at, offset_days FROM t LIMIT 5 OFFSET 5", 0).is_ok());
        for bad in [
            "DELETE FROM t",
            "UPDATE t SET a = 1",
            "SELECT 1; DROP TABLE t",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO copy FROM t",
            "SELECT * FROM t FOR UPDATE",
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            "VALUES (1)",
        ] {
            assert!(check_sql(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_match_params() {
        assert!(check_sql("SELECT $1, $2", 2).is_ok());
        assert!(check_sql("SELECT $1, $1", 1).is_ok());
        assert!(check_sql("SELECT $2", 2).unwrap_err().contains("$1"));
        assert!(check_sql("SELECT $1", 2).is_err());
        assert!(check_sql("SELECT 1", 1).is_err());
        assert_eq!(placeholders("a $10 b $2 $ c"), vec![10, 2]);
    }

    #[test]
    fn values_bind_to_their_types() {
        let one = Value::from(1);
        let s = Value::from("7");
        assert!(bind(&[Type::INT4], &[&one]).is_ok());
        assert!(bind(&[Type::INT4], &[&s]).is_ok());
        assert!(bind(&[Type::TEXT], &[&one]).is_ok());
        let big = Value::from(1_i64 << 40);
        let e = bind(&[Type::INT4], &[&big]).err().unwrap();
        assert!(!e.reason.contains("1099511627776"), "{}", e.reason);
        assert!(bind(&[Type::UUID], &[&s]).is_err());
    }
}
