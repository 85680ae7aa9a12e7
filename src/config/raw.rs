//! Stage one of config loading: serde types that mirror the TOML exactly.
//!
//! Every struct denies unknown keys. Nothing here is validated beyond types;
//! `load.rs` turns these into the checked types of `model.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file. Entries of `providers`, `models` and `pipelines` are kept
/// as raw TOML here and deserialised one by one, so that one bad entry does
/// not hide the problems of the others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: Option<toml::Value>,
    #[serde(default)]
    pub store: Option<toml::Value>,
    #[serde(default)]
    pub providers: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub models: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub pipelines: BTreeMap<String, toml::Value>,
    /// `[[budgets]]`, each checked on its own.
    #[serde(default)]
    pub budgets: Vec<toml::Value>,
    /// `[alerts]`.
    #[serde(default)]
    pub alerts: Option<toml::Value>,
    /// `[pii]`: detectors, custom patterns, the key sealing kept maps.
    #[serde(default)]
    pub pii: Option<toml::Value>,
    /// `[connectors.NAME]`: systems context steps fetch from.
    #[serde(default)]
    pub connectors: BTreeMap<String, toml::Value>,
    /// `[kb.NAME]`: local knowledge bases (`seam kb`, `kb` context steps).
    #[serde(default)]
    pub kb: BTreeMap<String, toml::Value>,
    /// `[embeddings.NAME]`: embedding models run in-process.
    #[serde(default)]
    pub embeddings: BTreeMap<String, toml::Value>,
}

/// `[embeddings.NAME]`: an embedding model loaded at start (cargo feature
/// `embed`), served on `POST /v1/embeddings` and used by
/// `embedding-classifier` providers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmbeddings {
    /// The model's folder (model.safetensors, config.json, tokenizer.json),
    /// relative to the config file's folder, e.g. `models/all-minilm-l6-v2`.
    pub path: String,
}

/// `[[budgets]]`: a spend limit per pipeline, tenant or in all, per UTC
/// day or month. Calls reserve their estimate against every budget that
/// applies before they are made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// `pipeline`, `tenant` or `global`.
    pub scope: String,
    /// The pipeline or tenant; `*` for each one separately. Omitted (or
    /// `*`) for `global`.
    pub name: Option<String>,
    /// `day` or `month` (UTC calendar).
    pub period: String,
    /// The limit in micro-dollars (USD 5 → 5000000).
    pub limit_micros: u64,
}

/// `[alerts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub daily_cost: Option<RawDailyCost>,
}

/// `[alerts.daily_cost]`: a pipeline's spend today against its average
/// over the days before.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDailyCost {
    /// Alert when the day's spend is over this multiple of the average, default 3.
    pub factor: Option<f64>,
    /// Never alert below this day's spend, default 1000000 (USD 1).
    pub min_spend_micros: Option<u64>,
    /// Days the average covers, default 30.
    pub window_days: Option<u32>,
    /// Seconds between checks in `seam serve`, default 300.
    pub interval_secs: Option<u64>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address to listen on, default `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Outbox delivery workers (concurrent deliveries), default 16.
    pub outbox_concurrency: Option<usize>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// SQLite file, relative to the config file's folder. Default `.seam/seam.db`.
    pub path: Option<String>,
    /// `full` (fsync every commit group; the default) or `normal` (WAL
    /// durable against process crash, not power loss).
    pub synchronous: Option<String>,
    /// Most writes committed together in one transaction, default 256.
    pub group_commit_max: Option<usize>,
}

/// `[providers.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// `openai`, `openai-compatible`, `azure`, `anthropic`, `gemini`,
    /// `local` or `embedding-classifier`.
    pub kind: String,
    /// Base URL including the version path, e.g. `https://api.openai.com/v1`.
    /// Defaults to the public endpoint for `openai`, `anthropic`, `gemini`.
    pub base_url: Option<String>,
    /// `env:NAME` or `file:/path`; never the key itself.
    pub api_key: Option<String>,
    /// Azure OpenAI's `api-version` query parameter, e.g. `2024-10-21`.
    pub api_version: Option<String>,
    /// `local` only: the GGUF model file, relative to the config file's folder,
    /// e.g. `models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    pub path: Option<String>,
    /// `local` only: CPU threads for generation, default: all available cores.
    pub threads: Option<u32>,
    /// `local` only: context window in tokens (prompt plus output), default 2048.
    pub context_size: Option<u32>,
    /// Per-request timeout, default 30000.
    pub timeout_ms: Option<u64>,
    /// `embedding-classifier` only: the `[embeddings.NAME]` it embeds with.
    pub embeddings: Option<String>,
}

/// `[models.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Name of a `[providers.*]` entry.
    pub provider: String,
    /// The model name the provider knows, e.g. `gpt-4o-mini`.
    pub upstream: String,
    /// Micro-dollars per million input tokens (USD 0.15 → 150000).
    /// Optional when `upstream` is in the built-in price table.
    pub input_price_per_mtok: Option<u64>,
    /// Micro-dollars per million output tokens.
    pub output_price_per_mtok: Option<u64>,
    /// Micro-dollars per million input tokens read from the prompt cache.
    pub cache_read_price_per_mtok: Option<u64>,
    /// Micro-dollars per million input tokens written to the prompt cache.
    pub cache_write_price_per_mtok: Option<u64>,
    /// Context window in tokens (built-in table when omitted).
    pub context_window: Option<u32>,
    /// Structured-output mode to use instead of the strongest the provider
    /// supports: `json_schema`, `response_schema`, `tool`, `grammar`,
    /// `json_object` or `prompt`.
    pub structured_output: Option<String>,
    /// Models tried in order when this one fails on `/v1/chat/completions`.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Cache identical deterministic (temperature 0) chat completions for
    /// this many seconds. Off when absent.
    pub cache_ttl_secs: Option<u64>,
    /// Refuse, before the call, any call whose worst-case cost (prompt
    /// tokens counted, the full output allowance, this model's prices)
    /// exceeds this many micro-dollars; the next model of the chain is tried.
    pub max_cost_micros_per_call: Option<u64>,
    /// `[models.NAME.breaker]`: the circuit breaker (on by default).
    pub breaker: Option<RawBreaker>,
    /// `[models.NAME.rate_limit]`: client-side limits (none when absent).
    pub rate_limit: Option<RawRateLimit>,
    /// `[models.NAME.retry_budget]`: the share of calls that may be retries.
    pub retry_budget: Option<RawRetryBudget>,
}

/// `[models.NAME.breaker]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Open when failures / calls in the window reach this, default 0.5.
    pub failure_rate: Option<f64>,
    /// ... over at least this many calls, default 20.
    pub min_requests: Option<u64>,
    /// ... in a rolling window of this many seconds, default 30.
    pub window_secs: Option<u64>,
    /// Seconds open before probing, default 15.
    pub open_secs: Option<u64>,
    /// Probes let through at a time when half-open, and successes in a row
    /// that close the breaker, default 3.
    pub half_open_probes: Option<u32>,
}

/// `[models.NAME.rate_limit]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// The provider's requests-per-minute limit for this model.
    pub requests_per_minute: Option<u64>,
    /// The provider's tokens-per-minute limit (prompt estimate plus the
    /// output allowance of each call).
    pub tokens_per_minute: Option<u64>,
}

/// `[models.NAME.retry_budget]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryBudget {
    /// Retries at most this share of the first attempts in the window,
    /// default 0.2.
    pub ratio: Option<f64>,
    /// Plus this many retries per second of the window, default 2.
    pub min_per_sec: Option<u32>,
    /// The window in seconds, default 10.
    pub window_secs: Option<u64>,
}

/// `[pipelines.NAME]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Human description.
    pub description: Option<String>,
    /// JSON Schema file for the input event.
    pub input_schema: String,
    /// Jinja template file rendering the user message.
    pub prompt: String,
    /// Optional Jinja template file for the system message, appended to
    /// the built-in system fragment.
    pub system_prompt: Option<String>,
    /// Primary model (a `[models.*]` name).
    pub model: String,
    /// Models tried in order when the primary is unavailable.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// JSON Schema file the model output must satisfy.
    pub output_schema: String,
    /// Upper bound on output tokens per call, default 1024.
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature, default 0.
    pub temperature: Option<f64>,
    /// `on` (default) or `off`.
    pub flag: Option<String>,
    /// JSON pointer into the input that identifies the event (for
    /// idempotency keys), e.g. `/ticket_id`. Default: hash of the input.
    pub event_id: Option<String>,
    #[serde(default)]
    pub retry: RawRetry,
    /// Background runs (async API calls, webhooks) of this pipeline.
    #[serde(default)]
    pub queue: RawQueue,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// Rules that answer when every model of the chain failed.
    pub baseline: Option<crate::infer::baseline::RawBaseline>,
    #[serde(default)]
    pub limits: RawLimits,
    /// How deliveries to `POST /hooks/NAME` are signed; none: no webhook trigger.
    pub webhook: Option<crate::ingest::webhook::RawWebhook>,
    /// `[pipelines.NAME.drift]`: contract-drift detection on its events.
    #[serde(default)]
    pub drift: RawDrift,
    /// `[[pipelines.NAME.window]]`: context fields that give way when the
    /// prompt does not fit the model's window.
    #[serde(default)]
    pub window: Vec<RawWindowField>,
    /// `[pipelines.NAME.pii]`: this pipeline's detectors and extra patterns.
    pub pii: Option<crate::ingest::pii::RawPipelinePii>,
    /// `[[pipelines.NAME.context]]`: steps fetching context through
    /// connectors before the prompt.
    #[serde(default)]
    pub context: Vec<crate::connectors::RawContextStep>,
    /// `[pipelines.NAME.normalize]`: per-field normalisation before validation.
    pub normalize: Option<crate::ingest::normalize::RawNormalize>,
    /// `[pipelines.NAME.grounding]`: what happens to claims and citations
    /// the output schema marks and the sources do not support.
    #[serde(default)]
    pub grounding: RawGrounding,
    /// `[pipelines.NAME.dual]`: the second generation of the fields the
    /// output schema marks `x-seam-dual`.
    pub dual: Option<RawDual>,
    /// `[pipelines.NAME.review]`: outputs held for a human instead of acted on.
    #[serde(default)]
    pub review: RawReview,
    /// `[pipelines.NAME.eval]`: how `seam eval` scores each output field.
    #[serde(default)]
    pub eval: crate::eval::RawEval,
    pub sink: RawSink,
}

/// `[pipelines.NAME.review]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    /// `{ pointer = "/answer", values = ["insufficient_information"] }`:
    /// an output whose field holds one of the values goes to review.
    pub insufficient: Option<RawInsufficient>,
    /// JSON pointer to a number 0..1 in the output, e.g. `/confidence`.
    pub confidence: Option<String>,
    /// Outputs whose confidence is below this go to review (0..=1).
    pub min_confidence: Option<f64>,
}

/// `[pipelines.NAME.review.insufficient]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInsufficient {
    pub pointer: String,
    pub values: Vec<toml::Value>,
}

/// `[pipelines.NAME.dual]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDual {
    /// The second generation's model (default: the model that answered).
    pub model: Option<String>,
    /// The second generation's temperature (default: the pipeline's).
    pub temperature: Option<f64>,
    /// `review` (default: the run escalates) or `act` (act, flagged).
    pub on_divergence: Option<String>,
}

/// `[pipelines.NAME.grounding]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrounding {
    /// `review` (default: the run escalates) or `act` (act without the
    /// retracted claims).
    pub on_retraction: Option<String>,
    /// Normalised characters a quote needs, default 8.
    pub min_quote_chars: Option<usize>,
    /// Domains and source ids citations may name; empty: any of the run's.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// `[pipelines.NAME.limits]`: the budget of one run that makes several
/// model calls (agent-style). Unlimited when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most model calls one run may make, retries and fallbacks included.
    pub max_calls_per_run: Option<u32>,
    /// Most micro-dollars one run may spend (each call's worst case is
    /// checked before it is made).
    pub max_cost_micros_per_run: Option<u64>,
    /// Refuse, before it is made, any one call whose worst-case cost
    /// (prompt counted, full output allowance, the model's prices) exceeds
    /// this; the run tries a cheaper model of its chain, else escalates.
    pub max_cost_micros_per_call: Option<u64>,
}

/// One `[[pipelines.NAME.window]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindowField {
    /// JSON pointer into the input, e.g. `/history`.
    pub pointer: String,
    /// `drop`, `truncate_middle` or `keep_newest`.
    pub strategy: String,
    /// Lower gives way first; default 0.
    #[serde(default)]
    pub priority: i64,
}

/// `[pipelines.NAME.drift]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrift {
    /// `observe` (default: record, count, alert), `strict` (also
    /// dead-letter the event) or `off`.
    pub mode: Option<String>,
    /// Events learned from before drift is judged, default 20.
    pub learn_events: Option<u64>,
}

/// `[pipelines.NAME.queue]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// Background runs of this pipeline in flight at once, default 4.
    pub concurrency: Option<usize>,
    /// Runs tried for transient failures before the dead-letter queue,
    /// default 5.
    pub max_attempts: Option<u32>,
    /// First backoff ceiling between attempts, default 1000.
    pub base_delay_ms: Option<u64>,
    /// Largest backoff ceiling, default 60000.
    pub max_delay_ms: Option<u64>,
}

/// `[pipelines.NAME.retry]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts per model for transient provider errors, default 3.
    pub max_attempts: Option<u32>,
    /// First backoff ceiling, default 100.
    pub base_delay_ms: Option<u64>,
    /// Largest backoff ceiling, default 2000.
    pub max_delay_ms: Option<u64>,
    /// Extra calls that feed validation errors back to the model, default 2.
    pub max_repairs: Option<u32>,
}

/// `[pipelines.NAME.timeouts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    /// One provider call, default: the provider's `timeout_ms`.
    pub request_ms: Option<u64>,
    /// The whole run, retries included, default 60000.
    pub run_ms: Option<u64>,
}

/// `[pipelines.NAME.sink]`. Keys marked with a kind belong to that kind
/// only; the sink's loader refuses them on any other.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    /// `http` or `postgres`.
    pub kind: String,
    /// `http`: HTTP method, default `POST`.
    pub method: Option<String>,
    /// Fixed target. `http`: the URL (the model never chooses it);
    /// `postgres`: an `env:NAME`/`file:/path` reference to the connection URL.
    pub url: String,
    /// `http`: header name → `env:NAME`/`file:/path` secret or a plain non-secret value.
    pub headers: Option<BTreeMap<String, String>>,
    /// `postgres`: the table, optionally `schema.table`.
    pub table: Option<String>,
    /// `postgres`: the column holding the idempotency key (UNIQUE), default
    /// `idempotency_key`.
    pub key_column: Option<String>,
    /// Body field (`postgres`: column) → JSON pointer into `/input`,
    /// `/output` or `/run`.
    pub fields: BTreeMap<String, String>,
    /// Delivery attempts before dead-lettering, default 8.
    pub max_attempts: Option<u32>,
    /// Per-delivery timeout, default 10000.
    pub timeout_ms: Option<u64>,
}
