//! Stage three: validated configuration. No `Option`s for things that must
//! be known; files are read, schemas and templates compiled.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::act::sinks::SinkConfig;
use crate::budget::anomaly::DailyCostRule;
use crate::budget::{BudgetRule, RunLimits};
use crate::config::SecretRef;
use crate::error::Error;
use crate::flags::Flag;
use crate::infer::baseline::Baseline;
use crate::infer::guard::GuardConfig;
use crate::infer::prices::Price;
use crate::infer::tokens::Tokenizer;
use crate::infer::{ChatMessage, ProviderError, ProviderKind, RetryPolicy, StructuredMode, Usage};
use crate::prompt::PromptTemplate;
use crate::schema::JsonSchema;

#[derive(Debug)]
pub struct Config {
    /// The file it was loaded from.
    pub file: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub providers: BTreeMap<String, Arc<ProviderConfig>>,
    pub models: BTreeMap<String, Arc<ModelConfig>>,
    pub pipelines: BTreeMap<String, Arc<Pipeline>>,
    /// `[[budgets]]`, in file order.
    pub budgets: Vec<BudgetRule>,
    /// `[alerts.daily_cost]` (defaults when absent).
    pub daily_cost: DailyCostRule,
    /// `[connectors.NAME]`.
    pub connectors: BTreeMap<String, crate::connectors::ConnectorConfig>,
    /// `[kb.NAME]`.
    pub kb: BTreeMap<String, crate::kb::KbConfig>,
    /// `[embeddings.NAME]`: the model folder of each, checked to hold the
    /// model's files.
    pub embeddings: BTreeMap<String, EmbeddingsConfig>,
}

/// `[embeddings.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingsConfig {
    pub name: String,
    /// The model's folder, resolved against the config file's folder.
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub outbox_concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync the WAL at every commit group.
    Full,
    /// fsync at checkpoints only: survives a crash of seam, not of the OS.
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
    pub group_commit_max: usize,
}

#[derive(Debug)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    /// Empty for providers that need none (the embedded model).
    pub base_url: String,
    pub api_key: Option<SecretRef>,
    /// Azure's `api-version`.
    pub api_version: Option<String>,
    pub timeout: Duration,
    /// The in-process model; present exactly when `kind = "local"`.
    pub local: Option<LocalModelConfig>,
    /// The `[embeddings.NAME]` an `embedding-classifier` embeds with;
    /// present exactly for that kind.
    pub embeddings: Option<String>,
}

/// A GGUF model run in-process (`kind = "local"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelConfig {
    /// The GGUF file, resolved against the config file's folder; checked to
    /// exist and to start with the GGUF magic when the config is loaded.
    pub path: PathBuf,
    /// CPU threads for generation; `None` uses every available core.
    pub threads: Option<NonZeroU32>,
    /// Context window in tokens (prompt plus output).
    pub context_size: NonZeroU32,
}

impl LocalModelConfig {
    pub const DEFAULT_CONTEXT_SIZE: u32 = 2048;
}

#[derive(Debug)]
pub struct ModelConfig {
    pub name: String,
    pub provider: String,
    pub upstream: String,
    pub price: Price,
    pub context_window: u32,
    /// Config's choice of structured-output mode; `None`: the strongest
    /// the provider supports.
    pub structured: Option<StructuredMode>,
    /// Tried in order when this model fails on `/v1/chat/completions`.
    pub fallbacks: Vec<String>,
    /// Cache identical deterministic chat completions this long.
    pub cache_ttl: Option<Duration>,
    /// Worst-case cost allowed for one call, in micro-dollars.
    pub max_cost_per_call: Option<u64>,
    pub tokenizer: Tokenizer,
    /// Circuit breaker, rate limits and retry budget.
    pub guard: GuardConfig,
}

/// What [`ModelConfig::preflight`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preflight {
    /// The call's worst-case cost: the prompt and the full output allowance.
    pub cost_micros: u64,
    /// The prompt's tokens as priced: an upper bound, or the exact count
    /// when the bound did not fit the window.
    pub prompt_tokens: u64,
}

impl ModelConfig {
    /// Cost in micro-dollars, rounded up so spend is never under-reported.
    pub fn cost_micros(&self, usage: &Usage) -> u64 {
        self.price.cost_micros(usage)
    }

    /// Checks made before a call, with no tokens spent: the prompt (counted
    /// with this model's tokenizer) plus `max_output` must fit the context
    /// window, and the worst-case cost must stay under the per-call cap.
    /// Returns the worst-case cost and the prompt tokens it was priced at.
    pub fn preflight(&self, messages: &[ChatMessage], max_output: u32) -> Result<Preflight, Error> {
        // Counting with a real tokenizer costs tens of microseconds per KB;
        // the byte bound settles most calls without it.
        let bound = self.tokenizer.upper_bound(messages);
        let priced = |prompt_tokens: u64| {
            self.check_prompt(prompt_tokens, max_output)
                .map(|cost_micros| Preflight {
                    cost_micros,
                    prompt_tokens,
                })
        };
        match priced(bound) {
            Err(_) if !self.tokenizer.bound_is_exact() => {
                priced(self.tokenizer.count_messages(messages))
            }
            settled => settled,
        }
    }

    /// The worst-case cost with the prompt counted exactly (not bounded):
    /// what a budget reservation falls back to near its limit.
    pub fn worst_cost_exact(&self, messages: &[ChatMessage], max_output: u32) -> u64 {
        self.cost_micros(&Usage {
            input_tokens: self.tokenizer.count_messages(messages),
            output_tokens: u64::from(max_output),
            ..Usage::default()
        })
    }

    fn check_prompt(&self, prompt: u64, max_output: u32) -> Result<u64, Error> {
        if prompt + u64::from(max_output) > u64::from(self.context_window) {
            return Err(ProviderError::ContextLength {
                message: format!(
                    "{prompt} prompt tokens ({}) + {max_output} reserved for output > {} for model `{}`",
                    self.tokenizer.name(),
                    self.context_window,
                    self.name
                ),
            }
            .into());
        }
        let worst = self.cost_micros(&Usage {
            input_tokens: prompt,
            output_tokens: u64::from(max_output),
            ..Usage::default()
        });
        match self.max_cost_per_call {
            Some(cap) if worst > cap => Err(Error::CostCap {
                model: self.name.clone(),
                estimate_micros: worst,
                cap_micros: cap,
            }),
            _ => Ok(worst),
        }
    }
}

/// How a pipeline's background runs are worked.
#[derive(Debug, Clone, Copy)]
pub struct QueuePolicy {
    pub concurrency: usize,
    /// Attempts (full jitter backoff between them) before the dead-letter
    /// queue.
    pub retry: RetryPolicy,
}

#[derive(Debug)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    pub input_schema: JsonSchema,
    pub prompt: PromptTemplate,
    /// Primary model first, then fallbacks.
    pub models: Vec<String>,
    pub output_schema: JsonSchema,
    pub max_output_tokens: u32,
    pub temperature: f64,
    pub flag: Flag,
    /// JSON pointer into the input naming the event, if declared.
    pub event_id: Option<String>,
    pub retry: RetryPolicy,
    pub max_repairs: u32,
    /// Per provider call; `None` uses the provider's timeout.
    pub request_timeout: Option<Duration>,
    pub run_timeout: Duration,
    /// Answers when every model failed; `None`: such runs escalate.
    pub baseline: Option<Baseline>,
    /// Background runs: concurrency, attempts and backoff.
    pub queue: QueuePolicy,
    /// `[pipelines.NAME.limits]`: calls and money one run may use.
    pub limits: RunLimits,
    /// `[pipelines.NAME.webhook]`: verifies `POST /hooks/NAME` deliveries.
    pub webhook: Option<crate::ingest::webhook::Verifier>,
    /// Contract-drift detection on the pipeline's events.
    pub drift: crate::ingest::drift::DriftPolicy,
    /// Context fields that give way, in priority order, when the prompt
    /// does not fit the first model's window.
    pub window: Vec<crate::prompt::window::WindowField>,
    /// `[pii]` with `[pipelines.NAME.pii]` applied: what ingest redacts.
    pub pii: Arc<crate::ingest::pii::PiiPolicy>,
    /// `[[pipelines.NAME.context]]`, in order.
    pub context: Vec<crate::connectors::ContextStep>,
    /// `[pipelines.NAME.normalize]` (strings cleaned everywhere when absent).
    pub normalize: crate::ingest::normalize::Normalizer,
    /// `[pipelines.NAME.grounding]`: grounded claims and citations.
    pub grounding: crate::output::grounding::GroundingPolicy,
    /// `[pipelines.NAME.dual]` with the fields the output schema marks
    /// `x-seam-dual`: generated twice and compared.
    pub dual: crate::output::dual::DualPolicy,
    /// `[pipelines.NAME.review]`: outputs held for a human.
    pub review: crate::pipeline::review::ReviewPolicy,
    /// `[pipelines.NAME.eval]`: the scoring rule of each output field.
    pub eval: crate::eval::EvalPolicy,
    pub sink: SinkConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rounds_up_in_micro_dollars() {
        let m = ModelConfig {
            name: "m".into(),
            provider: "p".into(),
            upstream: "u".into(),
            price: Price {
                input: 150_000,
                output: 600_000,
                ..Price::default()
            },
            context_window: 1000,
            structured: None,
            fallbacks: Vec::new(),
            cache_ttl: None,
            max_cost_per_call: Some(100),
            tokenizer: Tokenizer::Estimate,
            guard: GuardConfig::default(),
        };
        let usage = |input_tokens, output_tokens| Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        };
        // 1000 in × 0.15 $/M = 150 µ$, 100 out × 0.6 $/M = 60 µ$.
        assert_eq!(m.cost_micros(&usage(1000, 100)), 210);
        assert_eq!(m.cost_micros(&usage(1, 0)), 1);
        assert_eq!(m.cost_micros(&usage(0, 0)), 0);
        // Preflight: 4+3 tokens of prompt at 0.15 + 100 out at 0.6 = 62 µ$.
        let msgs = [ChatMessage::user("hello world")];
        assert_eq!(m.preflight(&msgs, 100).unwrap().cost_micros, 62);
        assert!(matches!(
            m.preflight(&msgs, 500),
            Err(Error::CostCap {
                estimate_micros: 302,
                ..
            })
        ));
        assert!(matches!(
            m.preflight(&msgs, 995),
            Err(Error::Provider(ProviderError::ContextLength { .. }))
        ));
    }
}
