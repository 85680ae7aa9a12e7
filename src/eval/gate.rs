//! The CI gate: a variant fails when its score is below `--min-score`, or
//! below its baseline (the previous stored result for the same pipeline,
//! variant and set) by more than the tolerance.

use serde::Serialize;

/// The stored result a new one is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub eval_id: i64,
    pub score: f64,
    pub finished_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// Why it failed, one sentence each.
    pub reasons: Vec<String>,
}

/// Scores closer than this are equal (sums of float fractions).
const EPSILON: f64 = 1e-9;

pub fn judge(
    score: f64,
    min_score: Option<f64>,
    baseline: Option<&Baseline>,
    tolerance: f64,
) -> Verdict {
    let mut reasons = Vec::new();
    if let Some(min) = min_score
        && score + EPSILON < min
    {
        reasons.push(format!("score {score:.4} is below --min-score {min:.4}"));
    }
    if let Some(b) = baseline
        && score + EPSILON < b.score - tolerance
    {
        reasons.push(format!(
            "score {score:.4} is below the baseline {:.4} (eval #{} at {}) by {:.4}, more than the tolerance {tolerance:.4}",
            b.score,
            b.eval_id,
            b.finished_at,
            b.score - score
        ));
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(score: f64) -> Baseline {
        Baseline {
            eval_id: 7,
            score,
            finished_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn min_score() {
        assert!(judge(0.8, Some(0.8), None, 0.02).passed);
        assert!(judge(0.8, Some(0.7), None, 0.02).passed);
        let v = judge(0.8, Some(0.9), None, 0.02);
        assert!(!v.passed);
        assert_eq!(v.reasons, ["score 0.8000 is below --min-score 0.9000"]);
        assert!(judge(0.0, None, None, 0.02).passed);
    }

    #[test]
    fn baseline_with_tolerance() {
        // 0.80 vs 0.81: within 0.02.
        assert!(judge(0.80, None, Some(&base(0.81)), 0.02).passed);
        // exactly at the edge: passes.
        assert!(judge(0.75, None, Some(&base(0.80)), 0.05).passed);
        let v = judge(0.70, None, Some(&base(0.80)), 0.02);
        assert!(!v.passed);
        assert!(
            v.reasons[0].contains("below the baseline 0.8000 (eval #7"),
            "{:?}",
            v.reasons
        );
        // Better than the baseline always passes.
        assert!(judge(0.95, None, Some(&base(0.80)), 0.0).passed);
        // Both reasons.
        assert_eq!(
            judge(0.5, Some(0.9), Some(&base(0.8)), 0.02).reasons.len(),
            2
        );
    }
}
