//! The labelled corpus (`tests/pii_corpus/corpus.jsonl`): precision and
//! recall of each built-in detector, exact spans only. Print the table
//! with `cargo test --lib pii::corpus -- --nocapture`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::detectors::{self, Builtin};
use super::policy::PiiPolicy;

const CORPUS: &str = include_str!("../../../tests/pii_corpus/corpus.jsonl");

/// Per-detector floors, just under what the corpus measures (BENCHMARKS.md).
const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;

#[derive(Deserialize)]
struct Row {
    text: String,
    spans: Vec<Span>,
    /// `holdout` for rows written after the detectors were tuned.
    #[serde(default)]
    set: Option<String>,
}

#[derive(Deserialize)]
struct Span {
    kind: String,
    value: String,
}

#[derive(Default)]
struct Counts {
    expected: usize,
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

type Table = BTreeMap<&'static str, Counts>;

/// Count exact-span hits of `rows`; returns the table, the near-misses
/// (rows with no PII) and a line per miss.
fn measure<'a>(rows: impl Iterator<Item = &'a Row>) -> (Table, usize, Vec<String>) {
    let policy = PiiPolicy::default();
    let mut counts: Table = Builtin::ALL
        .iter()
        .map(|b| (b.kind(), Counts::default()))
        .collect();
    let mut misses = Vec::new();
    let mut near_misses = 0;
    for row in rows {
        if row.spans.is_empty() {
            near_misses += 1;
        }
        let mut expected = Vec::new();
        let mut from = 0;
        for s in &row.spans {
            let at = row.text[from..]
                .find(&s.value)
                .map(|i| i + from)
                .unwrap_or_else(|| panic!("`{}` not in its text", s.value));
            expected.push((at, at + s.value.len(), s.kind.as_str()));
            from = at + s.value.len();
        }
        let found = detectors::find(&row.text, &policy);
        for f in &found {
            let c = counts.entry(kind_of(&f.kind)).or_default();
            if expected.contains(&(f.start, f.end, f.kind.as_str())) {
                c.tp += 1;
            } else {
                c.fp += 1;
                misses.push(format!(
                    "FP {:5} `{}` in: {}",
                    f.kind,
                    &row.text[f.start..f.end],
                    row.text
                ));
            }
        }
        for (start, end, kind) in expected {
            let c = counts.entry(kind_of(kind)).or_default();
            c.expected += 1;
            if !found
                .iter()
                .any(|f| (f.start, f.end, f.kind.as_str()) == (start, end, kind))
            {
                c.fn_ += 1;
                misses.push(format!(
                    "FN {kind:5} `{}` in: {}",
                    &row.text[start..end],
                    row.text
                ));
            }
        }
    }
    (counts, near_misses, misses)
}

fn print(title: &str, rows: usize, near_misses: usize, counts: &Table, misses: &[String]) {
    println!("\n{title}: {rows} lines, {near_misses} near-misses (no PII)\n");
    println!("| detector | labelled | TP | FP | FN | precision | recall |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (kind, c) in counts {
        println!(
            "| {kind} | {} | {} | {} | {} | {:.3} | {:.3} |",
            c.expected,
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
    }
    for m in misses {
        println!("{m}");
    }
}

#[test]
fn corpus_precision_and_recall() {
    let rows: Vec<Row> = CORPUS
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let holdout = |r: &&Row| r.set.as_deref() == Some("holdout");
    let (counts, near_misses, misses) = measure(rows.iter());
    print("All", rows.len(), near_misses, &counts, &misses);
    let held: Vec<&Row> = rows.iter().filter(holdout).collect();
    let (h_counts, h_near, h_misses) = measure(held.iter().copied());
    print(
        "Held-out rows only",
        held.len(),
        h_near,
        &h_counts,
        &h_misses,
    );

    assert!(near_misses >= 40, "at least 40 near-misses");
    for (kind, c) in &counts {
        assert!(c.expected >= 25, "{kind}: at least 25 labelled examples");
        assert!(
            c.precision() >= MIN_PRECISION,
            "{kind}: precision {:.3} < {MIN_PRECISION}",
            c.precision()
        );
        assert!(
            c.recall() >= MIN_RECALL,
            "{kind}: recall {:.3} < {MIN_RECALL}",
            c.recall()
        );
    }
}

fn kind_of(kind: &str) -> &'static str {
    Builtin::ALL
        .iter()
        .map(|b| b.kind())
        .find(|k| *k == kind)
        .unwrap_or("OTHER")
}
