//! The escalation queue: runs a human must finish. Rows are written with
//! their run (status `escalated`), in the run's transaction, with what the
//! reviewer needs (`ReviewHold`); a decision resolves them.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::audit::{self, ChainHead};
use super::outbox;
use crate::store::{
    Decided, Escalation, Result, ReviewDecision, ReviewFilter, ReviewReason, ReviewRow, RunRecord,
};

fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    v.map(crate::canonical::to_string)
}

fn json_of(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Queue `r` for a human; a run is queued at most once (a queued run
/// escalated again keeps its first row).
pub fn insert(conn: &Connection, r: &RunRecord) -> Result<()> {
    let hold = r.review.as_ref();
    conn.prepare_cached(
        "INSERT OR IGNORE INTO escalations (run_id, pipeline, event_id, reason_type, reason_class, reason, created_at,
             reason_pointers, input, proposed_output, proposed_body, sink, idempotency_key, dry_run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        r.id,
        r.pipeline,
        r.event_id,
        r.error_type.as_deref().unwrap_or("unknown"),
        r.error_class.as_deref().unwrap_or("unknown"),
        r.error_message.as_deref().unwrap_or(""),
        r.finished_at,
        hold.map(|h| serde_json::json!(h.pointers).to_string()),
        json_text(hold.map(|h| &h.input)),
        json_text(hold.and_then(|h| h.proposed_output.as_ref())),
        json_text(hold.and_then(|h| h.proposed_body.as_ref())),
        hold.map(|h| h.sink.clone()),
        hold.map(|h| h.idempotency_key.clone()),
        hold.is_some_and(|h| h.dry_run),
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

const REVIEW_COLUMNS: &str = "run_id, pipeline, event_id, reason_type, reason_class, reason,
    reason_pointers, status, decision, input, proposed_output, proposed_body, sink,
    idempotency_key, dry_run, decided_by, decision_note, decided_output, created_at, resolved_at";

fn review_row(r: &Row<'_>) -> rusqlite::Result<ReviewRow> {
    let status: String = r.get(7)?;
    let decision: Option<String> = r.get(8)?;
    let pointers: Option<String> = r.get(6)?;
    Ok(ReviewRow {
        run_id: r.get(0)?,
        pipeline: r.get(1)?,
        event_id: r.get(2)?,
        // Resolved before reviews existed: no decision recorded.
        status: decision.unwrap_or(status),
        reason: ReviewReason {
            kind: r.get(3)?,
            class: r.get(4)?,
            message: r.get(5)?,
            pointers: pointers
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default(),
        },
        input: json_of(r.get(9)?),
        proposed_output: json_of(r.get(10)?),
        proposed_body: json_of(r.get(11)?),
        sink: r.get(12)?,
        idempotency_key: r.get(13)?,
        dry_run: r.get(14)?,
        decided_by: r.get(15)?,
        note: r.get(16)?,
        decided_output: json_of(r.get(17)?),
        created_at: r.get(18)?,
        decided_at: r.get(19)?,
    })
}

/// Reviews matching `f`, oldest first, at most `limit`.
pub fn reviews(conn: &Connection, f: &ReviewFilter, limit: usize) -> Result<Vec<ReviewRow>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM escalations
         WHERE (?1 IS NULL OR (?1 = 'open' AND status = 'open') OR decision = ?1)
           AND (?2 IS NULL OR pipeline = ?2)
         ORDER BY created_at, run_id LIMIT ?3"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![f.status, f.pipeline, limit as i64], review_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn review(conn: &Connection, run_id: &str) -> Result<Option<ReviewRow>> {
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM escalations WHERE run_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![run_id], review_row)
        .optional()?)
}

/// Record `d` unless the review is decided already: the row, the
/// approved action's outbox row and the audit record together.
pub fn decide(tx: &Transaction<'_>, head: &mut ChainHead, d: &ReviewDecision) -> Result<Decided> {
    let Some(current) = review(tx, &d.run_id)? else {
        return Ok(Decided::NotFound);
    };
    if current.status != "open" {
        return Ok(Decided::Already(Box::new(current)));
    }
    tx.prepare_cached(
        "UPDATE escalations SET status = 'resolved', decision = ?2, decided_by = ?3,
             decision_note = ?4, decided_output = ?5, resolved_at = ?6
         WHERE run_id = ?1 AND status = 'open'",
    )?
    .execute(params![
        d.run_id,
        d.decision,
        d.by,
        d.note,
        json_text(d.output.as_ref()),
        d.audit.at,
    ])?;
    audit::append(tx, head, std::slice::from_ref(&d.audit))?;
    let enqueued = match &d.outbox {
        Some(ob) => outbox::insert(tx, &d.run_id, ob)?,
        None => false,
    };
    Ok(Decided::Recorded { enqueued })
}
