//! Reciprocal rank fusion: each list gives an item `1 / (k + rank)`
//! (ranks from 1); the fused score is the sum over the lists it is in.

use std::collections::BTreeMap;

/// The constant of Cormack, Clarke & Büttcher (2009).
pub const K: f64 = 60.0;

/// Fuse ranked lists of item indexes; returns `(index, score)` best first,
/// ties broken by the smaller index.
pub fn rrf(lists: &[&[usize]], k: f64) -> Vec<(usize, f64)> {
    let mut score: BTreeMap<usize, f64> = BTreeMap::new();
    for list in lists {
        for (rank, &item) in list.iter().enumerate() {
            *score.entry(item).or_insert(0.0) += 1.0 / (k + rank as f64 + 1.0);
        }
    }
    let mut out: Vec<(usize, f64)> = score.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Indexes of `scores` ordered best first (ties: smaller index), keeping
/// only those `keep` accepts.
pub fn ranking(scores: &[f64], keep: impl Fn(f64) -> bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| keep(scores[i])).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_beats_one_strong_list() {
        // 7 and 2 each top one list only; 3 is second in both, 1 third in both.
        let fused = rrf(&[&[7, 3, 1], &[2, 3, 1]], K);
        let order: Vec<usize> = fused.iter().map(|f| f.0).collect();
        assert_eq!(order, [3, 1, 2, 7]);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-12);
        assert!((fused[1].1 - 2.0 / 63.0).abs() < 1e-12);
        assert_eq!(fused[2].1, 1.0 / 61.0);
        assert_eq!(fused[3].1, 1.0 / 61.0);
    }

    #[test]
    fn ties_are_deterministic_and_ranking_filters() {
        assert_eq!(rrf(&[&[5], &[2]], K), [(2, 1.0 / 61.0), (5, 1.0 / 61.0)]);
        assert_eq!(ranking(&[0.5, 0.0, 0.9, 0.5], |s| s > 0.0), [2, 0, 3]);
        assert!(rrf(&[], K).is_empty());
    }
}
