//! `seam cost report`, `seam cost project`, `seam cost check`, the budget
//! config checks and the admin routes, against a store filled by real runs
//! of the real binary on `seam simulate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::*;
use seam::budget::Day;
use serde_json::Value;

/// `n` tickets with bodies of different lengths, numbered from `first`.
fn tickets(ws: &Workspace, first: usize, n: usize) -> std::path::PathBuf {
    let path = ws.dir.path().join(format!("t{first}.jsonl"));
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let body = "My card was charged twice for the same order. ".repeat(1 + i % 7);
            serde_json::to_string(&ticket(&format!("T-{}", first + i), &body)).unwrap()
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

fn run_ok(ws: &Workspace, input: &std::path::Path) {
    let out = ws.run_batch(input, Some(&ws.dir.path().join("out.jsonl")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json_of(args: &[&str]) -> Value {
    let out = seam(args);
    assert!(
        out.status.success(),
        "seam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text_of(args: &[&str]) -> String {
    let out = seam(args);
    assert!(
        out.status.success(),
        "seam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn nearest_rank(mut v: Vec<u64>, pct: u64) -> u64 {
    v.sort_unstable();
    let n = v.len() as u64;
    v[((pct * n).div_ceil(100).clamp(1, n) - 1) as usize]
}

fn usd(m: u64) -> String {
    format!("${}.{:06}", m / 1_000_000, m % 1_000_000)
}

#[test]
fn report_and_projection_match_the_stored_runs() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    run_ok(&ws, &tickets(&ws, 1000, 24));
    let config = ws.config_str();

    // What the runs stored, read straight from the file.
    let conn = rusqlite::Connection::open(ws.db()).unwrap();
    let (runs, cost): (u64, u64) = conn
        .query_row("SELECT count(*), sum(cost_micros) FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(runs, 24);
    assert!(cost > 0);
    let small_calls: u64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE layer = 'infer' AND json_extract(body, '$.model') = 'small' AND json_extract(body, '$.status') = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let usage: Vec<(u64, u64)> = conn
        .prepare("SELECT input_tokens, output_tokens FROM runs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);

    let report = json_of(&["cost", "report", "--config", &config, "--json"]);
    assert_eq!(report["runs"], runs);
    assert_eq!(report["cost_micros"], cost);
    assert_eq!(report["by_pipeline"][0]["key"], "triage");
    assert_eq!(report["by_pipeline"][0]["cost_micros"], cost);
    assert_eq!(report["by_tenant"][0]["key"], "default");
    assert_eq!(report["by_day"].as_array().unwrap().len(), 1);
    assert_eq!(report["by_day"][0]["key"], Day::today().to_string());
    let small = &report["by_model"][0];
    assert_eq!(small["model"], "small");
    assert_eq!(small["calls"], small_calls);
    assert_eq!(small["cost_micros"], cost);
    assert_eq!(report["open_alerts"].as_array().unwrap().len(), 0);

    let text = text_of(&["cost", "report", "--config", &config]);
    for part in [
        "by pipeline",
        "by model",
        "by tenant",
        "by day",
        "triage",
        &usd(cost),
        "open alerts: none",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    let only_model = text_of(&["cost", "report", "--config", &config, "--by", "model"]);
    assert!(only_model.contains("by model") && !only_model.contains("by tenant"));
    let tomorrow = Day::today().plus(1).to_string();
    let later = json_of(&[
        "cost", "report", "--config", &config, "--since", &tomorrow, "--json",
    ]);
    assert_eq!(later["runs"], 0);
    assert_eq!(later["cost_micros"], 0);

    // Projection: p50/p95 of the stored runs, priced per model.
    let n = 250_000u64;
    let per_month = n.to_string();
    let p = json_of(&[
        "cost",
        "project",
        "--config",
        &config,
        "--per-month",
        &per_month,
        "--json",
    ]);
    let inputs: Vec<u64> = usage.iter().map(|u| u.0).collect();
    let outputs: Vec<u64> = usage.iter().map(|u| u.1).collect();
    let t = &p["tokens_per_run"];
    assert_eq!(t["runs"], 24);
    assert_eq!(t["input_p50"], nearest_rank(inputs.clone(), 50));
    assert_eq!(t["input_p95"], nearest_rank(inputs.clone(), 95));
    assert_eq!(t["output_p50"], nearest_rank(outputs.clone(), 50));
    assert_ne!(t["input_p50"], t["input_p95"], "bodies differ in length");
    let models = p["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "every declared model by default");
    // The example's prices: small 0.15/0.60 $, large 2.50/10.00 $ per Mtok.
    for (m, (pin, pout)) in [
        ("small", (150_000u64, 600_000u64)),
        ("large", (2_500_000, 10_000_000)),
    ] {
        let row = models.iter().find(|x| x["model"] == m).unwrap();
        let want = |i: &str, o: &str| {
            let i = t[i].as_u64().unwrap() as u128 * n as u128 * pin as u128;
            let o = t[o].as_u64().unwrap() as u128 * n as u128 * pout as u128;
            ((i + o).div_ceil(1_000_000)) as u64
        };
        assert_eq!(
            row["per_month_p50_micros"],
            want("input_p50", "output_p50"),
            "{m}"
        );
        assert_eq!(
            row["per_month_p95_micros"],
            want("input_p95", "output_p95"),
            "{m}"
        );
    }
    assert_eq!(models[0]["model"], "small", "cheapest first");

    let text = text_of(&[
        "cost",
        "project",
        "--config",
        &config,
        "--per-month",
        "1000",
        "--model",
        "large",
    ]);
    assert!(text.contains("from 24 observed run(s)"), "{text}");
    assert!(
        text.contains("large") && !text.contains("gpt-4o-mini"),
        "{text}"
    );

    let bad = seam(&[
        "cost",
        "project",
        "--config",
        &config,
        "--per-month",
        "10",
        "--model",
        "nope",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("model `nope` is not declared"));
    let none = seam(&[
        "cost",
        "project",
        "--config",
        &config,
        "--per-month",
        "10",
        "--pipeline",
        "other",
    ]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no runs with token usage"));
}

#[test]
fn a_daily_cost_spike_raises_one_alert_seen_by_serve_check_and_report() {
    let sim = simulator("");
    let sink = TestSink::start(0);
    let ws = Workspace::triage(&sim.url, &sink.url);
    ws.append(
        r#"[alerts.daily_cost]
factor = 3.0
min_spend_micros = 1
interval_secs = 1

[[budgets]]
scope = "pipeline"
name = "triage"
period = "day"
limit_micros = 5000000

[[budgets]]
scope = "tenant"
name = "*"
period = "month"
limit_micros = 90000000
"#,
    );
    let config = ws.config_str();
    // History: three earlier days with one run each.
    run_ok(&ws, &tickets(&ws, 2000, 3));
    {
        let conn = rusqlite::Connection::open(ws.db()).unwrap();
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM runs ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let day = Day::today().plus(-(i as i64) - 1);
            conn.execute(
                "UPDATE runs SET created_at = ?1 WHERE id = ?2",
                rusqlite::params![format!("{day}T12:00:00.000Z"), id],
            )
            .unwrap();
        }
    }
    let check = json_of(&["cost", "check", "--config", &config, "--json"]);
    assert_eq!(
        check["findings"].as_array().unwrap().len(),
        0,
        "nothing today yet"
    );
    // Today: twenty runs, far over three times one run a day.
    run_ok(&ws, &tickets(&ws, 3000, 20));

    // `seam serve` runs the check at start and every interval.
    let server = server(&ws.config());
    let until = Instant::now() + Duration::from_secs(15);
    let alerts = loop {
        let a = get_json(&format!("{}/v1/admin/alerts", server.url));
        if !a["alerts"].as_array().unwrap().is_empty() {
            break a;
        }
        assert!(Instant::now() < until, "serve raised no alert");
        std::thread::sleep(Duration::from_millis(100));
    };
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["kind"], "daily_cost");
    assert_eq!(alert["subject"], "triage");
    assert_eq!(alert["day"], Day::today().to_string());
    assert_eq!(alert["status"], "open");
    // Several intervals later there is still one alert for the day.
    std::thread::sleep(Duration::from_millis(2_500));
    let all = get_json(&format!("{}/v1/admin/alerts?status=all", server.url));
    assert_eq!(all["alerts"].as_array().unwrap().len(), 1);
    let bad = client()
        .get(format!("{}/v1/admin/alerts?status=maybe", server.url))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The budgets as configured, in their current period.
    let b = get_json(&format!("{}/v1/admin/budgets", server.url));
    let budgets = b["budgets"].as_array().unwrap();
    let triage = budgets.iter().find(|x| x["name"] == "triage").unwrap();
    assert_eq!(triage["scope"], "pipeline");
    assert_eq!(triage["period"], "day");
    assert_eq!(triage["period_key"], Day::today().to_string());
    assert_eq!(triage["limit_micros"], 5_000_000);
    // Today's twenty runs were reserved and settled against it: what they
    // spent is on the ledger, and nothing is still held.
    let spent = triage["spent_micros"].as_u64().unwrap();
    assert!(spent > 0, "{triage}");
    assert_eq!(triage["reserved_micros"], 0, "{triage}");
    assert_eq!(
        triage["remaining_micros"].as_u64().unwrap(),
        5_000_000 - spent,
        "{triage}"
    );
    let metrics = metrics(&server.url);
    assert!(
        metrics.contains(
            "seam_budget_limit_micros{scope=\"pipeline\",name=\"triage\",period=\"day\"} 5000000"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("seam_cost_alerts_total{pipeline=\"triage\"} 1"),
        "{metrics}"
    );
    drop(server);

    // On demand: the same finding, already open, not raised twice.
    let check = json_of(&["cost", "check", "--config", &config, "--json"]);
    let f = &check["findings"][0];
    assert_eq!(f["pipeline"], "triage");
    assert_eq!(f["new"], false);
    assert_eq!(f["history_days"], 3);
    let report = text_of(&["cost", "report", "--config", &config]);
    assert!(report.contains("open alerts: 1"), "{report}");
    assert!(report.contains("pipeline \"triage\" spent"), "{report}");
    let json = json_of(&[
        "cost", "report", "--config", &config, "--json", "--by", "day",
    ]);
    assert_eq!(json["by_day"].as_array().unwrap().len(), 4);
    assert!(json.get("by_pipeline").is_none());
    assert_eq!(json["open_alerts"].as_array().unwrap().len(), 1);
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn check_reports_budget_config_errors_with_line_and_key() {
    let ws = Workspace::triage("http://127.0.0.1:9", "http://127.0.0.1:9/sink");
    ws.append(
        r#"[pipelines.triage.limits]
max_calls_per_run = 0
max_cost_micros_per_run = 20000

[alerts.daily_cost]
factor = 0.5

[[budgets]]
scope = "team"
name = "x"
period = "day"
limit_micros = 1

[[budgets]]
scope = "pipeline"
name = "nosuch"
period = "week"
limit_micros = 1

[[budgets]]
scope = "tenant"
period = "month"
limit_micros = 1

[[budgets]]
scope = "global"
period = "day"
limit_micros = -5

[[budgets]]
scope = "pipeline"
name = "*"
period = "day"
limit_micros = 10
colour = "red"

[[budgets]]
scope = "pipeline"
name = "triage"
period = "month"
limit_micros = 10

[[budgets]]
scope = "pipeline"
name = "triage"
period = "month"
limit_micros = 20
"#,
    );
    let text = std::fs::read_to_string(ws.config()).unwrap();
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = ws.config_str();
    let at = |needle: &str| line_of(&text, needle);
    // The n-th `[[budgets]]` header.
    let header = |n: usize| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[budgets]]")
            .nth(n)
            .unwrap()
            .0
            + 1
    };
    for expected in [
        format!(
            "{file}:{}: pipelines.triage.limits.max_calls_per_run: must be at least 1",
            at("max_calls_per_run = 0")
        ),
        format!(
            "{file}:{}: alerts.daily_cost.factor: 0.5 must be between 1 and 1000",
            at("factor = 0.5")
        ),
        format!(
            "{file}:{}: budgets.0.scope: `team` is not one of `pipeline`, `tenant`, `global`",
            at("scope = \"team\"")
        ),
        format!(
            "{file}:{}: budgets.1.period: `week` is not one of `day`, `month`",
            at("period = \"week\"")
        ),
        format!(
            "{file}:{}: budgets.2: a tenant budget needs `name`",
            header(2)
        ),
        format!(
            "{file}:{}: budgets.3.limit_micros:",
            at("limit_micros = -5")
        ),
        format!(
            "{file}:{}: budgets.4.colour: unknown field `colour`",
            at("colour = \"red\"")
        ),
        format!(
            "{file}:{}: budgets.6: duplicate budget: budgets.5 already limits pipeline `triage` per month",
            header(6)
        ),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    // `nosuch` is reported too once the period is fixed.
    std::fs::write(ws.config(), text.replace("\"week\"", "\"day\"")).unwrap();
    let out = seam(&["check", "--config", &ws.config_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{file}:{}: budgets.1.name: pipeline `nosuch` is not declared",
            at("name = \"nosuch\"")
        )),
        "{err}"
    );
}
