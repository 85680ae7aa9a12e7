//! The escalation queue: runs a human must finish. Rows are written with
//! their run (status `escalated`), in the run's transaction.

use rusqlite::{Connection, params};

use crate::store::{Escalation, Result, RunRecord};

/// Queue `r` for a human; a run is queued at most once.
pub fn insert(conn: &Connection, r: &RunRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO escalations (run_id, pipeline, event_id, reason_type, reason_class, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.id,
        r.pipeline,
        r.event_id,
        r.error_type.as_deref().unwrap_or("unknown"),
        r.error_class.as_deref().unwrap_or("unknown"),
        r.error_message.as_deref().unwrap_or(""),
        r.finished_at,
    ])?;
    Ok(())
}

/// Escalations in `status` (`open`, `resolved`, or all when `None`),
/// oldest first, at most `limit`.
pub fn list(conn: &Connection, status: Option<&str>, limit: usize) -> Result<Vec<Escalation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, pipeline, event_id, reason_type, reason_class, reason, status, created_at, resolved_at
         FROM escalations WHERE (?1 IS NULL OR status = ?1) ORDER BY created_at, run_id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![status, limit as i64], |r| {
            Ok(Escalation {
                run_id: r.get(0)?,
                pipeline: r.get(1)?,
                event_id: r.get(2)?,
                reason_type: r.get(3)?,
                reason_class: r.get(4)?,
                reason: r.get(5)?,
                status: r.get(6)?,
                created_at: r.get(7)?,
                resolved_at: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
