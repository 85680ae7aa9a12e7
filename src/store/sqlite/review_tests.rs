//! Review decisions in the store: held runs are listed by status and
//! pipeline, and of concurrent decisions exactly one lands, with its
//! action and audit record; the others see it.

use serde_json::json;

use super::tests::{run, store};
use crate::store::{
    AuditEntry, AuditStore, Decided, NewOutbox, OutboxStore, ReviewDecision, ReviewFilter,
    ReviewHold, ReviewStore, RunStore,
};

fn held(id: &str, pipeline: &str) -> crate::store::RunRecord {
    let mut r = run(id);
    r.pipeline = pipeline.into();
    r.status = "escalated".into();
    r.error_type = Some("low_confidence".into());
    r.error_class = Some("data".into());
    r.error_message = Some("confidence 0.2 at `/confidence` is below 0.7".into());
    r.review = Some(ReviewHold {
        pointers: vec!["/confidence".into()],
        input: json!({"email": "<EMAIL_1>"}),
        proposed_output: Some(json!({"confidence": 0.2})),
        proposed_body: Some(json!({"to": "<EMAIL_1>"})),
        sink: "http".into(),
        idempotency_key: format!("key-{id}"),
        dry_run: false,
    });
    r
}

fn approval(id: &str, by: &str) -> ReviewDecision {
    ReviewDecision {
        run_id: id.into(),
        decision: "approved",
        by: by.into(),
        note: None,
        output: None,
        outbox: Some(NewOutbox {
            pipeline: "p".into(),
            idempotency_key: format!("key-{id}"),
            body: json!({"to": "real@example.com"}),
        }),
        audit: AuditEntry {
            run_id: Some(id.into()),
            layer: "review",
            at: crate::clock::now_rfc3339(),
            body: json!({"decision": "approved", "by": by}),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_concurrent_decisions_lands_with_its_action() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    s.commit_run(held("a", "p"), vec![], None).await.unwrap();
    s.commit_run(held("b", "q"), vec![], None).await.unwrap();

    let open = s.reviews(ReviewFilter::default(), 10).await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].reason.pointers, vec!["/confidence"]);
    assert_eq!(open[0].proposed_body, Some(json!({"to": "<EMAIL_1>"})));
    let only_q = ReviewFilter {
        status: Some("open".into()),
        pipeline: Some("q".into()),
    };
    assert_eq!(s.reviews(only_q, 10).await.unwrap().len(), 1);

    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.decide_review(approval("a", &format!("reviewer{i}")))
                .await
                .unwrap()
        }));
    }
    let mut recorded = 0;
    let mut already = 0;
    for t in tasks {
        match t.await.unwrap() {
            Decided::Recorded { enqueued } => {
                assert!(enqueued);
                recorded += 1;
            }
            Decided::Already(row) => {
                assert_eq!(row.status, "approved");
                already += 1;
            }
            Decided::NotFound => panic!("the review exists"),
        }
    }
    assert_eq!((recorded, already), (1, 7));
    assert_eq!(s.outbox_open().await.unwrap(), 1, "one action");
    let trail = s.audit_for_run("a").await.unwrap();
    assert_eq!(trail.iter().filter(|r| r.layer == "review").count(), 1);
    assert!(matches!(
        s.decide_review(approval("nope", "x")).await.unwrap(),
        Decided::NotFound
    ));

    let approved = ReviewFilter {
        status: Some("approved".into()),
        pipeline: None,
    };
    let rows = s.reviews(approved, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .decided_by
            .as_deref()
            .unwrap()
            .starts_with("reviewer")
    );
    // The escalation view sees it resolved.
    assert_eq!(s.escalations(Some("resolved"), 10).await.unwrap().len(), 1);
    assert_eq!(s.escalations(Some("open"), 10).await.unwrap().len(), 1);
}
