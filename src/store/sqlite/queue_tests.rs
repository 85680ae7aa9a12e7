//! Queue leases and the dead-letter queue: a lost lease fences off its
//! attempt's commit, heartbeats keep a lease, and dead runs and dead
//! deliveries are listed, retried where they failed (audited) and purged.

use std::time::Duration;

use serde_json::json;

use super::tests::{run, store};
use crate::store::{
    AuditStore, DeadFilter, DeadLetterStore, DeliveryOutcome, Failure, NewOutbox, NewQueued,
    OutboxStore, QueueOutcome, QueueSettle, QueueStore, RunStore, StoreError,
};

fn queued(id: &str) -> NewQueued {
    NewQueued {
        id: id.into(),
        pipeline: "p".into(),
        tenant: "default".into(),
        source: "api",
        dedupe_key: None,
        input: json!({"n": id}),
    }
}

fn failure(layer: &str) -> Failure {
    Failure {
        error_type: "provider_overloaded".into(),
        class: "transient".into(),
        layer: layer.into(),
        message: "the provider is overloaded".into(),
    }
}

#[tokio::test]
async fn a_commit_after_the_lease_was_taken_over_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    s.enqueue(queued("q1")).await.unwrap();
    let first = s.claim_queue("p", 1, Duration::ZERO).await.unwrap();
    // The lease ran out at once: another worker takes the row (attempt 2).
    let second = s
        .claim_queue("p", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((first[0].attempts, second[0].attempts), (1, 2));
    let mut stale = run("q1");
    stale.queue_item = Some(QueueSettle {
        id: "q1".into(),
        attempt: 1,
    });
    let refused = s.commit_run(stale, vec![], None).await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost(_))),
        "{refused:?}"
    );
    assert!(
        s.get_run("q1").await.unwrap().is_none(),
        "nothing of it kept"
    );
    let mut current = run("q1");
    current.queue_item = Some(QueueSettle {
        id: "q1".into(),
        attempt: 2,
    });
    s.commit_run(current, vec![], None).await.unwrap();
    assert_eq!(s.queue_row("q1").await.unwrap().unwrap().status, "done");
}

#[tokio::test]
async fn heartbeats_keep_a_lease_and_a_dead_row_is_retried_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    s.enqueue(queued("q1")).await.unwrap();
    let item = s.claim_queue("p", 1, Duration::ZERO).await.unwrap();
    s.renew_queue_leases(vec![("q1".into(), 1)], Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        s.claim_queue("p", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.finish_queue("q1", item[0].attempts, QueueOutcome::Dead, failure("infer"))
            .await
            .unwrap()
    );
    let dead = s.dead_entries(DeadFilter::default(), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].kind.as_str(), dead[0].layer.as_deref()),
        ("run", Some("infer"))
    );
    let by_layer = |layer: &str| DeadFilter {
        layer: Some(layer.into()),
        ..DeadFilter::default()
    };
    assert!(
        s.dead_entries(by_layer("act"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.retry_dead(by_layer("infer")).await.unwrap(), 1);
    let row = s.queue_row("q1").await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 0));
    let audit = s.audit_for_run("q1").await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].layer, "dlq");
    assert!(audit[0].body.contains("\"retry\""), "{}", audit[0].body);
    let again = s
        .claim_queue("p", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again[0].input, json!({"n": "q1"}), "the event is kept");
}

#[tokio::test]
async fn dead_deliveries_share_the_dead_letter_queue_and_deferrals_spend_no_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let ob = |key: &str| NewOutbox {
        pipeline: "p".into(),
        idempotency_key: key.into(),
        body: json!({"k": key}),
    };
    s.commit_run(run("r1"), vec![], Some(ob("k1")))
        .await
        .unwrap();
    s.commit_run(run("r2"), vec![], Some(ob("k2")))
        .await
        .unwrap();
    let items = s.claim_outbox(2, Duration::from_secs(60)).await.unwrap();
    let (a, b) = (&items[0], &items[1]);
    // One is deferred by an open breaker: back to pending, unspent.
    let deferred = DeliveryOutcome::Deferred { at_ms: 0 };
    assert!(
        s.finish_outbox(a.id, a.attempts, deferred, None)
            .await
            .unwrap()
    );
    let again = s.claim_outbox(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!((again[0].id, again[0].attempts), (a.id, 1));
    // The other dies.
    let dead = DeliveryOutcome::Dead(failure("act"));
    assert!(s.finish_outbox(b.id, b.attempts, dead, None).await.unwrap());
    let entries = s.dead_entries(DeadFilter::default(), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, b.run_id);
    assert_eq!(
        (entries[0].kind.as_str(), entries[0].layer.as_deref()),
        ("delivery", Some("act"))
    );
    let one = DeadFilter {
        id: Some(b.run_id.clone()),
        ..DeadFilter::default()
    };
    assert_eq!(s.retry_dead(one.clone()).await.unwrap(), 1);
    let redo = s.claim_outbox(2, Duration::from_secs(60)).await.unwrap();
    assert_eq!(redo.len(), 1);
    assert_eq!((redo[0].id, redo[0].attempts), (b.id, 1));
    assert_eq!(redo[0].idempotency_key, b.idempotency_key);
    let dead = DeliveryOutcome::Dead(failure("act"));
    assert!(s.finish_outbox(b.id, 1, dead, None).await.unwrap());
    assert_eq!(
        s.dead_entries(DeadFilter::default(), 10).await.unwrap()[0].retries,
        1
    );
    assert_eq!(s.purge_dead(one).await.unwrap(), 1);
    assert!(
        s.dead_entries(DeadFilter::default(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = s.audit_for_run(&b.run_id).await.unwrap();
    let layers: Vec<&str> = audit.iter().map(|a| a.layer.as_str()).collect();
    assert_eq!(layers, ["dlq", "dlq"], "retry and purge are audited");
}

/// The claims run in the single writer while acknowledgements wait behind
/// them: they must walk their index up to the limit, never sort the
/// backlog (a full sort made every claim cost O(queue) and held acks up).
#[test]
fn claims_walk_their_index_and_never_sort_the_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let _store = store(&dir);
    let conn = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    for (sql, params) in [(super::queue::CLAIM, 4), (super::outbox::CLAIM, 3)] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(1..=params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(
            !plan.contains("SCAN queue") && !plan.contains("SCAN outbox"),
            "{plan}"
        );
        assert!(plan.contains("_due"), "{plan}");
    }
}
