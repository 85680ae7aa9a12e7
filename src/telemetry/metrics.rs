//! The metric families and the typed events that update them.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    pipeline: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LayerLabels {
    pipeline: String,
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    pipeline: String,
    model: String,
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    pipeline: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    model: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    scope: String,
    name: String,
    period: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetractionLabels {
    pipeline: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    source: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabels {
    pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuardLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    connector: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorNameLabels {
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    model: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EmbedLabels {
    model: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EmbedModelLabels {
    model: String,
}

fn layer_histogram() -> Histogram {
    // 50 µs … ~52 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 21))
}

pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    layer_seconds: Family<LayerLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    deliveries: Family<RunLabels, Counter>,
    sink_breaker_state: Family<PipelineLabels, Gauge>,
    contract_drift: Family<DriftLabels, Counter>,
    feedback: Family<RunLabels, Counter>,
    feedback_accuracy: Family<PipelineLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    grounding_retractions: Family<RetractionLabels, Counter>,
    webhooks: Family<RunLabels, Counter>,
    budget_refusals: Family<BudgetLabels, Counter>,
    budget_spent: Family<BudgetLabels, Gauge>,
    budget_reserved: Family<BudgetLabels, Gauge>,
    budget_limit: Family<BudgetLabels, Gauge>,
    cost_alerts: Family<PipelineLabels, Counter>,
    breaker_state: Family<GuardLabels, Gauge>,
    breaker_transitions: Family<TransitionLabels, Counter>,
    breaker_rejections: Family<GuardLabels, Counter>,
    rate_limit_waits: Family<GuardLabels, Counter>,
    rate_limit_wait_seconds: Family<GuardLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    rate_limit_refusals: Family<GuardLabels, Counter>,
    retry_budget_denied: Family<GuardLabels, Counter>,
    connector_calls: Family<ConnectorLabels, Counter>,
    connector_seconds: Family<ConnectorNameLabels, Histogram, fn() -> Histogram>,
    embeddings_requests: Family<EmbedLabels, Counter>,
    embeddings_inputs: Family<EmbedModelLabels, Counter>,
    embeddings_seconds: Family<EmbedModelLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("seam");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "runs",
            "Finished runs by pipeline and outcome",
            runs.clone(),
        );
        let layer_seconds =
            Family::<LayerLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                layer_histogram,
            );
        registry.register(
            "layer_duration_seconds",
            "Time spent in each layer of a run",
            layer_seconds.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Model tokens by direction (input, output)",
            tokens.clone(),
        );
        let cost = Family::<ModelLabels, Counter>::default();
        registry.register(
            "cost_micro_usd",
            "Model spend in micro-dollars",
            cost.clone(),
        );
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "provider_calls",
            "Provider calls by model and outcome (ok or error type)",
            calls.clone(),
        );
        let webhooks = Family::<RunLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook deliveries by outcome: accepted, duplicate, rejected",
            webhooks.clone(),
        );
        let sink_breaker_state = Family::<PipelineLabels, Gauge>::default();
        registry.register(
            "sink_breaker_state",
            "Circuit breaker state per pipeline sink: 0 closed, 1 open, 2 half-open",
            sink_breaker_state.clone(),
        );
        let feedback = Family::<RunLabels, Counter>::default();
        registry.register(
            "feedback",
            "Feedback on runs by verdict: correct (every judged field right) or corrected",
            feedback.clone(),
        );
        let feedback_accuracy =
            Family::<PipelineLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "feedback_accuracy",
            "Share of judged output fields the runs got right, over the pipeline's latest 100 feedback",
            feedback_accuracy.clone(),
        );
        let grounding_retractions = Family::<RetractionLabels, Counter>::default();
        registry.register(
            "grounding_retractions",
            "Claims and citations retracted from model outputs, by reason: missing_quote, quote_too_short, quote_not_found, unknown_source, source_not_allowed",
            grounding_retractions.clone(),
        );
        let contract_drift = Family::<DriftLabels, Counter>::default();
        registry.register(
            "contract_drift",
            "Payloads whose shape drifted from their source's learned contract, by change: new, missing, retyped",
            contract_drift.clone(),
        );
        let deliveries = Family::<RunLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Outbox delivery attempts by outcome",
            deliveries.clone(),
        );
        let budget_refusals = Family::<BudgetLabels, Counter>::default();
        registry.register(
            "budget_refusals",
            "Calls refused because a budget could not cover their estimate",
            budget_refusals.clone(),
        );
        let budget_spent = Family::<BudgetLabels, Gauge>::default();
        registry.register(
            "budget_spent_micros",
            "Spend counted by each budget in its current period, in micro-dollars",
            budget_spent.clone(),
        );
        let budget_reserved = Family::<BudgetLabels, Gauge>::default();
        registry.register(
            "budget_reserved_micros",
            "Money held by calls in flight against each budget, in micro-dollars",
            budget_reserved.clone(),
        );
        let budget_limit = Family::<BudgetLabels, Gauge>::default();
        registry.register(
            "budget_limit_micros",
            "Each budget's limit for its period, in micro-dollars",
            budget_limit.clone(),
        );
        let cost_alerts = Family::<PipelineLabels, Counter>::default();
        registry.register(
            "cost_alerts",
            "Daily-cost anomaly alerts raised (new alert rows)",
            cost_alerts.clone(),
        );
        let breaker_state = Family::<GuardLabels, Gauge>::default();
        registry.register(
            "breaker_state",
            "Circuit breaker state per model: 0 closed, 1 open, 2 half-open",
            breaker_state.clone(),
        );
        let breaker_transitions = Family::<TransitionLabels, Counter>::default();
        registry.register(
            "breaker_transitions",
            "Circuit breaker transitions per model, by the state entered",
            breaker_transitions.clone(),
        );
        let breaker_rejections = Family::<GuardLabels, Counter>::default();
        registry.register(
            "breaker_rejections",
            "Calls refused by an open (or saturated half-open) circuit breaker",
            breaker_rejections.clone(),
        );
        let rate_limit_waits = Family::<GuardLabels, Counter>::default();
        registry.register(
            "rate_limit_waits",
            "Calls that waited for a client-side rate-limit slot",
            rate_limit_waits.clone(),
        );
        let rate_limit_wait_seconds =
            Family::<GuardLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "rate_limit_wait_seconds",
            "Time calls spent waiting for client-side rate-limit slots",
            rate_limit_wait_seconds.clone(),
        );
        let rate_limit_refusals = Family::<GuardLabels, Counter>::default();
        registry.register(
            "rate_limit_refusals",
            "Calls refused because their rate-limit slot lay past their deadline (or could never fit)",
            rate_limit_refusals.clone(),
        );
        let retry_budget_denied = Family::<GuardLabels, Counter>::default();
        registry.register(
            "retry_budget_denied",
            "Retries refused because the model's retry budget was spent",
            retry_budget_denied.clone(),
        );
        let connector_calls = Family::<ConnectorLabels, Counter>::default();
        registry.register(
            "connector_calls",
            "Context steps by connector and outcome (ok, cache_hit, or the failure kind)",
            connector_calls.clone(),
        );
        let connector_seconds =
            Family::<ConnectorNameLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                layer_histogram,
            );
        registry.register(
            "connector_duration_seconds",
            "Time a context step took, pages and retries included",
            connector_seconds.clone(),
        );
        let embeddings_requests = Family::<EmbedLabels, Counter>::default();
        registry.register(
            "embeddings_requests",
            "POST /v1/embeddings requests by model (`-`: none declared was named) and outcome: ok, invalid_request or error",
            embeddings_requests.clone(),
        );
        let embeddings_inputs = Family::<EmbedModelLabels, Counter>::default();
        registry.register(
            "embeddings_inputs",
            "Texts embedded for POST /v1/embeddings",
            embeddings_inputs.clone(),
        );
        let embeddings_seconds =
            Family::<EmbedModelLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                layer_histogram,
            );
        registry.register(
            "embeddings_duration_seconds",
            "Time to embed the inputs of one POST /v1/embeddings request",
            embeddings_seconds.clone(),
        );
        Metrics {
            registry,
            embeddings_requests,
            embeddings_inputs,
            embeddings_seconds,
            connector_calls,
            connector_seconds,
            budget_refusals,
            budget_spent,
            budget_reserved,
            budget_limit,
            cost_alerts,
            runs,
            layer_seconds,
            tokens,
            cost,
            calls,
            deliveries,
            sink_breaker_state,
            contract_drift,
            feedback,
            feedback_accuracy,
            grounding_retractions,
            webhooks,
            breaker_state,
            breaker_transitions,
            breaker_rejections,
            rate_limit_waits,
            rate_limit_wait_seconds,
            rate_limit_refusals,
            retry_budget_denied,
        }
    }

    fn guard_labels(model: &str) -> GuardLabels {
        GuardLabels {
            model: model.into(),
        }
    }

    /// `state`: 0 closed, 1 open, 2 half-open.
    pub fn breaker_state(&self, model: &str, state: i64) {
        self.breaker_state
            .get_or_create(&Self::guard_labels(model))
            .set(state);
    }

    pub fn breaker_transition(&self, model: &str, to: &str) {
        self.breaker_transitions
            .get_or_create(&TransitionLabels {
                model: model.into(),
                state: to.into(),
            })
            .inc();
    }

    pub fn breaker_rejected(&self, model: &str) {
        self.breaker_rejections
            .get_or_create(&Self::guard_labels(model))
            .inc();
    }

    pub fn rate_limit_wait(&self, model: &str, waited: Duration) {
        let labels = Self::guard_labels(model);
        self.rate_limit_waits.get_or_create(&labels).inc();
        self.rate_limit_wait_seconds
            .get_or_create(&labels)
            .inc_by(waited.as_secs_f64());
    }

    pub fn rate_limit_refused(&self, model: &str) {
        self.rate_limit_refusals
            .get_or_create(&Self::guard_labels(model))
            .inc();
    }

    pub fn retry_denied(&self, model: &str) {
        self.retry_budget_denied
            .get_or_create(&Self::guard_labels(model))
            .inc();
    }

    pub fn run_finished(&self, pipeline: &str, outcome: &str) {
        self.runs
            .get_or_create(&RunLabels {
                pipeline: pipeline.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn layer(&self, pipeline: &str, layer: &str, took: Duration) {
        self.layer_seconds
            .get_or_create(&LayerLabels {
                pipeline: pipeline.into(),
                layer: layer.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn usage(&self, pipeline: &str, model: &str, input: u64, output: u64, cost_micros: u64) {
        let t = |direction: &str| TokenLabels {
            pipeline: pipeline.into(),
            model: model.into(),
            direction: direction.into(),
        };
        self.tokens.get_or_create(&t("input")).inc_by(input);
        self.tokens.get_or_create(&t("output")).inc_by(output);
        self.cost
            .get_or_create(&ModelLabels {
                pipeline: pipeline.into(),
                model: model.into(),
            })
            .inc_by(cost_micros);
    }

    /// One `POST /v1/embeddings` request; `model` is a declared name (or
    /// `-` when the request named none that exists), `inputs` the texts
    /// embedded and `took` the embedding time (None when refused).
    pub fn embeddings(&self, model: &str, outcome: &str, inputs: u64, took: Option<Duration>) {
        self.embeddings_requests
            .get_or_create(&EmbedLabels {
                model: model.into(),
                outcome: outcome.into(),
            })
            .inc();
        let labels = EmbedModelLabels {
            model: model.into(),
        };
        if inputs > 0 {
            self.embeddings_inputs.get_or_create(&labels).inc_by(inputs);
        }
        if let Some(took) = took {
            self.embeddings_seconds
                .get_or_create(&labels)
                .observe(took.as_secs_f64());
        }
    }

    /// One context step through `connector`.
    pub fn connector_call(&self, connector: &str, outcome: &str, took: Duration) {
        self.connector_calls
            .get_or_create(&ConnectorLabels {
                connector: connector.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.connector_seconds
            .get_or_create(&ConnectorNameLabels {
                connector: connector.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn provider_call(&self, model: &str, outcome: &str) {
        self.calls
            .get_or_create(&CallLabels {
                model: model.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn delivery(&self, pipeline: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&RunLabels {
                pipeline: pipeline.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// `state`: 0 closed, 1 open, 2 half-open.
    pub fn sink_breaker_state(&self, pipeline: &str, state: i64) {
        self.sink_breaker_state
            .get_or_create(&PipelineLabels {
                pipeline: pipeline.into(),
            })
            .set(state);
    }

    pub fn feedback(&self, pipeline: &str, all_correct: bool, accuracy: f64) {
        self.feedback
            .get_or_create(&RunLabels {
                pipeline: pipeline.into(),
                outcome: if all_correct { "correct" } else { "corrected" }.into(),
            })
            .inc();
        self.feedback_accuracy
            .get_or_create(&PipelineLabels {
                pipeline: pipeline.into(),
            })
            .set(accuracy);
    }

    pub fn grounding_retraction(&self, pipeline: &str, reason: &str) {
        self.grounding_retractions
            .get_or_create(&RetractionLabels {
                pipeline: pipeline.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn contract_drift(&self, source: &str, kind: &str) {
        self.contract_drift
            .get_or_create(&DriftLabels {
                source: source.into(),
                kind: kind.into(),
            })
            .inc();
    }

    pub fn webhook(&self, pipeline: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&RunLabels {
                pipeline: pipeline.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn budget_refused(&self, scope: &str, name: &str, period: &str) {
        self.budget_refusals
            .get_or_create(&BudgetLabels {
                scope: scope.into(),
                name: name.into(),
                period: period.into(),
            })
            .inc();
    }

    /// Forget every budget gauge (before setting the current ones).
    pub fn budget_gauges_clear(&self) {
        self.budget_spent.clear();
        self.budget_reserved.clear();
        self.budget_limit.clear();
    }

    pub fn budget_gauges(
        &self,
        scope: &str,
        name: &str,
        period: &str,
        spent: u64,
        reserved: u64,
        limit: u64,
    ) {
        let labels = BudgetLabels {
            scope: scope.into(),
            name: name.into(),
            period: period.into(),
        };
        let v = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        self.budget_spent.get_or_create(&labels).set(v(spent));
        self.budget_reserved.get_or_create(&labels).set(v(reserved));
        self.budget_limit.get_or_create(&labels).set(v(limit));
    }

    pub fn cost_alert(&self, pipeline: &str) {
        self.cost_alerts
            .get_or_create(&PipelineLabels {
                pipeline: pipeline.into(),
            })
            .inc();
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_families() {
        let m = Metrics::new();
        m.run_finished("triage", "succeeded");
        m.layer("triage", "infer", Duration::from_millis(3));
        m.usage("triage", "sim", 10, 5, 7);
        let text = m.encode();
        assert!(
            text.contains("seam_runs_total{pipeline=\"triage\",outcome=\"succeeded\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("seam_layer_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("seam_cost_micro_usd_total{pipeline=\"triage\",model=\"sim\"} 7"),
            "{text}"
        );
    }
}
