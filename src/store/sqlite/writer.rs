//! The single writer: group commit. It takes every write waiting in the
//! channel (up to `group_commit_max`), applies each inside a savepoint of
//! one transaction, commits once (one fsync), then answers every caller.
//! A caller is answered only after its write is durable.

use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::{audit, outbox, runs};
use crate::store::{
    AuditEntry, DeliveryOutcome, NewOutbox, OutboxItem, Result, RunRecord, StoreError,
};

pub enum Op {
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
        outcome: DeliveryOutcome,
        audit: AuditEntry,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// An applied op waiting for the commit before its caller is answered.
enum Done {
    Bool(oneshot::Sender<Result<bool>>, Result<bool>),
    Unit(oneshot::Sender<Result<()>>, Result<()>),
    Items(
        oneshot::Sender<Result<Vec<OutboxItem>>>,
        Result<Vec<OutboxItem>>,
    ),
}

impl Done {
    fn fail(self, err: &StoreError) -> Done {
        match self {
            Done::Bool(s, _) => Done::Bool(s, Err(err.clone())),
            Done::Unit(s, _) => Done::Unit(s, Err(err.clone())),
            Done::Items(s, _) => Done::Items(s, Err(err.clone())),
        }
    }

    fn is_err(&self) -> bool {
        match self {
            Done::Bool(_, r) => r.is_err(),
            Done::Unit(_, r) => r.is_err(),
            Done::Items(_, r) => r.is_err(),
        }
    }

    fn send(self) {
        // A caller that went away no longer needs its answer.
        let _ = match self {
            Done::Bool(s, r) => s.send(r).map_err(drop),
            Done::Unit(s, r) => s.send(r).map_err(drop),
            Done::Items(s, r) => s.send(r).map_err(drop),
        };
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

fn commit_group(conn: &mut Connection, ops: Vec<Op>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let err = StoreError::from(e);
            for op in ops {
                placeholder(op).fail(&err).send();
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(ops.len());
    // The chain head is read inside the write lock, so several processes
    // sharing the file still extend one chain.
    let mut head = audit::head(&tx);
    for op in ops {
        let before = head.clone();
        let savepoint = tx.execute_batch("SAVEPOINT op");
        let d = match (&mut head, savepoint) {
            (Ok(h), Ok(())) => apply(&tx, h, op),
            (Err(e), _) => placeholder(op).fail(e),
            (_, Err(e)) => placeholder(op).fail(&StoreError::from(e)),
        };
        let end = if d.is_err() {
            "ROLLBACK TO op; RELEASE op"
        } else {
            "RELEASE op"
        };
        if d.is_err() {
            head = before;
        }
        if let Err(e) = tx.execute_batch(end) {
            head = Err(StoreError::from(e));
        }
        done.push(d);
    }
    match tx.commit() {
        Ok(()) => done.into_iter().for_each(Done::send),
        Err(e) => {
            let err = StoreError::from(e);
            done.into_iter().for_each(|d| d.fail(&err).send());
        }
    }
}

/// The reply slot of an op that could not be applied.
fn placeholder(op: Op) -> Done {
    match op {
        Op::CommitRun { reply, .. } => Done::Bool(reply, Err(StoreError::WriterGone)),
        Op::Append { reply, .. } | Op::Finish { reply, .. } => {
            Done::Unit(reply, Err(StoreError::WriterGone))
        }
        Op::Claim { reply, .. } => Done::Items(reply, Err(StoreError::WriterGone)),
    }
}

fn apply(tx: &Transaction<'_>, head: &mut audit::ChainHead, op: Op) -> Done {
    match op {
        Op::CommitRun {
            run,
            audit: entries,
            outbox: ob,
            reply,
        } => {
            let r = (|| {
                runs::insert(tx, &run)?;
                audit::append(tx, head, &entries)?;
                match ob {
                    Some(ob) => outbox::insert(tx, &run.id, &ob),
                    None => Ok(false),
                }
            })();
            Done::Bool(reply, r)
        }
        Op::Append {
            audit: entries,
            reply,
        } => Done::Unit(reply, audit::append(tx, head, &entries)),
        Op::Claim {
            limit,
            lease,
            reply,
        } => Done::Items(reply, outbox::claim(tx, limit, lease)),
        Op::Finish {
            id,
            outcome,
            audit: entry,
            reply,
        } => {
            let r = outbox::finish(tx, id, &outcome)
                .and_then(|()| audit::append(tx, head, std::slice::from_ref(&entry)));
            Done::Unit(reply, r)
        }
    }
}
