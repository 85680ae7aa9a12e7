//! `seam dlq list|show|retry|purge`: the dead-letter queue of background
//! runs and deliveries, read and changed in the store (a running `seam
//! serve` picks a retried entry up at its next poll).

use std::path::Path;
use std::process::ExitCode;

use super::DlqCommand;
use super::args::DlqSelect;
use crate::store::sqlite::SqliteStore;
use crate::store::{DeadFilter, DeadLetterStore};

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
        layer: s.layer,
    })
}

pub async fn run(command: DlqCommand) -> Result<ExitCode, String> {
    match command {
        DlqCommand::List {
            config,
            pipeline,
            error_type,
            layer,
            limit,
            json,
        } => {
            let store = open(&config.config)?;
            let filter = DeadFilter {
                id: None,
                pipeline,
                error_type,
                layer,
            };
            let rows = store
                .dead_entries(filter, limit)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::json!({ "dead": rows }));
            } else if rows.is_empty() {
                println!("the dead-letter queue is empty");
            } else {
                println!(
                    "{:<36}  {:<8}  {:<12} {:<6} {:>8} {:>7}  {:<24}  error",
                    "run id", "kind", "pipeline", "layer", "attempts", "retries", "died at"
                );
                for r in &rows {
                    println!(
                        "{:<36}  {:<8}  {:<12} {:<6} {:>8} {:>7}  {:<24}  {}: {}",
                        r.id,
                        r.kind,
                        r.pipeline,
                        r.layer.as_deref().unwrap_or("-"),
                        r.attempts,
                        r.retries,
                        r.died_at.as_deref().unwrap_or("-"),
                        r.error_type.as_deref().unwrap_or("-"),
                        r.error_message.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Show { id, config } => {
            let store = open(&config.config)?;
            let body = crate::pipeline::dead_letters::show(&store, &id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("`{id}` is not in the dead-letter queue"))?;
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
