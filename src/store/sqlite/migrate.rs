//! Embedded migrations, numbered in step with `migrations/postgres/`.

use rusqlite::Connection;

use crate::store::Result;

/// (version, name, SQL), in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "budgets",
        include_str!("../../../migrations/sqlite/0002_budgets.sql"),
    ),
    (
        3,
        "escalations",
        include_str!("../../../migrations/sqlite/0003_escalations.sql"),
    ),
    (
        4,
        "queue",
        include_str!("../../../migrations/sqlite/0004_queue.sql"),
    ),
    (
        5,
        "idempotency",
        include_str!("../../../migrations/sqlite/0005_idempotency.sql"),
    ),
    (
        6,
        "batches",
        include_str!("../../../migrations/sqlite/0006_batches.sql"),
    ),
    (
        7,
        "dead_letters",
        include_str!("../../../migrations/sqlite/0007_dead_letters.sql"),
    ),
    (
        8,
        "pii_maps",
        include_str!("../../../migrations/sqlite/0008_pii_maps.sql"),
    ),
    (
        9,
        "contracts",
        include_str!("../../../migrations/sqlite/0009_contracts.sql"),
    ),
    (
        10,
        "feedback",
        include_str!("../../../migrations/sqlite/0010_feedback.sql"),
    ),
    (
        11,
        "kb",
        include_str!("../../../migrations/sqlite/0011_kb.sql"),
    ),
    (
        12,
        "reviews",
        include_str!("../../../migrations/sqlite/0012_reviews.sql"),
    ),
    (
        14,
        "eval_runs",
        include_str!("../../../migrations/sqlite/0014_eval_runs.sql"),
    ),
];

fn applied(conn: &Connection) -> Result<Vec<i64>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(rows)
}

/// Apply every migration not yet applied, each in its own transaction.
pub fn apply(conn: &mut Connection) -> Result<()> {
    let done = applied(conn)?;
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, crate::clock::now_rfc3339()],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Names of migrations a store at `path` has not applied (all of them if
/// the file does not exist yet). Opens read-only; changes nothing.
pub fn pending_migrations(path: &std::path::Path) -> Result<Vec<String>> {
    let all = || {
        MIGRATIONS
            .iter()
            .map(|(v, n, _)| format!("{v:04}_{n}"))
            .collect()
    };
    if !path.exists() {
        return Ok(all());
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(all());
    }
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
    let done = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(MIGRATIONS
        .iter()
        .filter(|(v, _, _)| !done.contains(v))
        .map(|(v, n, _)| format!("{v:04}_{n}"))
        .collect())
}
