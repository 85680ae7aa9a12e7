//! One variant's results: each case's outcome scored field by field, then
//! the aggregate (overall and per-field score, hallucination-flag and
//! refusal rates, latency percentiles, cost and tokens). Pure.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::policy::EvalPolicy;
use super::set::Case;

/// What one case's run came to, read back from the store.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub line: usize,
    pub run_id: Option<String>,
    /// The run's status (`succeeded`, `failed`, `escalated`, `rejected`,
    /// `cancelled`), or `error` when no run was recorded.
    pub status: String,
    pub error_type: Option<String>,
    /// The stored output (PII still redacted).
    pub output: Option<Value>,
    /// Its trail has a grounding record other than `grounded` or a dual
    /// generation record `diverged`.
    pub flagged: bool,
    pub latency_ms: u64,
    pub cost_micros: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl CaseOutcome {
    /// Anything but an answer counts as a refusal and scores 0.
    pub fn refused(&self) -> bool {
        self.status != "succeeded" || self.output.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldScore {
    pub rule: &'static str,
    pub score: f64,
    /// Cases naming this field.
    pub cases: usize,
}

/// A field that did not score 1: where, what was expected, what came.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// The case's line in the set.
    pub line: usize,
    pub run_id: Option<String>,
    /// Into the output.
    pub pointer: String,
    pub expected: Value,
    /// `null` when the run gave no output.
    pub got: Value,
    pub score: f64,
    pub status: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Latency {
    pub p50: u64,
    pub p95: u64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
}

/// The aggregate of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Aggregate {
    pub cases: usize,
    /// Mean over every scored field of every case.
    pub score: f64,
    pub fields: BTreeMap<String, FieldScore>,
    pub hallucination_rate: f64,
    pub refusal_rate: f64,
    pub latency_ms: Latency,
    pub cost_micros_total: u64,
    /// Total over cases, rounded to the nearest micro-dollar.
    pub cost_micros_per_item: u64,
    pub tokens: Tokens,
    /// How many fields scored below 1.
    pub mismatches: usize,
    /// The first few of them, in set order.
    pub worst: Vec<Mismatch>,
}

/// Mismatches shown in a report.
pub const WORST_SHOWN: usize = 5;

/// Score every case and aggregate. `redact` is applied to the values a
/// mismatch shows.
pub fn aggregate(
    policy: &EvalPolicy,
    cases: &[Case],
    outcomes: &[CaseOutcome],
    redact: &dyn Fn(&Value) -> Value,
) -> Aggregate {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let (mut total, mut scored) = (0.0, 0usize);
    let mut mismatches = Vec::new();
    for (case, outcome) in cases.iter().zip(outcomes) {
        let refused = outcome.refused();
        for (field, want) in &case.expected {
            let got = if refused {
                None
            } else {
                outcome.output.as_ref().and_then(|o| o.get(field))
            };
            let s = policy.rule(field).score(want, got);
            let e = sums.entry(field.clone()).or_insert((0.0, 0));
            e.0 += s;
            e.1 += 1;
            total += s;
            scored += 1;
            if s < 1.0 {
                mismatches.push(Mismatch {
                    line: case.line,
                    run_id: outcome.run_id.clone(),
                    pointer: format!("/{}", field.replace('~', "~0").replace('/', "~1")),
                    expected: redact(want),
                    got: got.map(redact).unwrap_or(Value::Null),
                    score: s,
                    status: outcome.status.clone(),
                });
            }
        }
    }
    let n = outcomes.len();
    let rate = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    let mut latencies: Vec<u64> = outcomes.iter().map(|o| o.latency_ms).collect();
    latencies.sort_unstable();
    let cost: u64 = outcomes.iter().map(|o| o.cost_micros).sum();
    Aggregate {
        cases: n,
        score: if scored == 0 {
            0.0
        } else {
            total / scored as f64
        },
        fields: sums
            .into_iter()
            .map(|(f, (sum, count))| {
                let rule = policy.rule(&f).name();
                let score = sum / count as f64;
                (
                    f,
                    FieldScore {
                        rule,
                        score,
                        cases: count,
                    },
                )
            })
            .collect(),
        hallucination_rate: rate(outcomes.iter().filter(|o| o.flagged).count()),
        refusal_rate: rate(outcomes.iter().filter(|o| o.refused()).count()),
        latency_ms: Latency {
            p50: percentile(&latencies, 50.0),
            p95: percentile(&latencies, 95.0),
        },
        cost_micros_total: cost,
        cost_micros_per_item: if n == 0 {
            0
        } else {
            (cost + n as u64 / 2) / n as u64
        },
        tokens: Tokens {
            input: outcomes.iter().map(|o| o.input_tokens).sum(),
            output: outcomes.iter().map(|o| o.output_tokens).sum(),
        },
        mismatches: mismatches.len(),
        worst: mismatches.into_iter().take(WORST_SHOWN).collect(),
    }
}

/// Nearest-rank percentile of sorted values: the value at rank
/// `ceil(p / 100 × n)` (1-based); 0 for no values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=20).map(|i| i * 10).collect();
        // 50 % of 20 = rank 10 → 100; 95 % of 20 = rank 19 → 190.
        assert_eq!(percentile(&v, 50.0), 100);
        assert_eq!(percentile(&v, 95.0), 190);
        assert_eq!(percentile(&[7], 95.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        // 3 values: p50 rank 2, p95 rank 3.
        assert_eq!(percentile(&[1, 5, 9], 50.0), 5);
        assert_eq!(percentile(&[1, 5, 9], 95.0), 9);
    }

    fn case(line: usize, expected: Value) -> Case {
        Case {
            line,
            input: json!({}),
            expected: expected.as_object().unwrap().clone(),
        }
    }

    fn outcome(
        status: &str,
        output: Option<Value>,
        flagged: bool,
        latency: u64,
        cost: u64,
    ) -> CaseOutcome {
        CaseOutcome {
            line: 0,
            run_id: Some("r".into()),
            status: status.into(),
            error_type: None,
            output,
            flagged,
            latency_ms: latency,
            cost_micros: cost,
            input_tokens: 10,
            output_tokens: 5,
        }
    }

    #[test]
    fn aggregates_by_hand() {
        let cases = [
            case(1, json!({"category": "bug", "priority": "high"})),
            case(2, json!({"category": "billing", "priority": "low"})),
            case(3, json!({"category": "other"})),
        ];
        let outcomes = [
            // both right
            outcome(
                "succeeded",
                Some(json!({"category": "bug", "priority": "high"})),
                false,
                30,
                100,
            ),
            // one right, flagged
            outcome(
                "succeeded",
                Some(json!({"category": "billing", "priority": "urgent"})),
                true,
                10,
                101,
            ),
            // escalated: 0 on its field even with an output
            outcome(
                "escalated",
                Some(json!({"category": "other"})),
                false,
                20,
                0,
            ),
        ];
        let a = aggregate(&EvalPolicy::default(), &cases, &outcomes, &|v| v.clone());
        // 5 fields scored, 3 right.
        assert!((a.score - 3.0 / 5.0).abs() < 1e-12);
        assert_eq!(a.fields["category"].score, 2.0 / 3.0);
        assert_eq!(a.fields["priority"].score, 0.5);
        assert_eq!(a.fields["priority"].cases, 2);
        assert!((a.hallucination_rate - 1.0 / 3.0).abs() < 1e-12);
        assert!((a.refusal_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.latency_ms, Latency { p50: 20, p95: 30 });
        assert_eq!(a.cost_micros_total, 201);
        assert_eq!(a.cost_micros_per_item, 67);
        assert_eq!(
            a.tokens,
            Tokens {
                input: 30,
                output: 15
            }
        );
        assert_eq!(a.mismatches, 2);
        assert_eq!(a.worst[0].line, 2);
        assert_eq!(a.worst[0].pointer, "/priority");
        assert_eq!(a.worst[0].got, json!("urgent"));
        assert_eq!(a.worst[1].line, 3);
        assert_eq!(a.worst[1].got, Value::Null);
        assert_eq!(a.worst[1].status, "escalated");
    }
}

/// One variant as reported and stored.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// `default`, `model:NAME`, `prompt:VERSION`, or both joined by a space.
    pub variant: String,
    /// The chain asked.
    pub models: Vec<String>,
    pub prompt_version: String,
    #[serde(flatten)]
    pub aggregate: Aggregate,
    /// The stored result compared with (none: the first of its kind).
    pub baseline: Option<super::gate::Baseline>,
    pub gate: super::gate::Verdict,
    /// The stored row (none with `--no-store`).
    pub eval_id: Option<i64>,
    pub started_at: String,
    pub finished_at: String,
}
