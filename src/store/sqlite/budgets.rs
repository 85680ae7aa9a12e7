//! The budget ledger and its reservations, written by the store writer only
//! (so every reservation is checked and held inside one write transaction),
//! and alert records.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::{
    Alert, LedgerKey, LedgerRow, NewAlert, ReserveOutcome, ReserveRequest, Result, SettleOutcome,
    StoreError,
};

/// Expired reservations are kept this long after their expiry, for a late
/// settle to correct; no call outlives it.
const FORGET_EXPIRED_AFTER_MS: i64 = 24 * 3600 * 1000;

fn micros(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("amount {v} µ$ is out of range")))
}

const KEY_WHERE: &str =
    "scope = ?1 AND name = ?2 AND subject = ?3 AND period = ?4 AND period_key = ?5";

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerRow> {
    Ok(LedgerRow {
        key: LedgerKey {
            scope: r.get(0)?,
            name: r.get(1)?,
            subject: r.get(2)?,
            period: r.get(3)?,
            period_key: r.get(4)?,
        },
        limit_micros: r.get::<_, i64>(5)?.max(0) as u64,
        spent_micros: r.get::<_, i64>(6)?.max(0) as u64,
        reserved_micros: r.get::<_, i64>(7)?.max(0) as u64,
        refusals: r.get::<_, i64>(8)?.max(0) as u64,
        updated_at: r.get(9)?,
    })
}

const ROW_COLUMNS: &str = "scope, name, subject, period, period_key, limit_micros, spent_micros, reserved_micros, refusals, updated_at";

fn get_row(tx: &Transaction<'_>, k: &LedgerKey) -> Result<Option<LedgerRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM budget_ledger WHERE {KEY_WHERE}"
        ))?
        .query_row(
            params![k.scope, k.name, k.subject, k.period, k.period_key],
            row_of,
        )
        .optional()?)
}

/// Check every row, then hold the amount on all of them, or on none.
pub fn reserve(tx: &Transaction<'_>, req: &ReserveRequest, now: &str) -> Result<ReserveOutcome> {
    let amount = micros(req.amount_micros)?;
    // Rows come into being at their first reservation; the limit follows
    // the config of the latest caller.
    for (k, limit) in &req.rows {
        tx.prepare_cached(
            "INSERT INTO budget_ledger (scope, name, subject, period, period_key, limit_micros, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (scope, name, subject, period, period_key)
             DO UPDATE SET limit_micros = excluded.limit_micros
             WHERE limit_micros != excluded.limit_micros",
        )?
        .execute(params![
            k.scope,
            k.name,
            k.subject,
            k.period,
            k.period_key,
            micros(*limit)?,
            now
        ])?;
    }
    for (k, _) in &req.rows {
        let row = get_row(tx, k)?
            .ok_or_else(|| StoreError::Corrupt(format!("ledger row {k:?} vanished")))?;
        let total = u128::from(row.spent_micros)
            + u128::from(row.reserved_micros)
            + u128::from(req.amount_micros);
        if total > u128::from(row.limit_micros) {
            tx.prepare_cached(&format!(
                "UPDATE budget_ledger SET refusals = refusals + 1, updated_at = ?6 WHERE {KEY_WHERE}"
            ))?
            .execute(params![
                k.scope,
                k.name,
                k.subject,
                k.period,
                k.period_key,
                now
            ])?;
            return Ok(ReserveOutcome::Refused(row));
        }
    }
    tx.prepare_cached(
        "INSERT INTO budget_reservations (id, amount_micros, status, created_at, created_ms, expires_ms)
         VALUES (?1, ?2, 'open', ?3, ?4, ?5)",
    )?
    .execute(params![
        req.id,
        amount,
        now,
        crate::clock::now_ms(),
        req.expires_ms
    ])?;
    for (k, _) in &req.rows {
        tx.prepare_cached(&format!(
            "UPDATE budget_ledger SET reserved_micros = reserved_micros + ?6, updated_at = ?7 WHERE {KEY_WHERE}"
        ))?
        .execute(params![
            k.scope,
            k.name,
            k.subject,
            k.period,
            k.period_key,
            amount,
            now
        ])?;
        tx.prepare_cached(
            "INSERT INTO budget_reservation_rows (reservation_id, scope, name, subject, period, period_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            req.id,
            k.scope,
            k.name,
            k.subject,
            k.period,
            k.period_key
        ])?;
    }
    Ok(ReserveOutcome::Reserved)
}

/// Move a reservation into spent at `actual`.
pub fn settle(tx: &Transaction<'_>, id: &str, actual: u64, now: &str) -> Result<SettleOutcome> {
    let actual = micros(actual)?;
    let found: Option<(i64, String)> = tx
        .prepare_cached("SELECT amount_micros, status FROM budget_reservations WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((amount, status)) = found else {
        return Ok(SettleOutcome::Unknown);
    };
    let (sql, outcome) = if status == "open" {
        (
            "UPDATE budget_ledger SET reserved_micros = reserved_micros - ?2, spent_micros = spent_micros + ?3, updated_at = ?4
             WHERE (scope, name, subject, period, period_key) IN
               (SELECT scope, name, subject, period, period_key FROM budget_reservation_rows WHERE reservation_id = ?1)",
            SettleOutcome::Settled,
        )
    } else {
        // Already counted at `amount` by a sweep: correct by the difference.
        (
            "UPDATE budget_ledger SET spent_micros = MAX(0, spent_micros - ?2 + ?3), updated_at = ?4
             WHERE (scope, name, subject, period, period_key) IN
               (SELECT scope, name, subject, period, period_key FROM budget_reservation_rows WHERE reservation_id = ?1)",
            SettleOutcome::CorrectedAfterExpiry,
        )
    };
    tx.prepare_cached(sql)?
        .execute(params![id, amount, actual, now])?;
    forget(tx, id)?;
    Ok(outcome)
}

fn forget(tx: &Transaction<'_>, id: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM budget_reservation_rows WHERE reservation_id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM budget_reservations WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Settle at their estimate the open reservations with `expires_ms <= due_ms`,
/// and forget expired ones whose expiry is a day older than `now_ms`.
pub fn expire(tx: &Transaction<'_>, due_ms: i64, now_ms: i64, now: &str) -> Result<u64> {
    tx.prepare_cached(
        "UPDATE budget_ledger
         SET reserved_micros = reserved_micros - x.amount, spent_micros = spent_micros + x.amount, updated_at = ?2
         FROM (SELECT rr.scope, rr.name, rr.subject, rr.period, rr.period_key, SUM(r.amount_micros) AS amount
               FROM budget_reservations r JOIN budget_reservation_rows rr ON rr.reservation_id = r.id
               WHERE r.status = 'open' AND r.expires_ms <= ?1
               GROUP BY rr.scope, rr.name, rr.subject, rr.period, rr.period_key) AS x
         WHERE budget_ledger.scope = x.scope AND budget_ledger.name = x.name AND budget_ledger.subject = x.subject
           AND budget_ledger.period = x.period AND budget_ledger.period_key = x.period_key",
    )?
    .execute(params![due_ms, now])?;
    let expired = tx
        .prepare_cached(
            "UPDATE budget_reservations SET status = 'expired' WHERE status = 'open' AND expires_ms <= ?1",
        )?
        .execute([due_ms])?;
    let old = now_ms.saturating_sub(FORGET_EXPIRED_AFTER_MS);
    tx.prepare_cached(
        "DELETE FROM budget_reservation_rows WHERE reservation_id IN
           (SELECT id FROM budget_reservations WHERE status = 'expired' AND expires_ms <= ?1)",
    )?
    .execute([old])?;
    tx.prepare_cached(
        "DELETE FROM budget_reservations WHERE status = 'expired' AND expires_ms <= ?1",
    )?
    .execute([old])?;
    Ok(expired as u64)
}

/// At open: every reservation still open belongs to a process that has
/// stopped (or to another live process, whose later settle corrects spent
/// by the difference), so count each at its estimate now.
pub fn expire_all_open(conn: &mut Connection) -> Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = expire(
        &tx,
        i64::MAX,
        crate::clock::now_ms(),
        &crate::clock::now_rfc3339(),
    )?;
    tx.commit()?;
    Ok(n)
}

pub fn ledger(conn: &Connection, period_keys: &[String]) -> Result<Vec<LedgerRow>> {
    let filter = if period_keys.is_empty() {
        String::new()
    } else {
        let marks = vec!["?"; period_keys.len()].join(", ");
        format!("WHERE period_key IN ({marks})")
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM budget_ledger {filter} ORDER BY scope, name, subject, period, period_key"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(period_keys), row_of)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn raise_alert(tx: &Transaction<'_>, a: &NewAlert, now: &str) -> Result<bool> {
    let existed: bool = tx
        .prepare_cached(
            "SELECT count(*) > 0 FROM alerts WHERE kind = ?1 AND subject = ?2 AND day = ?3",
        )?
        .query_row(params![a.kind, a.subject, a.day], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO alerts (kind, subject, day, observed_micros, baseline_micros, message, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?7)
         ON CONFLICT (kind, subject, day) DO UPDATE SET
           observed_micros = excluded.observed_micros, baseline_micros = excluded.baseline_micros,
           message = excluded.message, updated_at = excluded.updated_at",
    )?
    .execute(params![
        a.kind,
        a.subject,
        a.day,
        micros(a.observed_micros)?,
        micros(a.baseline_micros)?,
        a.message,
        now
    ])?;
    Ok(!existed)
}

pub fn alerts(conn: &Connection, open_only: bool) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, subject, day, observed_micros, baseline_micros, message, status, created_at, updated_at
         FROM alerts WHERE (?1 = 0 OR status = 'open') ORDER BY day DESC, id DESC",
    )?;
    let rows = stmt
        .query_map([i64::from(open_only)], |r| {
            Ok(Alert {
                id: r.get(0)?,
                kind: r.get(1)?,
                subject: r.get(2)?,
                day: r.get(3)?,
                observed_micros: r.get::<_, i64>(4)?.max(0) as u64,
                baseline_micros: r.get::<_, i64>(5)?.max(0) as u64,
                message: r.get(6)?,
                status: r.get(7)?,
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
