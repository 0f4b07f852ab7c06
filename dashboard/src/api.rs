//! Reads from the collector: one GET with the owner's (or a shared link's) token when there
//! is one, decoded into the collector's own response types; an error carries the
//! collector's JSON error message.

use serde::de::DeserializeOwned;

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// 0 when the request did not reach the collector.
    pub status: u16,
    pub message: String,
}

/// One site the token reads (`GET /v1/sites`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct ReadableSite {
    pub id: String,
    /// `all`, or `stats` for a shared link (no events, no feedback).
    pub access: String,
}

impl ReadableSite {
    pub fn stats_only(&self) -> bool {
        self.access == "stats"
    }
}

#[derive(serde::Deserialize)]
pub struct SiteList {
    pub sites: Vec<ReadableSite>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
}

pub async fn get<T: DeserializeOwned>(url: &str, token: &str) -> Result<T, ApiError> {
    let mut request = gloo_net::http::Request::get(url);
    if !token.is_empty() {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let response = request.send().await.map_err(|e| ApiError {
        status: 0,
        message: e.to_string(),
    })?;
    let status = response.status();
    if !response.ok() {
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.error,
            Err(_) => response.status_text(),
        };
        return Err(ApiError { status, message });
    }
    response.json::<T>().await.map_err(|e| ApiError {
        status,
        message: e.to_string(),
    })
}
