//! Grounded claims and citations (issue 8, items 1 and 2).
//!
//! The output schema marks a property `"x-seam-grounded": true` when its
//! value is a claim `{"value": …, "quote": "…"}` (or an array of them): the
//! quote must occur in the run's sources — the redacted input and the
//! context answers the prompt was rendered from. Matching forgives
//! whitespace, case, Unicode normal form and quote/dash/ellipsis variants,
//! never a changed word. A property marked `"x-seam-citations": true` holds
//! source ids (a string or an array of strings): each must name a source of
//! the run's context (a step name, or an `id`/`url`/`source_id` inside an
//! answer) and, when the pipeline declares an allow-list, be on it.
//!
//! Claims and citations that fail are *retracted*: removed from the output
//! and reported by JSON pointer and reason (never with source text).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

/// `[pipelines.NAME.grounding]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundingPolicy {
    pub on_retraction: OnRetraction,
    /// Normalised characters a quote needs to count as evidence.
    pub min_quote_chars: usize,
    /// Domains (`docs.example.com`, `*.example.com`) and source ids
    /// (`kb:42`, `kb:*`) a citation may name; empty: any source of the run.
    pub allow: Vec<String>,
}

impl Default for GroundingPolicy {
    fn default() -> Self {
        GroundingPolicy {
            on_retraction: OnRetraction::Review,
            min_quote_chars: 8,
            allow: Vec::new(),
        }
    }
}

/// What a run does when something was retracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRetraction {
    /// The run escalates to a human (`retracted_claims`).
    Review,
    /// The run acts on the output without the retracted claims.
    Act,
}

/// One claim or citation taken out of the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retraction {
    /// Where it was in the model's output.
    pub pointer: String,
    /// `missing_quote`, `quote_too_short`, `quote_not_found`,
    /// `unknown_source` or `source_not_allowed`.
    pub reason: &'static str,
}

/// The output with every failed claim and citation removed.
#[derive(Debug, Clone)]
pub struct Grounding {
    pub output: Value,
    pub retracted: Vec<Retraction>,
}

/// The texts and source ids a run's claims and citations may rely on.
#[derive(Debug, Default)]
pub struct Sources {
    texts: Vec<String>,
    ids: BTreeSet<String>,
}

impl Sources {
    /// Every string of the (redacted) input and context answers; the
    /// context's step names and the `id`/`url`/`source_id` values inside
    /// its answers as source ids.
    pub fn gather(input: &Value, context: &Value) -> Sources {
        let mut s = Sources::default();
        collect_texts(input, &mut s.texts);
        collect_texts(context, &mut s.texts);
        if let Some(steps) = context.as_object() {
            for (step, answer) in steps {
                s.ids.insert(step.clone());
                collect_ids(answer, &mut s.ids);
            }
        }
        s
    }

    fn contains(&self, quote: &str) -> bool {
        self.texts.iter().any(|t| t.contains(quote))
    }
}

fn collect_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(normalize(s)),
        Value::Array(a) => a.iter().for_each(|x| collect_texts(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_texts(x, out)),
        _ => {}
    }
}

fn collect_ids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_ids(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("id" | "url" | "source_id", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    ("id" | "source_id", Value::Number(n)) => {
                        out.insert(n.to_string());
                    }
                    _ => collect_ids(x, out),
                }
            }
        }
        _ => {}
    }
}

/// The form quotes and sources are compared in: NFC, lower case, one space
/// for any run of whitespace, ASCII quotes, hyphens and dots for their
/// typographic variants, invisible characters dropped, ends trimmed.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        let mapped: &str = match c {
            '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => continue,
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
                "'"
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => "\"",
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => "-",
            '\u{2026}' => "...",
            _ => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
                continue;
            }
        };
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push_str(mapped);
    }
    out
}

/// Check every grounded claim and citation the schema marks, retracting
/// those that fail.
pub fn check(
    schema: &Value,
    output: &Value,
    sources: &Sources,
    policy: &GroundingPolicy,
) -> Grounding {
    let mut walk = Walk {
        root: schema,
        sources,
        policy,
        retracted: Vec::new(),
    };
    let mut output = output.clone();
    walk.value(schema, &mut output, "", 0);
    // By pointer: the same whatever order the output's members came in.
    walk.retracted.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    Grounding {
        output,
        retracted: walk.retracted,
    }
}

/// Whether a schema marks any grounded claim or citation (then the check
/// is worth running).
pub fn declares_any(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => {
            is_marked(o, GROUNDED) || is_marked(o, CITATIONS) || o.values().any(declares_any)
        }
        Value::Array(a) => a.iter().any(declares_any),
        _ => false,
    }
}

const GROUNDED: &str = "x-seam-grounded";
const CITATIONS: &str = "x-seam-citations";
/// `$ref` hops followed before giving up (a cycle of references).
const MAX_DEPTH: usize = 64;

fn is_marked(o: &Map<String, Value>, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

struct Walk<'a> {
    root: &'a Value,
    sources: &'a Sources,
    policy: &'a GroundingPolicy,
    retracted: Vec<Retraction>,
}

/// Follow local `$ref`s (`#/$defs/claim`).
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p))
        {
            Some(target) => schema = target,
            None => return schema,
        }
    }
    schema
}

impl<'a> Walk<'a> {
    /// Walk `value` with its schema, checking marked properties.
    fn value(&mut self, schema: &'a Value, value: &mut Value, at: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = resolve(self.root, schema);
        match value {
            Value::Object(fields) => {
                let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                    return;
                };
                let mut drop = Vec::new();
                for (key, sub) in props {
                    let Some(field) = fields.get_mut(key) else {
                        continue;
                    };
                    let ptr = format!("{at}/{}", escape(key));
                    // The mark may sit beside a `$ref` or in its target.
                    let resolved = resolve(self.root, sub);
                    let marked = |key| {
                        [sub, resolved]
                            .iter()
                            .any(|s| s.as_object().is_some_and(|o| is_marked(o, key)))
                    };
                    let grounded = marked(GROUNDED);
                    let citations = marked(CITATIONS);
                    let sub = resolved;
                    let keep = if grounded {
                        self.each(field, &ptr, |w, v, p| w.claim(v, p))
                    } else if citations {
                        self.each(field, &ptr, |w, v, p| w.citation(v, p))
                    } else {
                        self.value(sub, field, &ptr, depth + 1);
                        true
                    };
                    if !keep {
                        drop.push(key.clone());
                    }
                }
                for key in drop {
                    fields.remove(&key);
                }
            }
            Value::Array(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return;
                };
                for (i, item) in items.iter_mut().enumerate() {
                    self.value(item_schema, item, &format!("{at}/{i}"), depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Check one marked value, or each element of an array of them,
    /// removing the elements that fail. False: retract the whole field.
    fn each(
        &mut self,
        field: &mut Value,
        at: &str,
        ok: impl Fn(&mut Self, &Value, &str) -> bool,
    ) -> bool {
        match field {
            Value::Array(items) => {
                let mut i = 0;
                items.retain(|item| {
                    let keep = ok(self, item, &format!("{at}/{i}"));
                    i += 1;
                    keep
                });
                true
            }
            Value::Null => true,
            other => ok(self, other, at),
        }
    }

    fn retract(&mut self, at: &str, reason: &'static str) -> bool {
        self.retracted.push(Retraction {
            pointer: at.to_string(),
            reason,
        });
        false
    }

    fn claim(&mut self, claim: &Value, at: &str) -> bool {
        let Some(quote) = claim.get("quote").and_then(Value::as_str) else {
            return self.retract(at, "missing_quote");
        };
        let quote = normalize(quote);
        if quote.chars().count() < self.policy.min_quote_chars {
            return self.retract(at, "quote_too_short");
        }
        if !self.sources.contains(&quote) {
            return self.retract(at, "quote_not_found");
        }
        true
    }

    fn citation(&mut self, citation: &Value, at: &str) -> bool {
        let Some(id) = citation.as_str() else {
            return self.retract(at, "unknown_source");
        };
        if !self.sources.ids.contains(id) {
            return self.retract(at, "unknown_source");
        }
        if !self.policy.allow.is_empty() && !self.policy.allow.iter().any(|a| allows(a, id)) {
            return self.retract(at, "source_not_allowed");
        }
        true
    }
}

/// Whether allow-list entry `entry` admits source `id`: for a URL, its host
/// equals the entry or, for `*.example.com`, is a subdomain of it; for an
/// id, equality, or a prefix when the entry ends in `*`.
pub fn allows(entry: &str, id: &str) -> bool {
    if let Some(host) = url_host(id) {
        let host = host.to_ascii_lowercase();
        let entry = entry.to_ascii_lowercase();
        return match entry.strip_prefix("*.") {
            Some(parent) => host.ends_with(&format!(".{parent}")),
            None => host == entry,
        };
    }
    match entry.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => id == entry,
    }
}

/// The host of an `http(s)://` URL, without user info or port.
fn url_host(s: &str) -> Option<&str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
#[path = "grounding_tests.rs"]
mod tests;
