//! `seam cost report`, `seam cost project` and `seam cost check`.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use super::args::CostBy;
use crate::budget::Day;
use crate::budget::anomaly;
use crate::budget::projection::{self, Projection};
use crate::budget::report::{self, CostReport, Line, usd};
use crate::store::sqlite::SqliteStore;
use crate::store::{Alert, CostStore, ModelSpend};

fn open(path: &Path) -> Result<(crate::config::Config, SqliteStore), String> {
    let config = super::load_config(path)?;
    let store = SqliteStore::open(&config.store).map_err(|e| e.to_string())?;
    Ok((config, store))
}

fn day(text: Option<&str>, flag: &str) -> Result<Option<Day>, String> {
    text.map(|t| Day::parse(t).map_err(|e| format!("--{flag}: {e}")))
        .transpose()
}

fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// Columns padded to their widest cell; the first `left` left-aligned
/// (names), the rest (numbers) right-aligned.
fn table(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

fn lines_table(what: &str, lines: &[Line]) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.key.clone(),
                l.runs.to_string(),
                l.input_tokens.to_string(),
                l.output_tokens.to_string(),
                usd(l.cost_micros),
            ]
        })
        .collect();
    table(
        &[what, "runs", "input tokens", "output tokens", "cost"],
        &rows,
        1,
    )
}

fn models_table(models: &[ModelSpend]) -> String {
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            vec![
                m.model.clone(),
                m.calls.to_string(),
                m.input_tokens.to_string(),
                m.output_tokens.to_string(),
                usd(m.cost_micros),
            ]
        })
        .collect();
    table(
        &["model", "calls", "input tokens", "output tokens", "cost"],
        &rows,
        1,
    )
}

fn alerts_text(alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return "open alerts: none\n".to_string();
    }
    let mut out = format!("open alerts: {}\n", alerts.len());
    for a in alerts {
        out += &format!("  [{}] {} {}: {}\n", a.id, a.day, a.kind, a.message);
    }
    out
}

fn render(r: &CostReport, by: Option<CostBy>) -> String {
    let mut out = format!(
        "spend {}: {} run(s), {}\n",
        match &r.since {
            Some(d) => format!("since {d}"),
            None => "of every stored run".to_string(),
        },
        r.runs,
        usd(r.cost_micros)
    );
    let show = |b: CostBy| by.is_none_or(|x| x == b);
    if show(CostBy::Pipeline) {
        out += &format!("\nby pipeline\n{}", lines_table("pipeline", &r.by_pipeline));
    }
    if show(CostBy::Model) {
        out += &format!(
            "\nby model (per call, fallbacks included)\n{}",
            models_table(&r.by_model)
        );
    }
    if show(CostBy::Tenant) {
        out += &format!("\nby tenant\n{}", lines_table("tenant", &r.by_tenant));
    }
    if show(CostBy::Day) {
        out += &format!("\nby day (UTC)\n{}", lines_table("day", &r.by_day));
    }
    out += "\n";
    out += &alerts_text(&r.open_alerts);
    out
}

pub async fn report(
    path: &Path,
    since: Option<&str>,
    by: Option<CostBy>,
    json: bool,
) -> Result<ExitCode, String> {
    let since = day(since, "since")?;
    let (_, store) = open(path)?;
    let r = report::build(&store, since)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let mut value = serde_json::to_value(&r).map_err(|e| e.to_string())?;
        if let (Some(by), Some(obj)) = (by, value.as_object_mut()) {
            let keep = match by {
                CostBy::Pipeline => "by_pipeline",
                CostBy::Model => "by_model",
                CostBy::Tenant => "by_tenant",
                CostBy::Day => "by_day",
            };
            obj.retain(|k, _| !k.starts_with("by_") || k == keep);
        }
        print_json(&value)?;
    } else {
        print!("{}", render(&r, by));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn project(
    path: &Path,
    per_month: u64,
    pipeline: Option<&str>,
    models: &[String],
    since: Option<&str>,
    json: bool,
) -> Result<ExitCode, String> {
    let since = day(since, "since")?;
    let (config, store) = open(path)?;
    let candidates: Vec<_> = if models.is_empty() {
        config.models.values().cloned().collect()
    } else {
        models
            .iter()
            .map(|m| {
                config.models.get(m).cloned().ok_or_else(|| {
                    format!(
                        "model `{m}` is not declared in [models] (declared: {})",
                        config.models.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let samples = store
        .run_usage(pipeline.map(str::to_string), since.map(|d| d.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let Some(stats) = projection::token_stats(&samples) else {
        return Err(format!(
            "no runs with token usage stored{}{}: nothing to project from yet",
            pipeline
                .map(|p| format!(" for pipeline `{p}`"))
                .unwrap_or_default(),
            since.map(|d| format!(" since {d}")).unwrap_or_default(),
        ));
    };
    let mut projections: Vec<Projection> = candidates
        .iter()
        .map(|m| projection::project(m, &stats, per_month))
        .collect();
    projections.sort_by(|a, b| {
        a.per_month_p50_micros
            .cmp(&b.per_month_p50_micros)
            .then(a.model.cmp(&b.model))
    });
    if json {
        print_json(&json!({
            "per_month": per_month,
            "pipeline": pipeline,
            "since": since.map(|d| d.to_string()),
            "tokens_per_run": stats,
            "models": projections,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "monthly cost at {per_month} run(s) a month, from {} observed run(s){}{}",
        stats.runs,
        pipeline
            .map(|p| format!(" of pipeline {p}"))
            .unwrap_or_default(),
        since.map(|d| format!(" since {d}")).unwrap_or_default(),
    );
    println!(
        "tokens per run: input p50 {} p95 {}; output p50 {} p95 {}\n",
        stats.input_p50, stats.input_p95, stats.output_p50, stats.output_p95
    );
    let rows: Vec<Vec<String>> = projections
        .iter()
        .map(|p| {
            vec![
                p.model.clone(),
                p.upstream.clone(),
                usd(p.input_price_per_mtok),
                usd(p.output_price_per_mtok),
                usd(p.per_run_p50_micros),
                usd(p.per_run_p95_micros),
                usd(p.per_month_p50_micros),
                usd(p.per_month_p95_micros),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "model",
                "upstream",
                "in /Mtok",
                "out /Mtok",
                "run p50",
                "run p95",
                "month p50",
                "month p95"
            ],
            &rows,
            2
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn check(path: &Path, day_text: Option<&str>, json: bool) -> Result<ExitCode, String> {
    let on = day(day_text, "day")?.unwrap_or_else(Day::today);
    let (config, store) = open(path)?;
    let findings = anomaly::check(&store, &config.daily_cost, on, None)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        print_json(&json!({"day": on.to_string(), "findings": findings}))?;
        return Ok(ExitCode::SUCCESS);
    }
    if findings.is_empty() {
        println!("daily cost on {on}: no pipeline over its threshold");
    }
    for f in &findings {
        println!(
            "{} pipeline {}: {} on {} against an average of {} over {} day(s)",
            if f.new {
                "ALERT raised"
            } else {
                "alert already open"
            },
            f.pipeline,
            usd(f.observed_micros),
            f.day,
            usd(f.baseline_micros),
            f.history_days
        );
    }
    Ok(ExitCode::SUCCESS)
}
