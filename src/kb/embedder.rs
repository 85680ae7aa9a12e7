//! What a knowledge base needs from an embedding model: L2-normalised
//! vectors for texts. Implemented by `crate::embed::Embedder` (which only
//! loads with the `embed` feature; without it no knowledge base can be
//! configured).

/// A synchronous text embedder (call it off the async threads).
pub trait TextEmbedder: Send + Sync {
    /// One vector per text, in order.
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
}

impl TextEmbedder for crate::embed::Embedder {
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.embed(texts)
            .map(|e| e.vectors)
            .map_err(|e| e.to_string())
    }
}
