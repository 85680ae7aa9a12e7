//! The embedded embedding model: all-MiniLM-L6-v2 (BERT, 384 dimensions)
//! run on the CPU by candle, behind the cargo feature `embed` (also part of
//! `local`).
//!
//! [`Embedder::load`] reads `model.safetensors`, `config.json` and
//! `tokenizer.json` from a folder (`scripts/fetch-model.sh
//! all-minilm-l6-v2` fetches them); [`Embedder::embed`] turns texts into
//! unit-length vectors: mean of the last hidden states over the real tokens
//! (attention mask), L2-normalised, so a dot product is the cosine.
//! Embedding is synchronous and CPU-bound: async callers use
//! `tokio::task::spawn_blocking` with an `Arc<Embedder>`.
//!
//! Without the feature the types exist but [`Embedder::load`] answers
//! [`EmbedError::NotBuilt`], so config loading reports it clearly.

#[cfg(feature = "embed")]
mod bert;
mod error;
mod pool;
mod registry;

use std::path::Path;

pub use error::EmbedError;
pub use pool::cosine;
pub use registry::Embeddings;

/// The files a model folder must hold.
pub const MODEL_FILES: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];

/// What [`Embedder::embed`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// One unit-length vector per input text, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// Tokens the model read (special tokens included, padding not).
    pub tokens: u64,
}

/// A loaded embedding model. `Send + Sync`: share it with an `Arc`.
pub struct Embedder {
    model_name: String,
    dims: usize,
    backend: Backend,
}

#[cfg(feature = "embed")]
type Backend = bert::Bert;

/// Nothing can be loaded without the feature: the type has no value.
#[cfg(not(feature = "embed"))]
enum Backend {}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model_name", &self.model_name)
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Load the model in `dir`. The model's name is the folder's name.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        check_files(dir)?;
        let model_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embeddings".to_string());
        load_backend(dir, model_name)
    }

    /// Embed `texts` (batched; texts past the model's 128 tokens are cut).
    pub fn embed(&self, texts: &[&str]) -> Result<Embedded, EmbedError> {
        if texts.is_empty() {
            return Ok(Embedded {
                vectors: Vec::new(),
                tokens: 0,
            });
        }
        embed_with(&self.backend, texts)
    }

    /// Dimensions of each vector (384 for all-MiniLM-L6-v2).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The model folder's name, e.g. `all-minilm-l6-v2`.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }
}

/// Every file the model needs is present (a clear error before any parsing).
pub fn check_files(dir: &Path) -> Result<(), EmbedError> {
    if !dir.is_dir() {
        return Err(EmbedError::MissingDir {
            dir: dir.to_path_buf(),
        });
    }
    for file in MODEL_FILES {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(EmbedError::MissingFile { path });
        }
    }
    Ok(())
}

#[cfg(feature = "embed")]
fn load_backend(dir: &Path, model_name: String) -> Result<Embedder, EmbedError> {
    let backend = bert::Bert::load(dir)?;
    Ok(Embedder {
        model_name,
        dims: backend.dims(),
        backend,
    })
}

#[cfg(not(feature = "embed"))]
fn load_backend(_dir: &Path, _model_name: String) -> Result<Embedder, EmbedError> {
    Err(EmbedError::NotBuilt)
}

#[cfg(feature = "embed")]
fn embed_with(backend: &Backend, texts: &[&str]) -> Result<Embedded, EmbedError> {
    backend.embed(texts)
}

#[cfg(not(feature = "embed"))]
fn embed_with(backend: &Backend, _texts: &[&str]) -> Result<Embedded, EmbedError> {
    match *backend {}
}

#[cfg(test)]
pub(crate) mod tests;
