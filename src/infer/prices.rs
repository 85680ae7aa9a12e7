//! Prices in micro-dollars per million tokens, and the built-in table of
//! current models (`prices.toml`) that config entries may lean on.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Usage;

/// What a model costs, per million tokens, in micro-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: u64,
    pub output: u64,
    /// Cached input read; defaults to `input`.
    pub cache_read: Option<u64>,
    /// Cached input written; defaults to `input`.
    pub cache_write: Option<u64>,
    pub context_window: Option<u32>,
}

impl Price {
    /// Cost in micro-dollars, rounded up so spend is never under-reported.
    /// `usage.input_tokens` includes the cached tokens.
    pub fn cost_micros(&self, usage: &Usage) -> u64 {
        let cached = usage.cache_read_tokens + usage.cache_write_tokens;
        let fresh = usage.input_tokens.saturating_sub(cached);
        let per_mtok = |tokens: u64, price: u64| u128::from(tokens) * u128::from(price);
        let numerator = per_mtok(fresh, self.input)
            + per_mtok(
                usage.cache_read_tokens,
                self.cache_read.unwrap_or(self.input),
            )
            + per_mtok(
                usage.cache_write_tokens,
                self.cache_write.unwrap_or(self.input),
            )
            + per_mtok(usage.output_tokens, self.output);
        u64::try_from(numerator.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }
}

type Table = BTreeMap<String, BTreeMap<String, Price>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The file is part of the binary and covered by a test; an error
        // here would leave the table empty, never crash.
        toml::from_str(include_str!("prices.toml")).unwrap_or_default()
    })
}

/// The built-in price of `upstream` in a provider `family` (`openai`,
/// `anthropic`, `gemini`): an exact name, else the longest listed name it
/// starts with (dated versions such as `gpt-4o-mini-2024-07-18`).
pub fn builtin(family: &str, upstream: &str) -> Option<Price> {
    let models = table().get(family)?;
    if let Some(p) = models.get(upstream) {
        return Some(*p);
    }
    models
        .iter()
        .filter(|(name, _)| upstream.starts_with(name.as_str()))
        .max_by_key(|(name, _)| name.len())
        .map(|(_, p)| *p)
}

/// Every built-in entry, for listings.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str, &'static Price)> {
    table().iter().flat_map(|(family, models)| {
        models
            .iter()
            .map(move |(name, p)| (family.as_str(), name.as_str(), p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_covers_each_provider() {
        let t: Table = toml::from_str(include_str!("prices.toml")).unwrap();
        for family in ["openai", "anthropic", "gemini"] {
            assert!(t.get(family).is_some_and(|m| m.len() >= 3), "{family}");
        }
        assert!(all().all(|(_, _, p)| p.context_window.is_some() && p.output >= p.input));
    }

    #[test]
    fn lookup_by_exact_name_then_longest_prefix() {
        assert_eq!(builtin("openai", "gpt-4o-mini").unwrap().input, 150_000);
        assert_eq!(
            builtin("openai", "gpt-4o-mini-2024-07-18").unwrap().input,
            150_000
        );
        assert_eq!(
            builtin("openai", "gpt-4o-2024-08-06").unwrap().input,
            2_500_000
        );
        assert_eq!(
            builtin("anthropic", "claude-sonnet-4-5-20250929")
                .unwrap()
                .cache_write,
            Some(3_750_000)
        );
        assert!(builtin("openai", "llama3").is_none());
        assert!(builtin("mistral", "gpt-4o").is_none());
    }

    #[test]
    fn cost_counts_cached_tokens_at_their_price_and_rounds_up() {
        let p = Price {
            input: 3_000_000,
            output: 15_000_000,
            cache_read: Some(300_000),
            cache_write: Some(3_750_000),
            context_window: None,
        };
        let u = Usage {
            input_tokens: 1_000,
            output_tokens: 100,
            cache_read_tokens: 600,
            cache_write_tokens: 200,
        };
        // 200*3 + 600*0.3 + 200*3.75 + 100*15 = 600+180+750+1500 = 3030 µ$
        assert_eq!(p.cost_micros(&u), 3030);
        let one = Usage {
            input_tokens: 1,
            ..Usage::default()
        };
        assert_eq!(
            Price {
                input: 1,
                ..Price::default()
            }
            .cost_micros(&one),
            1
        );
    }
}
