//! The daily-cost anomaly check: a pipeline's spend on a day against its
//! average over the days before it (30 by default). Over `factor` times the
//! average (and over a minimum spend, so small numbers stay quiet) raises
//! an `alerts` row, at most one per pipeline and day.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::Budgets;
use super::day::Day;
use super::report::usd;
use crate::error::Error;
use crate::store::{DaySpend, NewAlert, Store};
use crate::telemetry::Metrics;

/// `[alerts.daily_cost]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCostRule {
    /// Alert above this many thousandths of the average (3.0 → 3000).
    pub factor_milli: u64,
    /// Never alert below this day's spend.
    pub min_spend_micros: u64,
    /// Days of history the average covers.
    pub window_days: u32,
    /// How often `seam serve` runs the check.
    pub interval: Duration,
}

impl Default for DailyCostRule {
    fn default() -> Self {
        DailyCostRule {
            factor_milli: 3_000,
            min_spend_micros: 1_000_000,
            window_days: 30,
            interval: Duration::from_secs(300),
        }
    }
}

pub const KIND: &str = "daily_cost";

/// One pipeline over its threshold on the day checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub pipeline: String,
    pub day: String,
    pub observed_micros: u64,
    /// The average daily spend over `history_days` before `day`.
    pub baseline_micros: u64,
    pub history_days: i64,
    /// Whether this check created the alert (false: it was already open).
    pub new: bool,
}

impl Finding {
    fn message(&self, rule: &DailyCostRule) -> String {
        let times = if self.baseline_micros == 0 {
            "up from nothing".to_string()
        } else {
            let tenths = u128::from(self.observed_micros) * 10 / u128::from(self.baseline_micros);
            format!("{}.{}x", tenths / 10, tenths % 10)
        };
        format!(
            "pipeline \"{}\" spent {} on {}, {times} its average of {} per day over the {} day(s) before (alert above {}.{:03}x and {})",
            self.pipeline,
            usd(self.observed_micros),
            self.day,
            usd(self.baseline_micros),
            self.history_days,
            rule.factor_milli / 1000,
            rule.factor_milli % 1000,
            usd(rule.min_spend_micros),
        )
    }
}

/// Pure part of the check: which pipelines are over the threshold on `day`.
/// `spends` covers at least the window before `day` and `day` itself;
/// `first_days` gives each pipeline's first day, so a young pipeline is
/// averaged over the days it has existed. A pipeline with no earlier day
/// has no baseline and is not judged.
pub fn evaluate(
    rule: &DailyCostRule,
    day: Day,
    spends: &[DaySpend],
    first_days: &BTreeMap<String, Day>,
) -> Vec<Finding> {
    let window_start = day.plus(-i64::from(rule.window_days));
    let mut per_pipeline: BTreeMap<&str, (u64, u128)> = BTreeMap::new();
    for s in spends {
        let Ok(d) = Day::parse(&s.day) else { continue };
        let e = per_pipeline.entry(&s.pipeline).or_default();
        if d == day {
            e.0 += s.cost_micros;
        } else if d >= window_start && d < day {
            e.1 += u128::from(s.cost_micros);
        }
    }
    let mut out = Vec::new();
    for (pipeline, (observed, history)) in per_pipeline {
        let start = first_days
            .get(pipeline)
            .map_or(window_start, |first| (*first).max(window_start));
        let history_days = start.until(day);
        if history_days <= 0 || observed < rule.min_spend_micros {
            continue;
        }
        let baseline = history / history_days as u128;
        // observed > factor × baseline, in integers.
        if u128::from(observed) * 1000 > u128::from(rule.factor_milli) * baseline {
            out.push(Finding {
                pipeline: pipeline.to_string(),
                day: day.to_string(),
                observed_micros: observed,
                baseline_micros: u64::try_from(baseline).unwrap_or(u64::MAX),
                history_days,
                new: false,
            });
        }
    }
    out
}

/// Check `day` against the stored runs and raise an alert row for each
/// finding (deduplicated per pipeline and day).
pub async fn check(
    store: &dyn Store,
    rule: &DailyCostRule,
    day: Day,
    metrics: Option<&Metrics>,
) -> Result<Vec<Finding>, Error> {
    let from = day.plus(-i64::from(rule.window_days));
    let spends = store.daily_spend(from.to_string(), day.to_string()).await?;
    let first_days: BTreeMap<String, Day> = store
        .first_days()
        .await?
        .into_iter()
        .filter_map(|(p, d)| Day::parse(&d).ok().map(|d| (p, d)))
        .collect();
    let mut findings = evaluate(rule, day, &spends, &first_days);
    for f in &mut findings {
        f.new = store
            .raise_alert(NewAlert {
                kind: KIND.to_string(),
                subject: f.pipeline.clone(),
                day: f.day.clone(),
                observed_micros: f.observed_micros,
                baseline_micros: f.baseline_micros,
                message: f.message(rule),
            })
            .await?;
        if f.new {
            tracing::warn!(pipeline = %f.pipeline, day = %f.day, observed_micros = f.observed_micros,
                baseline_micros = f.baseline_micros, "daily cost anomaly");
            if let Some(m) = metrics {
                m.cost_alert(&f.pipeline);
            }
        }
    }
    Ok(findings)
}

/// What `seam serve` runs every `rule.interval` until `stop` flips: count
/// expired reservations at their estimate, then check today's spend.
pub async fn watch(
    store: Arc<dyn Store>,
    budgets: Arc<Budgets>,
    rule: DailyCostRule,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(rule.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if let Err(e) = budgets.sweep().await {
            tracing::warn!(error = %e, "budget reservation sweep failed");
        }
        if let Err(e) = check(store.as_ref(), &rule, Day::today(), Some(&metrics)).await {
            tracing::warn!(error = %e, "daily cost check failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend(pipeline: &str, day: &str, cost: u64) -> DaySpend {
        DaySpend {
            pipeline: pipeline.into(),
            day: day.into(),
            cost_micros: cost,
        }
    }

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn judges_today_against_the_average_of_the_days_before() {
        let rule = DailyCostRule::default();
        let day = d("2026-11-23");
        let mut spends = Vec::new();
        // triage: 2 $/day for 30 days, then 7 $ today (3.5x): alert.
        // steady: 2 $/day, then 5 $ today (2.5x): quiet.
        for i in 1..=30 {
            let past = day.plus(-i).to_string();
            spends.push(spend("triage", &past, 2_000_000));
            spends.push(spend("steady", &past, 2_000_000));
        }
        spends.push(spend("triage", "2026-11-23", 7_000_000));
        spends.push(spend("steady", "2026-11-23", 5_000_000));
        // young: first run 2 days ago at 0.5 $/day, 4 $ today: averaged over
        // 2 days, not 30 (which would make 8x look like 240x).
        spends.push(spend("young", "2026-11-21", 500_000));
        spends.push(spend("young", "2026-11-22", 500_000));
        spends.push(spend("young", "2026-11-23", 4_000_000));
        // cheap: 10x but under the 1 $ floor.
        spends.push(spend("cheap", "2026-11-22", 10_000));
        spends.push(spend("cheap", "2026-11-23", 100_000));
        // fresh: first day ever, no baseline.
        spends.push(spend("fresh", "2026-11-23", 50_000_000));
        let first: BTreeMap<String, Day> = [
            ("triage", "2026-01-01"),
            ("steady", "2026-01-01"),
            ("young", "2026-11-21"),
            ("cheap", "2026-11-22"),
            ("fresh", "2026-11-23"),
        ]
        .into_iter()
        .map(|(p, s)| (p.to_string(), d(s)))
        .collect();
        let found = evaluate(&rule, day, &spends, &first);
        let names: Vec<&str> = found.iter().map(|f| f.pipeline.as_str()).collect();
        assert_eq!(names, ["triage", "young"]);
        assert_eq!(found[0].baseline_micros, 2_000_000);
        assert_eq!(found[0].history_days, 30);
        assert_eq!(found[1].baseline_micros, 500_000);
        assert_eq!(found[1].history_days, 2);
        assert!(
            found[0].message(&rule).contains("3.5x"),
            "{}",
            found[0].message(&rule)
        );
        // Days outside the window do not count: a huge spend 31 days ago.
        let mut old = spends.clone();
        old.push(spend("steady", "2026-10-23", 900_000_000));
        let names: Vec<String> = evaluate(&rule, day, &old, &first)
            .into_iter()
            .map(|f| f.pipeline)
            .collect();
        assert_eq!(names, ["triage", "young"]);
        // Exactly 3x is not over 3x.
        let exact = [
            spend("p", "2026-11-22", 1_000_000),
            spend("p", "2026-11-23", 3_000_000),
        ];
        let first: BTreeMap<String, Day> = [("p".to_string(), d("2026-11-22"))].into();
        assert!(evaluate(&rule, day, &exact, &first).is_empty());
    }
}
