//! Checking one `[pipelines.NAME.normalize.fields]` rule: each problem
//! named by its key, keys of another kind refused.

use super::datetime::{self, DateRule, Order, Unix};
use super::number::{Locale, NumberRule};
use super::{Blank, RawRule, Rule};

/// The rule and its canonical empty form; `None` when a problem was reported.
pub(super) fn rule(
    raw: &RawRule,
    problem: &mut dyn FnMut(&str, String),
) -> Option<(Rule, Option<Blank>)> {
    let empty = match raw.empty.as_deref() {
        None => None,
        Some("null") => Some(Blank::Null),
        Some("missing") => Some(Blank::Missing),
        Some("empty") => Some(Blank::EmptyString),
        Some(other) => {
            problem(
                "empty",
                format!("must be `null`, `missing` or `empty`, not `{other}`"),
            );
            None
        }
    };
    let date_keys = [
        ("order", raw.order.is_some()),
        ("offset", raw.offset.is_some()),
        ("unix", raw.unix.is_some()),
    ];
    let number_keys = [
        ("locale", raw.locale.is_some()),
        ("currency", raw.currency.is_some()),
        ("percent", raw.percent.is_some()),
    ];
    let mut refuse = |keys: &[(&str, bool)], kind: &str| {
        for (key, present) in keys {
            if *present {
                problem(key, format!("applies to `{kind}` rules only"));
            }
        }
    };
    let rule = match raw.kind.as_str() {
        "text" => {
            refuse(&date_keys, "datetime");
            refuse(&number_keys, "number");
            Some(Rule::Text)
        }
        "datetime" => {
            refuse(&number_keys, "number");
            let order = match raw.order.as_deref().map(|o| (o, Order::parse(o))) {
                None => Some(None),
                Some((_, Some(o))) => Some(Some(o)),
                Some((o, None)) => {
                    problem("order", format!("must be `dmy`, `mdy` or `ymd`, not `{o}`"));
                    None
                }
            };
            let offset = match raw.offset.as_deref() {
                None => Some(0),
                Some(o) => datetime::parse_offset(o).or_else(|| {
                    problem(
                        "offset",
                        format!(
                            "must be a UTC offset such as `+01:00`, `-0500` or `Z`, not `{o}` (time zone names are not supported)"
                        ),
                    );
                    None
                }),
            };
            let unix = match raw.unix.as_deref().map(|u| (u, Unix::parse(u))) {
                None => Some(None),
                Some((_, Some(u))) => Some(Some(u)),
                Some((u, None)) => {
                    problem("unix", format!("must be `s`, `ms` or `auto`, not `{u}`"));
                    None
                }
            };
            Some(Rule::DateTime(DateRule {
                order: order?,
                offset_secs: offset?,
                unix: unix?,
            }))
        }
        "number" => {
            refuse(&date_keys, "datetime");
            let locale = match raw.locale.as_deref() {
                None => Some(Locale::Plain),
                Some(l) => Locale::parse(l).or_else(|| {
                    problem(
                        "locale",
                        format!("must be `plain`, `en`, `de`, `fr`, `ch` or `in`, not `{l}`"),
                    );
                    None
                }),
            };
            Some(Rule::Number(NumberRule {
                locale: locale?,
                currency: raw.currency.unwrap_or(false),
                percent: raw.percent.unwrap_or(false),
            }))
        }
        other => {
            problem(
                "kind",
                format!("must be `text`, `datetime` or `number`, not `{other}`"),
            );
            None
        }
    };
    Some((rule?, empty))
}
