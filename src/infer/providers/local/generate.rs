//! One generation on the loaded model: render the chat, decode the prompt,
//! then sample token by token under the schema constraint, checking the
//! request's deadline and cancellation between tokens.

use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;

use super::engine::Job;
use super::error::LocalError;
use super::grammar::{Grammars, sampler};
use super::prompt::ChatTemplate;

/// Why generation stopped, in OpenAI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// End of generation token (the constraint allows it only once the
    /// JSON is complete).
    Stop,
    /// `max_tokens` or the context window ran out first.
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

#[derive(Debug)]
pub struct Generation {
    pub text: String,
    /// Tokens of the rendered prompt.
    pub prompt_tokens: u64,
    /// Tokens sampled, the end-of-generation token included.
    pub output_tokens: u64,
    pub finish: Finish,
}

/// The model with its one context, serving one request at a time.
pub struct Session<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: ChatTemplate,
    grammars: Grammars,
    /// The configured window. llama.cpp pads its own (to a multiple of
    /// 256 in current builds), so the check uses this one, the number the
    /// user set and the error names.
    context_size: usize,
}

fn decode_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Decode(e.to_string())
}

impl<'m> Session<'m> {
    pub fn new(
        backend: &LlamaBackend,
        model: &'m LlamaModel,
        context_size: NonZeroU32,
        threads: i32,
    ) -> Result<Session<'m>, LocalError> {
        let params = LlamaContextParams::default()
            .with_n_ctx(Some(context_size))
            .with_n_batch(context_size.get())
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model
            .new_context(backend, params)
            .map_err(|e| LocalError::Context(e.to_string()))?;
        let context_size = (context_size.get() as usize).min(ctx.n_ctx() as usize);
        Ok(Session {
            model,
            ctx,
            template: ChatTemplate::of(model),
            grammars: Grammars::new(model)?,
            context_size,
        })
    }

    pub fn template_name(&self) -> &'static str {
        self.template.name()
    }

    pub fn generate(&mut self, job: &Job) -> Result<Generation, LocalError> {
        let prompt = self.template.render(self.model, &job.messages)?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        let n_ctx = self.context_size;
        if tokens.is_empty() || tokens.len() >= n_ctx {
            return Err(LocalError::PromptTooLong {
                prompt: tokens.len(),
                context: n_ctx,
            });
        }
        let constraint = match &job.schema {
            Some(schema) => Some(self.grammars.matcher(schema)?),
            None => None,
        };
        let mut sampler = sampler(constraint, job.temperature, job.seed);

        // The prompt, in chunks the context accepts; logits for the last token only.
        let started = Instant::now();
        self.ctx.clear_kv_cache();
        let n_batch = (self.ctx.n_batch() as usize).max(1);
        let mut batch = LlamaBatch::new(n_batch, 1);
        let last = tokens.len() - 1;
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            job.check()?;
            batch.clear();
            for (i, token) in chunk.iter().enumerate() {
                let pos = c * n_batch + i;
                batch
                    .add(*token, position(pos)?, &[0], pos == last)
                    .map_err(decode_err)?;
            }
            self.ctx.decode(&mut batch).map_err(decode_err)?;
        }

        let prompt_time = started.elapsed();
        let mut logits_at = batch.n_tokens() - 1;
        let mut pos = tokens.len();
        let mut text = Vec::new();
        let mut sampled = 0u64;
        let finish = loop {
            job.check()?;
            if sampled >= u64::from(job.max_tokens) || pos >= n_ctx {
                break Finish::Length;
            }
            let token = sampler.sample(&self.ctx, logits_at);
            sampled += 1;
            if vocab.is_eog(token) {
                break Finish::Stop;
            }
            text.extend(vocab.token_to_piece(token, false, None));
            batch.clear();
            batch
                .add(token, position(pos)?, &[0], true)
                .map_err(decode_err)?;
            self.ctx.decode(&mut batch).map_err(decode_err)?;
            logits_at = 0;
            pos += 1;
        };
        let generate_time = started.elapsed() - prompt_time;
        tracing::debug!(
            prompt_tokens = tokens.len(),
            prompt_ms = prompt_time.as_secs_f64() * 1000.0,
            output_tokens = sampled,
            generate_ms = generate_time.as_secs_f64() * 1000.0,
            finish = finish.as_str(),
            "local generation"
        );
        Ok(Generation {
            text: String::from_utf8_lossy(&text).into_owned(),
            prompt_tokens: tokens.len() as u64,
            output_tokens: sampled,
            finish,
        })
    }
}

fn position(pos: usize) -> Result<i32, LocalError> {
    i32::try_from(pos).map_err(|_| decode_err("position past i32::MAX"))
}
