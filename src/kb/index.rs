//! `seam kb add DIR`: walk a folder for Markdown and text files, chunk
//! them, embed the chunks and store them; unchanged files (same bytes,
//! same embedder) are skipped, changed ones replace their chunks; with
//! `prune`, documents of the knowledge base no longer in the folder are
//! removed.

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
    /// Documents no longer in the folder, removed (with `prune`).
    pub removed: u32,
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

/// Words of a chunk's text per embedded window: the model reads 128
/// tokens, about 90 English words, so a longer chunk is embedded as
/// several windows (each with the title) and their vectors averaged.
pub const WINDOW_WORDS: usize = 80;

/// The texts a chunk is embedded as: its title, then a window of its text.
pub fn embedding_texts(c: &KbChunk) -> Vec<String> {
    let words: Vec<&str> = c.text.split_whitespace().collect();
    if words.is_empty() {
        return vec![c.title.clone()];
    }
    words
        .chunks(WINDOW_WORDS)
        .map(|w| format!("{}\n\n{}", c.title, w.join(" ")))
        .collect()
}

/// The mean of `vectors`, L2-normalised (what a chunk of several windows stores).
pub fn mean_unit(vectors: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = vectors.first() else {
        return Vec::new();
    };
    let mut sum = vec![0.0f64; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += f64::from(*x);
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    sum.iter()
        .map(|x| if norm > 0.0 { (x / norm) as f32 } else { 0.0 })
        .collect()
}

impl Kb {
    /// Index every Markdown/text file under `dir`; with `prune`, remove
    /// the documents not found there (a knowledge base kept as a mirror
    /// of one folder).
    pub async fn add(&self, dir: &Path, prune: bool) -> Result<AddReport, KbError> {
        let files = walk(dir)?;
        let known = self.store.kb_documents(&self.name).await?;
        let mut report = AddReport::default();
        if prune {
            let gone: Vec<String> = known
                .iter()
                .filter(|d| !files.iter().any(|(rel, _)| *rel == d.path))
                .map(|d| d.path.clone())
                .collect();
            report.removed = u32::try_from(gone.len()).unwrap_or(u32::MAX);
            if !gone.is_empty() {
                self.store.kb_remove_documents(&self.name, gone).await?;
            }
        }
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
                let windows: Vec<Vec<String>> = batch.iter().map(embedding_texts).collect();
                let texts: Vec<String> = windows.iter().flatten().cloned().collect();
                let vectors = embed_blocking(self.embedder.clone(), texts).await?;
                let mut at = 0;
                for (c, w) in batch.iter_mut().zip(&windows) {
                    c.vector = mean_unit(&vectors[at..at + w.len()]);
                    at += w.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_have_stable_ids_and_term_counts() {
        let c = chunks_of(
            "guide/sso.md",
            "# SSO\n\nOkta and okta.\n\n# Keys\n\nRotate keys.",
            Format::Markdown,
        );
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["guide/sso.md#1", "guide/sso.md#2"]);
        // Title and text: sso, okta, and, okta.
        assert_eq!(c[0].length, 4);
        assert_eq!(c[0].terms.get("okta"), Some(&2));
    }

    #[test]
    fn long_chunks_embed_as_windows_averaged() {
        let mut c = chunks_of("a.txt", &vec!["w"; 170].join(" "), Format::Text).remove(0);
        assert_eq!(embedding_texts(&c).len(), 3);
        c.text.clear();
        assert_eq!(embedding_texts(&c), ["a.txt"]);
        let m = mean_unit(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!((m[0] - 0.5f32.sqrt()).abs() < 1e-6 && (m[1] - m[0]).abs() < 1e-9);
        assert!(mean_unit(&[]).is_empty());
    }

    #[test]
    fn walks_known_formats_sorted_skipping_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("sub")).unwrap();
        std::fs::create_dir_all(p.join(".git")).unwrap();
        for f in [
            "b.md",
            "a.txt",
            "sub/c.markdown",
            "d.pdf",
            ".git/x.md",
            ".hidden.md",
        ] {
            std::fs::write(p.join(f), "x").unwrap();
        }
        let found: Vec<String> = walk(p).unwrap().into_iter().map(|(r, _)| r).collect();
        assert_eq!(found, ["a.txt", "b.md", "sub/c.markdown"]);
        assert!(matches!(walk(&p.join("b.md")), Err(KbError::NotAFolder(_))));
    }
}
