//! SQL of the batch checkpoint tables (migration 0006).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::{BatchKey, BatchLine, BatchRow, BatchWrite, Result};

/// Apply one write inside the writer's transaction.
pub fn write(tx: &Transaction<'_>, w: &BatchWrite) -> Result<()> {
    match w {
        BatchWrite::Open { id, key, lines } => {
            tx.execute(
                "INSERT INTO batches (id, pipeline, input_sha256, output, lines, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (pipeline, input_sha256, output) DO NOTHING",
                params![
                    id,
                    key.pipeline,
                    key.input_sha256,
                    key.output,
                    i64::try_from(*lines).unwrap_or(i64::MAX),
                    crate::clock::now_rfc3339()
                ],
            )?;
        }
        BatchWrite::Forget { id } => {
            tx.execute("DELETE FROM batch_lines WHERE batch_id = ?1", params![id])?;
            tx.execute("DELETE FROM batches WHERE id = ?1", params![id])?;
        }
        BatchWrite::Line {
            batch_id,
            line,
            run_id,
            status,
        } => {
            tx.execute(
                "INSERT INTO batch_lines (batch_id, line, run_id, status) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (batch_id, line) DO UPDATE SET run_id = excluded.run_id, status = excluded.status",
                params![batch_id, i64::try_from(*line).unwrap_or(i64::MAX), run_id, status],
            )?;
        }
        BatchWrite::Finish { id } => {
            tx.execute(
                "UPDATE batches SET finished_at = ?2 WHERE id = ?1",
                params![id, crate::clock::now_rfc3339()],
            )?;
        }
    }
    Ok(())
}

pub fn find(conn: &Connection, key: &BatchKey) -> Result<Option<BatchRow>> {
    Ok(conn
        .query_row(
            "SELECT id, lines, finished_at IS NOT NULL FROM batches
             WHERE pipeline = ?1 AND input_sha256 = ?2 AND output = ?3",
            params![key.pipeline, key.input_sha256, key.output],
            |r| {
                Ok(BatchRow {
                    id: r.get(0)?,
                    lines: r.get::<_, i64>(1)?.max(0).unsigned_abs(),
                    finished: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub fn lines(conn: &Connection, batch_id: &str) -> Result<Vec<BatchLine>> {
    let mut stmt = conn.prepare(
        "SELECT l.line, l.run_id, l.status, EXISTS (SELECT 1 FROM runs r WHERE r.id = l.run_id)
         FROM batch_lines l WHERE l.batch_id = ?1 ORDER BY l.line",
    )?;
    let rows = stmt
        .query_map(params![batch_id], |r| {
            Ok(BatchLine {
                line: r.get::<_, i64>(0)?.max(0).unsigned_abs(),
                run_id: r.get(1)?,
                status: r.get(2)?,
                run_committed: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn runs_between(
    conn: &Connection,
    pipeline: &str,
    since: &str,
    until: &str,
    limit: usize,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM runs WHERE pipeline = ?1 AND created_at >= ?2 AND created_at < ?3
         ORDER BY created_at, id LIMIT ?4",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![pipeline, since, until, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}
