//! Spend read from the stored runs and the audit's per-call records.

use rusqlite::{Connection, params};

use crate::store::{DaySpend, ModelSpend, Result, SpendRow};

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// `since` as a lower bound on RFC 3339 text (a bare date sorts before
/// every time of that day); empty means everything.
fn lower(since: Option<&str>) -> &str {
    since.unwrap_or("")
}

pub fn spend(conn: &Connection, since: Option<&str>) -> Result<Vec<SpendRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT substr(created_at, 1, 10) AS day, pipeline, tenant, model, count(*),
                sum(input_tokens), sum(output_tokens), sum(cost_micros)
         FROM runs WHERE created_at >= ?1
         GROUP BY day, pipeline, tenant, model ORDER BY day, pipeline, tenant, model",
    )?;
    let rows = stmt
        .query_map([lower(since)], |r| {
            Ok(SpendRow {
                day: r.get(0)?,
                pipeline: r.get(1)?,
                tenant: r.get(2)?,
                model: r.get(3)?,
                runs: u(r.get(4)?),
                input_tokens: u(r.get(5)?),
                output_tokens: u(r.get(6)?),
                cost_micros: u(r.get(7)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn spend_by_model(conn: &Connection, since: Option<&str>) -> Result<Vec<ModelSpend>> {
    // Pipeline runs leave one `infer` record per call with its own model
    // and cost (fallbacks included); chat completions leave none, so they
    // count by the run's model.
    let mut stmt = conn.prepare_cached(
        "SELECT model, sum(calls), sum(input_tokens), sum(output_tokens), sum(cost) FROM (
           SELECT json_extract(a.body, '$.model') AS model, count(*) AS calls,
                  sum(coalesce(json_extract(a.body, '$.usage.input_tokens'), 0)) AS input_tokens,
                  sum(coalesce(json_extract(a.body, '$.usage.output_tokens'), 0)) AS output_tokens,
                  sum(coalesce(json_extract(a.body, '$.cost_micros'), 0)) AS cost
           FROM runs r JOIN audit a ON a.run_id = r.id
           WHERE r.created_at >= ?1 AND a.layer = 'infer' AND json_extract(a.body, '$.status') = 'ok'
           GROUP BY 1
           UNION ALL
           SELECT r.model, count(*), sum(r.input_tokens), sum(r.output_tokens), sum(r.cost_micros)
           FROM runs r
           WHERE r.created_at >= ?1 AND r.model IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.run_id = r.id AND a.layer = 'infer')
           GROUP BY 1
         ) GROUP BY model ORDER BY sum(cost) DESC, model",
    )?;
    let rows = stmt
        .query_map([lower(since)], |r| {
            Ok(ModelSpend {
                model: r.get::<_, Option<String>>(0)?.unwrap_or_else(|| "-".into()),
                calls: u(r.get(1)?),
                input_tokens: u(r.get(2)?),
                output_tokens: u(r.get(3)?),
                cost_micros: u(r.get(4)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn run_usage(
    conn: &Connection,
    pipeline: Option<&str>,
    since: Option<&str>,
) -> Result<Vec<(u64, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT input_tokens, output_tokens FROM runs
         WHERE created_at >= ?1 AND (?2 IS NULL OR pipeline = ?2)
           AND (input_tokens > 0 OR output_tokens > 0)",
    )?;
    let rows = stmt
        .query_map(params![lower(since), pipeline], |r| {
            Ok((u(r.get(0)?), u(r.get(1)?)))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn daily_spend(conn: &Connection, from: &str, to: &str) -> Result<Vec<DaySpend>> {
    let mut stmt = conn.prepare_cached(
        "SELECT pipeline, substr(created_at, 1, 10) AS day, sum(cost_micros) FROM runs
         WHERE day >= ?1 AND day <= ?2 AND created_at >= ?1
         GROUP BY pipeline, day ORDER BY pipeline, day",
    )?;
    let rows = stmt
        .query_map(params![from, to], |r| {
            Ok(DaySpend {
                pipeline: r.get(0)?,
                day: r.get(1)?,
                cost_micros: u(r.get(2)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The UTC day of each pipeline's first run.
pub fn first_days(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT pipeline, substr(min(created_at), 1, 10) FROM runs GROUP BY pipeline",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
