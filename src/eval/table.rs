//! The text report: one column per variant, aligned, then the worst cases.

use std::fmt::Write;

use super::report::VariantResult;
use super::set::GoldenSet;
use crate::budget::report::usd;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The whole report as text.
pub fn render(pipeline: &str, set: &GoldenSet, variants: &[VariantResult]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, f: &dyn Fn(&VariantResult) -> String| {
        rows.push((label.to_string(), variants.iter().map(f).collect()));
    };
    row("variant", &|v| v.variant.clone());
    row("models", &|v| v.models.join(">"));
    row("prompt", &|v| v.prompt_version.clone());
    row("score", &|v| format!("{:.4}", v.aggregate.score));
    let mut fields: Vec<(String, &'static str)> = Vec::new();
    for v in variants {
        for (f, s) in &v.aggregate.fields {
            if !fields.iter().any(|(g, _)| g == f) {
                fields.push((f.clone(), s.rule));
            }
        }
    }
    for (f, rule) in &fields {
        row(&format!("  {f} ({rule})"), &|v| {
            v.aggregate
                .fields
                .get(f)
                .map(|s| format!("{:.4}", s.score))
                .unwrap_or_else(|| "-".into())
        });
    }
    row("hallucination flags", &|v| {
        pct(v.aggregate.hallucination_rate)
    });
    row("refusals", &|v| pct(v.aggregate.refusal_rate));
    row("latency p50", &|v| {
        format!("{} ms", v.aggregate.latency_ms.p50)
    });
    row("latency p95", &|v| {
        format!("{} ms", v.aggregate.latency_ms.p95)
    });
    row("cost per item", &|v| usd(v.aggregate.cost_micros_per_item));
    row("cost total", &|v| usd(v.aggregate.cost_micros_total));
    row("tokens in/out", &|v| {
        format!("{}/{}", v.aggregate.tokens.input, v.aggregate.tokens.output)
    });
    row("baseline", &|v| match &v.baseline {
        Some(b) => format!("{:.4} (#{})", b.score, b.eval_id),
        None => "-".into(),
    });
    row("gate", &|v| {
        if v.gate.passed { "pass" } else { "FAIL" }.into()
    });

    let label_w = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let col_w: Vec<usize> = (0..variants.len())
        .map(|i| {
            rows.iter()
                .map(|(_, c)| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{pipeline}: {} case(s) from {} (sha256 {})",
        set.cases.len(),
        set.path.display(),
        &set.sha256[..12.min(set.sha256.len())]
    );
    for (label, cells) in &rows {
        let _ = write!(out, "{label:<label_w$}");
        for (cell, w) in cells.iter().zip(&col_w) {
            let _ = write!(out, "  {cell:<w$}");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    for v in variants {
        if v.aggregate.worst.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\nworst cases, {} ({} of {} field(s) below 1):",
            v.variant,
            v.aggregate.worst.len(),
            v.aggregate.mismatches
        );
        for m in &v.aggregate.worst {
            let got = if m.status == "succeeded" {
                crate::canonical::to_string(&m.got)
            } else {
                format!("no answer ({})", m.status)
            };
            let _ = writeln!(
                out,
                "  line {} {}: expected {}, got {} (score {:.2}, run {})",
                m.line,
                m.pointer,
                crate::canonical::to_string(&m.expected),
                got,
                m.score,
                m.run_id.as_deref().unwrap_or("-")
            );
        }
    }
    for v in variants {
        for reason in &v.gate.reasons {
            let _ = writeln!(out, "\ngate failed for {}: {reason}", v.variant);
        }
    }
    out
}
