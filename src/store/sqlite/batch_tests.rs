//! Batch checkpoints: one batch per key, lines upserted, a line's run
//! seen as committed only once its run row is in, and forgetting.

use super::tests::{run, store};
use crate::store::{BatchKey, BatchStore, BatchWrite, RunStore};

fn key() -> BatchKey {
    BatchKey {
        pipeline: "p".into(),
        input_sha256: "ab".into(),
        output: "/tmp/out.jsonl".into(),
    }
}

#[tokio::test]
async fn checkpoints_track_lines_and_committed_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    assert!(s.batch_find(&key()).await.unwrap().is_none());
    for id in ["b1", "b2"] {
        // The second open of the same key keeps the first batch.
        let open = BatchWrite::Open {
            id: id.into(),
            key: key(),
            lines: 3,
        };
        s.batch_write(open).await.unwrap();
    }
    let row = s.batch_find(&key()).await.unwrap().unwrap();
    assert_eq!((row.id.as_str(), row.lines, row.finished), ("b1", 3, false));

    let line = |n: u64, run_id: &str, status: &'static str| BatchWrite::Line {
        batch_id: "b1".into(),
        line: n,
        run_id: run_id.into(),
        status,
    };
    s.batch_write(line(2, "r2", "started")).await.unwrap();
    s.batch_write(line(1, "r1", "started")).await.unwrap();
    s.commit_run(run("r1"), vec![], None).await.unwrap();
    s.batch_write(line(1, "r1", "done")).await.unwrap();
    let lines = s.batch_lines("b1").await.unwrap();
    let seen: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l.line,
                l.run_id.as_str(),
                l.status.as_str(),
                l.run_committed,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(1, "r1", "done", true), (2, "r2", "started", false)]
    );

    // A line started again gets its new run id.
    s.batch_write(line(2, "r2b", "started")).await.unwrap();
    assert_eq!(s.batch_lines("b1").await.unwrap()[1].run_id, "r2b");

    s.batch_write(BatchWrite::Finish { id: "b1".into() })
        .await
        .unwrap();
    assert!(s.batch_find(&key()).await.unwrap().unwrap().finished);
    s.batch_write(BatchWrite::Forget { id: "b1".into() })
        .await
        .unwrap();
    assert!(s.batch_find(&key()).await.unwrap().is_none());
    assert!(s.batch_lines("b1").await.unwrap().is_empty());
}
