//! Layer 1, before validation: values normalised per declared field
//! (`[pipelines.NAME.normalize]`), so the input schema checks canonical
//! data. Dates and times become RFC 3339 in UTC, numbers written with a
//! locale's separators become JSON numbers, text is Unicode NFC without
//! control characters, and null / empty string / missing can be folded
//! into one form. Every string of the input is NFC-normalised and loses
//! its control characters unless `text = "declared"`.
//!
//! A value that cannot be normalised is a [`FieldError`] with its JSON
//! pointer and a plain message, reported like a schema error (422 for a
//! sync run, the dead-letter queue for a background one).

pub mod datetime;
mod load;
pub mod number;
mod pointer;
pub mod text;
pub mod utf8;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::schema::FieldError;
use datetime::DateRule;
use number::NumberRule;
use pointer::{Action, Seg};

/// `[pipelines.NAME.normalize]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNormalize {
    /// `all` (default): every string of the input is NFC-normalised and
    /// stripped of control characters (tab, LF, CR kept); `declared`: only
    /// the declared `text` fields.
    pub text: Option<String>,
    /// JSON pointer into the input (`*` for every member or element) →
    /// its rule.
    #[serde(default)]
    pub fields: BTreeMap<String, RawRule>,
}

/// One field's rule: `{ kind = "datetime", order = "dmy" }`. Keys other
/// than `kind` and `empty` belong to one kind and are refused on others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// `text`, `datetime` or `number`.
    pub kind: String,
    /// The one form of null, empty string (after trimming) and missing:
    /// `null`, `missing` or `empty` (`""`). Not declared: null and missing
    /// are left to the schema, and `""` is an error for `datetime` and
    /// `number`.
    pub empty: Option<String>,
    /// `datetime`: order of numeric dates, `dmy`, `mdy` or `ymd`. Not
    /// declared: `03/11/2026` is an error, never a guess.
    pub order: Option<String>,
    /// `datetime`: UTC offset of times written without one, `+01:00`,
    /// `-0500` or `Z` (default). Time zone names are not supported.
    pub offset: Option<String>,
    /// `datetime`: `s`, `ms` or `auto` (by magnitude): also read digit
    /// strings as Unix time. JSON numbers are Unix time in any case
    /// (`auto` unless declared).
    pub unix: Option<String>,
    /// `number`: `plain` (default), `en`, `de`, `fr`, `ch` or `in`.
    pub locale: Option<String>,
    /// `number`: drop a currency symbol or ISO code, default false.
    pub currency: Option<bool>,
    /// `number`: read `12.5%` as 0.125, default false.
    pub percent: Option<bool>,
}

/// The canonical form of null, empty and missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blank {
    Null,
    Missing,
    EmptyString,
}

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Text,
    DateTime(DateRule),
    Number(NumberRule),
}

impl Rule {
    fn kind(&self) -> &'static str {
        match self {
            Rule::Text => "text",
            Rule::DateTime(_) => "datetime",
            Rule::Number(_) => "number",
        }
    }
}

#[derive(Debug, Clone)]
struct Field {
    /// As declared (config text, never input data).
    declared: String,
    pattern: Vec<Seg>,
    rule: Rule,
    empty: Option<Blank>,
}

/// A pipeline's compiled normalisation.
#[derive(Debug, Clone)]
pub struct Normalizer {
    text_all: bool,
    fields: Vec<Field>,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            text_all: true,
            fields: Vec::new(),
        }
    }
}

/// One location whose value normalisation changed (no values).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub pointer: String,
    pub kind: &'static str,
}

impl Normalized {
    pub fn to_json(&self) -> Value {
        json!({"pointer": self.pointer, "kind": self.kind})
    }
}

/// A config problem: key path below `normalize`, message.
pub type Problem = (Vec<String>, String);

impl Normalizer {
    /// Check the raw table; every problem with its key path.
    pub fn load(raw: &RawNormalize) -> Result<Normalizer, Vec<Problem>> {
        let mut problems = Vec::new();
        let text_all = match raw.text.as_deref() {
            None | Some("all") => true,
            Some("declared") => false,
            Some(other) => {
                problems.push((
                    vec!["text".into()],
                    format!("must be `all` or `declared`, not `{other}`"),
                ));
                true
            }
        };
        let mut fields = Vec::new();
        for (ptr, rule) in &raw.fields {
            let at = |key: &str| {
                let mut path = vec!["fields".to_string(), ptr.clone()];
                if !key.is_empty() {
                    path.push(key.to_string());
                }
                path
            };
            let before = problems.len();
            let pattern = pointer::parse(ptr).map_err(|m| problems.push((at(""), m)));
            let loaded = load::rule(rule, &mut |key, m| problems.push((at(key), m)));
            if let (Ok(pattern), Some((rule, empty))) = (pattern, loaded)
                && problems.len() == before
            {
                fields.push(Field {
                    declared: ptr.clone(),
                    pattern,
                    rule,
                    empty,
                });
            }
        }
        if problems.is_empty() {
            Ok(Normalizer { text_all, fields })
        } else {
            Err(problems)
        }
    }

    /// The normalised input and what changed where, or every value that
    /// could not be normalised.
    pub fn apply(&self, input: &Value) -> (Value, Vec<Normalized>, Vec<FieldError>) {
        let mut value = input.clone();
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        if self.text_all {
            pointer::each_string(&mut value, &mut String::new(), &mut |at, s| {
                if let Some(clean) = text::clean(s) {
                    *s = clean;
                    changed.push(Normalized {
                        pointer: at.to_string(),
                        kind: "text",
                    });
                }
            });
        }
        for field in &self.fields {
            pointer::visit(
                &mut value,
                &field.pattern,
                &mut String::new(),
                &mut |at, current| match field.normalize(current) {
                    Ok(Action::Keep) => Action::Keep,
                    Ok(action) => {
                        changed.retain(|n: &Normalized| n.pointer != at);
                        changed.push(Normalized {
                            pointer: at.to_string(),
                            kind: field.rule.kind(),
                        });
                        action
                    }
                    Err(message) => {
                        errors.push(FieldError {
                            pointer: at.to_string(),
                            schema_path: format!("normalize:{}", field.declared),
                            message,
                        });
                        Action::Keep
                    }
                },
            );
        }
        (value, changed, errors)
    }
}

impl Field {
    fn normalize(&self, current: Option<&Value>) -> Result<Action, String> {
        let blank = match current {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if blank && let Some(empty) = self.empty {
            let canonical = match empty {
                Blank::Null => Some(Value::Null),
                Blank::Missing => None,
                Blank::EmptyString => Some(Value::String(String::new())),
            };
            return Ok(match (current, canonical) {
                (None, None) => Action::Keep,
                (Some(c), Some(v)) if *c == v => Action::Keep,
                (_, Some(v)) => Action::Set(v),
                (Some(_), None) => Action::Remove,
            });
        }
        let Some(current) = current else {
            return Ok(Action::Keep);
        };
        if current.is_null() {
            return Ok(Action::Keep);
        }
        let next = match &self.rule {
            Rule::Text => match current {
                Value::String(s) => Value::String(text::normalize(s)),
                Value::Number(n) => Value::String(n.to_string()),
                Value::Bool(b) => Value::String(b.to_string()),
                other => return Err(format!("text must be a string, not {}", type_name(other))),
            },
            Rule::DateTime(rule) => Value::String(datetime::normalize(current, rule)?),
            Rule::Number(rule) => number::normalize(current, rule)?,
        };
        Ok(if next == *current {
            Action::Keep
        } else {
            Action::Set(next)
        })
    }
}

/// "a string", "an array"... for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
