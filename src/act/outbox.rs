//! The outbox worker: claims due actions under a lease (kept alive while
//! the delivery runs), delivers them with their idempotency key through
//! the sink's circuit breaker, retries transient failures with backoff,
//! and dead-letters the rest. A row is marked delivered only after the
//! sink confirmed; a crash in between redelivers with the same key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::sinks::DeliveryError;
use crate::error::ErrorClass;
use crate::infer::RetryPolicy;
use crate::infer::guard::Verdict;
use crate::pipeline::Runtime;
use crate::pipeline::leased::{self, Leased, LoopSettings};
use crate::store::{AuditEntry, DeliveryOutcome, Failure, OutboxItem};

/// Backoff between delivery attempts.
const BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: 0,
    base_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(60),
};
const IDLE_POLL: Duration = Duration::from_millis(500);
/// On shutdown, how long deliveries in flight may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Run until `shutdown` turns true, then finish in-flight deliveries.
pub async fn run(rt: Arc<Runtime>, concurrency: usize, shutdown: watch::Receiver<bool>) {
    let settings = LoopSettings {
        concurrency,
        idle_poll: IDLE_POLL,
        grace: SHUTDOWN_GRACE,
    };
    let wake = rt.outbox_wake.clone();
    leased::run(Arc::new(Outbox { rt }), settings, wake, shutdown).await;
}

struct Outbox {
    rt: Arc<Runtime>,
}

#[async_trait::async_trait]
impl Leased for Outbox {
    type Item = OutboxItem;
    type Id = i64;

    fn name(&self) -> &str {
        "outbox"
    }

    fn id(item: &OutboxItem) -> (i64, u32) {
        (item.id, item.attempts)
    }

    async fn claim(&self, limit: usize, lease: Duration) -> crate::store::Result<Vec<OutboxItem>> {
        self.rt.store.claim_outbox(limit, lease).await
    }

    async fn renew(&self, held: Vec<(i64, u32)>, lease: Duration) -> crate::store::Result<()> {
        self.rt.store.renew_outbox_leases(held, lease).await
    }

    async fn process(self: Arc<Self>, item: OutboxItem) {
        deliver(&self.rt, item).await;
    }

    async fn next_due(&self) -> Option<i64> {
        self.rt.store.outbox_next_due().await.ok().flatten()
    }
}

/// The dead-letter class of a delivery the sink refused: the sink not
/// found or not letting us in is our configuration; anything else it
/// refused is the action's data.
fn refused_class(e: &DeliveryError) -> ErrorClass {
    match e.status {
        Some(401 | 403 | 404 | 405 | 407) => ErrorClass::Configuration,
        _ => ErrorClass::Data,
    }
}

async fn deliver(rt: &Runtime, item: OutboxItem) {
    let Some(p) = rt.config.pipelines.get(&item.pipeline) else {
        let message = format!("pipeline `{}` is no longer declared", item.pipeline);
        let failure = Failure {
            error_type: "pipeline_gone".into(),
            class: ErrorClass::Configuration.as_str().into(),
            layer: "act".into(),
            message: message.clone(),
        };
        let body = json!({"state": "dead", "error": message});
        record(rt, &item, DeliveryOutcome::Dead(failure), Some(body)).await;
        return;
    };
    let permit = match rt.sink_breakers.admit(&item.pipeline) {
        Ok(permit) => permit,
        Err(wait) => {
            // The sink is resting: try again at its next probe, unspent.
            let at_ms = crate::clock::now_ms() + wait.as_millis() as i64;
            rt.metrics.delivery(&item.pipeline, "deferred");
            record(rt, &item, DeliveryOutcome::Deferred { at_ms }, None).await;
            return;
        }
    };
    let started = Instant::now();
    let result = p
        .sink
        .deliver(&rt.client, &item.body, &item.idempotency_key)
        .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let verdict = match &result {
        Ok(_) => Verdict::Success,
        Err(e) if e.transient => Verdict::Failure,
        Err(_) => Verdict::Ignored,
    };
    rt.sink_breakers.record(&item.pipeline, permit, verdict);
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
            let (error_type, class) = if e.transient {
                ("sink_unavailable", ErrorClass::Transient)
            } else {
                ("sink_refused", refused_class(&e))
            };
            let body = json!({"state": "dead", "status": e.status, "error": e.reason,
                "error_type": error_type, "attempts": item.attempts});
            let failure = Failure {
                error_type: error_type.into(),
                class: class.as_str().into(),
                layer: "act".into(),
                message: e.detail,
            };
            (DeliveryOutcome::Dead(failure), body)
        }
    };
    let state = body["state"].as_str().unwrap_or("unknown").to_string();
    rt.metrics.delivery(&item.pipeline, &state);
    let mut body = body;
    body["latency_ms"] = json!(latency_ms);
    record(rt, &item, outcome, Some(body)).await;
}

async fn record(
    rt: &Runtime,
    item: &OutboxItem,
    outcome: DeliveryOutcome,
    body: Option<serde_json::Value>,
) {
    let entry = body.map(|mut body| {
        body["outbox_id"] = json!(item.id);
        body["attempt"] = json!(item.attempts);
        body["idempotency_key"] = json!(item.idempotency_key);
        AuditEntry {
            run_id: Some(item.run_id.clone()),
            layer: "delivery",
            at: crate::clock::now_rfc3339(),
            body,
        }
    });
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
