//! Errors become `{"error": {"type", "message", "run_id", "class"}}` with
//! the status of their class, in this one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;
use crate::pipeline::RunFailure;

pub struct ApiError(pub RunFailure);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(RunFailure::from(e))
    }
}

impl From<RunFailure> for ApiError {
    fn from(f: RunFailure) -> Self {
        ApiError(f)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = &self.0.error;
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error": self.0.to_json()});
        if status.is_server_error() {
            let run_id = body["error"]["run_id"].as_str().unwrap_or("-");
            tracing::warn!(error_type = error.type_name(), run_id, "{error}");
        }
        (status, axum::Json(body)).into_response()
    }
}
