//! WAL checkpoints off the commit path. The writer's connection has
//! auto-checkpointing switched off, so a commit never stalls behind copying
//! the WAL into the database file; this thread does it every second with a
//! PASSIVE checkpoint, which blocks neither readers nor the writer.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crate::config::Synchronous;
use crate::store::{Result, StoreError};

const EVERY: Duration = Duration::from_secs(1);

/// Runs until the returned sender is dropped (with the store).
pub fn start(path: PathBuf, sync: Synchronous) -> Result<mpsc::Sender<()>> {
    let conn = super::open_connection(&path, sync)?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("seam-store-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Database(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(stop)
}
