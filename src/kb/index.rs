//! `seam kb add DIR`: walk a folder for Markdown and text files, chunk
//! them, embed the chunks and store them; unchanged files (same bytes,
//! same embedder) are skipped, changed ones replace their chunks.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::bm25::TermStats;
use super::chunk::{Format, chunk};
use super::error::KbError;
use super::tokenize::terms;
use super::{Kb, embed_blocking};
use crate::store::{KbChunk, NewKbDocument};

/// Chunks embedded per call.
const BATCH: usize = 32;

/// What `add` did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct AddReport {
    pub added: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Chunks written (added and updated files).
    pub chunks: u32,
}

/// Files under `dir` with a known format, sorted, as (relative path with
/// `/` separators, full path).
pub fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>, KbError> {
    if !dir.is_dir() {
        return Err(KbError::NotAFolder(dir.display().to_string()));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| KbError::Read {
            path: d.display().to_string(),
            reason: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| KbError::Read {
                path: d.display().to_string(),
                reason: e.to_string(),
            })?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if Format::of(&path).is_some()
                && let Ok(rel) = path.strip_prefix(dir)
            {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Chunk one document into stored chunks (vectors still empty).
pub fn chunks_of(rel: &str, text: &str, format: Format) -> Vec<KbChunk> {
    chunk(text, format, rel)
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let stats = TermStats::of(&terms(&format!("{}\n{}", c.title, c.text)));
            KbChunk {
                id: format!("{rel}#{}", i + 1),
                path: rel.to_string(),
                seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                title: c.title,
                text: c.text,
                vector: Vec::new(),
                length: stats.length,
                terms: stats.counts,
            }
        })
        .collect()
}

/// The text a chunk is embedded as: its title, then its text.
pub fn embedding_text(c: &KbChunk) -> String {
    format!("{}\n\n{}", c.title, c.text)
}

impl Kb {
    /// Index every Markdown/text file under `dir`.
    pub async fn add(&self, dir: &Path) -> Result<AddReport, KbError> {
        let files = walk(dir)?;
        let known = self.store.kb_documents(&self.name).await?;
        let mut report = AddReport::default();
        for (rel, full) in files {
            let bytes = std::fs::read(&full).map_err(|e| KbError::Read {
                path: full.display().to_string(),
                reason: e.to_string(),
            })?;
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let before = known.iter().find(|d| d.path == rel);
            if before.is_some_and(|d| d.sha256 == sha256 && d.embedder == self.embeddings) {
                report.unchanged += 1;
                continue;
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| KbError::NotText(full.display().to_string()))?;
            let format = Format::of(&full).unwrap_or(Format::Text);
            let mut chunks = chunks_of(&rel, &text, format);
            for batch in chunks.chunks_mut(BATCH) {
                let texts: Vec<String> = batch.iter().map(embedding_text).collect();
                let vectors = embed_blocking(self.embedder.clone(), texts).await?;
                for (c, v) in batch.iter_mut().zip(vectors) {
                    c.vector = v;
                }
            }
            report.chunks += u32::try_from(chunks.len()).unwrap_or(u32::MAX);
            if before.is_some() {
                report.updated += 1;
            } else {
                report.added += 1;
            }
            self.store
                .kb_put_document(NewKbDocument {
                    kb: self.name.clone(),
                    path: rel,
                    sha256,
                    embedder: self.embeddings.clone(),
                    chunks,
                })
                .await?;
        }
        Ok(report)
    }
}
