//! JSON Schema → a deterministic, plausible instance.

use fastrand::Rng;
use serde_json::{Map, Value};

use super::schema::{self, effective, pick_type};
use super::text::{self, Words};
use super::{numbers, pattern};

/// Below this depth optional properties are skipped and arrays are minimal,
/// so recursive schemas terminate.
const SHALLOW: usize = 6;
const MAX_DEPTH: usize = 32;
const RETRIES: u64 = 8;
/// Arrays never get longer than this, whatever `minItems` says.
const MAX_ITEMS: usize = 1000;
static ANY: Value = Value::Bool(true);

/// An instance of `schema` seeded by `seed`, with strings built from `words`.
/// When a validator is given, candidates that fail it are regenerated with
/// derived seeds (for oneOf, uniqueItems, patterns...); the first candidate is
/// returned if none passes.
pub fn instance(
    schema: &Value,
    words: &Words,
    seed: u64,
    validator: Option<&jsonschema::Validator>,
) -> Value {
    let first = generate(schema, words, seed);
    let Some(validator) = validator else {
        return first;
    };
    if validator.is_valid(&first) {
        return first;
    }
    (1..RETRIES)
        .map(|i| generate(schema, words, crate::simulate::mix(seed, i)))
        .find(|c| validator.is_valid(c))
        .unwrap_or(first)
}

/// One candidate instance, without validation.
pub fn generate(schema: &Value, words: &Words, seed: u64) -> Value {
    let mut g = Generator {
        root: schema,
        words,
        rng: Rng::with_seed(seed),
        unbiased: false,
    };
    g.value(schema, None, 0)
}

struct Generator<'a> {
    root: &'a Value,
    words: &'a Words,
    rng: Rng,
    /// Set while filling unique arrays, where preferring mentioned enum
    /// values would only produce duplicates.
    unbiased: bool,
}

impl Generator<'_> {
    fn value(&mut self, schema: &Value, name: Option<&str>, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        let root = self.root;
        let eff = effective(schema, root);
        let map = match eff.as_ref() {
            Value::Object(m) => m,
            Value::Bool(false) => return Value::Null,
            _ => return self.string(&Map::new(), name),
        };
        if let Some(c) = map.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(e)) = map.get("enum")
            && !e.is_empty()
        {
            return self.pick_enum(e);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(key)
                && !branches.is_empty()
            {
                let branch = self.pick_branch(branches, depth);
                let mut rest = map.clone();
                rest.remove(key);
                if let Value::Object(b) = effective(branch, root).as_ref() {
                    schema::merge(&mut rest, b);
                }
                return self.value(&Value::Object(rest), name, depth + 1);
            }
        }
        match pick_type(map) {
            "object" => self.object(map, depth),
            "array" => self.array(map, name, depth),
            "integer" => numbers::integer(&mut self.rng, map, name),
            "number" => numbers::number(&mut self.rng, map, name),
            "boolean" => Value::Bool(self.rng.bool()),
            "null" => Value::Null,
            _ => self.string(map, name),
        }
    }

    /// Prefer a value the prompt mentions, when only some are mentioned.
    fn pick_enum(&mut self, values: &[Value]) -> Value {
        let mentioned: Vec<&Value> = values
            .iter()
            .filter(|v| {
                !self.unbiased
                    && v.as_str().is_some_and(|s| {
                        s.len() >= 3
                            && (self.words.contains_word(s)
                                || (s.contains('_') && self.words.mentions(&s.replace('_', " "))))
                    })
            })
            .collect();
        if !mentioned.is_empty() && mentioned.len() < values.len() {
            return mentioned[self.rng.usize(0..mentioned.len())].clone();
        }
        values[self.rng.usize(0..values.len())].clone()
    }

    /// A seeded branch, avoiding bare `null` branches unless deep in recursion.
    fn pick_branch<'b>(&mut self, branches: &'b [Value], depth: usize) -> &'b Value {
        let is_null = |b: &Value| b.get("type").is_some_and(|t| t == "null");
        let (null, other): (Vec<&Value>, Vec<&Value>) = branches.iter().partition(|b| is_null(b));
        let pool = if other.is_empty() || (depth >= SHALLOW && !null.is_empty()) {
            null
        } else {
            other
        };
        let i = if depth >= SHALLOW {
            0
        } else {
            self.rng.usize(0..pool.len())
        };
        pool.get(i).copied().unwrap_or(&branches[0])
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Value {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let shallow = depth >= SHALLOW;
        let mut out = Map::new();
        if let Some(Value::Object(props)) = map.get("properties") {
            for (k, s) in props {
                if shallow && !required.contains(&k.as_str()) {
                    continue;
                }
                let v = self.value(s, Some(k), depth + 1);
                out.insert(k.clone(), v);
            }
        }
        let extra = match map.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(s @ Value::Object(_)) => Some(s),
            _ => Some(&ANY),
        };
        for r in &required {
            if !out.contains_key(*r) {
                let v = self.value(extra.unwrap_or(&ANY), Some(r), depth + 1);
                out.insert((*r).to_string(), v);
            }
        }
        let min = usize_kw(map, "minProperties").unwrap_or(0);
        if let Some(s) = extra {
            let mut i = 1;
            while out.len() < min && i < 1000 {
                let k = format!("extra_{i}");
                if !out.contains_key(&k) {
                    let v = self.value(s, None, depth + 1);
                    out.insert(k, v);
                }
                i += 1;
            }
        }
        if let Some(max) = usize_kw(map, "maxProperties") {
            let optional: Vec<String> = out
                .keys()
                .filter(|k| !required.contains(&k.as_str()))
                .cloned()
                .collect();
            for k in optional.into_iter().rev() {
                if out.len() <= max {
                    break;
                }
                out.remove(&k);
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, map: &Map<String, Value>, name: Option<&str>, depth: usize) -> Value {
        let (prefix, items): (&[Value], Option<&Value>) =
            match (map.get("prefixItems"), map.get("items")) {
                (Some(Value::Array(p)), items) => (p, items),
                (None, Some(Value::Array(p))) => (p, map.get("additionalItems")),
                (_, items) => (&[], items),
            };
        let cap = if items == Some(&Value::Bool(false)) {
            prefix.len()
        } else {
            usize::MAX
        };
        let min = usize_kw(map, "minItems").unwrap_or(0);
        let max = usize_kw(map, "maxItems").unwrap_or(usize::MAX).min(cap);
        let target = if depth >= SHALLOW {
            min.min(max)
        } else {
            let lo = min.max(1).min(max);
            let spread = if depth >= SHALLOW / 2 { 0 } else { 2 };
            let hi = (min.max(1) + spread).min(max).max(lo);
            self.rng.usize(lo..=hi)
        }
        .min(MAX_ITEMS);
        let item_name = name.map(|n| n.strip_suffix('s').unwrap_or(n).to_string());
        let unique = map.get("uniqueItems") == Some(&Value::Bool(true));
        let mut out: Vec<Value> = Vec::with_capacity(target);
        let mut attempts = 0;
        while out.len() < target && attempts < target * 10 + 10 {
            attempts += 1;
            let schema = prefix.get(out.len()).or(items).unwrap_or(&ANY);
            let v = self.value(schema, item_name.as_deref(), depth + 1);
            if unique && out.contains(&v) {
                self.unbiased = true;
                continue;
            }
            out.push(v);
        }
        self.unbiased = false;
        Value::Array(out)
    }

    fn string(&mut self, map: &Map<String, Value>, name: Option<&str>) -> Value {
        let min = usize_kw(map, "minLength").unwrap_or(0);
        let max = usize_kw(map, "maxLength");
        let format = map.get("format").and_then(Value::as_str);
        if let Some(p) = map.get("pattern").and_then(Value::as_str)
            && let Some(s) = pattern::generate(p, &mut self.rng)
        {
            let n = s.chars().count();
            if n >= min && max.is_none_or(|m| n <= m) {
                return Value::String(s);
            }
        }
        Value::String(text::string_value(
            self.words,
            &mut self.rng,
            name,
            format,
            min,
            max,
        ))
    }
}

fn usize_kw(map: &Map<String, Value>, key: &str) -> Option<usize> {
    map.get(key)
        .and_then(Value::as_f64)
        .filter(|v| *v >= 0.0)
        .map(|v| v as usize)
}

#[cfg(test)]
#[path = "instance_tests.rs"]
pub(crate) mod tests;
