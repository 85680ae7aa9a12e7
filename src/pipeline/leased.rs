//! The one loop behind every kind of leased work (queued runs, outbox
//! deliveries): claim due items under a short lease, up to a concurrency
//! limit; keep the leases of items in flight alive with a heartbeat; wait
//! for a wake-up, the next due time or a poll when idle; on shutdown stop
//! claiming and let the items in flight finish within a grace period.
//!
//! A process that dies stops its heartbeat, so its leases run out within
//! [`LEASE`] and another process (or the next start) takes the items again.
//! Every outcome is recorded only while the attempt still holds its lease
//! (the attempt number is the fencing token), so a worker that was merely
//! slow can never overwrite a newer attempt.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::store::Result;

/// How long a claim lasts without a heartbeat.
pub const LEASE: Duration = Duration::from_secs(15);
/// How often the leases of items in flight are renewed.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// A kind of leased work.
#[async_trait::async_trait]
pub trait Leased: Send + Sync + 'static {
    type Item: Send + 'static;
    /// The item's row id, for the heartbeat.
    type Id: Clone + Eq + Hash + Send + Sync + 'static;

    /// What the logs call it (`queue triage`, `outbox`).
    fn name(&self) -> &str;
    fn id(item: &Self::Item) -> (Self::Id, u32);
    /// Lease up to `limit` due items.
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<Self::Item>>;
    /// Extend the leases still held by these (id, attempt) pairs.
    async fn renew(&self, held: Vec<(Self::Id, u32)>, lease: Duration) -> Result<()>;
    /// Do one item and record its outcome.
    async fn process(self: Arc<Self>, item: Self::Item);
    /// When the next item falls due, if known (Unix ms).
    async fn next_due(&self) -> Option<i64> {
        None
    }
}

/// How the loop runs.
pub struct LoopSettings {
    pub concurrency: usize,
    /// Longest wait while idle before looking again (other processes may
    /// have queued work).
    pub idle_poll: Duration,
    /// Items in flight may take this long to finish after shutdown; past
    /// it they are dropped uncommitted and their leases run out.
    pub grace: Duration,
}

/// Work until `shutdown` turns true, then drain.
pub async fn run<W: Leased>(
    work: Arc<W>,
    settings: LoopSettings,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let held: Arc<Mutex<HashMap<W::Id, u32>>> = Arc::default();
    let mut inflight = JoinSet::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *shutdown.borrow() {
            break;
        }
        while inflight.try_join_next().is_some() {}
        let free = permits.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match work.claim(free, LEASE).await {
                Ok(items) => {
                    claimed = items.len();
                    for item in items {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let (id, attempt) = W::id(&item);
                        lock(&held).insert(id.clone(), attempt);
                        let (work, held) = (work.clone(), held.clone());
                        inflight.spawn(async move {
                            work.process(item).await;
                            lock(&held).remove(&id);
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(work = work.name(), error = %e, "claim failed"),
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        let wait = match work.next_due().await {
            Some(due) => Duration::from_millis(
                (due - crate::clock::now_ms()).clamp(5, settings.idle_poll.as_millis() as i64)
                    as u64,
            ),
            None => settings.idle_poll,
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
            _ = heartbeat.tick() => renew(work.as_ref(), &held).await,
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(settings.grace, async {
        loop {
            tokio::select! {
                done = inflight.join_next() => if done.is_none() { break },
                _ = heartbeat.tick() => renew(work.as_ref(), &held).await,
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            work = work.name(),
            left = inflight.len(),
            "work still in flight after the shutdown grace; its leases hand it to the next start"
        );
        inflight.abort_all();
    }
}

async fn renew<W: Leased>(work: &W, held: &Mutex<HashMap<W::Id, u32>>) {
    let ids: Vec<(W::Id, u32)> = lock(held).iter().map(|(k, v)| (k.clone(), *v)).collect();
    if ids.is_empty() {
        return;
    }
    if let Err(e) = work.renew(ids, LEASE).await {
        tracing::warn!(work = work.name(), error = %e, "lease renewal failed");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
