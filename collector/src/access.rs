//! Who reads the site data: the admin token (every site), an owner's token (the sites whose
//! `[[site]] owners` list its hash), a shared link's token (one site's stats, never its
//! events or feedback: a hash in `[[site]] shared`, or a link an owner made, in the
//! `shared_links` table until revoked), or, with no token configured, a client on loopback that names a
//! loopback host (or anyone, with `--public-reads`).
//!
//! A site the caller may not read answers the 404 of a site that does not exist, byte for
//! byte, so a token cannot probe which ids exist. Depends on `state`, `config`, `secret` and
//! `error`, and on `db` for the links owners made.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::TokenSites;
use crate::error::{AppError, ErrorBody};
use crate::secret;
use crate::state::{not_configured, AppState};

/// Who sent a read, as its token (or its place, without one) says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// No token is configured and the read is local (or `--public-reads`): every site.
    Anyone,
    /// The admin token: every site.
    Admin,
    /// An owner's token: all the data of these sites.
    Owner(Vec<String>),
    /// A shared link's token: this site's stats.
    Shared(String),
}

impl Reader {
    /// Whether this reader sees `site` at all.
    pub fn sees(&self, site: &str) -> bool {
        match self {
            Reader::Anyone | Reader::Admin => true,
            Reader::Owner(sites) => sites.iter().any(|s| s == site),
            Reader::Shared(s) => s == site,
        }
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case), if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
}

/// 401 with `WWW-Authenticate: Bearer`.
fn unauthorized(message: &str) -> Response {
    let mut response = AppError::Unauthorized(message.into()).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

const NO_TOKEN: &str = "authorization: send Authorization: Bearer <an owner token, a shared \
                        link's token or the admin token>";
const WRONG_TOKEN: &str = "authorization: the token is not an owner's, a shared link's or the \
                           admin's on this collector";
const NOT_LOCAL: &str = "authorization: no read token is configured, so the site data answers \
                         only clients on loopback that send a Host of localhost, 127.0.0.1 or \
                         [::1], not through a proxy; configure [[site]] owners or \
                         --admin-token (or --public-reads)";
const STATS_ONLY: &str = "authorization: a shared link reads the site's stats, not its events \
                          or feedback";

/// Whether `host` (a `Host` header or a URI's host, with or without a port) names loopback:
/// `localhost` or a loopback address. Any other name may resolve anywhere, as a DNS-rebinding
/// page's does.
pub fn loopback_host(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return port_ok
            && ip
                .parse::<std::net::Ipv6Addr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback());
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return false,
        None => host,
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// A read from this machine: a loopback peer, no proxy's forwarding headers, and every host
/// the request names (its `Host`, an absolute URI's) a loopback one.
fn local(parts: &Parts) -> bool {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().to_canonical().is_loopback());
    let proxied = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-real-ip",
    ]
    .iter()
    .any(|h| parts.headers.contains_key(*h));
    let host_header = parts.headers.get(header::HOST).map(|h| h.to_str());
    let hosts_ok = match (parts.uri.authority(), host_header) {
        (None, None) | (_, Some(Err(_))) => false,
        (authority, host) => {
            authority.is_none_or(|a| loopback_host(a.as_str()))
                && host.is_none_or(|h| h.is_ok_and(loopback_host))
        }
    };
    peer && !proxied && hosts_ok
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Reader, Response> {
        if !state.has_read_tokens() {
            if state.public_reads || local(parts) {
                return Ok(Reader::Anyone);
            }
            return Err(AppError::Forbidden(NOT_LOCAL.into()).into_response());
        }
        let Some(given) = bearer(&parts.headers) else {
            return Err(unauthorized(NO_TOKEN));
        };
        if let Some(admin) = &state.admin_token {
            if secret::same_secret(admin, given) {
                return Ok(Reader::Admin);
            }
        }
        let hash = secret::token_hash(given);
        match state.config.token_sites(&hash) {
            TokenSites::Owner(sites) => Ok(Reader::Owner(sites)),
            TokenSites::Shared(site) => Ok(Reader::Shared(site)),
            // Not a configured hash: perhaps a link an owner made, unless it was revoked.
            TokenSites::Unknown => match state.db.shared_link_site(&hash).await {
                Ok(Some(site)) => Ok(Reader::Shared(site)),
                Ok(None) => Err(unauthorized(WRONG_TOKEN)),
                Err(e) => Err(AppError::Unavailable(e).into_response()),
            },
        }
    }
}

/// What the caller may read of `site`: a bad id is a 400 whoever asks; a site it does not
/// see is the 404 of an unknown site; a shared link reaching for private data is a 403.
pub(crate) fn check(reader: &Reader, site: &str, private: bool) -> Result<(), AppError> {
    rapport_core::validate::site(site).map_err(|e| AppError::bad_request(e.to_string()))?;
    if !reader.sees(site) {
        return Err(not_configured(site));
    }
    if private && matches!(reader, Reader::Shared(_)) {
        return Err(AppError::Forbidden(STATS_ONLY.into()));
    }
    Ok(())
}

/// Middleware of the aggregate reads (stats, breakdown, prompts, experiments, live), which
/// shared links may make too.
pub async fn stats_access(
    reader: Reader,
    Path(site): Path<String>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match check(&reader, &site, false) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Middleware of the reads of single events and answers (events, feedback): owners and the
/// admin only.
pub async fn private_access(
    reader: Reader,
    Path(site): Path<String>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match check(&reader, &site, true) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// How much of a site the caller reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    /// Its stats, events and feedback.
    All,
    /// Its stats only (a shared link): `…/events` and `…/feedback` answer 403.
    Stats,
}

/// One site the caller may read.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReadableSite {
    pub id: String,
    pub access: AccessLevel,
}

/// The sites the caller may read, in the config's order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SiteList {
    pub sites: Vec<ReadableSite>,
}

/// The sites the caller's token reads, for the dashboard's site picker.
#[utoipa::path(
    get,
    path = "/v1/sites",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sites this token reads", body = SiteList),
        (status = 401, description = "Read tokens are configured and none (or an unknown one) was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = ErrorBody),
        (status = 503, description = "Storage unavailable (a token that is no configured one is looked up among the shared links owners made); see Retry-After", body = ErrorBody),
    )
)]
pub async fn readable_sites(State(state): State<AppState>, reader: Reader) -> Json<SiteList> {
    let access = match reader {
        Reader::Shared(_) => AccessLevel::Stats,
        _ => AccessLevel::All,
    };
    let sites = state
        .config
        .sites
        .iter()
        .filter(|s| reader.sees(&s.id))
        .map(|s| ReadableSite {
            id: s.id.clone(),
            access,
        })
        .collect();
    Json(SiteList { sites })
}

#[cfg(test)]
mod tests {
    use super::loopback_host;

    #[test]
    fn only_loopback_names_and_addresses_are_local_hosts() {
        for host in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.8.9.10:1",
            "[::1]",
            "[::1]:8787",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8787",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8787",
            "0.0.0.0:8787",
            "[::2]:80",
            "[::1]x",
            "127.0.0.1:notaport",
            "localhost:8787:1",
            "::1",
        ] {
            assert!(!loopback_host(host), "{host}");
        }
    }
}
