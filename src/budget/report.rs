//! `seam cost report`: spend by pipeline, model, tenant and day from the
//! stored runs (per call from the audit for models), with open alerts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::day::Day;
use crate::error::Error;
use crate::store::{Alert, ModelSpend, SpendRow, Store};

/// Micro-dollars as dollars with all six decimals: `$1.250000`.
pub fn usd(micros: u64) -> String {
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Spend of one pipeline, tenant or day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub key: String,
    pub runs: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// First day counted (`None`: every stored run).
    pub since: Option<String>,
    pub runs: u64,
    pub cost_micros: u64,
    pub by_pipeline: Vec<Line>,
    /// Per call: a run that fell back is counted under each model it paid.
    pub by_model: Vec<ModelSpend>,
    pub by_tenant: Vec<Line>,
    pub by_day: Vec<Line>,
    pub open_alerts: Vec<Alert>,
}

fn group(rows: &[SpendRow], key: impl Fn(&SpendRow) -> String) -> Vec<Line> {
    let mut map: BTreeMap<String, Line> = BTreeMap::new();
    for r in rows {
        let k = key(r);
        let line = map.entry(k.clone()).or_insert(Line {
            key: k,
            runs: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_micros: 0,
        });
        line.runs += r.runs;
        line.input_tokens += r.input_tokens;
        line.output_tokens += r.output_tokens;
        line.cost_micros += r.cost_micros;
    }
    map.into_values().collect()
}

/// Most expensive first, then by name.
fn by_cost(mut lines: Vec<Line>) -> Vec<Line> {
    lines.sort_by(|a, b| b.cost_micros.cmp(&a.cost_micros).then(a.key.cmp(&b.key)));
    lines
}

pub async fn build(store: &dyn Store, since: Option<Day>) -> Result<CostReport, Error> {
    let since = since.map(|d| d.to_string());
    let rows = store.spend(since.clone()).await?;
    let by_model = store.spend_by_model(since.clone()).await?;
    let open_alerts = store.alerts(true).await?;
    Ok(CostReport {
        runs: rows.iter().map(|r| r.runs).sum(),
        cost_micros: rows.iter().map(|r| r.cost_micros).sum(),
        by_pipeline: by_cost(group(&rows, |r| r.pipeline.clone())),
        by_model,
        by_tenant: by_cost(group(&rows, |r| r.tenant.clone())),
        by_day: group(&rows, |r| r.day.clone()),
        since,
        open_alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_keep_every_micro() {
        assert_eq!(usd(0), "$0.000000");
        assert_eq!(usd(1), "$0.000001");
        assert_eq!(usd(12_345_678), "$12.345678");
    }

    #[test]
    fn groups_sum_and_sort() {
        let row = |day: &str, pipeline: &str, tenant: &str, cost| SpendRow {
            day: day.into(),
            pipeline: pipeline.into(),
            tenant: tenant.into(),
            model: None,
            runs: 1,
            input_tokens: 10,
            output_tokens: 1,
            cost_micros: cost,
        };
        let rows = [
            row("2026-11-02", "a", "t1", 5),
            row("2026-11-01", "b", "t1", 7),
            row("2026-11-01", "a", "t2", 1),
        ];
        let p = by_cost(group(&rows, |r| r.pipeline.clone()));
        assert_eq!(p[0].key, "b");
        assert_eq!(
            (p[1].key.as_str(), p[1].cost_micros, p[1].runs),
            ("a", 6, 2)
        );
        let d = group(&rows, |r| r.day.clone());
        assert_eq!(d[0].key, "2026-11-01");
        assert_eq!(d[0].cost_micros, 8);
    }
}
