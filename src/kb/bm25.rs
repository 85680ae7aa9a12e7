//! Okapi BM25 over a knowledge base's chunks (k1 = 1.2, b = 0.75), with
//! the non-negative idf `ln(1 + (N − df + 0.5) / (df + 0.5))`.

use std::collections::{BTreeMap, BTreeSet};

pub const K1: f64 = 1.2;
pub const B: f64 = 0.75;

/// What BM25 needs to know about one chunk: its length in terms and how
/// often each term occurs (stored with the chunk).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermStats {
    pub length: u32,
    pub counts: BTreeMap<String, u32>,
}

impl TermStats {
    pub fn of(terms: &[String]) -> TermStats {
        let mut counts = BTreeMap::new();
        for t in terms {
            *counts.entry(t.clone()).or_insert(0) += 1;
        }
        TermStats {
            length: u32::try_from(terms.len()).unwrap_or(u32::MAX),
            counts,
        }
    }
}

/// The BM25 score of each document for `query` (its distinct terms), in
/// the order of `docs`.
pub fn scores(query: &[String], docs: &[&TermStats]) -> Vec<f64> {
    let n = docs.len() as f64;
    if docs.is_empty() {
        return Vec::new();
    }
    let avgdl = docs.iter().map(|d| f64::from(d.length)).sum::<f64>() / n;
    let distinct: BTreeSet<&String> = query.iter().collect();
    let idf: Vec<(&String, f64)> = distinct
        .into_iter()
        .map(|t| {
            let df = docs.iter().filter(|d| d.counts.contains_key(t)).count() as f64;
            (t, (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    docs.iter()
        .map(|d| {
            let norm = if avgdl > 0.0 {
                K1 * (1.0 - B + B * f64::from(d.length) / avgdl)
            } else {
                K1
            };
            idf.iter()
                .map(|(t, idf)| {
                    let tf = f64::from(d.counts.get(*t).copied().unwrap_or(0));
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::tokenize::terms;

    fn stats(text: &str) -> TermStats {
        TermStats::of(&terms(text))
    }

    #[test]
    fn hand_checked_scores() {
        // N = 3, lengths 4, 2, 2: avgdl = 8/3.
        let docs = [
            stats("refund refund policy terms"),
            stats("sso setup"),
            stats("refund window"),
        ];
        let refs: Vec<&TermStats> = docs.iter().collect();
        let s = scores(&terms("refund"), &refs);
        // df(refund) = 2: idf = ln(1 + 1.5/2.5) = ln 1.6 = 0.470004.
        // doc 0: tf 2, norm = 1.2 (0.25 + 0.75·4/(8/3)) = 1.65;
        //        0.470004 · 2 · 2.2 / 3.65 = 0.566580.
        // doc 2: tf 1, norm = 1.2 (0.25 + 0.75·2/(8/3)) = 0.975;
        //        0.470004 · 2.2 / 1.975 = 0.523549.
        assert!((s[0] - 0.566_580).abs() < 1e-5, "{s:?}");
        assert_eq!(s[1], 0.0);
        assert!((s[2] - 0.523_549).abs() < 1e-5, "{s:?}");
        // A rarer term weighs more: df(sso) = 1, idf = ln(1 + 2.5/1.5) = 0.980829;
        // doc 1: 0.980829 · 2.2 / 1.975 = 1.092569.
        let s = scores(&terms("SSO sso refund"), &refs);
        assert!((s[1] - 1.092_569).abs() < 1e-5, "{s:?}");
    }

    #[test]
    fn empty_inputs() {
        assert!(scores(&terms("x"), &[]).is_empty());
        let d = stats("");
        assert_eq!(scores(&terms("x"), &[&d]), [0.0]);
    }
}
