//! Reads from the collector, and the owner's few writes (shared links): one request with the owner's (or a shared link's) token when there
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

/// A shared link of the site, as its list shows it (`GET …/shared-links`): no token.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct SharedLink {
    pub id: String,
    pub label: String,
    /// Milliseconds since the epoch.
    pub created_at: u64,
}

#[derive(serde::Deserialize)]
pub struct SharedLinks {
    pub links: Vec<SharedLink>,
}

/// A link just made (`POST …/shared-links`): its token, shown this once.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct CreatedLink {
    pub id: String,
    pub token: String,
}

fn unreachable(e: gloo_net::Error) -> ApiError {
    ApiError {
        status: 0,
        message: e.to_string(),
    }
}

fn authorized(
    request: gloo_net::http::RequestBuilder,
    token: &str,
) -> gloo_net::http::RequestBuilder {
    if token.is_empty() {
        request
    } else {
        request.header("authorization", &format!("Bearer {token}"))
    }
}

pub async fn get<T: DeserializeOwned>(url: &str, token: &str) -> Result<T, ApiError> {
    let request = authorized(gloo_net::http::Request::get(url), token);
    let response = request.send().await.map_err(unreachable)?;
    answer(response).await
}

/// POSTs `body` (JSON) and decodes the answer.
pub async fn post<T: DeserializeOwned>(url: &str, token: &str, body: &str) -> Result<T, ApiError> {
    let request = authorized(gloo_net::http::Request::post(url), token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .map_err(unreachable)?;
    let response = request.send().await.map_err(unreachable)?;
    answer(response).await
}

/// DELETEs `url`; the collector answers 204 with no body.
pub async fn delete(url: &str, token: &str) -> Result<(), ApiError> {
    let request = authorized(gloo_net::http::Request::delete(url), token);
    let response = request.send().await.map_err(unreachable)?;
    if response.ok() {
        return Ok(());
    }
    Err(refusal(response).await)
}

async fn refusal(response: gloo_net::http::Response) -> ApiError {
    let message = match response.json::<ErrorBody>().await {
        Ok(body) => body.error,
        Err(_) => response.status_text(),
    };
    ApiError {
        status: response.status(),
        message,
    }
}

async fn answer<T: DeserializeOwned>(response: gloo_net::http::Response) -> Result<T, ApiError> {
    let status = response.status();
    if !response.ok() {
        return Err(refusal(response).await);
    }
    response.json::<T>().await.map_err(|e| ApiError {
        status,
        message: e.to_string(),
    })
}
