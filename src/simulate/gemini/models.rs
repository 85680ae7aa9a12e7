//! `GET /v1beta/models` and `GET /v1beta/models/{model}` in Google's shape.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::INPUT_LIMIT;

/// (id, display name, output token limit).
const MODELS: &[(&str, &str, u64)] = &[
    ("gemini-2.5-flash", "Gemini 2.5 Flash", 65_536),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", 65_536),
    ("gemini-2.0-flash", "Gemini 2.0 Flash", 8_192),
];

fn model_json((id, name, output): (&str, &str, u64)) -> Value {
    json!({
        "name": format!("models/{id}"),
        "version": "001",
        "displayName": name,
        "description": format!("{name}, simulated by seam"),
        "inputTokenLimit": INPUT_LIMIT,
        "outputTokenLimit": output,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
    })
}

/// `{"models": [...]}`.
pub(crate) fn list() -> Value {
    json!({"models": MODELS.iter().map(|m| model_json(*m)).collect::<Vec<_>>()})
}

/// One model by id (with or without the `models/` prefix).
pub(crate) fn get(id: &str) -> Result<Value, ApiError> {
    let id = id.strip_prefix("models/").unwrap_or(id);
    MODELS
        .iter()
        .find(|(m, _, _)| *m == id)
        .map(|m| model_json(*m))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "models/{id} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            ))
        })
}
