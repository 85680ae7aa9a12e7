//! How one field of a run's output is scored against a golden case's
//! expected value: a score in [0, 1]. Pure functions, no I/O.

use serde::Serialize;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::output::compare::{json_equal, set_f1};

/// A field's scoring rule, from `[pipelines.NAME.eval.fields]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum FieldRule {
    /// Equal JSON values; numbers compare by value (`1 == 1.0`).
    Exact,
    /// Numbers within `tolerance` (absolute) or within `relative` times
    /// the expected value's magnitude; either suffices.
    Numeric { tolerance: f64, relative: f64 },
    /// Arrays as sets: F1 of the matched elements (both empty: 1).
    SetF1,
    /// Normalised Levenshtein similarity of normalised strings (NFC, case
    /// folded, whitespace collapsed): `1 - distance / longer length`, in
    /// characters. With a threshold the score is 1 at or above it, else 0.
    Similarity { threshold: Option<f64> },
}

impl FieldRule {
    pub fn name(&self) -> &'static str {
        match self {
            FieldRule::Exact => "exact",
            FieldRule::Numeric { .. } => "numeric",
            FieldRule::SetF1 => "set_f1",
            FieldRule::Similarity { .. } => "similarity",
        }
    }

    /// What an expected value must be for this rule (`None`: it is fine).
    pub fn check_expected(&self, expected: &Value) -> Option<&'static str> {
        match self {
            FieldRule::Exact => None,
            FieldRule::Numeric { .. } => (!expected.is_number()).then_some("a number"),
            FieldRule::SetF1 => (!expected.is_array()).then_some("an array"),
            FieldRule::Similarity { .. } => (!expected.is_string()).then_some("a string"),
        }
    }

    /// The score of `got` (absent: `None`) against `expected`.
    pub fn score(&self, expected: &Value, got: Option<&Value>) -> f64 {
        let Some(got) = got else { return 0.0 };
        match self {
            FieldRule::Exact => bool_score(json_equal(expected, got)),
            FieldRule::Numeric {
                tolerance,
                relative,
            } => match (expected.as_f64(), got.as_f64()) {
                (Some(e), Some(g)) => {
                    let diff = (e - g).abs();
                    bool_score(diff <= *tolerance || diff <= relative * e.abs())
                }
                _ => 0.0,
            },
            FieldRule::SetF1 => match (expected.as_array(), got.as_array()) {
                (Some(e), Some(g)) => set_f1(e, g),
                _ => 0.0,
            },
            FieldRule::Similarity { threshold } => match (expected.as_str(), got.as_str()) {
                (Some(e), Some(g)) => {
                    let s = similarity(e, g);
                    match threshold {
                        Some(t) => bool_score(s >= *t),
                        None => s,
                    }
                }
                _ => 0.0,
            },
        }
    }
}

fn bool_score(ok: bool) -> f64 {
    if ok { 1.0 } else { 0.0 }
}

/// NFC, case folded (lowercase), whitespace runs collapsed to one space,
/// trimmed.
pub fn normalise(s: &str) -> Vec<char> {
    let folded: String = s.nfc().flat_map(char::to_lowercase).collect();
    let mut out = Vec::with_capacity(folded.len());
    for word in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars());
    }
    out
}

/// `1 - levenshtein / max(len)` over the normalised strings (both empty: 1).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 1.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longer as f64
}

/// Edit distance (insert, delete, substitute; each costs 1), two rows.
pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_compares_numbers_by_value() {
        let r = FieldRule::Exact;
        assert_eq!(r.score(&json!(1), Some(&json!(1.0))), 1.0);
        assert_eq!(r.score(&json!("bug"), Some(&json!("bug"))), 1.0);
        assert_eq!(r.score(&json!("bug"), Some(&json!("Bug"))), 0.0);
        assert_eq!(
            r.score(&json!({"a": [1, 2]}), Some(&json!({"a": [1.0, 2]}))),
            1.0
        );
        assert_eq!(r.score(&json!([1, 2]), Some(&json!([2, 1]))), 0.0);
        assert_eq!(r.score(&json!("x"), None), 0.0);
        assert_eq!(r.score(&json!(null), Some(&json!(null))), 1.0);
    }

    #[test]
    fn numeric_absolute_and_relative() {
        let abs = FieldRule::Numeric {
            tolerance: 0.01,
            relative: 0.0,
        };
        assert_eq!(abs.score(&json!(10.0), Some(&json!(10.005))), 1.0);
        assert_eq!(abs.score(&json!(10.0), Some(&json!(10.02))), 0.0);
        assert_eq!(abs.score(&json!(10), Some(&json!("10"))), 0.0);
        let rel = FieldRule::Numeric {
            tolerance: 0.0,
            relative: 0.01,
        };
        // 1 % of 200 is 2.
        assert_eq!(rel.score(&json!(200), Some(&json!(201.5))), 1.0);
        assert_eq!(rel.score(&json!(200), Some(&json!(203))), 0.0);
        let none = FieldRule::Numeric {
            tolerance: 0.0,
            relative: 0.0,
        };
        assert_eq!(none.score(&json!(3), Some(&json!(3.0))), 1.0);
    }

    #[test]
    fn set_f1_by_hand() {
        let r = FieldRule::SetF1;
        // {a,b,c} vs {b,c,d}: 2 hits, 2*2/(3+3) = 0.666…
        let s = r.score(&json!(["a", "b", "c"]), Some(&json!(["d", "c", "b"])));
        assert!((s - 2.0 / 3.0).abs() < 1e-12);
        // Order and duplicates do not matter.
        assert_eq!(
            r.score(&json!(["a", "b"]), Some(&json!(["b", "a", "a"]))),
            1.0
        );
        assert_eq!(r.score(&json!([]), Some(&json!([]))), 1.0);
        assert_eq!(r.score(&json!(["a"]), Some(&json!([]))), 0.0);
        assert_eq!(r.score(&json!(["a"]), Some(&json!("a"))), 0.0);
        // {1} vs {1.0, 2}: 1 hit, 2/(1+2).
        let s = r.score(&json!([1]), Some(&json!([1.0, 2])));
        assert!((s - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn similarity_normalises_then_measures_edits() {
        // Case, NFC and whitespace do not count.
        assert_eq!(
            similarity("Caf\u{e9}  crashed", "CAFE\u{301} crashed\n"),
            1.0
        );
        // kitten → sitting: 3 edits over 7 characters.
        assert!((similarity("kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("abc", ""), 0.0);
        let t = FieldRule::Similarity {
            threshold: Some(0.5),
        };
        assert_eq!(t.score(&json!("kitten"), Some(&json!("sitting"))), 1.0);
        assert_eq!(t.score(&json!("kitten"), Some(&json!("xyz"))), 0.0);
        let free = FieldRule::Similarity { threshold: None };
        let s = free.score(&json!("kitten"), Some(&json!("sitting")));
        assert!((s - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn expected_types_per_rule() {
        let num = FieldRule::Numeric {
            tolerance: 0.0,
            relative: 0.0,
        };
        assert_eq!(num.check_expected(&json!("1")), Some("a number"));
        assert_eq!(num.check_expected(&json!(1)), None);
        assert_eq!(
            FieldRule::SetF1.check_expected(&json!("a")),
            Some("an array")
        );
        assert_eq!(FieldRule::Exact.check_expected(&json!({"x": 1})), None);
    }
}
