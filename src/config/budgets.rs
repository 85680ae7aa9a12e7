//! Checking `[[budgets]]`, `[alerts]` and `[pipelines.NAME.limits]`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::load::Report;
use super::raw::{RawAlerts, RawBudget, RawLimits};
use crate::budget::anomaly::DailyCostRule;
use crate::budget::rule::EACH;
use crate::budget::{BudgetRule, Period, RunLimits, Scope};

/// The pipeline name chat completions are recorded under
/// (`gateway::record::CHAT_PIPELINE`), so budgets can name it.
const CHAT_PIPELINE: &str = "chat.completions";

/// Check one `[[budgets]]` entry (number `index`); `seen` catches two
/// entries for the same scope, name and period.
pub(super) fn check_budget(
    r: &mut Report<'_>,
    index: usize,
    b: RawBudget,
    pipelines: &BTreeMap<String, toml::Value>,
    seen: &mut BTreeMap<(Scope, String, Period), usize>,
) -> Option<BudgetRule> {
    let idx = index.to_string();
    let key = |k: &'static str| -> [&str; 3] { ["budgets", &idx, k] };
    let scope = Scope::parse(&b.scope).map_err(|e| r.at(&key("scope"), e));
    let period = Period::parse(&b.period).map_err(|e| r.at(&key("period"), e));
    let scope = scope.ok()?;
    let name = match (scope, b.name) {
        (Scope::Global, None) => EACH.to_string(),
        (Scope::Global, Some(n)) if n == EACH => n,
        (Scope::Global, Some(n)) => {
            r.at(
                &key("name"),
                format!(
                    "a global budget counts everything; omit `name` or set it to \"*\", not `{n}`"
                ),
            );
            return None;
        }
        (_, None) => {
            r.at(
                &["budgets", &idx],
                format!(
                    "a {} budget needs `name`: the {} it limits, or \"*\" for each one separately",
                    scope.as_str(),
                    scope.as_str()
                ),
            );
            return None;
        }
        (_, Some(n)) if n.trim().is_empty() => {
            r.at(&key("name"), "must not be empty");
            return None;
        }
        (Scope::Pipeline, Some(n))
            if n != EACH && n != CHAT_PIPELINE && !pipelines.contains_key(&n) =>
        {
            r.at(
                &key("name"),
                format!(
                    "pipeline `{n}` is not declared in [pipelines] (use \"*\" for each pipeline)"
                ),
            );
            return None;
        }
        (_, Some(n)) => n,
    };
    let period = period.ok()?;
    if let Some(first) = seen.insert((scope, name.clone(), period), index) {
        r.at(
            &["budgets", &idx],
            format!(
                "duplicate budget: budgets.{first} already limits {} `{name}` per {}",
                scope.as_str(),
                period.as_str()
            ),
        );
        return None;
    }
    Some(BudgetRule {
        scope,
        name,
        period,
        limit_micros: b.limit_micros,
    })
}

pub(super) fn check_alerts(r: &mut Report<'_>, a: RawAlerts) -> Option<DailyCostRule> {
    let defaults = DailyCostRule::default();
    let Some(d) = a.daily_cost else {
        return Some(defaults);
    };
    let key = |k: &'static str| -> [&str; 3] { ["alerts", "daily_cost", k] };
    let mut ok = true;
    let factor_milli = match d.factor {
        None => defaults.factor_milli,
        Some(f) if f.is_finite() && (1.0..=1000.0).contains(&f) => (f * 1000.0).round() as u64,
        Some(f) => {
            r.at(&key("factor"), format!("{f} must be between 1 and 1000"));
            ok = false;
            0
        }
    };
    let window_days = d.window_days.unwrap_or(defaults.window_days);
    if !(1..=366).contains(&window_days) {
        r.at(&key("window_days"), "must be between 1 and 366");
        ok = false;
    }
    let interval_secs = d.interval_secs.unwrap_or(defaults.interval.as_secs());
    if interval_secs == 0 {
        r.at(&key("interval_secs"), "must be at least 1");
        ok = false;
    }
    ok.then_some(DailyCostRule {
        factor_milli,
        min_spend_micros: d.min_spend_micros.unwrap_or(defaults.min_spend_micros),
        window_days,
        interval: Duration::from_secs(interval_secs),
    })
}

pub(super) fn check_limits(r: &mut Report<'_>, pipeline: &str, l: RawLimits) -> RunLimits {
    if l.max_calls_per_run == Some(0) {
        r.at(
            &["pipelines", pipeline, "limits", "max_calls_per_run"],
            "must be at least 1 (omit it for no limit)",
        );
    }
    if l.max_cost_micros_per_run == Some(0) {
        r.at(
            &["pipelines", pipeline, "limits", "max_cost_micros_per_run"],
            "must be at least 1 (omit it for no limit)",
        );
    }
    if l.max_cost_micros_per_call == Some(0) {
        r.at(
            &["pipelines", pipeline, "limits", "max_cost_micros_per_call"],
            "must be at least 1 (omit it for no limit)",
        );
    }
    RunLimits {
        max_calls: l.max_calls_per_run,
        max_cost_micros: l.max_cost_micros_per_run,
        max_cost_micros_per_call: l.max_cost_micros_per_call,
    }
}
