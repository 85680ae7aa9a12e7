//! `seam replay RUN_ID [--model M] [--act]` and its backfill form
//! `seam replay --pipeline P --since DATE`: re-run stored runs' redacted
//! input (from their `ingest` audit records) through their pipeline. A dry
//! run (the default) records the new run but queues no action; `--act`
//! queues it (same idempotency key as before when the output is the same,
//! so the sink does not see it twice). Each new run's trail starts with a
//! `replay` record naming the run it replays. One JSON line per replay.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::pipeline::{RunOptions, Runtime, execute_as};

/// What to replay and how.
#[derive(Debug)]
pub struct ReplayArgs {
    pub run_id: Option<String>,
    pub pipeline: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: usize,
    pub model: Option<String>,
    pub act: bool,
    pub drain_secs: u64,
}

/// A bound given as `YYYY-MM-DD` or an RFC 3339 time, as stored (UTC, ms).
fn bound(text: &str, flag: &str) -> Result<String, String> {
    if let Ok(day) = crate::budget::Day::parse(text) {
        return Ok(day.to_string());
    }
    humantime::parse_rfc3339_weak(text)
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .map_err(|e| format!("--{flag}: `{text}` is neither YYYY-MM-DD nor an RFC 3339 time: {e}"))
}

pub async fn replay(path: &Path, a: ReplayArgs) -> Result<ExitCode, String> {
    let mut config = super::load_config(path)?;
    if let Some(m) = &a.model {
        if !config.models.contains_key(m) {
            let known: Vec<_> = config.models.keys().cloned().collect();
            return Err(format!(
                "model `{m}` is not declared (declared: {})",
                known.join(", ")
            ));
        }
        // This process only replays: every pipeline asks `m` alone.
        for p in config.pipelines.values_mut() {
            std::sync::Arc::get_mut(p)
                .ok_or("internal: the pipeline config is shared")?
                .models = vec![m.clone()];
        }
    }
    let rt = Runtime::start(config).map_err(|e| e.to_string())?;
    let ids = match (&a.run_id, &a.pipeline) {
        (Some(id), None) => vec![id.clone()],
        (None, Some(p)) => {
            let since = a.since.as_deref().ok_or("--pipeline needs --since")?;
            let since = bound(since, "since")?;
            // Runs made from here on (these replays) are not sources.
            let until = match &a.until {
                Some(u) => bound(u, "until")?,
                None => crate::clock::now_rfc3339(),
            };
            rt.store
                .runs_between(p, &since, &until, a.limit)
                .await
                .map_err(|e| e.to_string())?
        }
        _ => return Err("name a RUN_ID, or --pipeline P --since DATE".into()),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = a.act.then(|| {
        tokio::spawn(crate::act::outbox::run(
            rt.clone(),
            rt.config.server.outbox_concurrency,
            stop_rx,
        ))
    });
    let mut failed = 0u64;
    for id in &ids {
        let line = match one(&rt, id, &a).await {
            Ok(v) => v,
            Err(message) => json!({"replay_of": id, "error": message}),
        };
        if line.get("error").is_some() {
            failed += 1;
        }
        println!("{}", crate::canonical::to_string(&line));
    }
    eprintln!(
        "replayed {} run(s), {failed} failed{}",
        ids.len(),
        if a.act {
            ""
        } else {
            " (dry run: no action queued)"
        }
    );
    if let Some(worker) = worker {
        let open = super::run::drain(&rt, a.drain_secs).await?;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        if open > 0 {
            eprintln!(
                "{open} action(s) still queued in the outbox; `seam serve` will deliver them"
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Replay one run: its redacted input through its pipeline.
async fn one(rt: &Arc<Runtime>, id: &str, a: &ReplayArgs) -> Result<Value, String> {
    let original = rt
        .store
        .get_run(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run `{id}`"))?;
    let trail = rt
        .store
        .audit_for_run(id)
        .await
        .map_err(|e| e.to_string())?;
    let input = trail
        .iter()
        .filter(|r| r.layer == "ingest")
        .find_map(|r| {
            let body: Value = serde_json::from_str(&r.body).ok()?;
            (body["valid"] == true).then(|| body["input"].clone())
        })
        .ok_or_else(|| {
            format!("run `{id}` has no valid input in its audit trail (it was rejected)")
        })?;
    let opts = RunOptions {
        run_id: None,
        dry_run: !a.act,
        replay_of: Some(id.to_string()),
        queue: None,
    };
    let result = execute_as(rt, &original.pipeline, input, &original.tenant, None, opts).await;
    let was =
        json!({"status": original.status, "model": original.model, "output": original.output});
    Ok(match result {
        Ok(r) => {
            // The new run's row holds the redacted output too: compare those.
            let now = rt
                .store
                .get_run(&r.run_id)
                .await
                .ok()
                .flatten()
                .and_then(|x| x.output);
            json!({
                "replay_of": id,
                "run_id": r.run_id,
                "dry_run": !a.act,
                "status": r.status,
                "model": r.model,
                "output": now,
                "same_output": now.is_some() && now == original.output,
                "original": was,
            })
        }
        Err(f) => {
            json!({"replay_of": id, "dry_run": !a.act, "error": f.to_json(), "original": was})
        }
    })
}
