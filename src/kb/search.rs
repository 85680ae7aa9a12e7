//! Hybrid retrieval: BM25 over the chunks' terms and cosine similarity
//! over their vectors, each ranked, fused by reciprocal rank (k = 60).

use serde::Serialize;

use super::bm25::{self, TermStats};
use super::error::KbError;
use super::fuse::{self, K};
use super::tokenize::query_terms;
use super::vector::cosine;
use super::{Kb, embed_blocking};

/// Which rankings decide the order (`Hybrid` in pipelines; the others
/// for inspection and measurement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Hybrid,
    Bm25,
    Vector,
}

/// One retrieved chunk with both ranks (from 1; `None` where the ranking
/// did not place it: BM25 ranks only chunks sharing a term with the query).
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    /// The document's path.
    pub source: String,
    pub text: String,
    /// The fused score (or the one ranking's score outside `Hybrid`).
    pub score: f64,
    pub bm25_rank: Option<usize>,
    pub bm25_score: f64,
    pub vector_rank: Option<usize>,
    pub vector_score: f64,
}

impl Kb {
    /// The `top_k` best chunks for `query`.
    pub async fn search(&self, query: &str, top_k: usize, mode: Mode) -> Result<Vec<Hit>, KbError> {
        let q_terms = query_terms(query);
        if q_terms.is_empty() {
            return Err(KbError::EmptyQuery);
        }
        let chunks = self.store.kb_chunks(&self.name).await?;
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        let stats: Vec<TermStats> = chunks
            .iter()
            .map(|c| TermStats {
                length: c.length,
                counts: c.terms.clone(),
            })
            .collect();
        let refs: Vec<&TermStats> = stats.iter().collect();
        let bm25_scores = bm25::scores(&q_terms, &refs);
        let bm25_ranked = fuse::ranking(&bm25_scores, |s| s > 0.0);
        let vector_scores = if mode == Mode::Bm25 {
            vec![0.0; chunks.len()]
        } else {
            let q = embed_blocking(self.embedder.clone(), vec![query.to_string()])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| KbError::Embed("no vector for the query".into()))?;
            let mut out = Vec::with_capacity(chunks.len());
            for c in &chunks {
                if c.vector.len() != q.len() {
                    return Err(KbError::Dimensions {
                        chunk: c.id.clone(),
                        stored: c.vector.len(),
                        made: q.len(),
                        embedder: self.embeddings.clone(),
                    });
                }
                out.push(cosine(&q, &c.vector));
            }
            out
        };
        let vector_ranked = if mode == Mode::Bm25 {
            Vec::new()
        } else {
            fuse::ranking(&vector_scores, |_| true)
        };
        let order: Vec<(usize, f64)> = match mode {
            Mode::Hybrid => fuse::rrf(&[&bm25_ranked, &vector_ranked], K),
            Mode::Bm25 => bm25_ranked.iter().map(|&i| (i, bm25_scores[i])).collect(),
            Mode::Vector => vector_ranked
                .iter()
                .map(|&i| (i, vector_scores[i]))
                .collect(),
        };
        let rank_of = |list: &[usize], i: usize| list.iter().position(|&x| x == i).map(|p| p + 1);
        Ok(order
            .into_iter()
            .take(top_k)
            .map(|(i, score)| {
                let c = &chunks[i];
                Hit {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    source: c.path.clone(),
                    text: c.text.clone(),
                    score,
                    bm25_rank: rank_of(&bm25_ranked, i),
                    bm25_score: bm25_scores[i],
                    vector_rank: rank_of(&vector_ranked, i),
                    vector_score: vector_scores[i],
                }
            })
            .collect())
    }
}
