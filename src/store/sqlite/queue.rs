//! The queue of background runs: enqueue (deduplicated), claim under a
//! lease, settle with the run or finish an attempt, and the dead-letter
//! queue's retry and purge.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::clock::{now_ms, now_rfc3339};
use crate::store::{
    Enqueued, Failure, NewQueued, QueueItem, QueueOutcome, QueueRow, QueueSettle, Result,
    RunRecord, StoreError, queue_status_after,
};

pub fn enqueue(conn: &Connection, q: &NewQueued) -> Result<Enqueued> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO queue (id, pipeline, tenant, source, dedupe_key, input, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (pipeline, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING",
        )?
        .execute(params![
            q.id,
            q.pipeline,
            q.tenant,
            q.source,
            q.dedupe_key,
            crate::canonical::to_string(&q.input),
            now_ms(),
            now_rfc3339(),
        ])?;
    if inserted == 1 {
        return Ok(Enqueued {
            id: q.id.clone(),
            duplicate: false,
        });
    }
    let id: String = conn
        .prepare_cached("SELECT id FROM queue WHERE pipeline = ?1 AND dedupe_key = ?2")?
        .query_row(params![q.pipeline, q.dedupe_key], |r| r.get(0))?;
    Ok(Enqueued {
        id,
        duplicate: true,
    })
}

/// Expired leases first (their workers died), then due rows oldest
/// first; each branch walks `queue_due` and stops at the limit, so a
/// claim costs the same with a million rows queued behind it.
pub(super) const CLAIM: &str = "UPDATE queue SET status = 'leased', lease_until = ?3, attempts = attempts + 1
         WHERE id IN (
            SELECT id FROM (SELECT id FROM queue
                            WHERE pipeline = ?1 AND status = 'leased' AND lease_until <= ?2 LIMIT ?4)
            UNION ALL
            SELECT id FROM (SELECT id FROM queue
                            WHERE pipeline = ?1 AND status = 'queued' AND next_attempt_at <= ?2
                            ORDER BY next_attempt_at LIMIT ?4)
            LIMIT ?4)
         RETURNING id, pipeline, tenant, input, attempts";

pub fn claim(
    conn: &Connection,
    pipeline: &str,
    limit: usize,
    lease: Duration,
) -> Result<Vec<QueueItem>> {
    let now = now_ms();
    let until = now + lease.as_millis() as i64;
    let mut stmt = conn.prepare_cached(CLAIM)?;
    let rows = stmt
        .query_map(params![pipeline, now, until, limit as i64], |r| {
            let input: Option<String> = r.get(3)?;
            Ok(QueueItem {
                id: r.get(0)?,
                pipeline: r.get(1)?,
                tenant: r.get(2)?,
                input: input
                    .and_then(|i| serde_json::from_str(&i).ok())
                    .unwrap_or(serde_json::Value::Null),
                attempts: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

const HELD: &str = "WHERE id = ?1 AND status = 'leased' AND attempts = ?2";

/// The run of a leased row committed: the row changes as
/// [`queue_status_after`] says, and stays leased for its worker otherwise.
/// The commit is refused
/// (and rolled back with the run) unless this attempt still holds the
/// lease: a worker that lost its lease must not record a second outcome.
pub fn settle_with_run(conn: &Connection, item: &QueueSettle, run: &RunRecord) -> Result<()> {
    let status = queue_status_after(&run.status).unwrap_or("leased");
    let n = conn
        .prepare_cached(&format!(
            "UPDATE queue SET status = ?3, input = CASE WHEN ?3 = 'done' THEN NULL ELSE input END,
                lease_until = CASE WHEN ?3 = 'leased' THEN lease_until END,
                finished_at = CASE WHEN ?3 = 'leased' THEN NULL ELSE ?4 END,
                error_type = ?5, error_class = ?6, error_message = ?7,
                error_layer = CASE WHEN ?3 = 'dead' THEN 'ingest' END {HELD}"
        ))?
        .execute(params![
            item.id,
            item.attempt,
            status,
            now_rfc3339(),
            run.error_type,
            run.error_class,
            run.error_message,
        ])?;
    if n == 0 {
        return Err(StoreError::LeaseLost(item.id.clone()));
    }
    Ok(())
}

/// Push the leases of rows still held by these attempts to `now + lease`.
pub fn renew(conn: &Connection, held: &[(String, u32)], lease: Duration) -> Result<()> {
    let until = now_ms() + lease.as_millis() as i64;
    let mut stmt = conn.prepare_cached(&format!("UPDATE queue SET lease_until = ?3 {HELD}"))?;
    for (id, attempt) in held {
        stmt.execute(params![id, attempt, until])?;
    }
    Ok(())
}

pub fn finish(
    conn: &Connection,
    id: &str,
    attempt: u32,
    outcome: &QueueOutcome,
    f: &Failure,
) -> Result<bool> {
    let n = match outcome {
        QueueOutcome::Retry { at_ms } => conn
            .prepare_cached(&format!(
                "UPDATE queue SET status = 'queued', next_attempt_at = ?3, lease_until = NULL,
                    error_type = ?4, error_class = ?5, error_message = ?6, error_layer = ?7 {HELD}"
            ))?
            .execute(params![
                id,
                attempt,
                at_ms,
                f.error_type,
                f.class,
                f.message,
                f.layer
            ])?,
        QueueOutcome::Dead => conn
            .prepare_cached(&format!(
                "UPDATE queue SET status = 'dead', lease_until = NULL, finished_at = ?3,
                    error_type = ?4, error_class = ?5, error_message = ?6, error_layer = ?7 {HELD}"
            ))?
            .execute(params![
                id,
                attempt,
                now_rfc3339(),
                f.error_type,
                f.class,
                f.message,
                f.layer
            ])?,
    };
    Ok(n == 1)
}

const COLUMNS: &str = "id, pipeline, tenant, source, dedupe_key, status, attempts, next_attempt_at,
    error_type, error_class, error_message, created_at, finished_at";

fn row(r: &Row<'_>) -> rusqlite::Result<QueueRow> {
    let status: String = r.get(5)?;
    let next: i64 = r.get(7)?;
    Ok(QueueRow {
        id: r.get(0)?,
        pipeline: r.get(1)?,
        tenant: r.get(2)?,
        source: r.get(3)?,
        dedupe_key: r.get(4)?,
        next_attempt_at: (status == "queued").then(|| crate::clock::rfc3339_of_ms(next)),
        status,
        attempts: r.get(6)?,
        error_type: r.get(8)?,
        error_class: r.get(9)?,
        error_message: r.get(10)?,
        created_at: r.get(11)?,
        finished_at: r.get(12)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<QueueRow>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM queue WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?)
}

pub fn list(
    conn: &Connection,
    status: Option<&str>,
    pipeline: Option<&str>,
    limit: usize,
) -> Result<Vec<QueueRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM queue WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR pipeline = ?2)
         ORDER BY created_at, id LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(params![status, pipeline, limit as i64], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
