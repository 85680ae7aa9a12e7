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

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::leased::{self, Leased, LoopSettings};
use super::{RunFailure, Runtime, execute_queued};
use crate::config::Pipeline;
use crate::error::{Error, ErrorClass};
use crate::store::{Failure, QueueItem, QueueOutcome, queue_status_after};

/// How often an idle loop looks for due rows (retries, other processes).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// On shutdown, how long runs in flight may take to finish. Past it they
/// are dropped uncommitted: their leases expire and the next start runs
/// them again, so nothing is lost.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Work every pipeline's queue until `shutdown` turns true.
pub async fn run(rt: Arc<Runtime>, shutdown: watch::Receiver<bool>) {
    let mut loops = JoinSet::new();
    for p in rt.config.pipelines.values() {
        let settings = LoopSettings {
            concurrency: p.queue.concurrency,
            idle_poll: IDLE_POLL,
            grace: SHUTDOWN_GRACE,
        };
        let work = Arc::new(QueueWork {
            rt: rt.clone(),
            p: p.clone(),
            name: format!("queue {}", p.name),
        });
        loops.spawn(leased::run(
            work,
            settings,
            rt.queue_wake.clone(),
            shutdown.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
}

/// One pipeline's queued runs.
struct QueueWork {
    rt: Arc<Runtime>,
    p: Arc<Pipeline>,
    name: String,
}

#[async_trait::async_trait]
impl Leased for QueueWork {
    type Item = QueueItem;
    type Id = String;

    fn name(&self) -> &str {
        &self.name
    }

    fn id(item: &QueueItem) -> (String, u32) {
        (item.id.clone(), item.attempts)
    }

    async fn claim(&self, limit: usize, lease: Duration) -> crate::store::Result<Vec<QueueItem>> {
        self.rt.store.claim_queue(&self.p.name, limit, lease).await
    }

    async fn renew(&self, held: Vec<(String, u32)>, lease: Duration) -> crate::store::Result<()> {
        self.rt.store.renew_queue_leases(held, lease).await
    }

    async fn process(self: Arc<Self>, item: QueueItem) {
        attempt(&self.rt, &self.p, item).await;
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
    let failure = Failure {
        error_type: e.type_name().into(),
        class: e.class().as_str().into(),
        layer: e.layer().into(),
        message: e.to_string(),
    };
    match rt
        .store
        .finish_queue(&item.id, item.attempts, outcome, failure)
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

/// Whether the run's commit already ended its queue row (see
/// [`queue_status_after`]); anything else — a transient failure, a
/// cancelled run, one that could not be recorded — is the worker's to
/// retry or dead-letter.
fn settled_by_run(f: &RunFailure) -> bool {
    f.status.as_deref().and_then(queue_status_after).is_some()
}
