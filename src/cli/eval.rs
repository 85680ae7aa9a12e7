//! `seam eval PIPELINE --set FILE.jsonl [--model M]... [--prompt P]...`
//! and `seam eval history PIPELINE`. The golden set is checked before any
//! model is called; each variant (the chain replaced by one model, the
//! template by another) runs on its own runtime over the one store.
//! Exit 0: every variant passed the gate; 1: one did not; 2: no verdict
//! (a usage, config, set or store error).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::{EvalArgs, EvalCommand};
use crate::budget::report::usd;
use crate::eval::gate::{Baseline, judge};
use crate::eval::report::{VariantResult, aggregate};
use crate::eval::runner::run_cases;
use crate::eval::set::GoldenSet;
use crate::pipeline::Runtime;
use crate::prompt::PromptTemplate;
use crate::store::sqlite::SqliteStore;
use crate::store::{EvalRun, Store};

/// Exit code of an eval that could not reach a verdict.
const NO_VERDICT: u8 = 2;

pub async fn run(command: Option<EvalCommand>, args: EvalArgs) -> Result<ExitCode, String> {
    let result = match command {
        Some(EvalCommand::History {
            pipeline,
            config,
            set,
            limit,
            json,
        }) => history(&config.config, &pipeline, set.as_deref(), limit, json).await,
        None => eval(args).await,
    };
    Ok(result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(NO_VERDICT)
    }))
}

/// One column of the report.
struct Variant {
    label: String,
    model: Option<String>,
    prompt: Option<PromptChoice>,
}

#[derive(Clone)]
struct PromptChoice {
    path: PathBuf,
    version: String,
}

/// `VERSION=PATH` or `PATH`.
fn split_prompt(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('=') {
        Some((v, p)) if !v.is_empty() && !v.contains(['/', '\\']) && !Path::new(arg).exists() => {
            (Some(v), p)
        }
        _ => (None, arg),
    }
}

fn load_prompt(
    path: &Path,
    system: Option<PathBuf>,
    version: Option<&str>,
) -> Result<PromptTemplate, String> {
    let mut t = PromptTemplate::load(path, system).map_err(|(_, e)| format!("--prompt: {e}"))?;
    if let Some(v) = version {
        t.version = v.to_string();
    }
    Ok(t)
}

async fn eval(a: EvalArgs) -> Result<ExitCode, String> {
    let name = a.pipeline.clone().ok_or("name a PIPELINE")?;
    let set_path = a.set.clone().ok_or("--set FILE.jsonl is required")?;
    if !(a.tolerance.is_finite() && a.tolerance >= 0.0) {
        return Err(format!("--tolerance {} must be 0 or more", a.tolerance));
    }
    if let Some(m) = a.min_score
        && !(0.0..=1.0).contains(&m)
    {
        return Err(format!("--min-score {m} must be between 0 and 1"));
    }
    if a.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let config = super::load_config(&a.config.config)?;
    let Some(p) = config.pipelines.get(&name) else {
        let known: Vec<_> = config.pipelines.keys().cloned().collect();
        return Err(format!(
            "pipeline `{name}` is not declared (declared: {})",
            known.join(", ")
        ));
    };
    for m in &a.models {
        if !config.models.contains_key(m) {
            let known: Vec<_> = config.models.keys().cloned().collect();
            return Err(format!(
                "--model `{m}` is not declared (declared: {})",
                known.join(", ")
            ));
        }
    }
    let system = p.prompt.system_path.clone();
    let mut prompts = Vec::new();
    for arg in &a.prompts {
        let (version, path) = split_prompt(arg);
        let t = load_prompt(Path::new(path), system.clone(), version)?;
        prompts.push(PromptChoice {
            path: PathBuf::from(path),
            version: t.version,
        });
    }
    // Every line checked before any model is called.
    let set =
        crate::eval::set::load(&set_path, &p.output_schema.source, &p.eval).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("the golden set is not valid:\n  {}", lines.join("\n  "))
        })?;
    let variants = variants(&a.models, &prompts);
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&config.store).map_err(|e| e.to_string())?);
    drop(config);

    let mut results = Vec::new();
    for v in &variants {
        let r = run_variant(&a, &name, &set, v, store.clone(), system.clone()).await?;
        results.push(r);
    }
    let passed = results.iter().all(|r| r.gate.passed);
    if a.json {
        let report = json!({
            "pipeline": name,
            "set": {"path": set.path, "sha256": set.sha256, "cases": set.cases.len()},
            "min_score": a.min_score,
            "tolerance": a.tolerance,
            "stored": !a.no_store,
            "passed": passed,
            "variants": results,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        for r in &results {
            for reason in &r.gate.reasons {
                eprintln!("gate failed for {}: {reason}", r.variant);
            }
        }
    } else {
        print!("{}", crate::eval::table::render(&name, &set, &results));
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every model × every prompt; the pipeline's own when none is given.
fn variants(models: &[String], prompts: &[PromptChoice]) -> Vec<Variant> {
    let models: Vec<Option<String>> = if models.is_empty() {
        vec![None]
    } else {
        models.iter().cloned().map(Some).collect()
    };
    let prompts: Vec<Option<PromptChoice>> = if prompts.is_empty() {
        vec![None]
    } else {
        prompts.iter().cloned().map(Some).collect()
    };
    let mut out = Vec::new();
    for m in &models {
        for p in &prompts {
            let mut parts = Vec::new();
            if let Some(m) = m {
                parts.push(format!("model:{m}"));
            }
            if let Some(p) = p {
                parts.push(format!("prompt:{}", p.version));
            }
            let label = if parts.is_empty() {
                "default".to_string()
            } else {
                parts.join(" ")
            };
            out.push(Variant {
                label,
                model: m.clone(),
                prompt: p.clone(),
            });
        }
    }
    out
}

async fn run_variant(
    a: &EvalArgs,
    name: &str,
    set: &GoldenSet,
    v: &Variant,
    store: Arc<dyn Store>,
    system: Option<PathBuf>,
) -> Result<VariantResult, String> {
    // A fresh copy of the config for this variant's runtime.
    let mut config = super::load_config(&a.config.config)?;
    let p = config
        .pipelines
        .get_mut(name)
        .and_then(Arc::get_mut)
        .ok_or("internal: the pipeline config is shared")?;
    if let Some(m) = &v.model {
        p.models = vec![m.clone()];
    }
    if let Some(choice) = &v.prompt {
        p.prompt = load_prompt(&choice.path, system, Some(&choice.version))?;
    }
    let models = p.models.clone();
    let prompt_version = p.prompt.version.clone();
    let pii = p.pii.clone();
    let policy = p.eval.clone();
    let rt = Runtime::start_with_store(config, store.clone()).map_err(|e| e.to_string())?;

    let started_at = crate::clock::now_rfc3339();
    let t = Instant::now();
    let total = set.cases.len();
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let label = v.label.clone();
    let progress = move |done: usize| {
        if !quiet {
            eprint!("\r{name} [{label}]: {done}/{total}");
        }
    };
    let outcomes = run_cases(&rt, name, set, a.concurrency, &progress).await;
    drop(rt);
    let finished_at = crate::clock::now_rfc3339();
    if !quiet {
        eprintln!();
    }
    let redact = |x: &Value| crate::ingest::pii::redact_with(&pii, x).0;
    let agg = aggregate(&policy, &set.cases, &outcomes, &redact);
    eprintln!(
        "{name} [{}]: {total} case(s) in {:.1} s, score {:.4}",
        v.label,
        t.elapsed().as_secs_f64(),
        agg.score
    );
    let baseline = store
        .last_eval_run(name, &v.label, &set.sha256)
        .await
        .map_err(|e| e.to_string())?
        .map(|b| Baseline {
            eval_id: b.id,
            score: b.score,
            finished_at: b.finished_at,
        });
    let verdict = judge(agg.score, a.min_score, baseline.as_ref(), a.tolerance);
    let eval_id = if a.no_store {
        None
    } else {
        let row = EvalRun {
            id: 0,
            pipeline: name.to_string(),
            variant: v.label.clone(),
            models: models.clone(),
            prompt_version: prompt_version.clone(),
            set_path: set.path.display().to_string(),
            set_sha256: set.sha256.clone(),
            cases: agg.cases as u64,
            score: agg.score,
            fields: serde_json::to_value(&agg.fields).map_err(|e| e.to_string())?,
            hallucination_rate: agg.hallucination_rate,
            refusal_rate: agg.refusal_rate,
            latency_p50_ms: agg.latency_ms.p50,
            latency_p95_ms: agg.latency_ms.p95,
            cost_micros_total: agg.cost_micros_total,
            cost_micros_per_item: agg.cost_micros_per_item,
            input_tokens: agg.tokens.input,
            output_tokens: agg.tokens.output,
            passed: verdict.passed,
            seam_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: started_at.clone(),
            finished_at: finished_at.clone(),
        };
        Some(store.add_eval_run(row).await.map_err(|e| e.to_string())?)
    };
    Ok(VariantResult {
        variant: v.label.clone(),
        models,
        prompt_version,
        aggregate: agg,
        baseline,
        gate: verdict,
        eval_id,
        started_at,
        finished_at,
    })
}

async fn history(
    path: &Path,
    pipeline: &str,
    set: Option<&Path>,
    limit: usize,
    as_json: bool,
) -> Result<ExitCode, String> {
    let config = super::load_config(path)?;
    if !config.pipelines.contains_key(pipeline) {
        return Err(format!("pipeline `{pipeline}` is not declared"));
    }
    let sha = match set {
        Some(p) => Some(crate::canonical::sha256_hex(
            std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?,
        )),
        None => None,
    };
    let store = SqliteStore::open(&config.store).map_err(|e| e.to_string())?;
    let rows = crate::store::EvalStore::eval_runs(&store, pipeline, sha.as_deref(), limit)
        .await
        .map_err(|e| e.to_string())?;
    // The change from the previous result of the same variant and set.
    let mut last: HashMap<(String, String), f64> = HashMap::new();
    let mut out = Vec::new();
    for r in &rows {
        let key = (r.variant.clone(), r.set_sha256.clone());
        let change = last.get(&key).map(|prev| r.score - prev);
        last.insert(key, r.score);
        out.push((r, change));
    }
    if as_json {
        let list: Vec<Value> = out
            .iter()
            .map(|(r, change)| {
                let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                v["change"] = json!(change);
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if out.is_empty() {
        eprintln!("no stored eval results for `{pipeline}`");
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "id",
        "finished",
        "variant",
        "set",
        "cases",
        "score",
        "change",
        "refusals",
        "flags",
        "p95 ms",
        "cost/item",
        "gate",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for (r, change) in &out {
        table.push(vec![
            r.id.to_string(),
            r.finished_at.clone(),
            r.variant.clone(),
            r.set_sha256.chars().take(12).collect(),
            r.cases.to_string(),
            format!("{:.4}", r.score),
            change.map_or("-".into(), |c| format!("{c:+.4}")),
            format!("{:.1}%", r.refusal_rate * 100.0),
            format!("{:.1}%", r.hallucination_rate * 100.0),
            r.latency_p95_ms.to_string(),
            usd(r.cost_micros_per_item),
            if r.passed { "pass" } else { "FAIL" }.into(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            table
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
