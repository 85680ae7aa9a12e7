//! `seam drift list|accept`: contract drift recorded in the store (a
//! running strict `seam serve` rereads the contract before refusing).

use std::process::ExitCode;

use super::DriftCommand;
use crate::store::ContractStore;
use crate::store::sqlite::SqliteStore;

fn open(path: &std::path::Path) -> Result<SqliteStore, String> {
    let config = super::load_config(path)?;
    SqliteStore::open(&config.store).map_err(|e| e.to_string())
}

pub async fn run(command: DriftCommand) -> Result<ExitCode, String> {
    match command {
        DriftCommand::List {
            config,
            source,
            all,
            json,
        } => {
            let store = open(&config.config)?;
            let rows = store
                .drifts(source.as_deref(), !all, 1000)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::json!({ "drift": rows }));
            } else if rows.is_empty() {
                println!("no contract drift recorded");
            } else {
                println!(
                    "{:<14} {:<8} {:<28} {:<14} {:<14} {:>6}  {:<9} last seen",
                    "source", "change", "field", "was", "now", "count", "status"
                );
                for r in &rows {
                    println!(
                        "{:<14} {:<8} {:<28} {:<14} {:<14} {:>6}  {:<9} {}",
                        r.source,
                        r.kind,
                        r.path,
                        r.was.as_deref().unwrap_or("-"),
                        r.now.as_deref().unwrap_or("-"),
                        r.count,
                        r.status,
                        r.last_at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DriftCommand::Accept { source, config } => {
            let store = open(&config.config)?;
            let n = crate::ingest::drift::accept(&store, &source)
                .await
                .map_err(|e| e.to_string())?;
            println!("{n} change(s) of `{source}` accepted into its contract");
            Ok(ExitCode::SUCCESS)
        }
    }
}
