//! `seam kb add|list|search`: a knowledge base's documents, indexed and
//! inspected from the command line.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use super::{KbCommand, KbMode};
use crate::config::Config;
use crate::kb::{Kb, Mode};
use crate::pipeline::Runtime;

pub async fn run(command: KbCommand) -> Result<ExitCode, String> {
    match command {
        KbCommand::Add {
            dir,
            kb,
            prune,
            config,
            json,
        } => {
            let (_rt, kb) = open(&config.config, kb.as_deref())?;
            let r = kb.add(&dir, prune).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", json!({"kb": kb.name, "report": r}));
            } else {
                println!(
                    "kb `{}`: {} added, {} updated, {} unchanged, {} removed ({} chunk(s) written)",
                    kb.name, r.added, r.updated, r.unchanged, r.removed, r.chunks
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::List { kb, config, json } => {
            let (rt, kb) = open(&config.config, kb.as_deref())?;
            let docs = rt
                .store
                .kb_documents(&kb.name)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", json!({"kb": kb.name, "documents": docs}));
            } else {
                println!("{:<40} {:>6}  {:<12}  UPDATED", "PATH", "CHUNKS", "SHA256");
                for d in &docs {
                    println!(
                        "{:<40} {:>6}  {:<12}  {}",
                        d.path,
                        d.chunks,
                        &d.sha256[..d.sha256.len().min(12)],
                        d.updated_at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Search {
            query,
            kb,
            top,
            mode,
            config,
            json,
        } => {
            let (_rt, kb) = open(&config.config, kb.as_deref())?;
            let mode = match mode {
                KbMode::Hybrid => Mode::Hybrid,
                KbMode::Bm25 => Mode::Bm25,
                KbMode::Vector => Mode::Vector,
            };
            let hits = kb
                .search(&query, top.max(1), mode)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", json!({"kb": kb.name, "hits": hits}));
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:>2}  {:>8}  {:>4}  {:>6}  {:<28}  TITLE",
                "#", "SCORE", "BM25", "VECTOR", "ID"
            );
            let rank = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
            for (i, h) in hits.iter().enumerate() {
                println!(
                    "{:>2}  {:>8.5}  {:>4}  {:>6}  {:<28}  {}",
                    i + 1,
                    h.score,
                    rank(h.bm25_rank),
                    rank(h.vector_rank),
                    h.id,
                    h.title
                );
                let line: String = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
                let cut: String = line.chars().take(100).collect();
                println!("    {cut}{}", if cut.len() < line.len() { "…" } else { "" });
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The runtime (store, embedders) and the chosen knowledge base.
fn open(file: &std::path::Path, kb: Option<&str>) -> Result<(Arc<Runtime>, Arc<Kb>), String> {
    let cfg = super::load_config(file)?;
    let name = choose(&cfg, kb)?;
    let rt = Runtime::start(cfg).map_err(|e| e.to_string())?;
    let kb = rt.kbs.get(&name).map_err(|e| e.to_string())?;
    Ok((rt, kb))
}

fn choose(cfg: &Config, kb: Option<&str>) -> Result<String, String> {
    match kb {
        Some(k) if cfg.kb.contains_key(k) => Ok(k.to_string()),
        Some(k) => Err(format!("knowledge base `{k}` is not declared in [kb]")),
        None => {
            let mut names = cfg.kb.keys();
            match (names.next(), names.next()) {
                (Some(only), None) => Ok(only.clone()),
                (None, _) => Err(format!(
                    "`{}` declares no knowledge base ([kb.NAME])",
                    cfg.file.display()
                )),
                (Some(_), Some(_)) => Err(format!(
                    "`{}` declares several knowledge bases: choose one with --kb",
                    cfg.file.display()
                )),
            }
        }
    }
}
