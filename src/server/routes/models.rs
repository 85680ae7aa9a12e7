//! `GET /v1/models` and `GET /v1/models/{id}`: every declared model and
//! pipeline, in OpenAI's list shape, with what seam knows of each.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Config;
use crate::error::Error;
use crate::pipeline::Runtime;

fn entries(config: &Config) -> Vec<Value> {
    let models = config.models.values().map(|m| {
        json!({
            "id": m.name, "object": "model", "created": 0, "owned_by": m.provider,
            "seam": {"kind": "model", "upstream": m.upstream, "context_window": m.context_window,
                "fallbacks": m.fallbacks,
                "price_per_mtok_micros": {"input": m.price.input, "output": m.price.output,
                    "cache_read": m.price.cache_read, "cache_write": m.price.cache_write}}
        })
    });
    let pipelines = config.pipelines.values().map(|p| {
        json!({
            "id": p.name, "object": "model", "created": 0, "owned_by": "seam",
            "seam": {"kind": "pipeline", "description": p.description, "models": p.models}
        })
    });
    models.chain(pipelines).collect()
}

pub async fn list(State(rt): State<Arc<Runtime>>) -> Json<Value> {
    Json(json!({"object": "list", "data": entries(&rt.config)}))
}

pub async fn get(State(rt): State<Arc<Runtime>>, Path(id): Path<String>) -> Response {
    match entries(&rt.config)
        .into_iter()
        .find(|e| e["id"] == id.as_str())
    {
        Some(e) => Json(e).into_response(),
        None => {
            let e = Error::BadRequest(format!("The model `{id}` does not exist"));
            let mut resp = super::openai_wire::error_response(&e, Some("model"), None);
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    }
}
