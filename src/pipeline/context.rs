//! The runtime every run shares: config, store, providers, metrics.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::act::breakers::SinkBreakers;
use crate::budget::Budgets;
use crate::config::Config;
use crate::embed::Embeddings;
use crate::error::Error;
use crate::gateway::cache::ResponseCache;
use crate::ingest::drift::Contracts;

/// Most answers the chat-completions cache holds.
const CHAT_CACHE_ENTRIES: usize = 10_000;
use crate::infer::Providers;
use crate::infer::guard::Guards;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::telemetry::Metrics;

pub struct Runtime {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub providers: Providers,
    pub metrics: Arc<Metrics>,
    /// One pooled HTTP client for providers and sinks.
    pub client: reqwest::Client,
    /// Wakes the outbox worker when a run has committed an action.
    pub outbox_wake: Arc<Notify>,
    /// Wakes the background workers when an event has been queued.
    pub queue_wake: Arc<Notify>,
    /// Cached deterministic answers of `/v1/chat/completions`.
    pub chat_cache: ResponseCache,
    /// `[[budgets]]` over the store's ledger: reserve before a call,
    /// settle after it.
    pub budgets: Arc<Budgets>,
    /// Circuit breaker, rate limits and retry budget of each model, shared
    /// by every run of this process.
    pub guards: Guards,
    /// A circuit breaker per pipeline sink, shared by the outbox workers.
    pub sink_breakers: SinkBreakers,
    /// The learned payload contract of each source, for drift detection.
    pub contracts: Contracts,
    /// `[connectors.NAME]`: token caches, rate limits, response caches and
    /// connections shared by every run's context steps.
    pub connectors: crate::connectors::Connectors,
    /// `[kb.NAME]`: knowledge bases the `kb` context steps retrieve from.
    pub kbs: crate::kb::Kbs,
    /// `[embeddings.NAME]`: the embedding models, loaded at start, shared
    /// by `/v1/embeddings`, classifiers and the knowledge base.
    pub embeddings: Embeddings,
}

impl Runtime {
    /// Open the store (applying migrations) and build the providers.
    pub fn start(config: Config) -> Result<Arc<Runtime>, Error> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.store)?);
        Runtime::start_with_store(config, store)
    }

    /// Build the providers over a store already open (`seam eval` runs
    /// each variant's config on one store).
    pub fn start_with_store(config: Config, store: Arc<dyn Store>) -> Result<Arc<Runtime>, Error> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("seam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let embeddings =
            Embeddings::load(config.embeddings.iter().map(|(name, e)| (name, &e.path)))
                .map_err(Error::Config)?;
        let providers = Providers::build(&config, &client, &embeddings).map_err(Error::Config)?;
        let metrics = Arc::new(Metrics::new());
        let budgets = Arc::new(Budgets::new(
            config.budgets.clone(),
            store.clone(),
            metrics.clone(),
        ));
        let guards = Guards::from_config(&config, metrics.clone());
        let sink_breakers = SinkBreakers::from_config(&config, metrics.clone());
        let contracts = Contracts::new(store.clone(), metrics.clone());
        let connectors =
            crate::connectors::Connectors::build(&config.connectors).map_err(Error::Config)?;
        let kbs = crate::kb::Kbs::build(&config.kb, &store, |name| {
            embeddings
                .get(name)
                .map(|e| e as Arc<dyn crate::kb::TextEmbedder>)
        })
        .map_err(Error::Config)?;
        Ok(Arc::new(Runtime {
            config: Arc::new(config),
            store,
            providers,
            metrics,
            budgets,
            guards,
            sink_breakers,
            contracts,
            connectors,
            kbs,
            embeddings,
            client,
            outbox_wake: Arc::new(Notify::new()),
            queue_wake: Arc::new(Notify::new()),
            chat_cache: ResponseCache::new(CHAT_CACHE_ENTRIES),
        }))
    }
}
