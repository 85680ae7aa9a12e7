//! The route table.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::routes::{
    admin, chat, dlq, drift, embeddings, escalations, feedback, health, hooks, models, runs};
use crate::pipeline::Runtime;

pub fn app(rt: Arc<Runtime>) -> Router {
    Router::new()
        .route("/v1/pipelines/{name}/runs", post(runs::create))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/v1/runs/{id}/feedback", post(feedback::post))
        .route("/hooks/{pipeline}", post(hooks::receive))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(embeddings::create))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::get))
        .route("/v1/admin/escalations", get(escalations::list))
        .route("/v1/admin/drift", get(drift::list))
        .route("/v1/admin/drift/accept", post(drift::accept))
        .route("/v1/admin/dlq", get(dlq::list))
        .route("/v1/admin/dlq/retry", post(dlq::retry))
        .route("/v1/admin/dlq/purge", post(dlq::purge))
        .route("/v1/admin/dlq/{id}", get(dlq::show))
        .route("/v1/admin/budgets", get(admin::budgets))
        .route("/v1/admin/alerts", get(admin::alerts))
        .route("/v1/admin/breakers", get(admin::breakers))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(rt)
}
