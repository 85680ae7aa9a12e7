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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::store::{EvalRun, EvalStore};

    fn row(variant: &str, set: &str, score: f64) -> EvalRun {
        EvalRun {
            id: 0,
            pipeline: "triage".into(),
            variant: variant.into(),
            models: vec!["small".into(), "large".into()],
            prompt_version: "abc".into(),
            set_path: "eval.jsonl".into(),
            set_sha256: set.into(),
            cases: 20,
            score,
            fields: json!({"category": {"rule": "exact", "score": score, "cases": 20}}),
            hallucination_rate: 0.05,
            refusal_rate: 0.1,
            latency_p50_ms: 7,
            latency_p95_ms: 30,
            cost_micros_total: 1340,
            cost_micros_per_item: 67,
            input_tokens: 6533,
            output_tokens: 585,
            passed: true,
            seam_version: "0.1.0".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            finished_at: "2026-01-01T00:00:01.000Z".into(),
        }
    }

    #[tokio::test]
    async fn baseline_is_the_latest_of_the_same_variant_and_set() {
        let dir = tempfile::tempdir().unwrap();
        let s = super::super::tests::store(&dir);
        assert!(
            s.last_eval_run("triage", "default", "h1")
                .await
                .unwrap()
                .is_none()
        );
        let a = s.add_eval_run(row("default", "h1", 0.5)).await.unwrap();
        let b = s.add_eval_run(row("default", "h1", 0.7)).await.unwrap();
        s.add_eval_run(row("model:large", "h1", 0.9)).await.unwrap();
        s.add_eval_run(row("default", "h2", 0.1)).await.unwrap();
        assert!(b > a);
        let last = s
            .last_eval_run("triage", "default", "h1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((last.id, last.score), (b, 0.7));
        assert_eq!(last.models, ["small", "large"]);
        assert_eq!(last.fields["category"]["cases"], 20);
        assert_eq!((last.latency_p95_ms, last.cost_micros_per_item), (30, 67));
        // History: oldest first, by set, the latest `limit`.
        let all = s.eval_runs("triage", None, 10).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].id, a);
        let h1 = s.eval_runs("triage", Some("h1"), 2).await.unwrap();
        assert_eq!(h1.iter().map(|r| r.score).collect::<Vec<_>>(), [0.7, 0.9]);
        assert!(s.eval_runs("other", None, 10).await.unwrap().is_empty());
    }
}
