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
        ApiError(RunFailure {
            run_id: None,
            error: e,
        })
    }
}

impl From<RunFailure> for ApiError {
    fn from(f: RunFailure) -> Self {
        ApiError(f)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let RunFailure { run_id, error } = self.0;
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({"error": {
            "type": error.type_name(),
            "class": error.class().as_str(),
            "message": error.to_string(),
            "run_id": run_id,
        }});
        if !error.field_errors().is_empty() {
            body["error"]["errors"] = json!(error.field_errors());
        }
        if status.is_server_error() {
            let run_id = body["error"]["run_id"].as_str().unwrap_or("-");
            tracing::warn!(error_type = error.type_name(), run_id, "{error}");
        }
        (status, axum::Json(body)).into_response()
    }
}
