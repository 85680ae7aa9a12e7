//! Run rows.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{Result, RunRecord};

const INSERT: &str = "INSERT INTO runs (id, pipeline, status, event_id, input_sha256, prompt_sha256, prompt_version, model, output,
            error_type, error_class, error_message, attempts, input_tokens, output_tokens, cost_micros, latency_ms,
            created_at, finished_at, tenant)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

/// A background run tried again keeps its id: its row takes the latest
/// attempt, adding up what every attempt spent.
const UPSERT_TAIL: &str = "ON CONFLICT (id) DO UPDATE SET status = excluded.status, event_id = excluded.event_id,
            input_sha256 = excluded.input_sha256, prompt_sha256 = excluded.prompt_sha256,
            prompt_version = excluded.prompt_version, model = excluded.model, output = excluded.output,
            error_type = excluded.error_type, error_class = excluded.error_class,
            error_message = excluded.error_message, attempts = runs.attempts + excluded.attempts,
            input_tokens = runs.input_tokens + excluded.input_tokens,
            output_tokens = runs.output_tokens + excluded.output_tokens,
            cost_micros = runs.cost_micros + excluded.cost_micros, latency_ms = excluded.latency_ms,
            finished_at = excluded.finished_at";

/// Insert the run, or for a background run tried again (after a transient
/// failure or a lost lease), which keeps its id, update its row to the
/// latest attempt while its audit trail keeps every one.
pub fn insert(conn: &Connection, r: &RunRecord) -> Result<()> {
    let output = r.output.as_ref().map(crate::canonical::to_string);
    // Only a queued run may commit twice under one id; for any other run a
    // repeated id is a bug, refused by the primary key.
    let upsert;
    let sql = if r.queue_item.is_some() {
        upsert = format!("{INSERT} {UPSERT_TAIL}");
        upsert.as_str()
    } else {
        INSERT
    };
    conn.prepare_cached(sql)?.execute(params![
        r.id,
        r.pipeline,
        r.status,
        r.event_id,
        r.input_sha256,
        r.prompt_sha256,
        r.prompt_version,
        r.model,
        output,
        r.error_type,
        r.error_class,
        r.error_message,
        r.attempts,
        r.input_tokens as i64,
        r.output_tokens as i64,
        r.cost_micros as i64,
        r.latency_ms as i64,
        r.created_at,
        r.finished_at,
        r.tenant,
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<RunRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT id, pipeline, status, event_id, input_sha256, prompt_sha256, prompt_version, model, output,
                error_type, error_class, error_message, attempts, input_tokens, output_tokens, cost_micros,
                latency_ms, created_at, finished_at, tenant
             FROM runs WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let output: Option<String> = r.get(8)?;
            Ok(RunRecord {
                id: r.get(0)?,
                pipeline: r.get(1)?,
                tenant: r.get(19)?,
                status: r.get(2)?,
                event_id: r.get(3)?,
                input_sha256: r.get(4)?,
                prompt_sha256: r.get(5)?,
                prompt_version: r.get(6)?,
                model: r.get(7)?,
                output: output.and_then(|o| serde_json::from_str(&o).ok()),
                error_type: r.get(9)?,
                error_class: r.get(10)?,
                error_message: r.get(11)?,
                attempts: r.get(12)?,
                input_tokens: r.get::<_, i64>(13)? as u64,
                output_tokens: r.get::<_, i64>(14)? as u64,
                cost_micros: r.get::<_, i64>(15)? as u64,
                latency_ms: r.get::<_, i64>(16)? as u64,
                created_at: r.get(17)?,
                finished_at: r.get(18)?,
                queue_item: None,
                pii_map: None,
                review: None,
            })
        })
        .optional()?;
    Ok(row)
}
