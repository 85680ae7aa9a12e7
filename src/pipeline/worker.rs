//! The background workers: one loop per pipeline claims queued runs under
//! a lease (a crashed worker's lease expires and the run is taken again),
//! runs each with the pipeline's concurrency, and ends every attempt one
//! way: the run's own commit settles the row (answered, escalated, or
//! dead-lettered for bad input), or a transient failure is tried again
//! with backoff until `max_attempts`, then dead-lettered with its class,
//! message and attempts. On shutdown the loops stop claiming and wait for
//! the runs in flight.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::{RunFailure, Runtime, execute_queued};
use crate::config::Pipeline;
use crate::error::{Error, ErrorClass};
use crate::store::{QueueItem, QueueOutcome};

/// How often an idle loop looks for due rows (retries, other processes).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Past the run's own deadline, how long a lease lasts: a worker that holds
/// a row this long is presumed dead.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// On shutdown, how long runs in flight may take to finish. Past it they
/// are dropped uncommitted: their leases expire and the next start runs
/// them again, so nothing is lost.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Work every pipeline's queue until `shutdown` turns true.
pub async fn run(rt: Arc<Runtime>, shutdown: watch::Receiver<bool>) {
    let mut loops = JoinSet::new();
    for p in rt.config.pipelines.values() {
        loops.spawn(work(rt.clone(), p.clone(), shutdown.clone()));
    }
    while loops.join_next().await.is_some() {}
}

async fn work(rt: Arc<Runtime>, p: Arc<Pipeline>, mut shutdown: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(p.queue.concurrency));
    let lease = p.run_timeout + LEASE_MARGIN;
    let mut inflight = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while inflight.try_join_next().is_some() {}
        let free = permits.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match rt.store.claim_queue(&p.name, free, lease).await {
                Ok(items) => {
                    claimed = items.len();
                    for item in items {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let (rt, p) = (rt.clone(), p.clone());
                        inflight.spawn(async move {
                            attempt(&rt, &p, item).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(pipeline = %p.name, error = %e, "queue claim failed"),
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        tokio::select! {
            _ = rt.queue_wake.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = shutdown.changed() => {}
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while inflight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(pipeline = %p.name, left = inflight.len(),
            "background runs still in flight after the shutdown grace; their leases will hand them to the next start");
        inflight.abort_all();
    }
}

/// One attempt of a queued run.
async fn attempt(rt: &Runtime, p: &Pipeline, item: QueueItem) {
    let failure = match execute_queued(rt, &item).await {
        Ok(_) => return,
        Err(f) => f,
    };
    if settled_by_run(&failure) {
        return;
    }
    let e = &failure.error;
    let retryable = e.class() == ErrorClass::Transient || matches!(e, Error::Cancelled);
    let outcome = if !retryable || item.attempts >= p.queue.retry.max_attempts {
        QueueOutcome::Dead
    } else {
        let delay = p.queue.retry.delay(item.attempts, None);
        QueueOutcome::Retry {
            at_ms: crate::clock::now_ms() + delay.as_millis() as i64,
        }
    };
    let dead = matches!(outcome, QueueOutcome::Dead);
    let message = e.to_string();
    match rt
        .store
        .finish_queue(
            &item.id,
            item.attempts,
            outcome,
            (e.type_name(), e.class().as_str(), &message),
        )
        .await
    {
        Ok(true) if dead => {
            tracing::warn!(run_id = %item.id, pipeline = %p.name, attempts = item.attempts,
                error_type = e.type_name(), "background run dead-lettered");
            rt.metrics.run_finished(&p.name, "dead");
        }
        Ok(_) => {}
        // The lease runs out and the row is taken again: nothing is lost.
        Err(err) => tracing::warn!(run_id = %item.id, error = %err, "queue row not updated"),
    }
}

/// Whether the run's commit already ended its queue row: escalated to a
/// human, or bad input (dead-lettered with the run). Anything else — a
/// transient failure, a cancelled run, one that could not be recorded, a
/// configuration error — is the worker's to retry or dead-letter.
fn settled_by_run(f: &RunFailure) -> bool {
    f.run_id.is_some() && (f.escalated || matches!(f.error, Error::InputInvalid(_)))
}
