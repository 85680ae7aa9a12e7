//! A configured budget (`[[budgets]]`) and the ledger rows it counts.

use serde::Serialize;

use super::day::Day;
use crate::store::LedgerKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Pipeline,
    Tenant,
    Global,
}

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, String> {
        match text {
            "pipeline" => Ok(Scope::Pipeline),
            "tenant" => Ok(Scope::Tenant),
            "global" => Ok(Scope::Global),
            other => Err(format!(
                "`{other}` is not one of `pipeline`, `tenant`, `global`"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Pipeline => "pipeline",
            Scope::Tenant => "tenant",
            Scope::Global => "global",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, String> {
        match text {
            "day" => Ok(Period::Day),
            "month" => Ok(Period::Month),
            other => Err(format!("`{other}` is not one of `day`, `month`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// The ledger's key of the period holding `day`: `2026-11-23` or `2026-11`.
    pub fn key(self, day: Day) -> String {
        match self {
            Period::Day => day.to_string(),
            Period::Month => day.month(),
        }
    }
}

/// Every pipeline or tenant, each counted separately.
pub const EACH: &str = "*";

/// One `[[budgets]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetRule {
    pub scope: Scope,
    /// A pipeline or tenant name, or `*` (each one separately); `*` for
    /// global budgets.
    pub name: String,
    pub period: Period,
    pub limit_micros: u64,
}

impl BudgetRule {
    /// The pipeline or tenant this budget counts a call against, if it
    /// applies to the call at all.
    pub fn subject<'a>(&self, tenant: &'a str, pipeline: &'a str) -> Option<&'a str> {
        let (name, subject) = match self.scope {
            Scope::Global => return Some(EACH),
            Scope::Pipeline => (&self.name, pipeline),
            Scope::Tenant => (&self.name, tenant),
        };
        (name == EACH || name == subject).then_some(subject)
    }

    pub fn key(&self, subject: &str, day: Day) -> LedgerKey {
        LedgerKey {
            scope: self.scope.as_str().to_string(),
            name: self.name.clone(),
            subject: subject.to_string(),
            period: self.period.as_str().to_string(),
            period_key: self.period.key(day),
        }
    }

    /// Whether a ledger row belongs to this budget.
    pub fn owns(&self, key: &LedgerKey) -> bool {
        key.scope == self.scope.as_str()
            && key.name == self.name
            && key.period == self.period.as_str()
    }
}

/// How a ledger row is named in messages: `pipeline "triage" per day
/// (2026-11-23)`, `tenant "acme" per month (2026-11)`, `global per day (…)`.
pub fn describe(key: &LedgerKey) -> String {
    let whose = match key.scope.as_str() {
        "global" => "global".to_string(),
        scope => format!("{scope} \"{}\"", key.subject),
    };
    format!("{whose} per {} ({})", key.period, key.period_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(scope: Scope, name: &str) -> BudgetRule {
        BudgetRule {
            scope,
            name: name.into(),
            period: Period::Day,
            limit_micros: 1,
        }
    }

    #[test]
    fn subjects_by_scope_and_name() {
        assert_eq!(
            rule(Scope::Pipeline, "triage").subject("acme", "triage"),
            Some("triage")
        );
        assert_eq!(
            rule(Scope::Pipeline, "triage").subject("acme", "other"),
            None
        );
        assert_eq!(
            rule(Scope::Pipeline, "*").subject("acme", "other"),
            Some("other")
        );
        assert_eq!(
            rule(Scope::Tenant, "acme").subject("acme", "x"),
            Some("acme")
        );
        assert_eq!(rule(Scope::Tenant, "acme").subject("globex", "x"), None);
        assert_eq!(
            rule(Scope::Tenant, "*").subject("globex", "x"),
            Some("globex")
        );
        assert_eq!(rule(Scope::Global, "*").subject("a", "b"), Some("*"));
        let day = Day::parse("2026-11-23").unwrap();
        let k = rule(Scope::Tenant, "*").key("globex", day);
        assert_eq!(describe(&k), "tenant \"globex\" per day (2026-11-23)");
        let month = BudgetRule {
            period: Period::Month,
            ..rule(Scope::Global, "*")
        };
        assert_eq!(describe(&month.key("*", day)), "global per month (2026-11)");
        assert!(month.owns(&month.key("*", day)));
        assert!(!rule(Scope::Global, "*").owns(&month.key("*", day)));
    }
}
