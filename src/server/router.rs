//! The route table.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::routes::{health, runs};
use crate::pipeline::Runtime;

pub fn app(rt: Arc<Runtime>) -> Router {
    Router::new()
        .route("/v1/pipelines/{name}/runs", post(runs::create))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(rt)
}
