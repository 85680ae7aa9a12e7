//! `GenerateContentResponse` bodies and stream chunks.

use bytes::Bytes;
use fastrand::Rng;
use serde_json::{Value, json};

use crate::simulate::answer::pieces;
use crate::simulate::openai::tokens;

/// The harm categories Gemini rates.
pub(crate) const HARM_CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
];

/// What one candidate says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Text(String),
    Call {
        name: String,
        args: Value,
    },
    /// Nothing: the safety filter blocked the answer in this harm category.
    Blocked(&'static str),
}

impl Part {
    fn tokens(&self) -> u64 {
        match self {
            Part::Text(t) => tokens(t),
            Part::Call { name, args } => tokens(name) + tokens(&args.to_string()),
            Part::Blocked(_) => 0,
        }
    }

    fn json(&self) -> Value {
        match self {
            Part::Text(t) => json!({"text": t}),
            Part::Call { name, args } => json!({"functionCall": {"name": name, "args": args}}),
            Part::Blocked(_) => Value::Null,
        }
    }
}

/// One candidate and why it ended (`STOP`, `MAX_TOKENS`, `SAFETY`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub part: Part,
    pub finish: &'static str,
}

/// A candidate of stream chunk or response: a blocked one has no `content`,
/// only `safetyRatings` with the blocking category at HIGH.
fn candidate_json(part: &Part, index: usize, finish: Option<&str>) -> Value {
    let mut c = match part {
        Part::Blocked(hit) => {
            let ratings: Vec<Value> = HARM_CATEGORIES
                .iter()
                .map(|cat| {
                    if cat == hit {
                        json!({"category": cat, "probability": "HIGH", "blocked": true})
                    } else {
                        json!({"category": cat, "probability": "NEGLIGIBLE"})
                    }
                })
                .collect();
            json!({"index": index, "safetyRatings": ratings})
        }
        other => json!({"content": {"parts": [other.json()], "role": "model"}, "index": index}),
    };
    if let Some(f) = finish
        && let Some(o) = c.as_object_mut()
    {
        o.insert("finishReason".into(), json!(f));
    }
    c
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
            .map(|(i, c)| candidate_json(&c.part, i, Some(c.finish)))
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
                let candidate = candidate_json(&part, i, (j == last).then_some(c.finish));
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
