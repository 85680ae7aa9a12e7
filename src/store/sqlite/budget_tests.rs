//! The budget ledger on a real SQLite file: many concurrent reservations
//! never pass a limit and are not refused falsely, a call's scopes are
//! reserved all-or-nothing, nothing leaks when a reservation is dropped or
//! its process dies. Every assertion is on the stored ledger.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::SqliteStore;
use crate::budget::{BudgetRule, Budgets, Day, Period, Scope};
use crate::config::{StoreConfig, Synchronous};
use crate::error::{Error, ErrorClass};
use crate::store::{
    AuditEntry, BudgetStore, CostStore, LedgerKey, LedgerRow, NewAlert, ReserveOutcome,
    ReserveRequest, RunRecord, RunStore, SettleOutcome,
};
use crate::telemetry::Metrics;

fn config(dir: &tempfile::TempDir) -> StoreConfig {
    StoreConfig {
        path: dir.path().join("budget.db"),
        synchronous: Synchronous::Normal,
        group_commit_max: 64,
    }
}

fn rule(scope: Scope, name: &str, period: Period, limit_micros: u64) -> BudgetRule {
    BudgetRule {
        scope,
        name: name.into(),
        period,
        limit_micros,
    }
}

fn budgets(store: &Arc<SqliteStore>, rules: Vec<BudgetRule>) -> Arc<Budgets> {
    Arc::new(Budgets::new(rules, store.clone(), Arc::new(Metrics::new())))
}

async fn row(store: &SqliteStore, scope: &str, subject: &str, period: &str) -> LedgerRow {
    let rows = store.ledger(Vec::new()).await.unwrap();
    rows.into_iter()
        .find(|r| r.key.scope == scope && r.key.subject == subject && r.key.period == period)
        .unwrap_or_else(|| panic!("no ledger row {scope}/{subject}/{period}"))
}

fn key(subject: &str) -> LedgerKey {
    LedgerKey {
        scope: "pipeline".into(),
        name: subject.into(),
        subject: subject.into(),
        period: "day".into(),
        period_key: Day::today().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_pass_the_limit_nor_refuse_falsely() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&config(&dir)).unwrap());
    let b = budgets(
        &store,
        vec![
            rule(Scope::Pipeline, "triage", Period::Day, 1_000),
            rule(Scope::Global, "*", Period::Month, 1_000_000),
        ],
    );
    // 500 calls at once, each estimated at 7 µ$: exactly floor(1000 / 7)
    // = 142 fit; all others must be refused, none of the 142 falsely.
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.reserve("default", "triage", 7).await })
        })
        .collect();
    let mut held = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => held.push(r),
            Err(Error::BudgetExceeded(refusal)) => {
                assert_eq!(refusal.limit_micros, 1_000);
                assert!(refusal.spent_micros + refusal.reserved_micros + 7 > 1_000);
                refused += 1;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(held.len(), 142);
    assert_eq!(refused, 358);
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!(day.reserved_micros, 142 * 7);
    assert_eq!(day.spent_micros, 0);
    assert_eq!(day.refusals, 358);
    let global = row(&store, "global", "*", "month").await;
    assert_eq!(
        global.reserved_micros,
        142 * 7,
        "the global budget holds the same calls"
    );

    // Settle concurrently, each at less than its estimate.
    let settles: Vec<_> = held
        .into_iter()
        .map(|r| tokio::spawn(async move { r.settle(5).await }))
        .collect();
    for s in settles {
        s.await.unwrap().unwrap();
    }
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((day.spent_micros, day.reserved_micros), (142 * 5, 0));
    let global = row(&store, "global", "*", "month").await;
    assert_eq!((global.spent_micros, global.reserved_micros), (142 * 5, 0));

    // What settling freed can be reserved again: 1000 - 710 = 290 = 41 × 7 + 3.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.reserve("default", "triage", 7).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 41);
    // Dropped reservations settle at their estimate (conservatively).
    let day = wait_for(&store, |r| r.reserved_micros == 0).await;
    assert_eq!(day.spent_micros, 142 * 5 + 41 * 7);
    assert!(day.spent_micros + day.reserved_micros <= day.limit_micros);
}

/// Poll the triage day row until `pred` holds (dropped reservations settle
/// on a spawned task).
async fn wait_for(store: &SqliteStore, pred: impl Fn(&LedgerRow) -> bool) -> LedgerRow {
    for _ in 0..500 {
        let r = row(store, "pipeline", "triage", "day").await;
        if pred(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("ledger never reached the expected state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reserves_on_every_scope_or_on_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&config(&dir)).unwrap());
    let b = budgets(
        &store,
        vec![
            rule(Scope::Pipeline, "triage", Period::Day, 100),
            rule(Scope::Tenant, "*", Period::Day, 50),
            // Does not apply to triage.
            rule(Scope::Pipeline, "other", Period::Day, 1),
        ],
    );
    let a = b.reserve("acme", "triage", 40).await.unwrap();
    let e = b.reserve("acme", "triage", 20).await.err().unwrap();
    assert_eq!(e.class(), ErrorClass::Budget);
    assert_eq!(e.status(), 402);
    assert_eq!(e.type_name(), "budget_exceeded");
    let msg = e.to_string();
    let today = Day::today().to_string();
    assert!(
        msg.contains(&format!("tenant \"acme\" per day ({today})"))
            && msg.contains("limit 50")
            && msg.contains("reserved 40")
            && msg.contains("estimated at 20"),
        "{msg}"
    );
    // Refused by the tenant: the pipeline budget holds nothing for it.
    assert_eq!(
        row(&store, "pipeline", "triage", "day")
            .await
            .reserved_micros,
        40
    );
    // Another tenant has its own row under `*`.
    let g = b.reserve("globex", "triage", 50).await.unwrap();
    let e = b.reserve("initech", "triage", 20).await.err().unwrap();
    assert!(e.to_string().contains("pipeline \"triage\" per day"), "{e}");
    assert_eq!(
        row(&store, "tenant", "initech", "day")
            .await
            .reserved_micros,
        0
    );
    // Actual above the estimate is counted as it was.
    a.settle(45).await.unwrap();
    g.settle(0).await.unwrap();
    let p = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((p.spent_micros, p.reserved_micros), (45, 0));
    assert_eq!(row(&store, "tenant", "acme", "day").await.spent_micros, 45);
    assert_eq!(row(&store, "tenant", "globex", "day").await.spent_micros, 0);
    // No budget applies: nothing is written.
    let only_other = budgets(&store, vec![rule(Scope::Pipeline, "other", Period::Day, 1)]);
    let none = only_other.reserve("acme", "triage", 1_000_000).await;
    let none = match none {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert!(none.id().is_none());
    // Status for the admin route: configured limits, current period.
    let status = b.status().await.unwrap();
    let other = status.iter().find(|s| s.name == "other").unwrap();
    assert_eq!((other.spent_micros, other.remaining_micros), (0, 1));
    let triage = status.iter().find(|s| s.name == "triage").unwrap();
    assert_eq!((triage.spent_micros, triage.remaining_micros), (45, 55));
    assert_eq!(triage.refusals, 1);
    assert_eq!(status.iter().filter(|s| s.name == "*").count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_of_a_dead_process_are_counted_at_their_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![(key("triage"), 1_000)];
    {
        let store = SqliteStore::open(&config(&dir)).unwrap();
        let r = |id: &str, amount| ReserveRequest {
            id: id.into(),
            amount_micros: amount,
            rows: rows.clone(),
            expires_ms: crate::clock::now_ms() + 3_600_000,
        };
        assert_eq!(
            store.reserve(r("a", 300)).await.unwrap(),
            ReserveOutcome::Reserved
        );
        assert_eq!(
            store.reserve(r("b", 200)).await.unwrap(),
            ReserveOutcome::Reserved
        );
        assert_eq!(
            store.settle("a", 100).await.unwrap(),
            SettleOutcome::Settled
        );
        // The process "dies" holding b.
    }
    let store = SqliteStore::open(&config(&dir)).unwrap();
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((day.spent_micros, day.reserved_micros), (300, 0));
    // A holder that was alive after all settles late: spent is corrected.
    assert_eq!(
        store.settle("b", 150).await.unwrap(),
        SettleOutcome::CorrectedAfterExpiry
    );
    assert_eq!(
        store.settle("b", 150).await.unwrap(),
        SettleOutcome::Unknown
    );
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((day.spent_micros, day.reserved_micros), (250, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_count_expired_holds_and_dropped_reservations_settle() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&config(&dir)).unwrap());
    let now = crate::clock::now_ms();
    let rows = vec![(key("triage"), 1_000)];
    for (id, expires_ms) in [("old", now - 1), ("young", now + 3_600_000)] {
        let req = ReserveRequest {
            id: id.into(),
            amount_micros: 100,
            rows: rows.clone(),
            expires_ms,
        };
        assert_eq!(store.reserve(req).await.unwrap(), ReserveOutcome::Reserved);
    }
    assert_eq!(store.expire_reservations(now).await.unwrap(), 1);
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((day.spent_micros, day.reserved_micros), (100, 100));

    let b = budgets(
        &store,
        vec![rule(Scope::Pipeline, "triage", Period::Day, 1_000)],
    );
    let r = b
        .reserve_for("default", "triage", 250, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(r.estimate_micros(), 250);
    drop(r);
    let day = wait_for(&store, |r| r.reserved_micros == 100).await;
    assert_eq!(day.spent_micros, 350);
    // A refused reservation leaves nothing behind.
    assert!(b.reserve("default", "triage", 551).await.is_err());
    let day = row(&store, "pipeline", "triage", "day").await;
    assert_eq!((day.spent_micros, day.reserved_micros), (350, 100));
    assert!(b.reserve("default", "triage", 550).await.is_ok());
}

fn run(
    id: &str,
    pipeline: &str,
    tenant: &str,
    created_at: &str,
    tokens: (u64, u64),
    cost: u64,
) -> RunRecord {
    RunRecord {
        id: id.into(),
        pipeline: pipeline.into(),
        tenant: tenant.into(),
        status: "succeeded".into(),
        event_id: None,
        input_sha256: None,
        prompt_sha256: None,
        prompt_version: None,
        model: Some("large".into()),
        output: None,
        error_type: None,
        error_class: None,
        error_message: None,
        attempts: 2,
        input_tokens: tokens.0,
        output_tokens: tokens.1,
        cost_micros: cost,
        latency_ms: 1,
        created_at: created_at.into(),
        finished_at: created_at.into(),
        queue_item: None,
        pii_map: None,
        review: None,
    }
}

fn infer(run_id: &str, model: &str, status: &str, cost: u64) -> AuditEntry {
    AuditEntry {
        run_id: Some(run_id.into()),
        layer: "infer",
        at: "2026-11-20T00:00:00.000Z".into(),
        body: json!({"model": model, "status": status, "usage": {"input_tokens": 10, "output_tokens": 2}, "cost_micros": cost}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_read_outs_and_deduplicated_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&config(&dir)).unwrap();
    // r1 fell back from small (paid 3) to large (paid 30).
    store
        .commit_run(
            run(
                "r1",
                "triage",
                "acme",
                "2026-11-20T10:00:00.000Z",
                (20, 4),
                33,
            ),
            vec![
                infer("r1", "small", "ok", 3),
                infer("r1", "large", "ok", 30),
            ],
            None,
        )
        .await
        .unwrap();
    store
        .commit_run(
            run(
                "r2",
                "triage",
                "default",
                "2026-11-21T10:00:00.000Z",
                (10, 2),
                30,
            ),
            vec![
                infer("r2", "small", "error", 0),
                infer("r2", "large", "ok", 30),
            ],
            None,
        )
        .await
        .unwrap();
    // A chat completion: no infer records, counted by its model.
    store
        .commit_run(
            run(
                "r3",
                "chat.completions",
                "acme",
                "2026-11-21T11:00:00.000Z",
                (5, 5),
                7,
            ),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let got = store.get_run("r1").await.unwrap().unwrap();
    assert_eq!(got.tenant, "acme");

    let spend = store.spend(None).await.unwrap();
    assert_eq!(spend.iter().map(|s| s.cost_micros).sum::<u64>(), 70);
    assert_eq!(spend.len(), 3);
    let since = store.spend(Some("2026-11-21".into())).await.unwrap();
    assert_eq!(since.iter().map(|s| s.cost_micros).sum::<u64>(), 37);

    let models = store.spend_by_model(None).await.unwrap();
    let large = models.iter().find(|m| m.model == "large").unwrap();
    assert_eq!((large.calls, large.cost_micros), (3, 67));
    let small = models.iter().find(|m| m.model == "small").unwrap();
    assert_eq!(
        (small.calls, small.cost_micros),
        (1, 3),
        "failed calls are not spend"
    );

    let mut usage = store.run_usage(Some("triage".into()), None).await.unwrap();
    usage.sort_unstable();
    assert_eq!(usage, vec![(10, 2), (20, 4)]);
    assert_eq!(store.run_usage(None, None).await.unwrap().len(), 3);

    let daily = store
        .daily_spend("2026-11-21".into(), "2026-11-21".into())
        .await
        .unwrap();
    assert_eq!(daily.len(), 2);
    let mut first = store.first_days().await.unwrap();
    first.sort();
    assert_eq!(
        first,
        vec![
            ("chat.completions".to_string(), "2026-11-21".to_string()),
            ("triage".to_string(), "2026-11-20".to_string())
        ]
    );

    let alert = |observed| NewAlert {
        kind: "daily_cost".into(),
        subject: "triage".into(),
        day: "2026-11-21".into(),
        observed_micros: observed,
        baseline_micros: 10,
        message: "m".into(),
    };
    assert!(store.raise_alert(alert(100)).await.unwrap());
    assert!(!store.raise_alert(alert(120)).await.unwrap());
    let open = store.alerts(true).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].observed_micros, 120);
}
