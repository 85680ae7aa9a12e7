//! `seam simulate`.

use std::net::SocketAddr;
use std::process::ExitCode;

use crate::simulate::{Options, parse_faults, parse_limit};

pub async fn simulate(
    listen: SocketAddr,
    faults: &str,
    limit: &str,
    seed: u64,
) -> Result<ExitCode, String> {
    parse_faults(faults).map_err(|e| format!("--faults: {e}"))?;
    let limits = parse_limit(limit).map_err(|e| format!("--limit: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("seam simulate listening on http://{local}");
    let options = Options {
        faults: faults.to_string(),
        seed,
        limits,
    };
    crate::simulate::serve_with(listener, options, super::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
