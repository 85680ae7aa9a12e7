//! The HTTP edge. Only this module knows HTTP; handlers stay thin and call
//! `pipeline`. `run` takes the listener and the shutdown signal so tests and
//! `seam serve` share one path.
//!
//! Shutdown order: stop accepting → drain in-flight requests → stop the
//! outbox worker at a safe point (claimed rows finish or their lease
//! expires) → drop the runtime, which closes the store writer after its
//! last commit.

mod error;
mod idempotency;
mod router;
mod routes;
pub(crate) mod tenant;

use std::future::Future;
use std::sync::Arc;

pub use error::ApiError;
pub use router::app;

use crate::pipeline::Runtime;

pub async fn run(
    listener: tokio::net::TcpListener,
    rt: Arc<Runtime>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::act::outbox::run(
        rt.clone(),
        rt.config.server.outbox_concurrency,
        stop_rx.clone(),
    ));
    let background = tokio::spawn(crate::pipeline::worker::run(rt.clone(), stop_rx.clone()));
    let served = axum::serve(listener, app(rt))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    // Background runs in flight finish (their leases would hand them to the
    // next start otherwise); actions they leave are delivered by the next
    // start's outbox worker if this one has stopped.
    if let Err(e) = background.await {
        tracing::error!(error = %e, "background workers ended abnormally");
    }
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "outbox worker ended abnormally");
    }
    served
}
