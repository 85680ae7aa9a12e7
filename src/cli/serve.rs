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
    let served = crate::server::run(listener, rt, super::shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = watcher.await;
    served.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
