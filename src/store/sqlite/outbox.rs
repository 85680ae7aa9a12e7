//! Outbox rows: insert with the run, claim with a lease, finish.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::{now_ms, now_rfc3339};
use crate::store::{DeliveryOutcome, NewOutbox, OutboxItem, Result};

/// Insert unless a row with the same idempotency key exists.
pub fn insert(conn: &Connection, run_id: &str, ob: &NewOutbox) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO outbox (run_id, pipeline, idempotency_key, body, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
        )?
        .execute(params![
            run_id,
            ob.pipeline,
            ob.idempotency_key,
            crate::canonical::to_string(&ob.body),
            now_ms(),
            now_rfc3339()
        ])?;
    Ok(n == 1)
}

/// Expired leases first, then due rows oldest first, each walking
/// `outbox_due` only as far as the limit (no sort of the backlog).
pub(super) const CLAIM: &str =
    "UPDATE outbox SET status = 'inflight', lease_until = ?2, attempts = attempts + 1
         WHERE id IN (
            SELECT id FROM (SELECT id FROM outbox
                            WHERE status = 'inflight' AND lease_until <= ?1 LIMIT ?3)
            UNION ALL
            SELECT id FROM (SELECT id FROM outbox
                            WHERE status = 'pending' AND next_attempt_at <= ?1
                            ORDER BY next_attempt_at LIMIT ?3)
            LIMIT ?3)
         RETURNING id, run_id, pipeline, idempotency_key, body, attempts";

pub fn claim(conn: &Connection, limit: usize, lease: Duration) -> Result<Vec<OutboxItem>> {
    let now = now_ms();
    let until = now + lease.as_millis() as i64;
    let mut stmt = conn.prepare_cached(CLAIM)?;
    let rows = stmt
        .query_map(params![now, until, limit as i64], |r| {
            let body: String = r.get(4)?;
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, body, r.get(5)?))
        })?
        .collect::<rusqlite::Result<Vec<(i64, String, String, String, String, u32)>>>()?;
    Ok(rows
        .into_iter()
        .map(
            |(id, run_id, pipeline, idempotency_key, body, attempts)| OutboxItem {
                id,
                run_id,
                pipeline,
                idempotency_key,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                attempts,
            },
        )
        .collect())
}

/// Record an attempt's outcome, but only while the caller still holds the
/// lease for that attempt: a worker whose lease expired and was taken over
/// must not overwrite the newer attempt's state.
pub fn finish(conn: &Connection, id: i64, attempt: u32, outcome: &DeliveryOutcome) -> Result<bool> {
    const HELD: &str = "WHERE id = ?1 AND status = 'inflight' AND attempts = ?2";
    let n = match outcome {
        DeliveryOutcome::Delivered => conn
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?3, lease_until = NULL, last_error = NULL {HELD}"
            ))?
            .execute(params![id, attempt, now_rfc3339()])?,
        DeliveryOutcome::Retry { at_ms, error } => conn
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?3, lease_until = NULL, last_error = ?4 {HELD}"
            ))?
            .execute(params![id, attempt, at_ms, error])?,
        DeliveryOutcome::Dead(f) => conn
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = ?3,
                    error_type = ?4, error_class = ?5, dead_at = ?6 {HELD}"
            ))?
            .execute(params![id, attempt, f.message, f.error_type, f.class, now_rfc3339()])?,
        DeliveryOutcome::Deferred { at_ms } => conn
            .prepare_cached(&format!(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?3, lease_until = NULL,
                    attempts = attempts - 1 {HELD}"
            ))?
            .execute(params![id, attempt, at_ms])?,
    };
    Ok(n == 1)
}

/// Push the leases of rows still held by these attempts to `now + lease`.
pub fn renew(conn: &Connection, held: &[(i64, u32)], lease: Duration) -> Result<()> {
    let until = now_ms() + lease.as_millis() as i64;
    let mut stmt = conn.prepare_cached(
        "UPDATE outbox SET lease_until = ?3 WHERE id = ?1 AND status = 'inflight' AND attempts = ?2",
    )?;
    for (id, attempt) in held {
        stmt.execute(params![id, attempt, until])?;
    }
    Ok(())
}

pub fn open_count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'inflight')",
        [],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

pub fn next_due(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT min(due) FROM (
                SELECT min(next_attempt_at) AS due FROM outbox WHERE status = 'pending'
                UNION ALL
                SELECT min(lease_until) FROM outbox WHERE status = 'inflight')",
            [],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}
