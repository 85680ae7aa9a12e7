//! Sealed PII maps of escalated runs: written with the run, read back by
//! run id until they expire, swept after.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{KeptPii, Result};

/// Keep `kept` for run `run_id` (a queued run escalated again replaces it).
pub fn insert(conn: &Connection, run_id: &str, kept: &KeptPii) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO pii_maps (run_id, sealed, expires_at_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![run_id, kept.sealed, kept.expires_at_ms])?;
    Ok(())
}

/// The sealed map of `run_id`, unless expired by `now_ms`.
pub fn get(conn: &Connection, run_id: &str, now_ms: i64) -> Result<Option<Vec<u8>>> {
    let sealed = conn
        .prepare_cached("SELECT sealed FROM pii_maps WHERE run_id = ?1 AND expires_at_ms > ?2")?
        .query_row(params![run_id, now_ms], |r| r.get(0))
        .optional()?;
    Ok(sealed)
}

/// Delete every map expired by `now_ms`.
pub fn sweep(conn: &Connection, now_ms: i64) -> Result<u64> {
    let n = conn
        .prepare_cached("DELETE FROM pii_maps WHERE expires_at_ms <= ?1")?
        .execute(params![now_ms])?;
    Ok(n as u64)
}
