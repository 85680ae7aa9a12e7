//! `eval_runs` rows.

use rusqlite::{Connection, Row, Transaction, params};

use crate::store::{EvalRun, Result};

const COLUMNS: &str = "id, pipeline, variant, models, prompt_version, set_path, set_sha256, cases, score,
    fields, hallucination_rate, refusal_rate, latency_p50_ms, latency_p95_ms, cost_micros_total,
    cost_micros_per_item, input_tokens, output_tokens, passed, seam_version, started_at, finished_at";

pub fn add(tx: &Transaction<'_>, r: &EvalRun) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO eval_runs (pipeline, variant, models, prompt_version, set_path, set_sha256,
            cases, score, fields, hallucination_rate, refusal_rate, latency_p50_ms, latency_p95_ms,
            cost_micros_total, cost_micros_per_item, input_tokens, output_tokens, passed,
            seam_version, started_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
    )?
    .execute(params![
        r.pipeline,
        r.variant,
        crate::canonical::to_string(&serde_json::json!(r.models)),
        r.prompt_version,
        r.set_path,
        r.set_sha256,
        r.cases as i64,
        r.score,
        crate::canonical::to_string(&r.fields),
        r.hallucination_rate,
        r.refusal_rate,
        r.latency_p50_ms as i64,
        r.latency_p95_ms as i64,
        r.cost_micros_total as i64,
        r.cost_micros_per_item as i64,
        r.input_tokens as i64,
        r.output_tokens as i64,
        r.passed,
        r.seam_version,
        r.started_at,
        r.finished_at,
    ])?;
    Ok(tx.last_insert_rowid())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<EvalRun> {
    let models: String = r.get(3)?;
    let fields: String = r.get(9)?;
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok(EvalRun {
        id: r.get(0)?,
        pipeline: r.get(1)?,
        variant: r.get(2)?,
        models: serde_json::from_str(&models).unwrap_or_default(),
        prompt_version: r.get(4)?,
        set_path: r.get(5)?,
        set_sha256: r.get(6)?,
        cases: n(7)?,
        score: r.get(8)?,
        fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
        hallucination_rate: r.get(10)?,
        refusal_rate: r.get(11)?,
        latency_p50_ms: n(12)?,
        latency_p95_ms: n(13)?,
        cost_micros_total: n(14)?,
        cost_micros_per_item: n(15)?,
        input_tokens: n(16)?,
        output_tokens: n(17)?,
        passed: r.get(18)?,
        seam_version: r.get(19)?,
        started_at: r.get(20)?,
        finished_at: r.get(21)?,
    })
}

pub fn last(
    conn: &Connection,
    pipeline: &str,
    variant: &str,
    set_sha256: &str,
) -> Result<Option<EvalRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM eval_runs WHERE pipeline = ?1 AND variant = ?2 AND set_sha256 = ?3
         ORDER BY id DESC LIMIT 1"
    ))?;
    let mut rows = stmt.query_map(params![pipeline, variant, set_sha256], from_row)?;
    Ok(rows.next().transpose()?)
}

pub fn list(
    conn: &Connection,
    pipeline: &str,
    set_sha256: Option<&str>,
    limit: usize,
) -> Result<Vec<EvalRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT {COLUMNS} FROM eval_runs
           WHERE pipeline = ?1 AND (?2 IS NULL OR set_sha256 = ?2)
           ORDER BY id DESC LIMIT ?3) ORDER BY id"
    ))?;
    let rows = stmt
        .query_map(params![pipeline, set_sha256, limit as i64], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
