//! The outbox worker: claims due actions with a lease, delivers them with
//! their idempotency key, retries transient failures with backoff, and
//! dead-letters the rest. A row is marked delivered only after the sink
//! confirmed; a crash in between redelivers with the same key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::infer::RetryPolicy;
use crate::pipeline::Runtime;
use crate::store::{AuditEntry, DeliveryOutcome, OutboxItem};

/// How long a claimed row stays leased before another worker may take it.
/// Sink timeouts are capped below it at config load, so a delivery still
/// running is never handed to a second worker.
pub const LEASE: Duration = Duration::from_secs(120);
/// Backoff between delivery attempts.
const BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: 0,
    base_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(60),
};
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Run until `shutdown` turns true, then finish in-flight deliveries.
pub async fn run(rt: Arc<Runtime>, concurrency: usize, mut shutdown: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut inflight = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while inflight.try_join_next().is_some() {}
        let free = permits.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match rt.store.claim_outbox(free, LEASE).await {
                Ok(items) => {
                    claimed = items.len();
                    for item in items {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let rt = rt.clone();
                        inflight.spawn(async move {
                            deliver(&rt, item).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox claim failed"),
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        let wait = match rt.store.outbox_next_due().await {
            Ok(Some(due)) => Duration::from_millis(
                (due - crate::clock::now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64,
            ),
            _ => IDLE_POLL,
        };
        tokio::select! {
            _ = rt.outbox_wake.notified() => {}
            _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
            _ = shutdown.changed() => {}
        }
    }
    while inflight.join_next().await.is_some() {}
}

async fn deliver(rt: &Runtime, item: OutboxItem) {
    let Some(p) = rt.config.pipelines.get(&item.pipeline) else {
        let error = format!("pipeline `{}` is no longer declared", item.pipeline);
        record(
            rt,
            &item,
            DeliveryOutcome::Dead {
                error: error.clone(),
            },
            json!({"state": "dead", "error": error}),
        )
        .await;
        return;
    };
    let started = Instant::now();
    let result = p
        .sink
        .deliver(&rt.client, &item.body, &item.idempotency_key)
        .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (outcome, body) = match result {
        Ok(receipt) => (
            DeliveryOutcome::Delivered,
            json!({"state": "delivered", "status": receipt.status}),
        ),
        Err(e) if e.transient && item.attempts < p.sink.max_attempts() => {
            let at_ms =
                crate::clock::now_ms() + BACKOFF.delay(item.attempts, None).as_millis() as i64;
            let body = json!({"state": "retry", "status": e.status, "error": e.reason});
            (
                DeliveryOutcome::Retry {
                    at_ms,
                    error: e.detail,
                },
                body,
            )
        }
        Err(e) => {
            let body = json!({"state": "dead", "status": e.status, "error": e.reason});
            (DeliveryOutcome::Dead { error: e.detail }, body)
        }
    };
    let state = body["state"].as_str().unwrap_or("unknown").to_string();
    rt.metrics.delivery(&item.pipeline, &state);
    let mut body = body;
    body["latency_ms"] = json!(latency_ms);
    record(rt, &item, outcome, body).await;
}

async fn record(
    rt: &Runtime,
    item: &OutboxItem,
    outcome: DeliveryOutcome,
    mut body: serde_json::Value,
) {
    body["outbox_id"] = json!(item.id);
    body["attempt"] = json!(item.attempts);
    body["idempotency_key"] = json!(item.idempotency_key);
    let entry = AuditEntry {
        run_id: Some(item.run_id.clone()),
        layer: "delivery",
        at: crate::clock::now_rfc3339(),
        body,
    };
    match rt
        .store
        .finish_outbox(item.id, item.attempts, outcome, entry)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            outbox_id = item.id,
            "delivery outcome came after the lease expired; the newer attempt decides"
        ),
        // The lease expires and the row is delivered again with the same key.
        Err(e) => {
            tracing::warn!(outbox_id = item.id, error = %e, "could not record a delivery outcome")
        }
    }
}
