//! `seam audit verify` and `seam audit show`.

use std::path::Path;
use std::process::ExitCode;

use crate::store::sqlite::SqliteStore;

fn open(path: &Path) -> Result<SqliteStore, String> {
    let config = super::load_config(path)?;
    SqliteStore::open(&config.store).map_err(|e| e.to_string())
}

pub async fn verify(path: &Path) -> Result<ExitCode, String> {
    let store = open(path)?;
    let report = crate::audit::verify(&store)
        .await
        .map_err(|e| e.to_string())?;
    match report.broken {
        None => {
            println!(
                "audit chain intact: {} record(s), head {}",
                report.records,
                report.head.as_deref().unwrap_or("(empty)")
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            println!(
                "audit chain BROKEN at record {} (layer {}, run {}): {}; {} record(s) before it verified",
                b.seq,
                b.layer,
                b.run_id.as_deref().unwrap_or("-"),
                b.reason,
                report.records
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn show(path: &Path, run_id: &str, json: bool) -> Result<ExitCode, String> {
    use crate::store::{AuditStore, RunStore};
    let store = open(path)?;
    let run = store.get_run(run_id).await.map_err(|e| e.to_string())?;
    let records = store
        .audit_for_run(run_id)
        .await
        .map_err(|e| e.to_string())?;
    if run.is_none() && records.is_empty() {
        return Err(format!("run `{run_id}` not found"));
    }
    if json {
        let body = serde_json::json!({"run": run, "records": records});
        println!(
            "{}",
            serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
        );
    } else {
        if let Some(r) = &run {
            println!(
                "run {}  pipeline {}  status {}  model {}  tokens {}/{}  cost {} µ$  latency {} ms",
                r.id,
                r.pipeline,
                r.status,
                r.model.as_deref().unwrap_or("-"),
                r.input_tokens,
                r.output_tokens,
                r.cost_micros,
                r.latency_ms
            );
        }
        print!("{}", crate::audit::render_run(&records));
    }
    Ok(ExitCode::SUCCESS)
}
