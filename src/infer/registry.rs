//! The one place that lists provider kinds. Adding a provider means one
//! file or folder in `providers/` and one variant here.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Provider;
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
}

impl ProviderKind {
    const ALL: [(&'static str, ProviderKind); 3] = [
        ("openai", ProviderKind::OpenAi),
        ("openai-compatible", ProviderKind::OpenAiCompatible),
        ("azure", ProviderKind::Azure),
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
        }
    }

    /// The base URL used when config gives none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
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
        let openai = |flavor| Arc::new(OpenAi::new(client.clone(), &p.base_url, key, flavor));
        match self {
            ProviderKind::OpenAi => openai(Flavor::OpenAi),
            ProviderKind::OpenAiCompatible => openai(Flavor::Compatible),
            ProviderKind::Azure => openai(Flavor::Azure {
                api_version: p.api_version.clone().unwrap_or_default(),
            }),
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
