//! The SQLite store under concurrency: group commit keeps one intact chain,
//! claims never hand a row out twice, and a run's rows commit together.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::SqliteStore;
use crate::config::{StoreConfig, Synchronous};
use crate::store::{
    AuditEntry, AuditStore, DeliveryOutcome, NewOutbox, OutboxStore, RunRecord, RunStore,
};

pub(super) fn store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    let config = StoreConfig {
        path: dir.path().join("t.db"),
        synchronous: Synchronous::Normal,
        group_commit_max: 64,
    };
    Arc::new(SqliteStore::open(&config).unwrap())
}

pub(super) fn run(id: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        pipeline: "p".into(),
        tenant: crate::store::DEFAULT_TENANT.into(),
        status: "succeeded".into(),
        event_id: None,
        input_sha256: None,
        prompt_sha256: None,
        prompt_version: None,
        model: None,
        output: Some(json!({"n": id})),
        error_type: None,
        error_class: None,
        error_message: None,
        attempts: 1,
        input_tokens: 1,
        output_tokens: 1,
        cost_micros: 1,
        latency_ms: 1,
        created_at: "2026-11-23T00:00:00.000Z".into(),
        finished_at: "2026-11-23T00:00:00.000Z".into(),
        queue_item: None,
        pii_map: None,
        review: None,
    }
}

fn entry(run_id: &str, layer: &'static str) -> AuditEntry {
    AuditEntry {
        run_id: Some(run_id.into()),
        layer,
        at: "2026-11-23T00:00:00.000Z".into(),
        body: json!({"x": run_id}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runs_keep_one_chain_and_dedupe_actions() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let mut tasks = Vec::new();
    for i in 0..300 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("r{i}");
            // Every third run repeats an earlier action key.
            let key = format!("k{}", i - i % 3);
            let ob = NewOutbox {
                pipeline: "p".into(),
                idempotency_key: key,
                body: json!({"i": i}),
            };
            s.commit_run(
                run(&id),
                vec![entry(&id, "ingest"), entry(&id, "result")],
                Some(ob),
            )
            .await
            .unwrap()
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        if t.await.unwrap() {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 100);
    let report = crate::audit::verify(s.as_ref()).await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!(report.records, 600);
    assert_eq!(s.outbox_open().await.unwrap(), 100);
    assert_eq!(s.audit_for_run("r7").await.unwrap().len(), 2);
    assert!(s.get_run("r7").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_never_hand_out_a_row_twice() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    for i in 0..200 {
        let id = format!("r{i}");
        let ob = NewOutbox {
            pipeline: "p".into(),
            idempotency_key: format!("k{i}"),
            body: json!(i),
        };
        s.commit_run(run(&id), vec![], Some(ob)).await.unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let items = s.claim_outbox(7, Duration::from_secs(60)).await.unwrap();
                if items.is_empty() {
                    return mine;
                }
                for item in items {
                    mine.push(item.id);
                    let audit = entry(&item.run_id, "delivery");
                    s.finish_outbox(
                        item.id,
                        item.attempts,
                        DeliveryOutcome::Delivered,
                        Some(audit),
                    )
                    .await
                    .unwrap();
                }
            }
        }));
    }
    let mut seen = HashSet::new();
    for w in workers {
        for id in w.await.unwrap() {
            assert!(seen.insert(id), "row {id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 200);
    assert_eq!(s.outbox_open().await.unwrap(), 0);
}

#[tokio::test]
async fn expired_lease_is_claimed_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let ob = NewOutbox {
        pipeline: "p".into(),
        idempotency_key: "k".into(),
        body: json!(1),
    };
    s.commit_run(run("r"), vec![], Some(ob)).await.unwrap();
    let first = s.claim_outbox(10, Duration::from_millis(0)).await.unwrap();
    assert_eq!(first.len(), 1);
    // The worker "crashed": its zero-length lease has expired.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = s.claim_outbox(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(
        s.claim_outbox(10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    // The first worker comes back late: its outcome must not overwrite the second attempt's.
    let late = DeliveryOutcome::Retry {
        at_ms: 0,
        error: "late".into(),
    };
    assert!(
        !s.finish_outbox(first[0].id, 1, late, Some(entry("r", "delivery")))
            .await
            .unwrap()
    );
    let done = DeliveryOutcome::Delivered;
    assert!(
        s.finish_outbox(again[0].id, 2, done, Some(entry("r", "delivery")))
            .await
            .unwrap()
    );
    assert_eq!(s.outbox_open().await.unwrap(), 0);
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    s.commit_run(run("dup"), vec![entry("dup", "ingest")], None)
        .await
        .unwrap();
    // Same run id again: the run insert fails, so its audit and outbox rows must not land.
    let ob = NewOutbox {
        pipeline: "p".into(),
        idempotency_key: "k".into(),
        body: json!(1),
    };
    assert!(
        s.commit_run(run("dup"), vec![entry("dup", "result")], Some(ob))
            .await
            .is_err()
    );
    assert_eq!(s.audit_for_run("dup").await.unwrap().len(), 1);
    assert_eq!(s.outbox_open().await.unwrap(), 0);
    let report = crate::audit::verify(s.as_ref()).await.unwrap();
    assert!(report.broken.is_none());
    // The writer keeps working after the failure.
    s.commit_run(run("next"), vec![entry("next", "ingest")], None)
        .await
        .unwrap();
    assert_eq!(crate::audit::verify(s.as_ref()).await.unwrap().records, 2);
}
