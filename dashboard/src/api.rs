//! Reads from the collector: one GET with the read token when there is one, decoded into the
//! collector's own response types; an error carries the collector's JSON error message.

use serde::de::DeserializeOwned;

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// 0 when the request did not reach the collector.
    pub status: u16,
    pub message: String,
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
