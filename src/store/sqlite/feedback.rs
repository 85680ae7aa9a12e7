//! Feedback rows.

use rusqlite::{Connection, Transaction, params};
use serde_json::json;

use super::audit::{self, ChainHead};
use crate::clock::now_rfc3339;
use crate::store::{Accuracy, AuditEntry, FeedbackRow, NewFeedback, Result};

pub fn add(
    tx: &Transaction<'_>,
    head: &mut ChainHead,
    f: &NewFeedback,
    window: u32,
) -> Result<(i64, Accuracy)> {
    let now = now_rfc3339();
    tx.prepare_cached(
        "INSERT INTO feedback (run_id, pipeline, truth, fields_total, fields_correct, source, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        f.run_id,
        f.pipeline,
        crate::canonical::to_string(&f.truth),
        f.fields_total,
        f.fields_correct,
        f.source,
        f.note,
        now
    ])?;
    let id = tx.last_insert_rowid();
    // The trail says feedback came and how it scored, not the values.
    let fields: Vec<&String> = f
        .truth
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let entry = AuditEntry {
        run_id: Some(f.run_id.clone()),
        layer: "feedback",
        at: now,
        body: json!({"feedback_id": id, "source": f.source, "fields": fields,
                     "fields_total": f.fields_total, "fields_correct": f.fields_correct}),
    };
    audit::append(tx, head, std::slice::from_ref(&entry))?;
    let accuracy = tx
        .prepare_cached(
            "SELECT count(*), coalesce(sum(fields_total), 0), coalesce(sum(fields_correct), 0)
             FROM (SELECT fields_total, fields_correct FROM feedback WHERE pipeline = ?1
                   ORDER BY id DESC LIMIT ?2)",
        )?
        .query_row(params![f.pipeline, window], |r| {
            Ok(Accuracy {
                feedback: r.get(0)?,
                fields_total: r.get(1)?,
                fields_correct: r.get(2)?,
            })
        })?;
    Ok((id, accuracy))
}

pub fn list(conn: &Connection, pipeline: &str, limit: usize) -> Result<Vec<FeedbackRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT id, run_id, pipeline, truth, fields_total, fields_correct, source, note, created_at
             FROM feedback WHERE pipeline = ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![pipeline, limit as i64], |r| {
            let truth: String = r.get(3)?;
            Ok(FeedbackRow {
                id: r.get(0)?,
                run_id: r.get(1)?,
                pipeline: r.get(2)?,
                truth: serde_json::from_str(&truth).unwrap_or(serde_json::Value::Null),
                fields_total: r.get(4)?,
                fields_correct: r.get(5)?,
                source: r.get(6)?,
                note: r.get(7)?,
                created_at: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
