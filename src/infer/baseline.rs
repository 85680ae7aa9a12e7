//! The rules-based baseline: the last step of a pipeline's fallback chain
//! before a human. Declared in config as ordered rules, each a set of
//! conditions on the (redacted) input — a JSON pointer and a regex — and the
//! output it gives; an optional default answers when no rule matches.
//! Outputs are checked against the output schema when the config loads, and
//! the answer is checked again at run time like any model output.
//!
//! ```toml
//! [[pipelines.triage.baseline.rules]]
//! name = "billing"
//! when = { "/subject" = "(?i)charge|refund|invoice" }
//! output = { category = "billing", priority = "normal" }
//! copy = { "/summary" = "/subject" }   # output pointer <- input pointer
//! ```

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::schema::JsonSchema;

/// `[pipelines.NAME.baseline]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// Tried in order; the first rule whose every condition holds answers.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// The answer when no rule matches; without it, such a run goes to the
    /// escalation queue.
    pub default: Option<RawAnswer>,
}

/// `[[pipelines.NAME.baseline.rules]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Shown in the audit and the response; default `rule N`.
    pub name: Option<String>,
    /// JSON pointer into the input → regex its value must match.
    pub when: BTreeMap<String, String>,
    pub output: toml::Table,
    /// Output pointer → input pointer whose value is copied into the output.
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
}

/// `[pipelines.NAME.baseline.default]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnswer {
    pub output: toml::Table,
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
}

/// A compiled baseline.
#[derive(Debug)]
pub struct Baseline {
    rules: Vec<Rule>,
    default: Option<Answer>,
}

#[derive(Debug)]
struct Rule {
    name: String,
    when: Vec<(String, Regex)>,
    answer: Answer,
}

#[derive(Debug)]
struct Answer {
    output: Value,
    copy: Vec<(String, String)>,
}

/// The baseline's answer for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineAnswer {
    /// The rule's name, or `default`.
    pub rule: String,
    pub output: Value,
}

/// A problem found loading a baseline: the key path below `baseline`, and
/// the message.
pub type Problem = (Vec<String>, String);

impl Baseline {
    /// Compile the rules; every problem is returned, each with its key path.
    pub fn load(raw: RawBaseline, output_schema: &JsonSchema) -> Result<Baseline, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (i, rule) in raw.rules.into_iter().enumerate() {
            let at = |k: &str| vec!["rules".to_string(), i.to_string(), k.to_string()];
            let mut when = Vec::new();
            for (pointer, pattern) in rule.when {
                let mut key = at("when");
                key.push(pointer.clone());
                if !is_pointer(&pointer) {
                    problems.push((
                        key,
                        format!("`{pointer}` is not a JSON pointer (it must start with `/`)"),
                    ));
                    continue;
                }
                match Regex::new(&pattern) {
                    Ok(re) => when.push((pointer, re)),
                    Err(e) => problems.push((key, format!("not a valid regex: {e}"))),
                }
            }
            let prefix = vec!["rules".to_string(), i.to_string()];
            let answer = Answer::load(
                rule.output,
                rule.copy,
                output_schema,
                &prefix,
                &mut problems,
            );
            rules.push(Rule {
                name: rule.name.unwrap_or_else(|| format!("rule {i}")),
                when,
                answer,
            });
        }
        let default = raw.default.map(|d| {
            Answer::load(
                d.output,
                d.copy,
                output_schema,
                &["default".to_string()],
                &mut problems,
            )
        });
        if problems.is_empty() {
            Ok(Baseline { rules, default })
        } else {
            Err(problems)
        }
    }

    /// The first matching rule's answer (or the default), checked against
    /// the output schema; `None` when nothing matches or the answer, with
    /// its copied values, does not satisfy the schema.
    pub fn answer(&self, input: &Value, output_schema: &JsonSchema) -> Option<BaselineAnswer> {
        let (rule, answer) = self
            .rules
            .iter()
            .find(|r| r.matches(input))
            .map(|r| (r.name.as_str(), &r.answer))
            .or_else(|| self.default.as_ref().map(|d| ("default", d)))?;
        let output = answer.fill(input);
        output_schema.is_valid(&output).then(|| BaselineAnswer {
            rule: rule.to_string(),
            output,
        })
    }
}

impl Rule {
    fn matches(&self, input: &Value) -> bool {
        self.when
            .iter()
            .all(|(pointer, re)| match input.pointer(pointer) {
                Some(Value::String(s)) => re.is_match(s),
                Some(Value::Null) | None => false,
                Some(other) => re.is_match(&other.to_string()),
            })
    }
}

impl Answer {
    fn load(
        output: toml::Table,
        copy: BTreeMap<String, String>,
        schema: &JsonSchema,
        prefix: &[String],
        problems: &mut Vec<Problem>,
    ) -> Answer {
        let key = |k: &str, sub: Option<&str>| {
            let mut p = prefix.to_vec();
            p.push(k.to_string());
            p.extend(sub.map(str::to_string));
            p
        };
        let output = match serde_json::to_value(&output) {
            Ok(v) => v,
            Err(e) => {
                problems.push((key("output", None), format!("cannot be read as JSON: {e}")));
                Value::Null
            }
        };
        let mut pairs = Vec::new();
        for (to, from) in copy {
            if !is_pointer(&to) || !is_pointer(&from) {
                problems.push((
                    key("copy", Some(&to)),
                    format!(
                        "`{to}` = `{from}`: both sides must be JSON pointers (starting with `/`)"
                    ),
                ));
                continue;
            }
            pairs.push((to, from));
        }
        let answer = Answer {
            output,
            copy: pairs,
        };
        // Copied values are only known at run time: check the shape with a
        // sample string in their place (the run checks the real answer).
        let mut sample = answer.output.clone();
        for (to, _) in &answer.copy {
            set(&mut sample, to, Value::String("baseline".into()));
        }
        for e in schema.validate(&sample) {
            problems.push((
                key("output", None),
                format!(
                    "does not satisfy the output schema at `{}`: {}",
                    e.pointer, e.message
                ),
            ));
        }
        answer
    }

    fn fill(&self, input: &Value) -> Value {
        let mut out = self.output.clone();
        for (to, from) in &self.copy {
            if let Some(v) = input.pointer(from) {
                set(&mut out, to, v.clone());
            }
        }
        out
    }
}

fn is_pointer(s: &str) -> bool {
    s.starts_with('/')
}

/// Set `pointer` in `value`, creating objects on the way.
fn set(value: &mut Value, pointer: &str, new: Value) {
    let mut node = value;
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = segments.split_last() else {
        *node = new;
        return;
    };
    for seg in path {
        if !node.is_object() {
            *node = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = node {
        map.insert(last.clone(), new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> JsonSchema {
        JsonSchema::compile(
            std::path::Path::new("triage.json"),
            json!({
                "type": "object",
                "required": ["category", "priority", "summary"],
                "properties": {
                    "category": {"enum": ["billing", "bug", "other"]},
                    "priority": {"enum": ["low", "normal", "high"]},
                    "summary": {"type": "string", "maxLength": 40}
                }
            }),
        )
        .unwrap()
    }

    fn raw(text: &str) -> RawBaseline {
        toml::from_str(text).unwrap()
    }

    const RULES: &str = r#"
        [[rules]]
        name = "billing"
        when = { "/subject" = "(?i)charge|refund" }
        output = { category = "billing", priority = "normal" }
        copy = { "/summary" = "/subject" }

        [[rules]]
        when = { "/subject" = "(?i)crash", "/plan" = "^pro$" }
        output = { category = "bug", priority = "high", summary = "crash on a paid plan" }

        [default]
        output = { category = "other", priority = "low", summary = "needs a human look" }
    "#;

    #[test]
    fn the_first_matching_rule_answers_with_copied_fields() {
        let b = Baseline::load(raw(RULES), &schema()).unwrap();
        let a = b
            .answer(
                &json!({"subject": "Charged twice", "plan": "pro"}),
                &schema(),
            )
            .unwrap();
        assert_eq!(a.rule, "billing");
        assert_eq!(
            a.output,
            json!({"category": "billing", "priority": "normal", "summary": "Charged twice"})
        );
        // Every condition must hold.
        let a = b
            .answer(&json!({"subject": "App crash", "plan": "free"}), &schema())
            .unwrap();
        assert_eq!(a.rule, "default");
        let a = b
            .answer(&json!({"subject": "App crash", "plan": "pro"}), &schema())
            .unwrap();
        assert_eq!(a.rule, "rule 1");
        assert_eq!(a.output["priority"], "high");
    }

    #[test]
    fn no_match_and_no_default_gives_none() {
        let text = RULES.split("[default]").next().unwrap();
        let b = Baseline::load(raw(text), &schema()).unwrap();
        assert_eq!(b.answer(&json!({"subject": "hello"}), &schema()), None);
    }

    #[test]
    fn a_copied_value_that_breaks_the_schema_is_not_an_answer() {
        let b = Baseline::load(raw(RULES), &schema()).unwrap();
        let long = "refund ".repeat(20);
        assert_eq!(b.answer(&json!({"subject": long}), &schema()), None);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let b = Baseline::load(
            raw(r#"
                [[rules]]
                when = { "subject" = "x", "/body" = "(unclosed" }
                output = { category = "spam", priority = "low", summary = "s" }
                copy = { "summary" = "/subject" }
                [default]
                output = { category = "other" }
            "#),
            &schema(),
        )
        .unwrap_err();
        let keys: Vec<String> = b.iter().map(|(k, _)| k.join(".")).collect();
        assert!(keys.contains(&"rules.0.when./body".to_string()), "{b:?}");
        assert!(keys.contains(&"rules.0.when.subject".to_string()), "{b:?}");
        assert!(keys.contains(&"rules.0.copy.summary".to_string()), "{b:?}");
        assert!(keys.contains(&"rules.0.output".to_string()), "{b:?}");
        assert!(keys.contains(&"default.output".to_string()), "{b:?}");
        // The default's output misses two required fields: one problem each.
        assert_eq!(b.len(), 6, "{b:?}");
    }
}
