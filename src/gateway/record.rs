//! The record of one `/v1/chat/completions` call: a run row and its audit
//! trail (attempts, usage, cost, hashes of request and answer — never the
//! message text, which may hold personal data). A stream's record is
//! written when it ends, or, if the client hangs up, when it is dropped.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::request::ChatCall;
use crate::budget::Reservation;
use crate::config::ModelConfig;
use crate::error::Error;
use crate::infer::stream::Collector;
use crate::infer::{ChatMessage, ChatResponse, ProviderError, StreamEvent, Usage};
use crate::pipeline::Runtime;
use crate::pipeline::record::Trail;
use crate::store::RunRecord;

/// The pipeline name chat-completion runs are recorded under.
pub const CHAT_PIPELINE: &str = "chat.completions";

pub struct Tracker {
    rt: Arc<Runtime>,
    run_id: String,
    trail: Option<Trail>,
    started: Instant,
    created_at: String,
    requested: String,
    request_sha256: String,
    stream: bool,
    cached: bool,
    model: Option<Arc<ModelConfig>>,
    model_name: Option<String>,
    attempts: u32,
    usage: Usage,
    cost_micros: u64,
    collector: Collector,
    /// A stream's prompt, for counting when the provider reports no usage.
    prompt: Vec<ChatMessage>,
    tenant: String,
    /// The budget held for a stream until it ends.
    reservation: Option<Reservation>,
    /// What the stream cost, once it ended.
    stream_cost: Option<u64>,
}

impl Tracker {
    pub fn new(rt: Arc<Runtime>, call: &ChatCall, stream: bool) -> Tracker {
        let run_id = uuid::Uuid::now_v7().to_string();
        let request_sha256 =
            crate::canonical::sha256_hex(crate::canonical::to_string(&json!(call.messages)));
        Tracker {
            trail: Some(Trail::new(&run_id)),
            rt,
            run_id,
            started: Instant::now(),
            created_at: crate::clock::now_rfc3339(),
            requested: call.model.clone(),
            request_sha256,
            stream,
            cached: false,
            model: None,
            model_name: None,
            attempts: 0,
            usage: Usage::default(),
            cost_micros: 0,
            collector: Collector::default(),
            prompt: Vec::new(),
            tenant: call.tenant.clone(),
            reservation: None,
            stream_cost: None,
        }
    }

    /// Hold a stream's budget reservation until the stream ends.
    pub fn hold(&mut self, reservation: Reservation) {
        self.reservation = Some(reservation);
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    fn push(&mut self, layer: &'static str, body: serde_json::Value) {
        if let Some(t) = self.trail.as_mut() {
            t.push(layer, body);
        }
    }

    /// One provider call: an error, a stream that opened (`Ok(None)`), or
    /// a complete answer.
    pub fn attempt(
        &mut self,
        model: &Arc<ModelConfig>,
        latency_ms: u64,
        result: Result<Option<&ChatResponse>, &ProviderError>,
    ) {
        self.attempts += 1;
        let mut body = json!({
            "model": model.name,
            "provider": model.provider,
            "upstream": model.upstream,
            "attempt": self.attempts,
            "latency_ms": latency_ms,
        });
        match result {
            Err(e) => {
                body["status"] = json!("error");
                body["error"] = json!({"type": e.type_name(), "class": e.class().as_str(), "message": e.to_string()});
            }
            Ok(None) => body["status"] = json!("streaming"),
            Ok(Some(r)) => {
                let cost = self.charge(model, r.usage);
                body["status"] = json!("ok");
                body["usage"] = json!(r.usage);
                body["cost_micros"] = json!(cost);
                body["finish_reason"] = json!(r.finish_reason);
                body["response_id"] = json!(r.response_id);
                self.model_name = Some(model.name.clone());
                self.model = Some(model.clone());
            }
        }
        self.push("infer", body);
    }

    /// Add one call's usage and its cost to the run; returns the cost.
    fn charge(&mut self, model: &ModelConfig, usage: Usage) -> u64 {
        let cost = model.cost_micros(&usage);
        self.usage.add(usage);
        self.cost_micros += cost;
        self.rt.metrics.usage(
            CHAT_PIPELINE,
            &model.name,
            usage.input_tokens,
            usage.output_tokens,
            cost,
        );
        cost
    }

    /// A model skipped before any call (window or cost cap).
    pub fn refused(&mut self, model: &ModelConfig, e: &Error) {
        self.push(
            "infer",
            json!({"model": model.name, "status": "skipped", "latency_ms": 0,
                "error": {"type": e.type_name(), "class": e.class().as_str(), "message": e.to_string()}}),
        );
    }

    pub fn cache_hit(&mut self, model: &str) {
        self.cached = true;
        self.model_name = Some(model.to_string());
    }

    /// The stream comes from `model`; its usage is counted as it ends.
    /// The prompt, counted by seam only if the provider reports no usage.
    pub fn streaming_from(&mut self, model: &Arc<ModelConfig>, prompt: &[ChatMessage]) {
        self.model_name = Some(model.name.clone());
        self.model = Some(model.clone());
        self.prompt = prompt.to_vec();
    }

    pub fn observe(&mut self, event: &StreamEvent) {
        self.collector.push(event);
    }

    /// The answer text streamed so far.
    pub fn peek_content(&self) -> String {
        self.collector.content().to_string()
    }

    /// The model that answered (after a cache hit: the one cached).
    pub fn model_name(&self) -> Option<&str> {
        self.model_name.as_deref()
    }

    /// Settle a stream's usage and cost from what it reported (or, when it
    /// reported nothing, from the tokenizer) and return the whole answer.
    fn settle_stream(&mut self) -> ChatResponse {
        let collector = std::mem::take(&mut self.collector);
        if self.cached {
            return collector.finish();
        }
        let Some(model) = self.model.clone() else {
            return collector.finish();
        };
        let (response, estimated) = collector.finish_counted(model.tokenizer, || {
            model.tokenizer.count_messages(&self.prompt)
        });
        let cost = self.charge(&model, response.usage);
        self.stream_cost = Some(cost);
        self.push(
            "infer",
            json!({"model": model.name, "status": "stream_end", "usage": response.usage,
                "usage_estimated": estimated, "cost_micros": cost,
                "finish_reason": response.finish_reason, "response_id": response.response_id}),
        );
        response
    }

    /// A stream ended: normally (`None`) or with an error.
    pub async fn end_stream(mut self, error: Option<&Error>) -> ChatResponse {
        let response = self.settle_stream();
        match error {
            None => self.succeed(&response).await,
            Some(e) => self.fail(e).await,
        }
        response
    }

    pub async fn succeed(mut self, response: &ChatResponse) {
        let output_sha256 = crate::canonical::sha256_hex(&response.content);
        let record = self.record("succeeded", None);
        self.push(
            "chat",
            json!({
                "requested_model": self.requested,
                "model": self.model_name,
                "stream": self.stream,
                "cached": self.cached,
                "request_sha256": self.request_sha256,
                "output_sha256": output_sha256,
                "tool_calls": response.tool_calls.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "finish_reason": response.finish_reason,
                "usage": self.usage,
                "cost_micros": self.cost_micros,
                "latency_ms": record.latency_ms,
            }),
        );
        self.commit(record).await;
    }

    pub async fn fail(mut self, e: &Error) {
        let record = self.record(
            if matches!(e, Error::Cancelled) {
                "cancelled"
            } else {
                "failed"
            },
            Some(e),
        );
        self.push(
            "chat",
            json!({
                "requested_model": self.requested,
                "model": self.model_name,
                "stream": self.stream,
                "request_sha256": self.request_sha256,
                "error": {"type": e.type_name(), "class": e.class().as_str(), "message": e.to_string()},
                "usage": self.usage,
                "cost_micros": self.cost_micros,
                "latency_ms": record.latency_ms,
            }),
        );
        self.commit(record).await;
    }

    fn record(&self, status: &str, e: Option<&Error>) -> RunRecord {
        RunRecord {
            id: self.run_id.clone(),
            pipeline: CHAT_PIPELINE.into(),
            tenant: self.tenant.clone(),
            status: status.into(),
            event_id: None,
            input_sha256: Some(self.request_sha256.clone()),
            prompt_sha256: Some(self.request_sha256.clone()),
            prompt_version: None,
            model: self.model_name.clone(),
            output: None,
            error_type: e.map(|e| e.type_name().to_string()),
            error_class: e.map(|e| e.class().as_str().to_string()),
            error_message: e.map(ToString::to_string),
            attempts: self.attempts,
            input_tokens: self.usage.input_tokens,
            output_tokens: self.usage.output_tokens,
            cost_micros: self.cost_micros,
            latency_ms: self.started.elapsed().as_millis() as u64,
            created_at: self.created_at.clone(),
            finished_at: crate::clock::now_rfc3339(),
            queue_item: None,
            pii_map: None,
            review: None,
        }
    }

    async fn commit(&mut self, record: RunRecord) {
        if let Some(r) = self.reservation.take() {
            // A stream that never reported its end costs its estimate.
            let actual = self.stream_cost.unwrap_or(r.estimate_micros());
            if let Err(e) = r.settle(actual).await {
                tracing::warn!(run_id = %self.run_id, error = %e, "budget reservation not settled");
            }
        }
        let Some(trail) = self.trail.take() else {
            return;
        };
        let status = record.status.clone();
        if let Err(e) = self
            .rt
            .store
            .commit_run(record, trail.into_entries(), None)
            .await
        {
            tracing::error!(run_id = %self.run_id, error = %e, "chat completion record not stored");
        }
        self.rt.metrics.run_finished(CHAT_PIPELINE, &status);
    }
}

impl Drop for Tracker {
    /// A stream dropped before its end (the client hung up): the upstream
    /// call is already cancelled by dropping its stream; record what was
    /// spent so far.
    fn drop(&mut self) {
        if self.trail.is_none() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut rest = Tracker {
            rt: self.rt.clone(),
            run_id: std::mem::take(&mut self.run_id),
            trail: self.trail.take(),
            started: self.started,
            created_at: std::mem::take(&mut self.created_at),
            requested: std::mem::take(&mut self.requested),
            request_sha256: std::mem::take(&mut self.request_sha256),
            stream: self.stream,
            cached: self.cached,
            model: self.model.take(),
            model_name: self.model_name.take(),
            attempts: self.attempts,
            usage: self.usage,
            cost_micros: self.cost_micros,
            collector: std::mem::take(&mut self.collector),
            prompt: std::mem::take(&mut self.prompt),
            tenant: std::mem::take(&mut self.tenant),
            reservation: self.reservation.take(),
            stream_cost: self.stream_cost,
        };
        handle.spawn(async move {
            let _ = rest.settle_stream();
            rest.fail(&Error::Cancelled).await;
        });
    }
}
