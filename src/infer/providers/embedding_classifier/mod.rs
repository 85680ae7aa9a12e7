//! `kind = "embedding-classifier"`: an offline provider that fills the enum
//! fields of the output schema with the label whose description is most
//! similar (cosine, under an `[embeddings.NAME]` model) to the request's
//! data — the text of the user message's `<untrusted>` blocks, or the
//! whole user text when there are none. It answers a normal chat
//! completion (the JSON object), so the output checks still apply.
//! Deterministic, free, no network. `plan.rs` says how each property is
//! filled; a request it cannot fill honestly is declined (a data-class
//! error the fallback chain moves past).

pub mod plan;
pub mod text;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use self::plan::{Fill, Plan};
use crate::embed::{Embedder, cosine};
use crate::infer::{
    ChatRequest, ChatResponse, Provider, ProviderError, StructuredMode, Usage, finish,
};

/// Label vectors kept; the cache is emptied when it would grow past this.
const LABEL_CACHE: usize = 4096;

pub struct EmbeddingClassifier {
    embedder: Arc<Embedder>,
    /// Label description → its vector (label sets repeat on every call).
    labels: Arc<Mutex<HashMap<String, Vec<f32>>>>,
}

impl EmbeddingClassifier {
    pub fn new(embedder: Arc<Embedder>) -> EmbeddingClassifier {
        EmbeddingClassifier {
            embedder,
            labels: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

fn declined(message: impl Into<String>) -> ProviderError {
    ProviderError::Declined {
        message: message.into(),
    }
}

#[async_trait::async_trait]
impl Provider for EmbeddingClassifier {
    async fn chat(&self, request: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let (_, schema, _) = request.schema().ok_or_else(|| {
            declined("an embedding classifier answers only requests with a JSON output schema")
        })?;
        let plan = plan::plan(schema).map_err(declined)?;
        let blocks = text::data_blocks(request.messages);
        if blocks.is_empty() {
            return Err(declined("the request has no user text to classify"));
        }
        let embedder = self.embedder.clone();
        let cache = self.labels.clone();
        let work =
            tokio::task::spawn_blocking(move || classify(&embedder, &cache, &plan, &blocks));
        match tokio::time::timeout(request.timeout, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(ProviderError::Server {
                status: 500,
                retry_after: None,
                message: format!("the classifier stopped: {join}"),
            }),
            Err(_) => Err(ProviderError::Timeout(request.timeout.as_millis() as u64)),
        }
    }

    fn structured_modes(&self) -> &'static [StructuredMode] {
        // The answer is built from the schema: it cannot break it.
        &[StructuredMode::Grammar]
    }
}

/// The answer for `blocks` under `plan` (CPU-bound: run off the runtime).
fn classify(
    embedder: &Embedder,
    cache: &Mutex<HashMap<String, Vec<f32>>>,
    plan: &Plan,
    blocks: &[String],
) -> Result<ChatResponse, ProviderError> {
    let model_err = |e: crate::embed::EmbedError| ProviderError::Server {
        status: 500,
        retry_after: None,
        message: format!("embedding failed: {e}"),
    };
    let data = blocks.join("\n");
    let embedded = embedder.embed(&[&data]).map_err(model_err)?;
    let data_vec = embedded.vectors.into_iter().next().unwrap_or_default();
    let label_vecs = label_vectors(embedder, cache, plan).map_err(model_err)?;

    let mut out = Map::new();
    let mut margin: Option<f32> = None;
    for field in &plan.fields {
        let value = match &field.fill {
            Fill::Labels(labels) => {
                let mut scored: Vec<(f32, &Value)> = labels
                    .iter()
                    .map(|l| {
                        let v = label_vecs.get(&l.text).map_or(&[][..], Vec::as_slice);
                        (cosine(&data_vec, v), &l.value)
                    })
                    .collect();
                // Highest first; ties keep the schema's order (stable sort).
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                let this = match scored.as_slice() {
                    [best, second, ..] => best.0 - second.0,
                    _ => 1.0,
                };
                margin = Some(margin.map_or(this, |m| m.min(this)));
                scored.first().map_or(Value::Null, |(_, v)| (*v).clone())
            }
            Fill::Default(v) => v.clone(),
            Fill::Extract { max_chars } => json!(text::extract(&blocks[0], *max_chars)),
            Fill::Null => Value::Null,
            Fill::Confidence { .. } => continue,
        };
        out.insert(field.name.clone(), value);
    }
    for field in &plan.fields {
        if let Fill::Confidence { min, max } = field.fill {
            let m = f64::from(margin.unwrap_or(0.0)).clamp(min, max.max(min));
            out.insert(field.name.clone(), json!((m * 10_000.0).round() / 10_000.0));
        }
    }
    Ok(ChatResponse {
        content: Value::Object(out).to_string(),
        tool_calls: Vec::new(),
        usage: Usage {
            input_tokens: embedded.tokens,
            ..Usage::default()
        },
        finish_reason: Some(finish::STOP.to_string()),
        response_id: None,
    })
}

/// The vector of every label description of the plan, embedding only
/// those not cached yet (in one batch).
fn label_vectors(
    embedder: &Embedder,
    cache: &Mutex<HashMap<String, Vec<f32>>>,
    plan: &Plan,
) -> Result<HashMap<String, Vec<f32>>, crate::embed::EmbedError> {
    let texts: Vec<&str> = plan
        .fields
        .iter()
        .filter_map(|f| match &f.fill {
            Fill::Labels(l) => Some(l.iter().map(|l| l.text.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    let mut have = HashMap::new();
    let mut missing = Vec::new();
    {
        let cached = cache.lock().unwrap_or_else(|p| p.into_inner());
        for t in &texts {
            match cached.get(*t) {
                Some(v) => {
                    have.insert((*t).to_string(), v.clone());
                }
                None if !missing.contains(t) => missing.push(*t),
                None => {}
            }
        }
    }
    if !missing.is_empty() {
        let fresh = embedder.embed(&missing)?;
        let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
        if cached.len() + missing.len() > LABEL_CACHE {
            cached.clear();
        }
        for (t, v) in missing.into_iter().zip(fresh.vectors) {
            cached.insert(t.to_string(), v.clone());
            have.insert(t.to_string(), v);
        }
    }
    Ok(have)
}

#[cfg(test)]
#[cfg(feature = "embed")]
mod tests;
