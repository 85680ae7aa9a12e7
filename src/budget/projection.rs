//! `seam cost project`: monthly cost at a volume, per candidate model, from
//! the token usage runs actually had (p50 and p95) and each model's price.

use serde::Serialize;

use crate::config::ModelConfig;
use crate::infer::Usage;

/// Observed tokens per run (nearest-rank percentiles, input and output
/// taken separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TokenStats {
    pub runs: usize,
    pub input_p50: u64,
    pub input_p95: u64,
    pub output_p50: u64,
    pub output_p95: u64,
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `pct` % of the values at or below it.
pub fn percentile(sorted: &[u64], pct: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len() as u64;
    let rank = (pct * n).div_ceil(100).clamp(1, n);
    sorted[(rank - 1) as usize]
}

/// Statistics of (input, output) tokens per run; `None` with no runs.
pub fn token_stats(samples: &[(u64, u64)]) -> Option<TokenStats> {
    if samples.is_empty() {
        return None;
    }
    let mut input: Vec<u64> = samples.iter().map(|s| s.0).collect();
    let mut output: Vec<u64> = samples.iter().map(|s| s.1).collect();
    input.sort_unstable();
    output.sort_unstable();
    Some(TokenStats {
        runs: samples.len(),
        input_p50: percentile(&input, 50),
        input_p95: percentile(&input, 95),
        output_p50: percentile(&output, 50),
        output_p95: percentile(&output, 95),
    })
}

/// One candidate model's projected cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Projection {
    pub model: String,
    pub upstream: String,
    pub input_price_per_mtok: u64,
    pub output_price_per_mtok: u64,
    pub per_run_p50_micros: u64,
    pub per_run_p95_micros: u64,
    pub per_month_p50_micros: u64,
    pub per_month_p95_micros: u64,
}

/// Cost of `runs` runs of `input` and `output` tokens each, rounded up once.
fn cost(model: &ModelConfig, input: u64, output: u64, runs: u64) -> u64 {
    model.cost_micros(&Usage {
        input_tokens: input.saturating_mul(runs),
        output_tokens: output.saturating_mul(runs),
        ..Usage::default()
    })
}

pub fn project(model: &ModelConfig, stats: &TokenStats, per_month: u64) -> Projection {
    Projection {
        model: model.name.clone(),
        upstream: model.upstream.clone(),
        input_price_per_mtok: model.price.input,
        output_price_per_mtok: model.price.output,
        per_run_p50_micros: cost(model, stats.input_p50, stats.output_p50, 1),
        per_run_p95_micros: cost(model, stats.input_p95, stats.output_p95, 1),
        per_month_p50_micros: cost(model, stats.input_p50, stats.output_p50, per_month),
        per_month_p95_micros: cost(model, stats.input_p95, stats.output_p95, per_month),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::prices::Price;
    use crate::infer::tokens::Tokenizer;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 95), 95);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
        assert_eq!(percentile(&[1, 2], 95), 2);
        assert_eq!(percentile(&[], 50), 0);
        let s = token_stats(&[(100, 10), (300, 30), (200, 20), (1000, 5)]).unwrap();
        assert_eq!((s.input_p50, s.input_p95), (200, 1000));
        assert_eq!((s.output_p50, s.output_p95), (10, 30));
        assert!(token_stats(&[]).is_none());
    }

    #[test]
    fn projects_a_month_in_micro_dollars() {
        let model = ModelConfig {
            name: "small".into(),
            provider: "p".into(),
            upstream: "gpt-4o-mini".into(),
            price: Price {
                input: 150_000,
                output: 600_000,
                ..Price::default()
            },
            context_window: 128_000,
            structured: None,
            fallbacks: Vec::new(),
            cache_ttl: None,
            max_cost_per_call: None,
            tokenizer: Tokenizer::Estimate,
            guard: crate::infer::guard::GuardConfig::default(),
        };
        let stats = TokenStats {
            runs: 10,
            input_p50: 500,
            input_p95: 900,
            output_p50: 50,
            output_p95: 120,
        };
        let p = project(&model, &stats, 1_000_000);
        // 500 × 0.15 + 50 × 0.6 = 105 µ$ a run; a million runs: 105 $.
        assert_eq!(p.per_run_p50_micros, 105);
        assert_eq!(p.per_month_p50_micros, 105_000_000);
        // 900 × 0.15 + 120 × 0.6 = 207 µ$.
        assert_eq!(p.per_run_p95_micros, 207);
        assert_eq!(p.per_month_p95_micros, 207_000_000);
        // Rounding happens once for the month, not once per run.
        let tiny = TokenStats {
            runs: 1,
            input_p50: 1,
            input_p95: 1,
            output_p50: 0,
            output_p95: 0,
        };
        let p = project(&model, &tiny, 1_000);
        assert_eq!(p.per_run_p50_micros, 1);
        assert_eq!(p.per_month_p50_micros, 150);
    }
}
