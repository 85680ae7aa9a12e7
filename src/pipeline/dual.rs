//! A second generation of the fields the output schema marks high-stakes
//! (`x-seam-dual`), compared with the first answer by each field's rule.
//! Divergence is a hallucination canary: recorded (`dual` audit record,
//! `seam_hallucination_canary_total`) and, unless the pipeline says
//! `on_divergence = "act"`, the run goes to review with the first answer
//! as the proposal.

use std::time::Instant as StdInstant;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Runtime;
use super::attempts::{Chain, Spent, call_models, error_json};
use super::record::Trail;
use crate::budget::RunBudget;
use crate::config::Pipeline;
use crate::error::Error;
use crate::output::dual::{OnDivergence, compare};
use crate::prompt::RenderedPrompt;

/// What the second generation asks of.
pub struct Second<'a> {
    pub tenant: &'a str,
    pub prompt: &'a RenderedPrompt,
    pub deadline: Instant,
    /// The model that gave the first answer (the default second model).
    pub answered_by: &'a str,
}

/// Generate the answer again and compare its marked fields with `first`.
/// `Ok`: act (they agree, or the pipeline acts on divergence); `Err`:
/// review, with the diverging pointers. What the second generation spent
/// is added to `spent`.
pub async fn check(
    rt: &Runtime,
    p: &Pipeline,
    ask: Second<'_>,
    first: &Value,
    budget: &mut RunBudget,
    spent: &mut Spent,
    trail: &mut Trail,
) -> Result<(), (Error, Vec<String>)> {
    if p.dual.fields.is_empty() {
        return Ok(());
    }
    let t = StdInstant::now();
    let model = p.dual.model.clone().unwrap_or_else(|| ask.answered_by.to_string());
    let models = [model.clone()];
    let chain = Chain {
        tenant: ask.tenant,
        models: &models,
        temperature: p.dual.temperature.unwrap_or(p.temperature),
        budget,
    };
    let (answer, second) = call_models(rt, p, chain, ask.prompt, ask.deadline, trail, None).await;
    spent.absorb(second);
    let (decision, diverged, problem) = match &answer {
        Ok(a) => {
            let diverged = compare(&p.dual.fields, first, &a.verified.value);
            let decision = if diverged.is_empty() { "agree" } else { "diverged" };
            (decision, diverged, None)
        }
        Err(e) => ("unavailable", Vec::new(), Some(e)),
    };
    let pointers: Vec<String> = diverged.iter().map(|d| d.pointer.clone()).collect();
    rt.metrics.dual_generation(&p.name, decision, &pointers);
    let acts = decision == "agree" || p.dual.on_divergence == OnDivergence::Act;
    // Pointers and rules only: both answers are in the infer records.
    trail.push(
        "dual",
        json!({
            "decision": decision,
            "model": model,
            "fields": p.dual.fields,
            "diverged": diverged,
            "error": problem.map(error_json),
            "action": if acts { "act" } else { "review" },
            "latency_ms": t.elapsed().as_millis() as u64,
        }),
    );
    rt.metrics.layer(&p.name, "dual", t.elapsed());
    if acts {
        return Ok(());
    }
    let detail = match problem {
        Some(e) => format!("the second generation could not be made ({})", e.type_name()),
        None => format!("the two generations disagree on {}", pointers.join(", ")),
    };
    Err((Error::HallucinationCanary { detail }, pointers))
}
