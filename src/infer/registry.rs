//! The one place that lists provider kinds. Adding a provider means one
//! file or folder in `providers/` and one variant here.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Provider;
use super::providers::anthropic::Anthropic;
use super::providers::embedding_classifier::EmbeddingClassifier;
use super::providers::gemini::Gemini;
use super::providers::openai::{Flavor, OpenAi};
use crate::config::{Config, ProviderConfig, Secret};
use crate::embed::Embeddings;

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
    /// A GGUF model run in-process by llama.cpp (cargo feature `local`).
    Local,
    /// Enum fields filled by similarity to their label descriptions under
    /// an `[embeddings.NAME]` model (cargo feature `embed`).
    EmbeddingClassifier,
}

/// Why `kind = "local"` fails in a build without the feature.
const LOCAL_NOT_BUILT: &str = "this seam was built without the `local` feature; rebuild with `cargo build --release --features local`";
/// Why `kind = "embedding-classifier"` fails in a build without the feature.
const EMBED_NOT_BUILT: &str = "this seam was built without the `embed` feature; rebuild with `cargo build --release --features embed` (or `--features local`)";

impl ProviderKind {
    const ALL: [(&'static str, ProviderKind); 7] = [
        ("openai", ProviderKind::OpenAi),
        ("openai-compatible", ProviderKind::OpenAiCompatible),
        ("azure", ProviderKind::Azure),
        ("anthropic", ProviderKind::Anthropic),
        ("gemini", ProviderKind::Gemini),
        ("local", ProviderKind::Local),
        ("embedding-classifier", ProviderKind::EmbeddingClassifier),
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
            ProviderKind::Local | ProviderKind::EmbeddingClassifier => "local",
        }
    }

    /// Whether this build of seam can run the kind.
    pub fn available(self) -> Result<(), &'static str> {
        match self {
            ProviderKind::Local if !cfg!(feature = "local") => Err(LOCAL_NOT_BUILT),
            ProviderKind::EmbeddingClassifier if !cfg!(feature = "embed") => Err(EMBED_NOT_BUILT),
            _ => Ok(()),
        }
    }

    /// The base URL used when config gives none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::OpenAiCompatible
            | ProviderKind::Azure
            | ProviderKind::Local
            | ProviderKind::EmbeddingClassifier => None,
        }
    }

    /// Whether the kind needs `api_version` (Azure's query parameter).
    pub fn needs_api_version(self) -> bool {
        self == ProviderKind::Azure
    }

    /// Whether the kind runs in-process: no URL, no key.
    pub fn in_process(self) -> bool {
        matches!(self, ProviderKind::Local | ProviderKind::EmbeddingClassifier)
    }

    fn build(
        self,
        p: &ProviderConfig,
        key: Option<Secret>,
        client: &reqwest::Client,
        embeddings: &Embeddings,
    ) -> Result<Arc<dyn Provider>, String> {
        let openai = |flavor, key| -> Arc<dyn Provider> {
            Arc::new(OpenAi::new(client.clone(), &p.base_url, key, flavor))
        };
        Ok(match self {
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
            ProviderKind::Local => local(p)?,
            ProviderKind::EmbeddingClassifier => {
                let name = p.embeddings.as_deref().unwrap_or_default();
                let embedder = embeddings.get(name).ok_or_else(|| {
                    format!("providers.{}.embeddings: `{name}` is not loaded", p.name)
                })?;
                Arc::new(EmbeddingClassifier::new(embedder))
            }
        })
    }
}

/// Load a local model (slow: seconds for large files; logged).
#[cfg(feature = "local")]
fn local(p: &ProviderConfig) -> Result<Arc<dyn Provider>, String> {
    let model = p
        .local
        .as_ref()
        .ok_or_else(|| format!("providers.{}: `kind = \"local\"` needs `path`", p.name))?;
    let local = super::providers::local::Local::load(&p.name, model)
        .map_err(|e| format!("providers.{}: {e}", p.name))?;
    Ok(Arc::new(local))
}

#[cfg(not(feature = "local"))]
fn local(p: &ProviderConfig) -> Result<Arc<dyn Provider>, String> {
    Err(format!("providers.{}.kind: {LOCAL_NOT_BUILT}", p.name))
}

/// Live providers by config name.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<dyn Provider>>,
}

impl Providers {
    /// Build every configured provider, resolving their secrets;
    /// classifiers take their model from `embeddings`.
    pub fn build(
        config: &Config,
        client: &reqwest::Client,
        embeddings: &Embeddings,
    ) -> Result<Providers, String> {
        let mut by_name = BTreeMap::new();
        for (name, p) in &config.providers {
            let key = match &p.api_key {
                Some(r) => Some(
                    r.resolve()
                        .map_err(|e| format!("providers.{name}.api_key: {e}"))?,
                ),
                None => None,
            };
            by_name.insert(name.clone(), p.kind.build(p, key, client, embeddings)?);
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

    #[test]
    fn local_is_available_exactly_when_built_with_the_feature() {
        assert_eq!(ProviderKind::OpenAi.available(), Ok(()));
        if cfg!(feature = "local") {
            assert_eq!(ProviderKind::Local.available(), Ok(()));
        } else {
            let err = ProviderKind::Local.available().unwrap_err();
            assert!(err.contains("--features local"), "{err}");
        }
        let classifier = ProviderKind::parse("embedding-classifier").unwrap();
        if cfg!(feature = "embed") {
            assert_eq!(classifier.available(), Ok(()));
        } else {
            let err = classifier.available().unwrap_err();
            assert!(err.contains("--features embed"), "{err}");
        }
    }
}
