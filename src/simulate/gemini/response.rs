//! `GenerateContentResponse` bodies and stream chunks.

use bytes::Bytes;
use fastrand::Rng;
use serde_json::{Value, json};

use crate::simulate::answer::pieces;
use crate::simulate::openai::tokens;

/// What one candidate says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Text(String),
    Call { name: String, args: Value },
}

impl Part {
    fn tokens(&self) -> u64 {
        match self {
            Part::Text(t) => tokens(t),
            Part::Call { name, args } => tokens(name) + tokens(&args.to_string()),
        }
    }

    fn json(&self) -> Value {
        match self {
            Part::Text(t) => json!({"text": t}),
            Part::Call { name, args } => json!({"functionCall": {"name": name, "args": args}}),
        }
    }
}

/// One candidate and why it ended (`STOP`, `MAX_TOKENS`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub part: Part,
    pub finish: &'static str,
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub candidates: Vec<Candidate>,
    pub prompt_tokens: u64,
    pub model: String,
    pub response_id: String,
}

impl Reply {
    fn usage(&self, candidates_tokens: u64) -> Value {
        json!({
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": candidates_tokens,
            "totalTokenCount": self.prompt_tokens + candidates_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
        })
    }

    fn wrap(&self, candidates: Vec<Value>, usage: Value) -> Value {
        json!({
            "candidates": candidates,
            "usageMetadata": usage,
            "modelVersion": self.model,
            "responseId": self.response_id,
        })
    }

    /// The non-streamed response.
    pub(crate) fn json(&self) -> Value {
        let candidates = self
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"content": {"parts": [c.part.json()], "role": "model"},
                       "finishReason": c.finish, "index": i})
            })
            .collect();
        let total = self.candidates.iter().map(|c| c.part.tokens()).sum();
        self.wrap(candidates, self.usage(total))
    }

    /// The stream chunks: text split over several, a function call whole;
    /// `finishReason` on each candidate's last chunk, and usage counted so
    /// far on every chunk, so the last one carries the totals.
    pub(crate) fn chunks(&self, rng: &mut Rng) -> Vec<Value> {
        let mut out = Vec::new();
        // Tokens of the candidates already streamed.
        let mut done = 0;
        for (i, c) in self.candidates.iter().enumerate() {
            let parts: Vec<Part> = match &c.part {
                Part::Text(t) if !t.is_empty() => pieces(t, rng, 12..=40)
                    .into_iter()
                    .map(Part::Text)
                    .collect(),
                other => vec![other.clone()],
            };
            let last = parts.len() - 1;
            let mut prefix = String::new();
            for (j, part) in parts.into_iter().enumerate() {
                let so_far = match &part {
                    Part::Text(t) => {
                        prefix.push_str(t);
                        tokens(&prefix)
                    }
                    call => call.tokens(),
                };
                let mut candidate =
                    json!({"content": {"parts": [part.json()], "role": "model"}, "index": i});
                if j == last
                    && let Some(o) = candidate.as_object_mut()
                {
                    o.insert("finishReason".into(), json!(c.finish));
                }
                out.push(self.wrap(vec![candidate], self.usage(done + so_far)));
            }
            done += c.part.tokens();
        }
        out
    }
}

/// Chunks as server-sent events (`alt=sse`).
pub(crate) fn sse(chunks: &[Value]) -> Vec<Bytes> {
    chunks
        .iter()
        .map(|c| Bytes::from(format!("data: {c}\n\n")))
        .collect()
}
