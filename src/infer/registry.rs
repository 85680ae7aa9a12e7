//! The one place that lists provider kinds. Adding a provider means one
//! file or folder in `providers/` and one variant here.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Provider;
use super::providers::anthropic::Anthropic;
use super::providers::gemini::Gemini;
use super::providers::openai::{Flavor, OpenAi};
use crate::config::{Config, ProviderConfig, Secret};

/// The wire protocol a `[providers.*]` entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// api.openai.com Chat Completions.
    OpenAi,
    /// Any server speaking Chat Completions: vLLM, Ollama, llama.cpp
    /// server, Mistral, Groq, Together.
    OpenAiCompatible,
    /// Azure OpenAI deployments.
    Azure,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini API (generateContent).
    Gemini,
}

impl ProviderKind {
    const ALL: [(&'static str, ProviderKind); 5] = [
        ("openai", ProviderKind::OpenAi),
        ("openai-compatible", ProviderKind::OpenAiCompatible),
        ("azure", ProviderKind::Azure),
        ("anthropic", ProviderKind::Anthropic),
        ("gemini", ProviderKind::Gemini),
    ];

    pub fn parse(text: &str) -> Result<ProviderKind, String> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let known: Vec<String> = Self::ALL.iter().map(|(n, _)| format!("`{n}`")).collect();
                format!(
                    "`{text}` is not a provider kind; known kinds: {}",
                    known.join(", ")
                )
            })
    }

    /// The family whose built-in prices and tokenizer apply.
    pub fn family(self) -> &'static str {
        match self {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::Azure => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
        }
    }

    /// The base URL used when config gives none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::OpenAiCompatible | ProviderKind::Azure => None,
        }
    }

    /// Whether the kind needs `api_version` (Azure's query parameter).
    pub fn needs_api_version(self) -> bool {
        self == ProviderKind::Azure
    }

    fn build(
        self,
        p: &ProviderConfig,
        key: Option<Secret>,
        client: &reqwest::Client,
    ) -> Arc<dyn Provider> {
        let openai = |flavor, key| -> Arc<dyn Provider> {
            Arc::new(OpenAi::new(client.clone(), &p.base_url, key, flavor))
        };
        match self {
            ProviderKind::OpenAi => openai(Flavor::OpenAi, key),
            ProviderKind::OpenAiCompatible => openai(Flavor::Compatible, key),
            ProviderKind::Azure => openai(
                Flavor::Azure {
                    api_version: p.api_version.clone().unwrap_or_default(),
                },
                key,
            ),
            ProviderKind::Anthropic => Arc::new(Anthropic::new(client.clone(), &p.base_url, key)),
            ProviderKind::Gemini => Arc::new(Gemini::new(client.clone(), &p.base_url, key)),
        }
    }
}

/// Live providers by config name.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<dyn Provider>>,
}

impl Providers {
    /// Build every configured provider, resolving their secrets.
    pub fn build(config: &Config, client: &reqwest::Client) -> Result<Providers, String> {
        let mut by_name = BTreeMap::new();
        for (name, p) in &config.providers {
            let key = match &p.api_key {
                Some(r) => Some(
                    r.resolve()
                        .map_err(|e| format!("providers.{name}.api_key: {e}"))?,
                ),
                None => None,
            };
            by_name.insert(name.clone(), p.kind.build(p, key, client));
        }
        Ok(Providers { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_with_their_family_and_default_url() {
        let k = ProviderKind::parse("anthropic").unwrap();
        assert_eq!(k.family(), "anthropic");
        assert_eq!(k.default_base_url(), Some("https://api.anthropic.com"));
        assert!(!k.needs_api_version());
        assert!(super::super::prices::builtin(k.family(), "claude-sonnet-4-5").is_some());
        let k = ProviderKind::parse("gemini").unwrap();
        assert_eq!(k.family(), "gemini");
        assert_eq!(
            k.default_base_url(),
            Some("https://generativelanguage.googleapis.com")
        );
        assert!(super::super::prices::builtin(k.family(), "gemini-2.5-flash").is_some());
        let e = ProviderKind::parse("claude").unwrap_err();
        assert!(e.contains("`anthropic`"), "{e}");
    }
}
