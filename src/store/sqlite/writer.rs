//! The single writer: group commit. It takes every write waiting in the
//! channel (up to `group_commit_max`), applies them in one transaction,
//! commits once (one fsync), then answers every caller.
//! A caller is answered only after its write is durable.

use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::{audit, budgets, escalations, idempotency, outbox, pii_maps, queue, runs};
use crate::store::{
    AuditEntry, DeliveryOutcome, IdemBegin, IdemClaim, NewAlert, NewOutbox, OutboxItem,
    ReserveOutcome, ReserveRequest, Result, RunRecord, SettleOutcome, StoreError,
};

/// A write of any shape, applied by the writer in its group transaction.
/// `Fn`, not `FnOnce`: a group that fails is rolled back and each of its
/// writes applied again on its own.
pub type WriteFn = Box<dyn Fn(&Transaction<'_>, &mut audit::ChainHead) -> Result<AnyValue> + Send>;
pub type AnyValue = Box<dyn std::any::Any + Send>;

pub enum Op {
    Write {
        apply: WriteFn,
        reply: oneshot::Sender<Result<AnyValue>>,
    },
    CommitRun {
        run: Box<RunRecord>,
        audit: Vec<AuditEntry>,
        outbox: Option<NewOutbox>,
        reply: oneshot::Sender<Result<bool>>,
    },
    Append {
        audit: Vec<AuditEntry>,
        reply: oneshot::Sender<Result<()>>,
    },
    Claim {
        limit: usize,
        lease: Duration,
        reply: oneshot::Sender<Result<Vec<OutboxItem>>>,
    },
    Finish {
        id: i64,
        attempt: u32,
        outcome: DeliveryOutcome,
        audit: Option<AuditEntry>,
        reply: oneshot::Sender<Result<bool>>,
    },
    Reserve {
        request: ReserveRequest,
        reply: oneshot::Sender<Result<ReserveOutcome>>,
    },
    Settle {
        id: String,
        actual_micros: u64,
        reply: oneshot::Sender<Result<SettleOutcome>>,
    },
    Expire {
        now_ms: i64,
        reply: oneshot::Sender<Result<u64>>,
    },
    RaiseAlert {
        alert: NewAlert,
        reply: oneshot::Sender<Result<bool>>,
    },
    IdemBegin {
        claim: IdemClaim,
        reply: oneshot::Sender<Result<IdemBegin>>,
    },
    IdemFinish {
        tenant: String,
        key: String,
        status: u16,
        body: String,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// What applying an op produced, sent to its caller after the commit.
enum Outcome {
    Bool(Result<bool>),
    Unit(Result<()>),
    Items(Result<Vec<OutboxItem>>),
    Reserved(Result<ReserveOutcome>),
    Settled(Result<SettleOutcome>),
    Count(Result<u64>),
    Any(Result<AnyValue>),
    Idem(Result<IdemBegin>),
}

impl Outcome {
    /// The same outcome for every kind of op: an error.
    fn error(op: &Op, err: &StoreError) -> Outcome {
        match op {
            Op::CommitRun { .. } | Op::Finish { .. } | Op::RaiseAlert { .. } => {
                Outcome::Bool(Err(err.clone()))
            }
            Op::Append { .. } | Op::IdemFinish { .. } => Outcome::Unit(Err(err.clone())),
            Op::IdemBegin { .. } => Outcome::Idem(Err(err.clone())),
            Op::Claim { .. } => Outcome::Items(Err(err.clone())),
            Op::Reserve { .. } => Outcome::Reserved(Err(err.clone())),
            Op::Settle { .. } => Outcome::Settled(Err(err.clone())),
            Op::Expire { .. } => Outcome::Count(Err(err.clone())),
            Op::Write { .. } => Outcome::Any(Err(err.clone())),
        }
    }

    fn failed(&self) -> Option<&StoreError> {
        match self {
            Outcome::Bool(Err(e))
            | Outcome::Unit(Err(e))
            | Outcome::Items(Err(e))
            | Outcome::Reserved(Err(e))
            | Outcome::Settled(Err(e))
            | Outcome::Count(Err(e))
            | Outcome::Any(Err(e))
            | Outcome::Idem(Err(e)) => Some(e),
            _ => None,
        }
    }
}

impl Op {
    fn reply(self, outcome: Outcome) {
        // A caller that went away no longer needs its answer.
        let _ = match (self, outcome) {
            (Op::CommitRun { reply, .. }, Outcome::Bool(r)) => reply.send(r).map_err(drop),
            (Op::Append { reply, .. }, Outcome::Unit(r)) => reply.send(r).map_err(drop),
            (Op::Finish { reply, .. }, Outcome::Bool(r)) => reply.send(r).map_err(drop),
            (Op::Claim { reply, .. }, Outcome::Items(r)) => reply.send(r).map_err(drop),
            (Op::Reserve { reply, .. }, Outcome::Reserved(r)) => reply.send(r).map_err(drop),
            (Op::Settle { reply, .. }, Outcome::Settled(r)) => reply.send(r).map_err(drop),
            (Op::Expire { reply, .. }, Outcome::Count(r)) => reply.send(r).map_err(drop),
            (Op::RaiseAlert { reply, .. }, Outcome::Bool(r)) => reply.send(r).map_err(drop),
            (Op::Write { reply, .. }, Outcome::Any(r)) => reply.send(r).map_err(drop),
            (Op::IdemBegin { reply, .. }, Outcome::Idem(r)) => reply.send(r).map_err(drop),
            (Op::IdemFinish { reply, .. }, Outcome::Unit(r)) => reply.send(r).map_err(drop),
            (op, _) => op.reply_error(StoreError::Database(
                "internal: mismatched store reply".into(),
            )),
        };
    }

    fn reply_error(self, err: StoreError) -> std::result::Result<(), ()> {
        let outcome = Outcome::error(&self, &err);
        self.reply(outcome);
        Ok(())
    }
}

pub fn start(conn: Connection, rx: mpsc::Receiver<Op>, max_group: usize) -> Result<()> {
    std::thread::Builder::new()
        .name("seam-store-writer".into())
        .spawn(move || run(conn, rx, max_group))
        .map(drop)
        .map_err(|e| StoreError::Database(format!("cannot start the store writer: {e}")))
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Op>, max_group: usize) {
    let mut batch = Vec::with_capacity(max_group);
    while let Some(op) = rx.blocking_recv() {
        batch.push(op);
        while batch.len() < max_group {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        commit_group(&mut conn, std::mem::take(&mut batch));
    }
}

/// Commit every op in one transaction. If any op fails, the transaction is
/// rolled back and each op is retried in a transaction of its own, so one
/// bad write cannot take its neighbours down with it.
fn commit_group(conn: &mut Connection, ops: Vec<Op>) {
    let outcomes = match in_transaction(conn, &ops) {
        Ok(outcomes) => outcomes,
        Err(_) if ops.len() > 1 => ops
            .iter()
            .map(|op| match in_transaction(conn, std::slice::from_ref(op)) {
                Ok(mut one) => one
                    .pop()
                    .unwrap_or_else(|| Outcome::error(op, &StoreError::WriterGone)),
                Err(e) => Outcome::error(op, &e),
            })
            .collect(),
        Err(e) => ops.iter().map(|op| Outcome::error(op, &e)).collect(),
    };
    for (op, outcome) in ops.into_iter().zip(outcomes) {
        op.reply(outcome);
    }
}

/// Apply `ops` in one transaction and commit it; `Err` (and a rollback)
/// if any op failed or the commit did.
fn in_transaction(conn: &mut Connection, ops: &[Op]) -> Result<Vec<Outcome>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The chain head is read inside the write lock, so several processes
    // sharing the file still extend one chain.
    let mut head = audit::head(&tx)?;
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        let outcome = apply(&tx, &mut head, op);
        if let Some(e) = outcome.failed() {
            return Err(e.clone());
        }
        outcomes.push(outcome);
    }
    tx.commit()?;
    Ok(outcomes)
}

fn apply(tx: &Transaction<'_>, head: &mut audit::ChainHead, op: &Op) -> Outcome {
    match op {
        Op::Write { apply, .. } => Outcome::Any(apply(tx, head)),
        Op::CommitRun {
            run,
            audit: entries,
            outbox: ob,
            ..
        } => Outcome::Bool((|| {
            runs::insert(tx, run)?;
            if run.status == "escalated" {
                escalations::insert(tx, run)?;
                if let Some(kept) = &run.pii_map {
                    pii_maps::insert(tx, &run.id, kept)?;
                }
            }
            if let Some(item) = &run.queue_item {
                // A queued run's outcome and its queue row change together:
                // a crash can never leave a finished run queued to run again.
                queue::settle_with_run(tx, item, run)?;
            }
            audit::append(tx, head, entries)?;
            match ob {
                Some(ob) => outbox::insert(tx, &run.id, ob),
                None => Ok(false),
            }
        })()),
        Op::Append { audit: entries, .. } => Outcome::Unit(audit::append(tx, head, entries)),
        Op::Claim { limit, lease, .. } => Outcome::Items(outbox::claim(tx, *limit, *lease)),
        Op::Finish {
            id,
            attempt,
            outcome,
            audit: entry,
            ..
        } => Outcome::Bool(outbox::finish(tx, *id, *attempt, outcome).and_then(|held| {
            let entries = entry.as_slice();
            audit::append(tx, head, entries).map(|()| held)
        })),
        Op::Reserve { request, .. } => {
            Outcome::Reserved(budgets::reserve(tx, request, &crate::clock::now_rfc3339()))
        }
        Op::Settle {
            id, actual_micros, ..
        } => Outcome::Settled(budgets::settle(
            tx,
            id,
            *actual_micros,
            &crate::clock::now_rfc3339(),
        )),
        Op::Expire { now_ms, .. } => Outcome::Count(budgets::expire(
            tx,
            *now_ms,
            *now_ms,
            &crate::clock::now_rfc3339(),
        )),
        Op::RaiseAlert { alert, .. } => Outcome::Bool(budgets::raise_alert(
            tx,
            alert,
            &crate::clock::now_rfc3339(),
        )),
        Op::IdemBegin { claim, .. } => Outcome::Idem(idempotency::begin(
            tx,
            claim,
            crate::clock::now_ms(),
            &crate::clock::now_rfc3339(),
        )),
        Op::IdemFinish {
            tenant,
            key,
            status,
            body,
            ..
        } => Outcome::Unit(idempotency::finish(tx, tenant, key, *status, body)),
    }
}
