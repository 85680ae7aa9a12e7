//! `seam run PIPELINE --input FILE.jsonl`: the batch shape.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::pipeline::{Runtime, run_batch};

pub async fn run(
    path: &Path,
    pipeline: &str,
    input: &Path,
    output: Option<&Path>,
    concurrency: usize,
    drain_secs: u64,
) -> Result<ExitCode, String> {
    let config = super::load_config(path)?;
    if !config.pipelines.contains_key(pipeline) {
        let known: Vec<_> = config.pipelines.keys().cloned().collect();
        return Err(format!(
            "pipeline `{pipeline}` is not declared (declared: {})",
            known.join(", ")
        ));
    }
    let file = tokio::fs::File::open(input)
        .await
        .map_err(|e| format!("cannot open {}: {e}", input.display()))?;
    let rt = Runtime::start(config).map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::act::outbox::run(
        rt.clone(),
        rt.config.server.outbox_concurrency,
        stop_rx,
    ));

    let started = Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |s: &crate::pipeline::BatchSummary| {
        if tty {
            eprint!(
                "\r{pipeline}: {} done, {} ok, {} failed",
                s.lines, s.succeeded, s.failed
            );
        }
    };
    let summary = match output {
        Some(out) => {
            let mut f = tokio::fs::File::create(out)
                .await
                .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
            run_batch(rt.clone(), pipeline, file, &mut f, concurrency, progress).await
        }
        None => {
            run_batch(
                rt.clone(),
                pipeline,
                file,
                &mut tokio::io::stdout(),
                concurrency,
                progress,
            )
            .await
        }
    }
    .map_err(|e| format!("batch I/O failed: {e}"))?;
    eprintln!(
        "{}{pipeline}: {} line(s), {} ok, {} failed in {:.1} s",
        if tty { "\r" } else { "" },
        summary.lines,
        summary.succeeded,
        summary.failed,
        started.elapsed().as_secs_f64()
    );

    // Let the outbox deliver what the batch queued.
    let drain_until = Instant::now() + Duration::from_secs(drain_secs);
    let mut open = rt.store.outbox_open().await.map_err(|e| e.to_string())?;
    while open > 0 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        open = rt.store.outbox_open().await.map_err(|e| e.to_string())?;
    }
    let _ = stop_tx.send(true);
    let _ = worker.await;
    if open > 0 {
        eprintln!("{open} action(s) still queued in the outbox; `seam serve` will deliver them");
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
