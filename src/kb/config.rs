//! `[kb.NAME]`: a knowledge base and the embedding model it uses.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::connectors::config::Problems;

/// `[kb.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKb {
    /// The `[embeddings.NAME]` that embeds its chunks and queries.
    pub embeddings: String,
}

/// A checked knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct KbConfig {
    pub name: String,
    pub embeddings: String,
}

/// Whether this build has an embedding model (the `embed` feature).
pub const EMBED_BUILT: bool = cfg!(feature = "embed");

impl KbConfig {
    /// Check one entry against the declared `[embeddings]` names. Paths in
    /// the problems are relative to the entry.
    pub fn load(
        name: &str,
        raw: RawKb,
        embeddings: &BTreeSet<String>,
        embed_built: bool,
    ) -> Result<KbConfig, Problems> {
        if !embed_built {
            return Err(vec![(
                Vec::new(),
                "knowledge bases need an embedding model, and this seam was built without one: \
                 build with `--features embed`"
                    .to_string(),
            )]);
        }
        if !embeddings.contains(&raw.embeddings) {
            return Err(vec![(
                vec!["embeddings".to_string()],
                format!(
                    "embeddings `{}` is not declared in [embeddings]",
                    raw.embeddings
                ),
            )]);
        }
        Ok(KbConfig {
            name: name.to_string(),
            embeddings: raw.embeddings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_the_feature_and_a_declared_embedder() {
        let names = BTreeSet::from(["minilm".to_string()]);
        let raw = || RawKb {
            embeddings: "minilm".into(),
        };
        let e = KbConfig::load("docs", raw(), &names, false).unwrap_err();
        assert!(e[0].0.is_empty() && e[0].1.contains("--features embed"));
        let ok = KbConfig::load("docs", raw(), &names, true).unwrap();
        assert_eq!(ok.embeddings, "minilm");
        let e = KbConfig::load("docs", raw(), &BTreeSet::new(), true).unwrap_err();
        assert_eq!(e[0].0, ["embeddings"]);
    }
}
