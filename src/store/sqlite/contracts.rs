//! Contracts and drift rows.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::clock::now_rfc3339;
use crate::store::{DriftRow, NewAlert, NewDrift, Result};

pub fn all(conn: &Connection) -> Result<Vec<(String, String)>> {
    let rows = conn
        .prepare_cached("SELECT source, contract FROM contracts")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, source: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT contract FROM contracts WHERE source = ?1")?
        .query_row([source], |r| r.get(0))
        .optional()?)
}

pub fn save(tx: &Transaction<'_>, source: &str, contract: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO contracts (source, contract, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (source) DO UPDATE SET contract = excluded.contract, updated_at = excluded.updated_at",
    )?
    .execute(params![source, contract, now_rfc3339()])?;
    Ok(())
}

pub fn record(
    tx: &Transaction<'_>,
    source: &str,
    run_id: &str,
    changes: &[NewDrift],
    contract: Option<&str>,
    message: &str,
) -> Result<bool> {
    let now = now_rfc3339();
    let mut new = false;
    for c in changes {
        let seen = tx
            .prepare_cached(
                "UPDATE drift SET count = count + 1, last_at = ?5
                 WHERE status = 'open' AND source = ?1 AND kind = ?2 AND path = ?3
                   AND coalesce(now, '') = coalesce(?4, '')",
            )?
            .execute(params![source, c.kind, c.path, c.now, now])?;
        if seen == 0 {
            new = true;
            tx.prepare_cached(
                "INSERT INTO drift (source, kind, path, was, now, first_run_id, first_at, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![source, c.kind, c.path, c.was, c.now, run_id, now])?;
        }
    }
    if let Some(contract) = contract {
        save(tx, source, contract)?;
    }
    if new {
        let alert = NewAlert {
            kind: "contract_drift".into(),
            subject: source.to_string(),
            day: now.get(..10).unwrap_or_default().to_string(),
            observed_micros: 0,
            baseline_micros: 0,
            message: message.to_string(),
        };
        super::budgets::raise_alert(tx, &alert, &now)?;
    }
    Ok(new)
}

pub fn list(
    conn: &Connection,
    source: Option<&str>,
    open_only: bool,
    limit: usize,
) -> Result<Vec<DriftRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT id, source, kind, path, was, now, first_run_id, first_at, last_at, count, status
             FROM drift WHERE (?1 IS NULL OR source = ?1) AND (?2 = 0 OR status = 'open')
             ORDER BY last_at DESC, id DESC LIMIT ?3",
        )?
        .query_map(params![source, open_only, limit as i64], |r| {
            Ok(DriftRow {
                id: r.get(0)?,
                source: r.get(1)?,
                kind: r.get(2)?,
                path: r.get(3)?,
                was: r.get(4)?,
                now: r.get(5)?,
                first_run_id: r.get(6)?,
                first_at: r.get(7)?,
                last_at: r.get(8)?,
                count: r.get(9)?,
                status: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn accept(tx: &Transaction<'_>, source: &str, contract: &str) -> Result<u64> {
    save(tx, source, contract)?;
    let n = tx
        .prepare_cached(
            "UPDATE drift SET status = 'accepted' WHERE source = ?1 AND status = 'open'",
        )?
        .execute([source])?;
    Ok(n as u64)
}
