//! The PostgreSQL sink through the real binaries: `seam serve` in front of
//! `seam simulate`, delivering into a real PostgreSQL server started for
//! each test (tests/common/pg.rs). Rows land once per idempotency key,
//! typed by their columns; a missing table dead-letters; a stopped server
//! is retried until it is back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::pg::{PASSWORD, Pg};
use common::*;
use serde_json::{Value, json};

const TABLE: &str = "CREATE TABLE ticket_triage (
    idempotency_key text PRIMARY KEY,
    ticket_id text NOT NULL,
    category text NOT NULL,
    priority text,
    summary text,
    run_id text,
    customer jsonb,
    seats integer,
    vip boolean,
    created_at timestamptz
)";

const SINK: &str = r#"kind = "postgres"
url = "env:TRIAGE_DB_URL"
table = "public.ticket_triage"
timeout_ms = 3000"#;

/// Simulator, the triage example with a postgres sink on `pg`, `seam serve`.
struct PgStack {
    server: Proc,
    ws: Workspace,
    _sim: Proc,
}

fn pg_stack(pg: &Pg) -> PgStack {
    let sim = simulator("");
    let ws = Workspace::triage(&sim.url, "http://127.0.0.1:9/unused");
    ws.replace(
        "kind = \"http\"\nmethod = \"POST\"\nurl = \"http://127.0.0.1:9/unused\"",
        SINK,
    );
    // The last table of the file is the sink's fields.
    ws.append(
        "customer = \"/input/customer\"\nseats = \"/input/customer/seats\"\n\
         vip = \"/input/customer/vip\"\ncreated_at = \"/input/created_at\"\n",
    );
    let server = server_with_env(&ws.config(), &[("TRIAGE_DB_URL", &pg.url())]);
    PgStack {
        server,
        ws,
        _sim: sim,
    }
}

fn event(id: &str) -> Value {
    let mut t = ticket(id, "I was charged twice");
    t["customer"]["seats"] = json!(3);
    t["customer"]["vip"] = json!(true);
    t["created_at"] = json!("2026-03-01T09:30:00Z");
    t
}

/// A sync run; its response.
fn run(st: &PgStack, body: &Value) -> Value {
    let resp = client()
        .post(format!("{}/v1/pipelines/triage/runs", st.server.url))
        .json(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().unwrap()
}

/// (status, attempts, last_error) of the outbox row of `key`.
fn outbox(st: &PgStack, key: &str) -> (String, i64, Option<String>) {
    rusqlite::Connection::open(st.ws.db())
        .unwrap()
        .query_row(
            "SELECT status, attempts, last_error FROM outbox WHERE idempotency_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `delivery` audit records of a run.
fn deliveries(st: &PgStack, run_id: &str) -> Vec<Value> {
    let v = get_json(&format!("{}/v1/runs/{run_id}", st.server.url));
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["layer"] == "delivery")
        .map(|l| l["record"].clone())
        .collect()
}

fn key_of(answer: &Value) -> String {
    answer["action"]["idempotency_key"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn concurrent_runs_write_one_typed_row_each_and_a_redelivery_writes_none() {
    let pg = Pg::start();
    pg.execute(TABLE);
    let st = pg_stack(&pg);

    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=8)
            .map(|i| {
                let st = &st;
                s.spawn(move || run(st, &event(&format!("T-{i}"))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let rows = wait_until("8 rows", || {
        let rows = pg.rows("SELECT * FROM ticket_triage ORDER BY ticket_id");
        (rows.len() == 8).then_some(rows)
    });
    for answer in &answers {
        let key = key_of(answer);
        let row = rows
            .iter()
            .find(|r| r["idempotency_key"] == key.as_str())
            .unwrap_or_else(|| panic!("no row for {key}: {rows:?}"));
        assert_eq!(row["category"], answer["output"]["category"]);
        assert_eq!(row["priority"], answer["output"]["priority"]);
        assert_eq!(row["summary"], answer["output"]["summary"]);
        assert_eq!(row["run_id"], answer["run_id"]);
        // jsonb, integer, boolean and timestamptz columns get typed values.
        assert_eq!(row["customer"]["plan"], "pro");
        assert_eq!(row["seats"], 3);
        assert_eq!(row["vip"], true);
        assert_eq!(row["created_at"], "2026-03-01T09:30:00+00:00");
        let key = key.clone();
        wait_until("delivered", || {
            (outbox(&st, &key).0 == "delivered").then_some(())
        });
    }

    // The same action delivered again (as after a crash between the insert
    // and the outbox commit): ON CONFLICT leaves the row, it counts as
    // delivered, and the table still has one row for the key.
    let first = &answers[0];
    let key = key_of(first);
    rusqlite::Connection::open(st.ws.db())
        .unwrap()
        .execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = 0, lease_until = NULL \
             WHERE idempotency_key = ?1",
            [&key],
        )
        .unwrap();
    wait_until("the redelivery", || {
        let (status, attempts, _) = outbox(&st, &key);
        (status == "delivered" && attempts == 2).then_some(())
    });
    let count = pg.rows(&format!(
        "SELECT count(*) AS n FROM ticket_triage WHERE idempotency_key = '{key}'"
    ));
    assert_eq!(count[0]["n"], 1);
    assert_eq!(pg.rows("SELECT 1 FROM ticket_triage").len(), 8);
    let audit = deliveries(&st, first["run_id"].as_str().unwrap());
    let states: Vec<&str> = audit.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["delivered", "delivered"], "{audit:?}");

    // The run's act record names the host and table, no credentials.
    let v = get_json(&format!(
        "{}/v1/runs/{}",
        st.server.url,
        first["run_id"].as_str().unwrap()
    ));
    let act = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "act")
        .unwrap();
    assert_eq!(act["record"]["target"], "postgres 127.0.0.1 ticket_triage");
    assert!(!v.to_string().contains(PASSWORD));
}

#[test]
fn a_missing_table_dead_letters_the_delivery_with_the_error_recorded() {
    let pg = Pg::start();
    let st = pg_stack(&pg);
    let answer = run(&st, &event("T-40"));
    let key = key_of(&answer);
    let (_, attempts, error) = wait_until("dead", || {
        let row = outbox(&st, &key);
        (row.0 == "dead").then_some(row)
    });
    assert_eq!(attempts, 1, "a permanent error is not retried");
    let error = error.unwrap();
    assert!(
        error.contains("SQLSTATE 42P01") && error.contains("does not exist"),
        "{error}"
    );
    assert!(!error.contains(PASSWORD));
    let audit = deliveries(&st, answer["run_id"].as_str().unwrap());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["state"], "dead");
    assert_eq!(
        audit[0]["error"],
        "the table does not exist (SQLSTATE 42P01)"
    );
}

#[test]
fn a_stopped_server_is_retried_until_it_is_back() {
    let pg = Pg::start();
    pg.execute(TABLE);
    let st = pg_stack(&pg);
    // A first delivery opens the sink's connection...
    let before = key_of(&run(&st, &event("T-50")));
    wait_until("the first delivery", || {
        (outbox(&st, &before).0 == "delivered").then_some(())
    });
    // ...which the stop cuts.
    pg.stop();
    let answer = run(&st, &event("T-51"));
    let key = key_of(&answer);
    let (_, _, error) = wait_until("two failed attempts", || {
        let row = outbox(&st, &key);
        (row.0 == "pending" && row.1 >= 2).then_some(row)
    });
    let error = error.unwrap();
    assert!(error.contains("connection"), "{error}");
    assert!(!error.contains(PASSWORD));

    pg.resume();
    wait_until("delivered after the restart", || {
        (outbox(&st, &key).0 == "delivered").then_some(())
    });
    let rows = pg.rows("SELECT ticket_id FROM ticket_triage ORDER BY ticket_id");
    assert_eq!(
        rows,
        [json!({"ticket_id": "T-50"}), json!({"ticket_id": "T-51"})]
    );
    let audit = deliveries(&st, answer["run_id"].as_str().unwrap());
    let states: Vec<&str> = audit.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states.last(), Some(&"delivered"), "{audit:?}");
    assert!(states[..states.len() - 1].iter().all(|s| *s == "retry"));
    assert!(
        audit[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("the connection to the database"),
        "{audit:?}"
    );
}

#[test]
fn a_delivery_stuck_on_a_lock_times_out_and_the_retry_finds_its_row_written_once() {
    let pg = Pg::start();
    pg.execute(TABLE);
    let st = pg_stack(&pg);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        // Another session holds the table for longer than the sink's 3 s timeout.
        s.spawn(|| {
            pg.with_client(async |c| {
                c.batch_execute("BEGIN; LOCK TABLE ticket_triage IN ACCESS EXCLUSIVE MODE")
                    .await?;
                locked_tx.send(()).unwrap();
                tokio::time::sleep(Duration::from_millis(4500)).await;
                c.batch_execute("COMMIT").await
            })
        });
        locked_rx.recv().unwrap();
        let answer = run(&st, &event("T-60"));
        let key = key_of(&answer);
        let (_, _, error) = wait_until("a timed-out attempt", || {
            let row = outbox(&st, &key);
            (row.1 >= 1 && row.2.is_some()).then_some(row)
        });
        assert_eq!(error.as_deref(), Some("the delivery timed out"));
        wait_until("delivered once the lock is gone", || {
            (outbox(&st, &key).0 == "delivered").then_some(())
        });
        // The abandoned insert may have landed after the lock; the retry
        // then met its key. Either way: one row.
        assert_eq!(pg.rows("SELECT 1 FROM ticket_triage").len(), 1);
    });
}

#[test]
fn check_validates_the_sink_without_connecting() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/unused");
    ws.replace(
        "kind = \"http\"\nmethod = \"POST\"\nurl = \"http://127.0.0.1:9/unused\"",
        "kind = \"postgres\"\nurl = \"env:TRIAGE_DB_URL\"\ntable = \"ticket triage\"\nmethod = \"POST\"",
    );
    // Nothing listens on port 9: a check that connected would fail otherwise.
    let check = |url: &str| {
        Command::new(SEAM)
            .args(["check", "--config", &ws.config_str()])
            .env("TRIAGE_DB_URL", url)
            .env_remove("SEAM_LOG")
            .output()
            .unwrap()
    };
    let out = check("postgres://seam:pw@127.0.0.1:9/crm");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = ws.config_str();
    for expected in [
        format!(
            "{file}:78: pipelines.triage.sink.table: `ticket triage` must be `table` or `schema.table`"
        ),
        format!("{file}:79: pipelines.triage.sink.method: `method` is only for kind = \"http\""),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    ws.replace(
        "table = \"ticket triage\"\nmethod = \"POST\"",
        "table = \"ticket_triage\"",
    );
    let out = check("postgres://seam:pw@127.0.0.1:9/crm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("postgres://seam:pw@127.0.0.1:9/crm?sslmode=require");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pipelines.triage.sink.url: `sslmode=require`"),
        "{err}"
    );
    assert!(!err.contains("seam:pw"), "{err}");
}
