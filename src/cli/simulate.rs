//! `seam simulate`.

use std::net::SocketAddr;
use std::process::ExitCode;

pub async fn simulate(listen: SocketAddr, faults: &str, seed: u64) -> Result<ExitCode, String> {
    let faults = crate::simulate::parse_faults(faults).map_err(|e| format!("--faults: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("seam simulate listening on http://{local}");
    crate::simulate::serve(listener, faults, seed, super::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
