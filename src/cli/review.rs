//! `seam review list|show|approve|reject`: the human review queue, read and
//! decided in the store through the same code as `/v1/admin/reviews` (a
//! running `seam serve`'s outbox worker delivers an approved action at its
//! next poll).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ReviewCommand;
use crate::pipeline::Runtime;
use crate::pipeline::review::decide::{self, Approve, Reject};
use crate::store::ReviewFilter;

fn start(path: &Path) -> Result<Arc<Runtime>, String> {
    let config = super::load_config(path)?;
    Runtime::start(config).map_err(|e| e.to_string())
}

/// `--output`/`--correction`: a JSON object, or `@FILE` holding one.
fn object(flag: &str, text: &str) -> Result<Map<String, Value>, String> {
    let text = match text.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| format!("{flag}: cannot read `{file}`: {e}"))?,
        None => text.to_string(),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(format!("{flag}: expected a JSON object")),
        Err(e) => Err(format!("{flag}: not JSON: {e}")),
    }
}

fn print(value: &Value, json: bool) -> Result<(), String> {
    if json {
        println!("{value}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

/// An error as the CLI reports it: its message, and a first decision.
fn failed(e: crate::error::Error) -> String {
    match &e {
        crate::error::Error::AlreadyDecided { decision, .. } => format!("{e}: {decision}"),
        crate::error::Error::InputInvalid(errors) => {
            let detail: Vec<String> = errors
                .iter()
                .map(|f| format!("{}: {}", f.pointer, f.message))
                .collect();
            format!("{e}: {}", detail.join("; "))
        }
        _ => e.to_string(),
    }
}

pub async fn run(command: ReviewCommand) -> Result<ExitCode, String> {
    match command {
        ReviewCommand::List {
            config,
            status,
            pipeline,
            limit,
            json,
        } => {
            let rt = start(&config.config)?;
            let filter = ReviewFilter {
                status: decide::parse_status(Some(&status)).map_err(failed)?,
                pipeline,
            };
            let rows = decide::list(rt.store.as_ref(), filter, limit)
                .await
                .map_err(failed)?;
            if json {
                println!("{}", serde_json::json!({ "reviews": rows }));
            } else if rows.is_empty() {
                println!("no reviews");
            } else {
                println!(
                    "{:<36}  {:<14} {:<9} {:<24}  {:<24}  reason",
                    "run id", "pipeline", "status", "created at", "type"
                );
                for r in &rows {
                    println!(
                        "{:<36}  {:<14} {:<9} {:<24}  {:<24}  {}",
                        r.run_id,
                        r.pipeline,
                        r.status,
                        r.created_at,
                        r.reason.kind,
                        r.reason.message
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Show { run_id, config } => {
            let rt = start(&config.config)?;
            let view = decide::show(rt.store.as_ref(), &run_id)
                .await
                .map_err(failed)?;
            print(&view, false)?;
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Approve {
            run_id,
            config,
            by,
            note,
            output,
            json,
        } => {
            let output = output.map(|o| object("--output", &o)).transpose()?;
            let rt = start(&config.config)?;
            let done = decide::approve(&rt, &run_id, Approve { by, note, output })
                .await
                .map_err(failed)?;
            print(&done, json)?;
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Reject {
            run_id,
            config,
            by,
            note,
            correction,
            json,
        } => {
            let correction = correction.map(|c| object("--correction", &c)).transpose()?;
            let rt = start(&config.config)?;
            let done = decide::reject(
                &rt,
                &run_id,
                Reject {
                    by,
                    note,
                    correction,
                },
            )
            .await
            .map_err(failed)?;
            print(&done, json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
