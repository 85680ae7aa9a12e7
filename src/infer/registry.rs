//! The one place that lists provider kinds. Adding a provider means one
//! file in `providers/` and one variant here.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Provider;
use super::providers::openai::OpenAi;
use crate::config::Config;

/// The wire protocol a `[providers.*]` entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI Chat Completions, and servers compatible with it.
    OpenAi,
}

impl ProviderKind {
    pub fn parse(text: &str) -> Result<ProviderKind, String> {
        match text {
            "openai" => Ok(ProviderKind::OpenAi),
            other => Err(format!(
                "`{other}` is not a provider kind; known kinds: `openai`"
            )),
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
            let provider: Arc<dyn Provider> = match p.kind {
                ProviderKind::OpenAi => Arc::new(OpenAi::new(client.clone(), &p.base_url, key)),
            };
            by_name.insert(name.clone(), provider);
        }
        Ok(Providers { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_name.get(name)
    }
}
