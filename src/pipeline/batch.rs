//! The batch shape: each JSONL line through the same layers; a bad line
//! becomes an error result, never a crash.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::{Runtime, execute_as};

#[derive(Debug, Default)]
pub struct BatchSummary {
    pub lines: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// One output line for one input line.
pub(super) async fn one(
    rt: Arc<Runtime>,
    pipeline: Arc<str>,
    line_no: u64,
    line: Vec<u8>,
    run_id: Option<String>,
) -> (bool, Value) {
    // Bytes, not text: a line that is not UTF-8 is an error result, not the end of the batch.
    let parsed = crate::ingest::normalize::utf8::check(&line)
        .map_err(|e| {
            format!(
                "line {line_no} is not valid UTF-8: byte 0x{:02X} at column {}",
                e.byte, e.column
            )
        })
        .and_then(|()| {
            serde_json::from_slice(&line).map_err(|e| format!("line {line_no} is not JSON: {e}"))
        });
    let input: Value = match parsed {
        Ok(v) => v,
        Err(message) => {
            return (
                false,
                json!({
                    "line": line_no,
                    "error": {"type": "invalid_request", "class": "client", "message": message, "run_id": null}
                }),
            );
        }
    };
    let tenant = crate::store::DEFAULT_TENANT;
    let opts = super::RunOptions {
        run_id,
        ..Default::default()
    };
    match execute_as(&rt, &pipeline, input, tenant, None, opts).await {
        Ok(r) => (true, json!({"line": line_no, "result": r})),
        Err(f) => (false, json!({"line": line_no, "error": f.to_json()})),
    }
}

/// The non-blank lines of `input`, numbered from 1 (blank lines count).
pub(super) async fn read_lines(
    input: impl tokio::io::AsyncRead + Unpin,
) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
    let mut reader = BufReader::new(input);
    let mut numbered = Vec::new();
    let mut line_no = 0u64;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        line_no += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            numbered.push((line_no, line));
        }
    }
    Ok(numbered)
}

/// Run every line of `input` and write one JSON result per line to `out`,
/// in input order, `concurrency` runs at a time.
pub async fn run_batch(
    rt: Arc<Runtime>,
    pipeline: &str,
    input: impl tokio::io::AsyncRead + Unpin,
    out: &mut (impl AsyncWrite + Unpin),
    concurrency: usize,
    mut progress: impl FnMut(&BatchSummary),
) -> std::io::Result<BatchSummary> {
    let pipeline: Arc<str> = Arc::from(pipeline);
    let numbered = read_lines(input).await?;
    let mut results = futures_util::stream::iter(numbered)
        .map(|(n, line)| one(rt.clone(), pipeline.clone(), n, line, None))
        .buffered(concurrency.max(1));
    let mut summary = BatchSummary::default();
    while let Some((ok, value)) = results.next().await {
        summary.lines += 1;
        if ok {
            summary.succeeded += 1;
        } else {
            summary.failed += 1;
        }
        let mut text = crate::canonical::to_string(&value);
        text.push('\n');
        out.write_all(text.as_bytes()).await?;
        progress(&summary);
    }
    out.flush().await?;
    Ok(summary)
}
