//! The dead-letter queue over both queues: background runs given up on
//! (`queue`, status `dead`) and deliveries given up on (`outbox`, status
//! `dead`). Entries are named by their run id; retry and purge are audited
//! under that run, so an entry keeps its history through every retry.

use rusqlite::{Connection, Row, params};
use serde_json::json;

use super::audit::{self, ChainHead};
use crate::clock::{now_ms, now_rfc3339};
use crate::store::{AuditEntry, DeadEntry, DeadFilter, Result};

/// The filter's bindings: ?1 id, ?2 pipeline, ?3 error type, ?4 layer.
const RUNS: &str = "status = 'dead' AND (?1 IS NULL OR id = ?1)
    AND (?2 IS NULL OR pipeline = ?2) AND (?3 IS NULL OR error_type = ?3)
    AND (?4 IS NULL OR error_layer = ?4)";
const DELIVERIES: &str = "status = 'dead' AND (?1 IS NULL OR run_id = ?1)
    AND (?2 IS NULL OR pipeline = ?2) AND (?3 IS NULL OR error_type = ?3)
    AND (?4 IS NULL OR ?4 = 'act')";

fn entry(r: &Row<'_>) -> rusqlite::Result<DeadEntry> {
    Ok(DeadEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        pipeline: r.get(2)?,
        layer: r.get(3)?,
        attempts: r.get(4)?,
        retries: r.get(5)?,
        error_type: r.get(6)?,
        error_class: r.get(7)?,
        error_message: r.get(8)?,
        created_at: r.get(9)?,
        died_at: r.get(10)?,
    })
}

pub fn list(conn: &Connection, f: &DeadFilter, limit: usize) -> Result<Vec<DeadEntry>> {
    let sql = format!(
        "SELECT id, 'run', pipeline, error_layer, attempts, dlq_retries, error_type, error_class,
                error_message, created_at, finished_at FROM queue WHERE {RUNS}
         UNION ALL
         SELECT run_id, 'delivery', pipeline, 'act', attempts, dlq_retries, error_type, error_class,
                last_error, created_at, dead_at FROM outbox WHERE {DELIVERIES}
         ORDER BY 11, 1 LIMIT ?5"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![f.id, f.pipeline, f.error_type, f.layer, limit as i64],
            entry,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Audit one action on each matching entry, before the change.
fn audit_each(
    tx: &Connection,
    head: &mut ChainHead,
    f: &DeadFilter,
    action: &str,
) -> Result<usize> {
    let entries = list(tx, f, usize::MAX >> 1)?;
    let at = now_rfc3339();
    let records: Vec<AuditEntry> = entries
        .iter()
        .map(|e| AuditEntry {
            run_id: Some(e.id.clone()),
            layer: "dlq",
            at: at.clone(),
            body: json!({
                "action": action,
                "kind": e.kind,
                "layer": e.layer,
                "attempts": e.attempts,
                "retries": e.retries,
                "error_type": e.error_type,
                "error_class": e.error_class,
                "died_at": e.died_at,
            }),
        })
        .collect();
    audit::append(tx, head, &records)?;
    Ok(records.len())
}

pub fn retry(tx: &Connection, head: &mut ChainHead, f: &DeadFilter) -> Result<u64> {
    let n = audit_each(tx, head, f, "retry")?;
    let params = params![f.id, f.pipeline, f.error_type, f.layer, now_ms()];
    // A run re-enters its pipeline with its event; a delivery re-enters the
    // act layer with its stored action and key.
    tx.prepare_cached(&format!(
        "UPDATE queue SET status = 'queued', attempts = 0, dlq_retries = dlq_retries + 1,
            next_attempt_at = ?5, finished_at = NULL, lease_until = NULL WHERE {RUNS}"
    ))?
    .execute(params)?;
    tx.prepare_cached(&format!(
        "UPDATE outbox SET status = 'pending', attempts = 0, dlq_retries = dlq_retries + 1,
            next_attempt_at = ?5, dead_at = NULL, lease_until = NULL WHERE {DELIVERIES}"
    ))?
    .execute(params)?;
    Ok(n as u64)
}

pub fn purge(tx: &Connection, head: &mut ChainHead, f: &DeadFilter) -> Result<u64> {
    let n = audit_each(tx, head, f, "purge")?;
    let params = params![f.id, f.pipeline, f.error_type, f.layer];
    tx.prepare_cached(&format!("DELETE FROM queue WHERE {RUNS}"))?
        .execute(params)?;
    tx.prepare_cached(&format!("DELETE FROM outbox WHERE {DELIVERIES}"))?
        .execute(params)?;
    Ok(n as u64)
}
