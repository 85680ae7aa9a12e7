//! `seam serve`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::pipeline::Runtime;

pub async fn serve(path: &Path, listen: Option<SocketAddr>) -> Result<ExitCode, String> {
    let config = super::load_config(path)?;
    let addr = listen.unwrap_or(config.server.listen);
    let rt = Runtime::start(config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("seam listening on http://{local}");
    tracing::info!(%local, pipelines = rt.config.pipelines.len(), "serving");
    // Budget sweeps and the daily-cost check, every `[alerts.daily_cost]
    // interval_secs`, starting now.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(crate::budget::anomaly::watch(
        rt.store.clone(),
        rt.budgets.clone(),
        rt.config.daily_cost.clone(),
        rt.metrics.clone(),
        stopped,
    ));
    let sweeper = tokio::spawn(sweep_pii_maps(rt.store.clone(), stop.subscribe()));
    let served = crate::server::run(listener, rt, super::shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = watcher.await;
    let _ = sweeper.await;
    served.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Delete the sealed PII maps of escalated runs once they expire: now,
/// then hourly, until `stop`.
async fn sweep_pii_maps(
    store: std::sync::Arc<dyn crate::store::Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => {
                match store.sweep_pii_maps(crate::clock::now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(maps = n, "expired PII maps deleted"),
                    Err(e) => tracing::warn!(error = %e, "could not sweep expired PII maps"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}
