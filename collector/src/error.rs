//! Errors as HTTP answers: precise for bad input, generic for our own faults.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The client sent something we refuse; the message says what.
    #[error("{message}")]
    BadRequest {
        message: String,
        rejected: Option<Vec<crate::api::Rejected>>,
    },
    #[error("unsupported content type: send application/json or text/plain")]
    UnsupportedMediaType,
    /// Missing or wrong write key.
    #[error("{0}")]
    Unauthorized(String),
    /// The page's origin may not send for this site.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Storage is down or busy; the client should retry later.
    #[error("storage unavailable")]
    Unavailable(#[source] sqlx::Error),
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            message: message.into(),
            rejected: None,
        }
    }
}

/// Seconds a client should wait before retrying when storage is unavailable.
const RETRY_AFTER_SECS: &str = "5";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let body = match self {
            AppError::BadRequest { message, rejected } => {
                json!(crate::api::ErrorBody {
                    error: message,
                    rejected
                })
            }
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, "storage unavailable");
                json!({ "error": "storage is unavailable, retry later" })
            }
            other => json!({ "error": other.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
