//! Errors as HTTP answers: precise for bad input, generic for our own faults.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// One event the collector refused, by its index in the batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Rejected {
    pub index: usize,
    /// `field: what is wrong`.
    pub reason: String,
    /// Whether sending the same event again could succeed.
    pub retryable: bool,
}

/// Every 4xx and 5xx body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// With `400` when every event of a batch is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<Rejected>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The client sent something we refuse; the message says what.
    #[error("{message}")]
    BadRequest {
        message: String,
        rejected: Option<Vec<Rejected>>,
    },
    /// The content type is not one the endpoint takes; the message names those it does.
    #[error("unsupported content type: send {0}")]
    UnsupportedMediaType(&'static str),
    /// Missing or wrong write key.
    #[error("{0}")]
    Unauthorized(String),
    /// The page's origin may not send for this site.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. too few points).
    #[error("{0}")]
    Conflict(String),
    /// Rate limited; retry after this many seconds.
    #[error("rate limit: too many requests from this client for this site, retry later")]
    TooManyRequests(u64),
    /// Too many requests in progress; retry after this many seconds.
    #[error("busy: too many requests in progress, retry later")]
    Busy(u64),
    /// The request body did not arrive within this many seconds.
    #[error("body: not received within {0} s")]
    RequestTimeout(u64),
    /// The body is over the 1 MB limit.
    #[error("body: larger than 1 MB")]
    PayloadTooLarge,
    /// Storage is down or busy, or a report's read took longer than the read budget
    /// ([`crate::db::ReadBudget`]); the client should retry later.
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
const UNAVAILABLE_RETRY_SECS: u64 = 5;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, retry_after) = match &self {
            AppError::BadRequest { .. } => (StatusCode::BAD_REQUEST, None),
            AppError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, None),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, None),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            AppError::Conflict(_) => (StatusCode::CONFLICT, None),
            AppError::TooManyRequests(secs) => (StatusCode::TOO_MANY_REQUESTS, Some(*secs)),
            AppError::Busy(secs) => (StatusCode::SERVICE_UNAVAILABLE, Some(*secs)),
            AppError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, None),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None),
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Some(UNAVAILABLE_RETRY_SECS),
            ),
        };
        let body = match self {
            AppError::BadRequest { message, rejected } => json!(ErrorBody {
                error: message,
                rejected
            }),
            AppError::Unavailable(source) if crate::db::is_read_timeout(&source) => {
                tracing::warn!(error = %source, "a report read was over its budget");
                json!({
                    "error": "busy: the report took longer than the collector allows a read, \
                              retry later or ask for a shorter range"
                })
            }
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, "storage unavailable");
                json!({ "error": "storage is unavailable, retry later" })
            }
            other => json!({ "error": other.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A query string decoded like axum's `Query`, but refused with the API's JSON error body
/// (axum's own rejection is `text/plain`).
pub struct Params<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| AppError::bad_request(format!("query: {}", e.body_text())))
    }
}
