//! The local knowledge base (`[kb.NAME]`, `seam kb`): documents chunked,
//! embedded and stored with the rest of the state, retrieved by BM25 and
//! vectors fused by reciprocal rank, as citable sources of a pipeline's
//! `kb` context step.
//!
//! - `chunk.rs` — Markdown by headings then paragraphs, text by paragraphs.
//! - `tokenize.rs` — the lower-case Unicode-word tokenizer.
//! - `bm25.rs` — Okapi BM25 (k1 = 1.2, b = 0.75).
//! - `vector.rs` — stored vectors (little-endian f32) and cosine.
//! - `fuse.rs` — reciprocal rank fusion (k = 60).
//! - `index.rs` — `seam kb add`: walk, hash, chunk, embed, store.
//! - `search.rs` — the hybrid search.
//! - `config.rs` — `[kb.NAME]`.
//! - `embedder.rs` — what a knowledge base needs from an embedding model.

pub mod bm25;
pub mod chunk;
pub mod config;
pub mod embedder;
mod error;
pub mod fuse;
pub mod index;
pub mod search;
pub mod tokenize;
pub mod vector;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use config::{KbConfig, RawKb};
pub use embedder::TextEmbedder;
pub use error::KbError;
pub use index::AddReport;
pub use search::{Hit, Mode};

use crate::store::Store;

/// One knowledge base: its chunks in the store, its embedder in memory.
pub struct Kb {
    pub name: String,
    /// The `[embeddings.NAME]` it embeds with.
    pub embeddings: String,
    embedder: Arc<dyn TextEmbedder>,
    store: Arc<dyn Store>,
}

impl Kb {
    pub fn new(
        name: &str,
        embeddings: &str,
        embedder: Arc<dyn TextEmbedder>,
        store: Arc<dyn Store>,
    ) -> Kb {
        Kb {
            name: name.to_string(),
            embeddings: embeddings.to_string(),
            embedder,
            store,
        }
    }
}

/// Every declared knowledge base of the process.
#[derive(Default)]
pub struct Kbs {
    by_name: BTreeMap<String, Arc<Kb>>,
}

impl Kbs {
    /// Build each `[kb.NAME]` over its embedder (`embedder(name)` finds a
    /// loaded `[embeddings.NAME]`).
    pub fn build(
        config: &BTreeMap<String, KbConfig>,
        store: &Arc<dyn Store>,
        embedder: impl Fn(&str) -> Option<Arc<dyn TextEmbedder>>,
    ) -> Result<Kbs, String> {
        let mut by_name = BTreeMap::new();
        for (name, c) in config {
            let e = embedder(&c.embeddings).ok_or_else(|| {
                format!("[kb.{name}]: embeddings `{}` is not loaded", c.embeddings)
            })?;
            by_name.insert(
                name.clone(),
                Arc::new(Kb::new(name, &c.embeddings, e, store.clone())),
            );
        }
        Ok(Kbs { by_name })
    }

    pub fn get(&self, name: &str) -> Result<Arc<Kb>, KbError> {
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| KbError::Unknown(name.to_string()))
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.by_name.keys()
    }
}

/// Embed `texts` on a blocking thread.
async fn embed_blocking(
    embedder: Arc<dyn TextEmbedder>,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>, KbError> {
    let n = texts.len();
    let vectors = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed_texts(&refs)
    })
    .await
    .map_err(|e| KbError::Embed(format!("the embedding task failed: {e}")))?
    .map_err(KbError::Embed)?;
    if vectors.len() != n {
        return Err(KbError::Embed(format!(
            "{} vector(s) for {n} text(s)",
            vectors.len()
        )));
    }
    Ok(vectors)
}
