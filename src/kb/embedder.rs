//! What a knowledge base needs from an embedding model: L2-normalised
//! vectors for texts. Implemented by `crate::embed::Embedder` (feature
//! `embed`); without that feature no knowledge base can be configured.

/// A synchronous text embedder (call it off the async threads).
pub trait TextEmbedder: Send + Sync {
    /// One vector per text, in order.
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
}

#[cfg(feature = "embed")]
impl TextEmbedder for crate::embed::Embedder {
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.embed(texts)
            .map(|e| e.vectors)
            .map_err(|e| e.to_string())
    }
}
