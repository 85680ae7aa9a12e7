//! The output JSON Schema as an llguidance constraint. Compiling a schema
//! is the expensive part, so each distinct schema (keyed by the SHA-256 of
//! its canonical JSON) is compiled once and every request gets a fresh copy
//! of the compiled matcher.

use std::collections::HashMap;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::LocalError;

/// Distinct schemas kept compiled; past this the cache starts over.
const MAX_CACHED: usize = 64;

pub struct Grammars {
    factory: ParserFactory,
    compiled: HashMap<[u8; 32], Matcher>,
}

impl Grammars {
    /// Build the tokenizer view llguidance needs (once per model).
    pub fn new(model: &LlamaModel) -> Result<Grammars, LocalError> {
        let env = LlamaSampler::llguidance_tok_env(model);
        let mut factory =
            ParserFactory::new_simple(&env).map_err(|e| LocalError::Schema(e.to_string()))?;
        factory.quiet();
        Ok(Grammars {
            factory,
            compiled: HashMap::new(),
        })
    }

    /// A fresh matcher for `schema`, compiled on first use.
    pub fn matcher(&mut self, schema: &Value) -> Result<Matcher, LocalError> {
        let key: [u8; 32] = Sha256::digest(crate::canonical::to_string(schema).as_bytes()).into();
        if let Some(m) = self.compiled.get(&key) {
            return Ok(m.deep_clone());
        }
        let grammar = TopLevelGrammar::from_json_schema(with_options(schema));
        let matcher = Matcher::new(self.factory.create_parser(grammar));
        if let Some(e) = matcher.get_error() {
            return Err(LocalError::Schema(e));
        }
        if self.compiled.len() >= MAX_CACHED {
            self.compiled.clear();
        }
        self.compiled.insert(key, matcher.deep_clone());
        Ok(matcher)
    }

    /// How many schemas are compiled.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.compiled.len()
    }
}

/// Compact JSON with no free whitespace (a small model given the freedom
/// tends to spend its token budget on blank lines), and keywords llguidance
/// does not implement ignored rather than fatal: the output layer validates
/// the result against the full schema anyway.
fn with_options(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("x-guidance").or_insert_with(|| {
            json!({
                "whitespace_flexible": false,
                "item_separator": ", ",
                "key_separator": ": ",
                "lenient": true
            })
        });
    }
    schema
}

/// Constraint (if any), then greedy at temperature 0 or seeded sampling.
/// `LlamaSampler::sample` accepts the chosen token into every sampler of
/// the chain, which is what advances the constraint.
pub fn sampler(constraint: Option<Matcher>, temperature: f64, seed: u32) -> LlamaSampler {
    let mut chain = Vec::with_capacity(3);
    if let Some(m) = constraint {
        chain.push(LlamaSampler::from(m));
    }
    if temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::temp(temperature as f32));
        chain.push(LlamaSampler::dist(seed));
    }
    LlamaSampler::chain_simple(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_added_but_never_override_the_schema_own() {
        let plain = with_options(&json!({"type": "object"}));
        assert_eq!(plain["x-guidance"]["whitespace_flexible"], false);
        assert_eq!(plain["type"], "object");
        let own = with_options(&json!({"type": "object", "x-guidance": {"lenient": false}}));
        assert_eq!(own["x-guidance"], json!({"lenient": false}));
        assert_eq!(with_options(&json!(true)), json!(true));
    }
}
