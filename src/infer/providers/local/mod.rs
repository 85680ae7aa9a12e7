//! `kind = "local"`: a GGUF model run in-process by llama.cpp, with no
//! network and no key. The model is loaded once at startup on a worker
//! thread of its own (`engine.rs`), which serves requests one at a time;
//! each request renders the model's chat template (`prompt.rs`), decodes
//! under the output JSON Schema compiled by llguidance (`grammar.rs`) and
//! stops at end of grammar, end of generation or `max_tokens`
//! (`generate.rs`).
//!
//! A request waiting for the model counts against its own timeout: when the
//! timeout passes (or the caller gives up), the request is marked cancelled
//! and the worker skips it or stops it between two tokens.

mod engine;
mod error;
mod generate;
mod grammar;
mod prompt;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

use self::engine::{Engine, Job};
pub use self::error::LocalError;
use crate::config::LocalModelConfig;
use crate::infer::structured::{self, StructuredMode};
use crate::infer::{
    ChatMessage, ChatRequest, ChatResponse, Provider, ProviderError, ResponseFormat, Usage,
};

/// A loaded local model.
pub struct Local {
    engine: Engine,
}

impl Local {
    /// Load the model (blocking; logs the load time).
    pub fn load(name: &str, config: &LocalModelConfig) -> Result<Local, LocalError> {
        Ok(Local {
            engine: Engine::start(name, config)?,
        })
    }
}

/// Marks the request cancelled when the caller stops waiting, however it
/// stops: reply, timeout, or the future being dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A sampling seed derived from the request, so that a run with
/// temperature > 0 gives the same output when it is repeated.
fn seed_of(req: &ChatRequest<'_>) -> u32 {
    let mut h = Sha256::new();
    for m in req.messages {
        for part in [m.role.as_str().as_bytes(), m.content.as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
    }
    if let Some(schema) = constraint(req) {
        h.update(crate::canonical::to_string(&schema).as_bytes());
    }
    h.update(temperature(req).to_bits().to_be_bytes());
    h.update(req.max_tokens.to_be_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The JSON Schema decoding is constrained to: the request's schema in
/// grammar mode, any JSON object for `json_object`, none otherwise.
fn constraint(req: &ChatRequest<'_>) -> Option<serde_json::Value> {
    match req.format {
        ResponseFormat::JsonSchema {
            schema,
            mode: StructuredMode::Grammar,
            ..
        } => Some(schema.clone()),
        ResponseFormat::JsonObject => Some(serde_json::json!({"type": "object"})),
        _ => None,
    }
}

/// The messages the model sees: in prompt-only mode, with the schema.
fn messages(req: &ChatRequest<'_>) -> Vec<ChatMessage> {
    match req.format {
        ResponseFormat::JsonSchema {
            schema,
            mode: StructuredMode::Prompt,
            ..
        } => structured::with_prompt_instruction(req.messages, schema),
        _ => req.messages.to_vec(),
    }
}

/// Greedy decoding unless the request asks for a temperature.
fn temperature(req: &ChatRequest<'_>) -> f64 {
    req.temperature.unwrap_or(0.0)
}

#[async_trait::async_trait]
impl Provider for Local {
    fn structured_modes(&self) -> &'static [StructuredMode] {
        &[StructuredMode::Grammar]
    }

    async fn chat(&self, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
        let timeout_ms = req.timeout.as_millis() as u64;
        if !req.tools.is_empty() {
            return Err(ProviderError::Rejected {
                status: 400,
                message: "the embedded local model does not take tools".into(),
            });
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.engine
            .submit(Job {
                messages: messages(req),
                schema: constraint(req),
                max_tokens: req.max_tokens,
                temperature: temperature(req),
                seed: seed_of(req),
                deadline: Instant::now() + req.timeout,
                cancel,
                reply,
            })
            .map_err(|e| e.into_provider_error(timeout_ms))?;
        let generation = match tokio::time::timeout(req.timeout, answer).await {
            Ok(Ok(result)) => result.map_err(|e| e.into_provider_error(timeout_ms))?,
            Ok(Err(_)) => return Err(LocalError::WorkerGone.into_provider_error(timeout_ms)),
            Err(_) => return Err(ProviderError::Timeout(timeout_ms)),
        };
        Ok(ChatResponse {
            content: generation.text,
            tool_calls: Vec::new(),
            usage: Usage {
                input_tokens: generation.prompt_tokens,
                output_tokens: generation.output_tokens,
                ..Usage::default()
            },
            finish_reason: Some(generation.finish.as_str().to_string()),
            response_id: None,
        })
    }
}
