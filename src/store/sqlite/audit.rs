//! Audit rows: append (linking each to the chain head) and read.

use rusqlite::{Connection, OptionalExtension, params};

use crate::audit::{GENESIS, link};
use crate::store::{AuditEntry, Result, StoredAudit};

/// The chain head: last sequence number and hash.
#[derive(Clone)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

pub type Head = Result<ChainHead>;

pub fn head(conn: &Connection) -> Head {
    let row = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(ChainHead {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            },
        )
        .optional()?;
    Ok(row.unwrap_or(ChainHead {
        seq: 0,
        hash: GENESIS.to_string(),
    }))
}

pub fn append(conn: &Connection, head: &mut ChainHead, entries: &[AuditEntry]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO audit (seq, run_id, layer, at, body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in entries {
        let seq = head.seq + 1;
        let body = crate::canonical::to_string(&e.body);
        let hash = link(&head.hash, seq, e.run_id.as_deref(), e.layer, &e.at, &body);
        stmt.execute(params![seq, e.run_id, e.layer, e.at, body, head.hash, hash])?;
        *head = ChainHead { seq, hash };
    }
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAudit> {
    Ok(StoredAudit {
        seq: r.get(0)?,
        run_id: r.get(1)?,
        layer: r.get(2)?,
        at: r.get(3)?,
        body: r.get(4)?,
        prev_hash: r.get(5)?,
        hash: r.get(6)?,
    })
}

const COLUMNS: &str = "seq, run_id, layer, at, body, prev_hash, hash";

pub fn for_run(conn: &Connection, run_id: &str) -> Result<Vec<StoredAudit>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit WHERE run_id = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([run_id], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn scan(conn: &Connection, after: i64, limit: usize) -> Result<Vec<StoredAudit>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![after, limit as i64], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
