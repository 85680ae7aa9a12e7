//! A batch that survives being stopped: `seam run --input IN --output OUT`.
//!
//! Each line is checkpointed in the store (migration 0006) with the run id
//! it is given *before* its run starts; its result line is appended to the
//! journal (`journal.rs`) when the run has committed. Rerunning the same
//! command (same pipeline, same input bytes, same output path) resumes:
//! a line in the journal is kept; a line whose run committed but whose
//! result was not journaled yet is rebuilt from the run row (output still
//! redacted, marked `"recovered": true`) and never run again; only lines
//! with no committed run are run. The output is written in input order
//! when every line has a result.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Runtime;
use super::batch::{BatchSummary, one, read_lines};
use super::journal::{self, Journal};
use crate::store::{BatchKey, BatchWrite, RunRecord, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("{what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("batch checkpoint: {0}")]
    Store(#[from] StoreError),
}

/// How a resumable batch ended.
#[derive(Debug, Default)]
pub struct Resumed {
    pub summary: BatchSummary,
    /// Input lines with a result (blank lines have none).
    pub total: u64,
    /// Lines answered by an earlier, stopped invocation.
    pub kept: u64,
    /// Lines whose run had committed but whose result was rebuilt from it.
    pub recovered: u64,
    /// The batch had already completed; nothing was run.
    pub already_complete: bool,
    /// Stopped (Ctrl-C) before every line was answered.
    pub interrupted: bool,
}

/// Settings of one resumable batch.
pub struct BatchRun<'a> {
    pub pipeline: &'a str,
    pub input: &'a Path,
    pub output: &'a Path,
    pub concurrency: usize,
    /// Forget any checkpoint and start from the first line.
    pub fresh: bool,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ResumeError {
    let path = path.to_path_buf();
    move |source| ResumeError::Io { what, path, source }
}

/// Run (or resume) the batch. `progress(done, total)` after each line;
/// `stop` resolving stops starting new lines (those in flight finish).
pub async fn run_resumable(
    rt: Arc<Runtime>,
    b: BatchRun<'_>,
    mut progress: impl FnMut(u64, u64),
    stop: impl std::future::Future<Output = ()>,
) -> Result<Resumed, ResumeError> {
    let bytes = tokio::fs::read(b.input)
        .await
        .map_err(io("cannot read", b.input))?;
    let output = std::path::absolute(b.output).map_err(io("cannot resolve", b.output))?;
    let key = BatchKey {
        pipeline: b.pipeline.to_string(),
        input_sha256: crate::canonical::sha256_hex(&bytes),
        output: output.to_string_lossy().into_owned(),
    };
    let numbered = read_lines(&bytes[..])
        .await
        .map_err(io("cannot read", b.input))?;
    let total = numbered.len() as u64;
    let store = rt.store.clone();

    let mut existing = store.batch_find(&key).await?;
    if let Some(row) = &existing
        && (b.fresh || (row.finished && !output.exists()))
    {
        store
            .batch_write(BatchWrite::Forget { id: row.id.clone() })
            .await?;
        existing = None;
    }
    if let Some(row) = &existing
        && row.finished
    {
        return Ok(Resumed {
            total,
            already_complete: true,
            ..Resumed::default()
        });
    }
    let resume = existing.is_some();
    if existing.is_none() {
        store
            .batch_write(BatchWrite::Open {
                id: uuid::Uuid::now_v7().to_string(),
                key: key.clone(),
                lines: total,
            })
            .await?;
    }
    let batch_id = store
        .batch_find(&key)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the batch row just written is missing".into()))?
        .id;
    let checkpoints: std::collections::HashMap<u64, crate::store::BatchLine> = store
        .batch_lines(&batch_id)
        .await?
        .into_iter()
        .map(|l| (l.line, l))
        .collect();
    let jpath = journal::path_for(&output);
    let mut jr = Journal::open(jpath.clone(), resume).map_err(io("cannot open journal", &jpath))?;

    let mut out = Resumed {
        total,
        ..Resumed::default()
    };
    let count = |s: &mut BatchSummary, v: &Value| {
        s.lines += 1;
        if v.get("result").is_some() {
            s.succeeded += 1;
        } else {
            s.failed += 1;
        }
    };
    let mut todo = Vec::new();
    for (n, line) in numbered {
        if let Some(text) = jr.get(n) {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            count(&mut out.summary, &v);
            out.kept += 1;
            continue;
        }
        if let Some(cp) = checkpoints.get(&n)
            && cp.run_committed
            && let Some(rec) = store.get_run(&cp.run_id).await?
        {
            let v = rebuilt(n, &rec);
            jr.append(n, &v)
                .map_err(io("cannot write journal", &jpath))?;
            mark_done(&*store, &batch_id, n, &cp.run_id).await?;
            count(&mut out.summary, &v);
            out.recovered += 1;
            continue;
        }
        todo.push((n, line));
    }
    progress(out.summary.lines, total);

    let pipeline: Arc<str> = Arc::from(b.pipeline);
    let started = {
        let store = store.clone();
        let batch_id = batch_id.clone();
        move |n: u64, line: Vec<u8>| {
            let (rt, store, pipeline, batch_id) = (
                rt.clone(),
                store.clone(),
                pipeline.clone(),
                batch_id.clone(),
            );
            async move {
                let run_id = uuid::Uuid::now_v7().to_string();
                // Durable before the run starts: after a crash, the run id
                // tells whether this line's run committed.
                store
                    .batch_write(BatchWrite::Line {
                        batch_id,
                        line: n,
                        run_id: run_id.clone(),
                        status: "started",
                    })
                    .await?;
                let (_, v) = one(rt, pipeline, n, line, Some(run_id.clone())).await;
                Ok::<_, StoreError>((n, run_id, v))
            }
        }
    };
    let mut stop = std::pin::pin!(stop);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let feed = futures_util::stream::iter(todo)
        .take_while(move |_| std::future::ready(!*stop_rx.borrow()));
    let mut results = std::pin::pin!(
        feed.map(|(n, line)| started(n, line))
            .buffer_unordered(b.concurrency.max(1))
    );
    loop {
        let next = tokio::select! {
            next = results.next() => next,
            () = &mut stop, if !*stop_tx.borrow() => {
                let _ = stop_tx.send(true);
                out.interrupted = true;
                continue;
            }
        };
        let Some(done) = next else { break };
        let (n, run_id, v) = done?;
        jr.append(n, &v)
            .map_err(io("cannot write journal", &jpath))?;
        mark_done(&*store, &batch_id, n, &run_id).await?;
        count(&mut out.summary, &v);
        progress(out.summary.lines, total);
    }
    if out.summary.lines < total {
        out.interrupted = true;
        return Ok(out);
    }
    jr.finish(&output).map_err(io("cannot write", &output))?;
    store
        .batch_write(BatchWrite::Finish { id: batch_id })
        .await?;
    Ok(out)
}

async fn mark_done(
    store: &dyn crate::store::Store,
    batch_id: &str,
    line: u64,
    run_id: &str,
) -> Result<(), StoreError> {
    store
        .batch_write(BatchWrite::Line {
            batch_id: batch_id.to_string(),
            line,
            run_id: run_id.to_string(),
            status: "done",
        })
        .await
}

/// The result line of a run that committed before its result was
/// journaled, from its row (the output keeps its PII placeholders: the
/// map to restore them lived only in the stopped process).
fn rebuilt(line: u64, rec: &RunRecord) -> Value {
    match rec.output.clone() {
        Some(output) if rec.error_type.is_none() => json!({
            "line": line,
            "recovered": true,
            "result": {
                "run_id": rec.id,
                "pipeline": rec.pipeline,
                "status": rec.status,
                "output": output,
                "model": rec.model,
                "attempts": rec.attempts,
                "cost_micros": rec.cost_micros,
                "latency_ms": rec.latency_ms,
                "prompt_sha256": rec.prompt_sha256,
                "prompt_version": rec.prompt_version,
            }
        }),
        _ => json!({
            "line": line,
            "recovered": true,
            "error": {
                "type": rec.error_type,
                "class": rec.error_class,
                "message": rec.error_message,
                "run_id": rec.id,
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(output: Option<Value>, error: Option<&str>) -> RunRecord {
        RunRecord {
            id: "r1".into(),
            pipeline: "p".into(),
            tenant: crate::store::DEFAULT_TENANT.into(),
            status: if error.is_some() {
                "failed"
            } else {
                "succeeded"
            }
            .into(),
            event_id: Some("E1".into()),
            input_sha256: None,
            prompt_sha256: None,
            prompt_version: None,
            model: Some("m".into()),
            output,
            error_type: error.map(str::to_string),
            error_class: error.map(|_| "data".to_string()),
            error_message: error.map(|_| "bad".to_string()),
            attempts: 1,
            input_tokens: 0,
            output_tokens: 0,
            cost_micros: 7,
            latency_ms: 3,
            created_at: String::new(),
            finished_at: String::new(),
            queue_item: None,
            pii_map: None,
            review: None,
        }
    }

    #[test]
    fn a_committed_run_rebuilds_its_result_line() {
        let ok = rebuilt(4, &record(Some(json!({"a": "<EMAIL_1>"})), None));
        assert_eq!(ok["line"], 4);
        assert_eq!(ok["recovered"], true);
        assert_eq!(ok["result"]["run_id"], "r1");
        assert_eq!(ok["result"]["output"]["a"], "<EMAIL_1>");
        let failed = rebuilt(5, &record(None, Some("output_invalid")));
        assert!(failed.get("result").is_none());
        assert_eq!(failed["error"]["type"], "output_invalid");
        assert_eq!(failed["error"]["run_id"], "r1");
    }
}
