//! `seam dlq list|show|retry|purge`: the dead-letter queue of background
//! runs, read and changed in the store (a running `seam serve` picks a
//! retried entry up at its next poll).

use std::path::Path;
use std::process::ExitCode;

use super::DlqCommand;
use super::args::DlqSelect;
use crate::store::sqlite::SqliteStore;
use crate::store::{AuditStore, DeadFilter, QueueStore, RunStore};

fn open(path: &Path) -> Result<SqliteStore, String> {
    let config = super::load_config(path)?;
    SqliteStore::open(&config.store).map_err(|e| e.to_string())
}

fn filter(s: DlqSelect) -> Result<DeadFilter, String> {
    if s.id.is_none() && !s.all {
        return Err(
            "name an entry (its run id) or pass --all (with --pipeline/--type to narrow it)".into(),
        );
    }
    Ok(DeadFilter {
        id: s.id,
        pipeline: s.pipeline,
        error_type: s.error_type,
    })
}

pub async fn run(command: DlqCommand) -> Result<ExitCode, String> {
    match command {
        DlqCommand::List {
            config,
            pipeline,
            limit,
            json,
        } => {
            let store = open(&config.config)?;
            let rows = store
                .queue_rows(Some("dead"), pipeline.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::json!({ "dead": rows }));
            } else if rows.is_empty() {
                println!("the dead-letter queue is empty");
            } else {
                println!(
                    "{:<36}  {:<12} {:>8}  {:<24}  error",
                    "run id", "pipeline", "attempts", "died at"
                );
                for r in &rows {
                    println!(
                        "{:<36}  {:<12} {:>8}  {:<24}  {}: {}",
                        r.id,
                        r.pipeline,
                        r.attempts,
                        r.finished_at.as_deref().unwrap_or("-"),
                        r.error_type.as_deref().unwrap_or("-"),
                        r.error_message.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Show { id, config } => {
            let store = open(&config.config)?;
            let row = store
                .queue_row(&id)
                .await
                .map_err(|e| e.to_string())?
                .filter(|r| r.status == "dead")
                .ok_or_else(|| format!("`{id}` is not in the dead-letter queue"))?;
            let run = store.get_run(&id).await.map_err(|e| e.to_string())?;
            let records = store.audit_for_run(&id).await.map_err(|e| e.to_string())?;
            let body = serde_json::json!({"entry": row, "run": run, "records": records});
            println!(
                "{}",
                serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
            );
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Retry { select, config } => {
            let store = open(&config.config)?;
            let n = store
                .retry_dead(filter(select)?)
                .await
                .map_err(|e| e.to_string())?;
            println!("{n} entr{} queued again", if n == 1 { "y" } else { "ies" });
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Purge {
            select,
            config,
            yes,
        } => {
            let f = filter(select)?;
            if !yes {
                return Err(
                    "purging deletes the entries and their events for good: add --yes".into(),
                );
            }
            let store = open(&config.config)?;
            let n = store.purge_dead(f).await.map_err(|e| e.to_string())?;
            println!("{n} entr{} purged", if n == 1 { "y" } else { "ies" });
            Ok(ExitCode::SUCCESS)
        }
    }
}
