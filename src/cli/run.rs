//! `seam run PIPELINE --input FILE.jsonl [--output FILE.jsonl]`: the batch
//! shape. With `--output` the batch is checkpointed and resumes when rerun
//! (`pipeline/resume.rs`); to standard output it runs straight through.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::resume::{BatchRun, run_resumable};
use crate::pipeline::{Runtime, run_batch};

pub async fn run(
    path: &Path,
    pipeline: &str,
    input: &Path,
    output: Option<&Path>,
    concurrency: usize,
    drain_secs: u64,
    fresh: bool,
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
    let bar = progress_bar(pipeline);
    let (lines, failed) = match output {
        Some(out) => {
            drop(file);
            let b = BatchRun {
                pipeline,
                input,
                output: out,
                concurrency,
                fresh,
            };
            let bar2 = bar.clone();
            let r = run_resumable(
                rt.clone(),
                b,
                move |done, total| {
                    bar2.set_length(total);
                    bar2.set_position(done);
                },
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await
            .map_err(|e| e.to_string());
            bar.finish_and_clear();
            let r = r?;
            if r.already_complete {
                eprintln!(
                    "{pipeline}: this batch already completed; its results are in {} (--fresh runs it again)",
                    out.display()
                );
                // Still deliver what an earlier invocation left queued.
                let open = drain(&rt, drain_secs).await?;
                let _ = stop_tx.send(true);
                let _ = worker.await;
                if open > 0 {
                    eprintln!(
                        "{open} action(s) still queued in the outbox; `seam serve` will deliver them"
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            if r.kept + r.recovered > 0 {
                eprintln!(
                    "{pipeline}: resumed: {} line(s) answered before, {} rebuilt from their committed runs",
                    r.kept, r.recovered
                );
            }
            if r.interrupted {
                drain(&rt, drain_secs).await?;
                let _ = stop_tx.send(true);
                let _ = worker.await;
                eprintln!(
                    "{pipeline}: stopped after {} of {} line(s); run the same command again to resume",
                    r.summary.lines, r.total
                );
                return Ok(ExitCode::from(130));
            }
            (r.summary.lines, r.summary.failed)
        }
        None => {
            let bar2 = bar.clone();
            let s = run_batch(
                rt.clone(),
                pipeline,
                file,
                &mut tokio::io::stdout(),
                concurrency,
                move |s| bar2.set_position(s.lines),
            )
            .await
            .map_err(|e| format!("batch I/O failed: {e}"));
            bar.finish_and_clear();
            let s = s?;
            (s.lines, s.failed)
        }
    };
    eprintln!(
        "{pipeline}: {lines} line(s), {} ok, {failed} failed in {:.1} s",
        lines - failed,
        started.elapsed().as_secs_f64()
    );

    let open = drain(&rt, drain_secs).await?;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    if open > 0 {
        eprintln!("{open} action(s) still queued in the outbox; `seam serve` will deliver them");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// A bar with rate and ETA on a terminal; hidden when stderr is not one.
fn progress_bar(pipeline: &str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} lines  {per_sec}  ETA {eta}  ({elapsed})",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(pipeline.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Let the outbox deliver what the batch queued; the number still open.
pub(super) async fn drain(rt: &Arc<Runtime>, drain_secs: u64) -> Result<u64, String> {
    let drain_until = Instant::now() + Duration::from_secs(drain_secs);
    let mut open = rt.store.outbox_open().await.map_err(|e| e.to_string())?;
    while open > 0 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        open = rt.store.outbox_open().await.map_err(|e| e.to_string())?;
    }
    Ok(open)
}
