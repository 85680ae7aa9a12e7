//! `[embeddings.NAME]`: the models loaded at start, shared by every user.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{EmbedError, Embedder};

/// Loaded embedding models by config name.
#[derive(Clone, Default)]
pub struct Embeddings {
    by_name: BTreeMap<String, Arc<Embedder>>,
}

impl Embeddings {
    /// Load every `(name, folder)`; the first failure names its entry.
    pub fn load<'a>(
        entries: impl IntoIterator<Item = (&'a String, &'a PathBuf)>,
    ) -> Result<Embeddings, String> {
        let mut by_name = BTreeMap::new();
        for (name, dir) in entries {
            let embedder = Embedder::load(dir)
                .map_err(|e: EmbedError| format!("embeddings.{name}.path: {e}"))?;
            tracing::info!(embeddings = %name, model = %embedder.model_name(), dims = embedder.dims(), "embedding model loaded");
            by_name.insert(name.clone(), Arc::new(embedder));
        }
        Ok(Embeddings { by_name })
    }

    /// The model declared as `[embeddings.NAME]`.
    pub fn get(&self, name: &str) -> Option<Arc<Embedder>> {
        self.by_name.get(name).cloned()
    }

    /// Declared names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}
