//! SQLite (WAL) store. All writes go through one writer thread that commits
//! them in groups (one transaction and one fsync for many runs); reads use
//! their own connection. Outbox claims are a conditional `UPDATE …
//! RETURNING`, which SQLite's single writer makes a compare-and-set.

mod audit;
mod batch;
mod budgets;
mod checkpoint;
mod contracts;
mod cost;
mod dead_letters;
mod escalations;
mod eval;
mod feedback;
mod idempotency;
mod kb;
mod migrate;
mod outbox;
mod pii_maps;
mod queue;
mod runs;
mod writer;

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod queue_tests;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

pub use migrate::pending_migrations;
use writer::Op;

use super::{
    ContractStore, DeadEntry, DeadFilter, DeadLetterStore, DriftRow, Enqueued, Failure, NewDrift,
    NewQueued, QueueItem, QueueOutcome, QueueRow, QueueStore,
};

use super::{
    Alert, AuditEntry, AuditStore, BudgetStore, CostStore, DaySpend, DeliveryOutcome, Escalation,
    LedgerRow, ModelSpend, NewAlert, NewOutbox, OutboxItem, OutboxStore, ReserveOutcome,
    ReserveRequest, Result, RunRecord, RunStore, SettleOutcome, SpendRow, Store, StoreError,
    StoredAudit,
};
use crate::config::{StoreConfig, Synchronous};

pub struct SqliteStore {
    tx: mpsc::Sender<Op>,
    reader: Arc<Mutex<Connection>>,
    /// Dropping it stops the checkpoint thread.
    _checkpoint: std::sync::mpsc::Sender<()>,
}

fn open_connection(path: &Path, sync: Synchronous) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match sync {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        },
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating the file and folder if needed) and apply migrations.
    pub fn open(config: &StoreConfig) -> Result<SqliteStore> {
        if let Some(dir) = config.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create `{}`: {e}", dir.display()))
            })?;
        }
        let mut conn = open_connection(&config.path, config.synchronous)?;
        migrate::apply(&mut conn)?;
        let stale = budgets::expire_all_open(&mut conn)?;
        if stale > 0 {
            tracing::warn!(
                reservations = stale,
                "budget reservations left open by a stopped process were settled at their estimate"
            );
        }
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpoint = checkpoint::start(config.path.clone(), config.synchronous)?;
        let reader = open_connection(&config.path, config.synchronous)?;
        let (tx, rx) = mpsc::channel(8192);
        writer::start(conn, rx, config.group_commit_max)?;
        Ok(SqliteStore {
            tx,
            reader: Arc::new(Mutex::new(reader)),
            _checkpoint: checkpoint,
        })
    }

    async fn send<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Op) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Apply `f` in the writer's group transaction; answered after commit.
    async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write_audited(move |tx, _| f(tx)).await
    }

    /// A write that may also append audit records (to the chain `head`).
    async fn write_audited<T: Send + 'static>(
        &self,
        f: impl Fn(&rusqlite::Transaction<'_>, &mut audit::ChainHead) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let any = self
            .send(|reply| Op::Write {
                apply: Box::new(move |tx, head| {
                    f(tx, head).map(|v| Box::new(v) as writer::AnyValue)
                }),
                reply,
            })
            .await?;
        any.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Database("internal: store reply of the wrong type".into()))
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader
                .lock()
                .map_err(|_| StoreError::Database("reader lock poisoned".into()))?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl RunStore for SqliteStore {
    async fn commit_run(
        &self,
        run: RunRecord,
        audit: Vec<AuditEntry>,
        outbox: Option<NewOutbox>,
    ) -> Result<bool> {
        self.send(|reply| Op::CommitRun {
            run: Box::new(run),
            audit,
            outbox,
            reply,
        })
        .await
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>> {
        let id = id.to_string();
        self.read(move |c| runs::get(c, &id)).await
    }

    async fn escalations(&self, status: Option<&str>, limit: usize) -> Result<Vec<Escalation>> {
        let status = status.map(str::to_string);
        self.read(move |c| escalations::list(c, status.as_deref(), limit))
            .await
    }

    async fn pii_map(&self, run_id: &str, now_ms: i64) -> Result<Option<Vec<u8>>> {
        let run_id = run_id.to_string();
        self.read(move |c| pii_maps::get(c, &run_id, now_ms)).await
    }

    async fn sweep_pii_maps(&self, now_ms: i64) -> Result<u64> {
        self.write(move |tx| pii_maps::sweep(tx, now_ms)).await
    }
}

#[async_trait::async_trait]
impl QueueStore for SqliteStore {
    async fn enqueue(&self, item: NewQueued) -> Result<Enqueued> {
        self.write(move |tx| queue::enqueue(tx, &item)).await
    }

    async fn claim_queue(
        &self,
        pipeline: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<QueueItem>> {
        let pipeline = pipeline.to_string();
        self.write(move |tx| queue::claim(tx, &pipeline, limit, lease))
            .await
    }

    async fn finish_queue(
        &self,
        id: &str,
        attempt: u32,
        outcome: QueueOutcome,
        failure: Failure,
    ) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| queue::finish(tx, &id, attempt, &outcome, &failure))
            .await
    }

    async fn queue_row(&self, id: &str) -> Result<Option<QueueRow>> {
        let id = id.to_string();
        self.read(move |c| queue::get(c, &id)).await
    }

    async fn queue_rows(
        &self,
        status: Option<&str>,
        pipeline: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRow>> {
        let (status, pipeline) = (status.map(str::to_string), pipeline.map(str::to_string));
        self.read(move |c| queue::list(c, status.as_deref(), pipeline.as_deref(), limit))
            .await
    }

    async fn renew_queue_leases(&self, held: Vec<(String, u32)>, lease: Duration) -> Result<()> {
        self.write(move |tx| queue::renew(tx, &held, lease)).await
    }
}

#[async_trait::async_trait]
impl super::EvalStore for SqliteStore {
    async fn add_eval_run(&self, run: super::EvalRun) -> Result<i64> {
        self.write(move |tx| eval::add(tx, &run)).await
    }

    async fn last_eval_run(
        &self,
        pipeline: &str,
        variant: &str,
        set_sha256: &str,
    ) -> Result<Option<super::EvalRun>> {
        let (p, v, s) = (
            pipeline.to_string(),
            variant.to_string(),
            set_sha256.to_string(),
        );
        self.read(move |c| eval::last(c, &p, &v, &s)).await
    }

    async fn eval_runs(
        &self,
        pipeline: &str,
        set_sha256: Option<&str>,
        limit: usize,
    ) -> Result<Vec<super::EvalRun>> {
        let p = pipeline.to_string();
        let s = set_sha256.map(str::to_string);
        self.read(move |c| eval::list(c, &p, s.as_deref(), limit))
            .await
    }
}

#[async_trait::async_trait]
impl super::FeedbackStore for SqliteStore {
    async fn add_feedback(
        &self,
        f: super::NewFeedback,
        window: u32,
    ) -> Result<(i64, super::Accuracy)> {
        self.write_audited(move |tx, head| feedback::add(tx, head, &f, window))
            .await
    }

    async fn feedback(&self, pipeline: &str, limit: usize) -> Result<Vec<super::FeedbackRow>> {
        let pipeline = pipeline.to_string();
        self.read(move |c| feedback::list(c, &pipeline, limit))
            .await
    }
}

#[async_trait::async_trait]
impl super::ReviewStore for SqliteStore {
    async fn reviews(
        &self,
        filter: super::ReviewFilter,
        limit: usize,
    ) -> Result<Vec<super::ReviewRow>> {
        self.read(move |c| escalations::reviews(c, &filter, limit))
            .await
    }

    async fn review(&self, run_id: &str) -> Result<Option<super::ReviewRow>> {
        let run_id = run_id.to_string();
        self.read(move |c| escalations::review(c, &run_id)).await
    }

    async fn decide_review(&self, d: super::ReviewDecision) -> Result<super::Decided> {
        self.write_audited(move |tx, head| escalations::decide(tx, head, &d))
            .await
    }
}

#[async_trait::async_trait]
impl super::KbStore for SqliteStore {
    async fn kb_documents(&self, kb_name: &str) -> Result<Vec<super::KbDocument>> {
        let kb_name = kb_name.to_string();
        self.read(move |c| kb::documents(c, &kb_name)).await
    }

    async fn kb_put_document(&self, doc: super::NewKbDocument) -> Result<()> {
        let doc = Arc::new(doc);
        self.write(move |tx| kb::put(tx, &doc)).await
    }

    async fn kb_chunks(&self, kb_name: &str) -> Result<Vec<super::KbChunk>> {
        let kb_name = kb_name.to_string();
        self.read(move |c| kb::chunks(c, &kb_name)).await
    }

    async fn kb_remove_documents(&self, kb_name: &str, paths: Vec<String>) -> Result<()> {
        let kb_name = kb_name.to_string();
        self.write(move |tx| kb::remove(tx, &kb_name, &paths)).await
    }
}

#[async_trait::async_trait]
impl ContractStore for SqliteStore {
    async fn contracts(&self) -> Result<Vec<(String, String)>> {
        self.read(contracts::all).await
    }

    async fn contract(&self, source: &str) -> Result<Option<String>> {
        let source = source.to_string();
        self.read(move |c| contracts::get(c, &source)).await
    }

    async fn save_contract(&self, source: &str, contract: &str) -> Result<()> {
        let (source, contract) = (source.to_string(), contract.to_string());
        self.write(move |tx| contracts::save(tx, &source, &contract))
            .await
    }

    async fn record_drift(
        &self,
        source: &str,
        run_id: &str,
        changes: Vec<NewDrift>,
        contract: Option<String>,
        message: &str,
    ) -> Result<bool> {
        let (source, run_id, message) =
            (source.to_string(), run_id.to_string(), message.to_string());
        self.write(move |tx| {
            contracts::record(
                tx,
                &source,
                &run_id,
                &changes,
                contract.as_deref(),
                &message,
            )
        })
        .await
    }

    async fn drifts(
        &self,
        source: Option<&str>,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<DriftRow>> {
        let source = source.map(str::to_string);
        self.read(move |c| contracts::list(c, source.as_deref(), open_only, limit))
            .await
    }

    async fn accept_drift(&self, source: &str, contract: &str) -> Result<u64> {
        let (source, contract) = (source.to_string(), contract.to_string());
        self.write(move |tx| contracts::accept(tx, &source, &contract))
            .await
    }
}

#[async_trait::async_trait]
impl DeadLetterStore for SqliteStore {
    async fn dead_entries(&self, filter: DeadFilter, limit: usize) -> Result<Vec<DeadEntry>> {
        self.read(move |c| dead_letters::list(c, &filter, limit))
            .await
    }

    async fn retry_dead(&self, filter: DeadFilter) -> Result<u64> {
        self.write_audited(move |tx, head| dead_letters::retry(tx, head, &filter))
            .await
    }

    async fn purge_dead(&self, filter: DeadFilter) -> Result<u64> {
        self.write_audited(move |tx, head| dead_letters::purge(tx, head, &filter))
            .await
    }
}

#[async_trait::async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_outbox(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxItem>> {
        self.send(|reply| Op::Claim {
            limit,
            lease,
            reply,
        })
        .await
    }

    async fn finish_outbox(
        &self,
        id: i64,
        attempt: u32,
        outcome: DeliveryOutcome,
        audit: Option<AuditEntry>,
    ) -> Result<bool> {
        self.send(|reply| Op::Finish {
            id,
            attempt,
            outcome,
            audit,
            reply,
        })
        .await
    }

    async fn renew_outbox_leases(&self, held: Vec<(i64, u32)>, lease: Duration) -> Result<()> {
        self.write(move |tx| outbox::renew(tx, &held, lease)).await
    }

    async fn outbox_open(&self) -> Result<u64> {
        self.read(outbox::open_count).await
    }

    async fn outbox_next_due(&self) -> Result<Option<i64>> {
        self.read(outbox::next_due).await
    }
}

#[async_trait::async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<()> {
        self.send(|reply| Op::Append {
            audit: entries,
            reply,
        })
        .await
    }

    async fn audit_for_run(&self, run_id: &str) -> Result<Vec<StoredAudit>> {
        let run_id = run_id.to_string();
        self.read(move |c| audit::for_run(c, &run_id)).await
    }

    async fn audit_scan(&self, after: i64, limit: usize) -> Result<Vec<StoredAudit>> {
        self.read(move |c| audit::scan(c, after, limit)).await
    }
}

#[async_trait::async_trait]
impl BudgetStore for SqliteStore {
    async fn reserve(&self, request: ReserveRequest) -> Result<ReserveOutcome> {
        self.send(|reply| Op::Reserve { request, reply }).await
    }

    async fn settle(&self, id: &str, actual_micros: u64) -> Result<SettleOutcome> {
        let id = id.to_string();
        self.send(|reply| Op::Settle {
            id,
            actual_micros,
            reply,
        })
        .await
    }

    async fn expire_reservations(&self, now_ms: i64) -> Result<u64> {
        self.send(|reply| Op::Expire { now_ms, reply }).await
    }

    async fn ledger(&self, period_keys: Vec<String>) -> Result<Vec<LedgerRow>> {
        self.read(move |c| budgets::ledger(c, &period_keys)).await
    }

    async fn raise_alert(&self, alert: NewAlert) -> Result<bool> {
        self.send(|reply| Op::RaiseAlert { alert, reply }).await
    }

    async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>> {
        self.read(move |c| budgets::alerts(c, open_only)).await
    }
}

#[async_trait::async_trait]
impl CostStore for SqliteStore {
    async fn spend(&self, since: Option<String>) -> Result<Vec<SpendRow>> {
        self.read(move |c| cost::spend(c, since.as_deref())).await
    }

    async fn spend_by_model(&self, since: Option<String>) -> Result<Vec<ModelSpend>> {
        self.read(move |c| cost::spend_by_model(c, since.as_deref()))
            .await
    }

    async fn run_usage(
        &self,
        pipeline: Option<String>,
        since: Option<String>,
    ) -> Result<Vec<(u64, u64)>> {
        self.read(move |c| cost::run_usage(c, pipeline.as_deref(), since.as_deref()))
            .await
    }

    async fn daily_spend(&self, from: String, to: String) -> Result<Vec<DaySpend>> {
        self.read(move |c| cost::daily_spend(c, &from, &to)).await
    }

    async fn first_days(&self) -> Result<Vec<(String, String)>> {
        self.read(cost::first_days).await
    }
}

#[async_trait::async_trait]
impl crate::store::BatchStore for SqliteStore {
    async fn batch_write(&self, write: crate::store::BatchWrite) -> Result<()> {
        self.write(move |tx| batch::write(tx, &write)).await
    }

    async fn batch_find(
        &self,
        key: &crate::store::BatchKey,
    ) -> Result<Option<crate::store::BatchRow>> {
        let key = key.clone();
        self.read(move |c| batch::find(c, &key)).await
    }

    async fn batch_lines(&self, batch_id: &str) -> Result<Vec<crate::store::BatchLine>> {
        let id = batch_id.to_string();
        self.read(move |c| batch::lines(c, &id)).await
    }

    async fn runs_between(
        &self,
        pipeline: &str,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<Vec<String>> {
        let (p, s, u) = (pipeline.to_string(), since.to_string(), until.to_string());
        self.read(move |c| batch::runs_between(c, &p, &s, &u, limit))
            .await
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}
