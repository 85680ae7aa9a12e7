//! Why an embedding model could not be loaded or run.

use std::path::PathBuf;

/// How to get the default model.
const FETCH_HINT: &str = "fetch all-MiniLM-L6-v2 with `scripts/fetch-model.sh all-minilm-l6-v2` in the seam repository";

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "this seam was built without the `embed` feature; rebuild with `cargo build --release --features embed` (or `--features local`)"
    )]
    NotBuilt,
    #[error("the embedding model folder {} does not exist ({FETCH_HINT})", .dir.display())]
    MissingDir { dir: PathBuf },
    #[error("the embedding model file {} is missing ({FETCH_HINT})", .path.display())]
    MissingFile { path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a usable model file: {message}", .path.display())]
    BadFile { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model: {0}")]
    Model(String),
}
