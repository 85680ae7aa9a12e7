//! Knowledge bases (`seam kb add`): indexed documents and their chunks.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Result;

/// One indexed file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KbDocument {
    pub path: String,
    pub sha256: String,
    /// The `[embeddings.NAME]` whose vectors its chunks hold.
    pub embedder: String,
    pub chunks: u32,
    pub added_at: String,
    pub updated_at: String,
}

/// A chunk as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KbChunk {
    /// `path#n`.
    pub id: String,
    /// The document's path.
    pub path: String,
    pub seq: u32,
    pub title: String,
    pub text: String,
    pub vector: Vec<f32>,
    /// Terms in title and text, and the count of each (BM25).
    pub length: u32,
    pub terms: BTreeMap<String, u32>,
}

/// A document to (re)place with its chunks.
#[derive(Debug, Clone)]
pub struct NewKbDocument {
    pub kb: String,
    pub path: String,
    pub sha256: String,
    pub embedder: String,
    pub chunks: Vec<KbChunk>,
}

#[async_trait::async_trait]
pub trait KbStore: Send + Sync {
    /// A knowledge base's documents, by path.
    async fn kb_documents(&self, kb: &str) -> Result<Vec<KbDocument>>;
    /// Insert the document, or replace it and all its chunks, in one
    /// transaction (`added_at` kept on replace).
    async fn kb_put_document(&self, doc: NewKbDocument) -> Result<()>;
    /// Every chunk of a knowledge base, by document path and order.
    async fn kb_chunks(&self, kb: &str) -> Result<Vec<KbChunk>>;
    /// Remove documents and their chunks, in one transaction.
    async fn kb_remove_documents(&self, kb: &str, paths: Vec<String>) -> Result<()>;
}
