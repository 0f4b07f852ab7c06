//! rapport-collector: receives Rapport batches, stores them, and serves the dashboard.
//!
//! [`app`] builds the whole HTTP surface from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket.

pub mod api;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod experiments;
pub mod ingest;
pub mod limit;
pub mod loyalty;
pub mod programs;
pub mod stats;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use db::Db;
pub use error::AppError;
pub use limit::RateLimit;

/// Decompressed request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Sites and who may send for them (`rapport.toml`).
    pub config: std::sync::Arc<Config>,
    /// The demo site, served under `/demo/` when set.
    pub demo_dir: Option<PathBuf>,
    /// The built widget (`dist/embed`), served under `/embed/` when set.
    pub embed_dir: Option<PathBuf>,
    /// Ingest requests allowed per client.
    pub rate_limit: RateLimit,
    /// Load balancers whose `X-Forwarded-For` names the client (`--trusted-proxies`).
    pub trusted_proxies: limit::TrustedProxies,
    /// When set, the site data (`…/events`, `…/stats`) answers only requests with
    /// `Authorization: Bearer <token>`. The dashboard asks for it on each page load.
    pub read_token: Option<std::sync::Arc<str>>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> AppState {
        AppState {
            db,
            config: std::sync::Arc::new(config),
            demo_dir: None,
            embed_dir: None,
            rate_limit: RateLimit::default(),
            trusted_proxies: limit::TrustedProxies::default(),
            read_token: None,
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn app(state: AppState) -> Router {
    // Widgets post from the sites' own origins; text/plain bodies need no preflight, and
    // the preflight for application/json is answered here.
    let config = state.config.clone();
    let allowed = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin.to_str().is_ok_and(|o| config.any_site_allows(o))
    });
    let cors = CorsLayer::new()
        .allow_origin(allowed.clone())
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        // The widget honours Retry-After on 429 and 503, also across origins.
        .expose_headers([header::RETRY_AFTER]);
    // The loyalty and referral panels call these from the sites' pages with the shopper's
    // signed identity in headers, which needs a preflight.
    let shopper_cors = CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static(loyalty::USER_HEADER),
            header::HeaderName::from_static(loyalty::USER_HASH_HEADER),
            header::HeaderName::from_static(loyalty::USER_EXPIRES_HEADER),
            header::HeaderName::from_static(loyalty::VISITOR_HEADER),
            header::HeaderName::from_static(loyalty::IDEMPOTENCY_HEADER),
        ]);
    let shopper = Router::new()
        // The widget reads its site's prompts and theme from the sites' pages.
        .route("/v1/sites/{site}/config", get(site_config))
        .route("/v1/sites/{site}/loyalty", get(loyalty::loyalty_status))
        .route("/v1/sites/{site}/loyalty/redeem", post(loyalty::redeem))
        .route("/v1/sites/{site}/referral", get(loyalty::referral_status))
        .layer(shopper_cors);
    // Decompression sits outside the body limit, so the limit counts decompressed bytes and
    // a gzip bomb stops at 1 MB.
    let ingest = Router::new()
        .route("/v1/batch", post(ingest::post_batch))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(cors);
    let mut router = Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(healthz))
        .route(
            "/openapi.json",
            get(|| async { Json(<api::ApiDoc as utoipa::OpenApi>::openapi()) }),
        )
        .route("/readyz", get(readyz))
        .merge(
            Router::new()
                .route("/v1/sites/{site}/events", get(recent_events))
                .route("/v1/sites/{site}/stats", get(site_stats))
                .route(
                    "/v1/sites/{site}/experiments",
                    get(experiments::site_experiments),
                )
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    require_read_token,
                )),
        )
        // Server to server, signed with the site secret.
        .route("/v1/sites/{site}/orders", post(loyalty::order_webhook))
        .merge(shopper)
        .merge(ingest);
    if let Some(dir) = &state.demo_dir {
        router = router
            .nest_service("/demo", ServeDir::new(dir))
            .merge(demo::routes());
    }
    if let Some(dir) = &state.embed_dir {
        // Any page may load the widget, including sandboxed frames with an opaque origin,
        // which fetch the glue and the wasm in CORS mode.
        let open = CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([Method::GET]);
        router = router.merge(
            Router::new()
                .nest_service("/embed", ServeDir::new(dir))
                .layer(open),
        );
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.trusted_proxies.clone(),
            limit::client_addr,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// With a read token configured, site data needs `Authorization: Bearer <token>` (compared in
/// constant time); otherwise it is open, as on a collector that only listens on loopback.
async fn require_read_token(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(token) = &state.read_token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, t)| t.trim());
        if !loyalty::same_secret(token, given) {
            let mut response = AppError::Unauthorized(
                "authorization: send Authorization: Bearer <the collector's read token>".into(),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready", body = String),
        (status = 503, description = "Storage unavailable", body = String),
    )
)]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable"),
    }
}

/// The config of `site`: 400 for an id that breaks the rules, 404 for one not configured.
pub(crate) fn known_site<'a>(
    state: &'a AppState,
    site: &str,
) -> Result<&'a config::SiteConfig, AppError> {
    rapport_core::validate::site(site).map_err(|e| AppError::bad_request(e.to_string()))?;
    state
        .config
        .site(site)
        .ok_or_else(|| AppError::NotFound(format!("site: \"{site}\" is not configured")))
}

/// The public part of a site's config, for the widget. Never the write key.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/config",
    params(("site" = String, Path, description = "site id: 1-64 characters of a-z, 0-9, _, . and -", pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)),
    responses(
        (status = 200, description = "Cacheable for 5 minutes", body = api::PublicSiteConfig),
        (status = 400, description = "Site id breaks the rules", body = api::ErrorBody),
        (status = 404, description = "Site not configured", body = api::ErrorBody),
    )
)]
async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let site = known_site(&state, &site)?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(api::PublicSiteConfig {
            site: site.id.clone(),
            programs: site.programs(),
        }),
    ))
}

/// `from` and `to` of a stats-like request as epoch days: real dates from 0001-01-01 to
/// 9999-12-31, `to` today and `from` 29 days before it by default, `from` ≤ `to`, at most
/// 366 days. A 400 names the parameter.
pub(crate) fn date_range(
    from: Option<&String>,
    to: Option<&String>,
) -> Result<(i64, i64), AppError> {
    let date = |field: &str, value: Option<&String>, default: i64| match value {
        None => Ok(default),
        Some(text) => stats::parse_date(text).ok_or_else(|| {
            AppError::bad_request(format!(
                "{field}: \"{text}\" is not a date from {} to {}, like 2026-11-22",
                stats::FIRST_DATE,
                stats::LAST_DATE
            ))
        }),
    };
    let today = stats::day_of(now_ms() as i64);
    let to = date("to", to, today)?;
    let from = date("from", from, to - 29)?;
    if from > to {
        return Err(AppError::bad_request("from: must not be after to"));
    }
    if to - from >= MAX_STATS_DAYS {
        return Err(AppError::bad_request(
            "from: the range may cover at most 366 days",
        ));
    }
    Ok((from, to))
}

#[derive(Deserialize)]
struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Longest range one stats request may cover, in days.
const MAX_STATS_DAYS: i64 = 366;

/// `GET /v1/sites/{site}/stats?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, inclusive; the last
/// 30 days by default).
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/stats",
    params(
        ("site" = String, Path, description = "site id: 1-64 characters of a-z, 0-9, _, . and -", pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64),
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days before `to`", format = Date),
        ("to" = Option<String>, Query, description = "last UTC day, YYYY-MM-DD (default: today); not before `from`", format = Date),
    ),
    responses(
        (status = 200, description = "Metrics in total and per day (docs/metrics.md)", body = stats::Stats),
        (status = 400, description = "Bad date or range", body = api::ErrorBody),
        (status = 404, description = "Site not configured", body = api::ErrorBody),
    )
)]
async fn site_stats(
    State(state): State<AppState>,
    Path(site): Path<String>,
    error::Params(query): error::Params<StatsQuery>,
) -> Result<Json<stats::Stats>, AppError> {
    let config = known_site(&state, &site)?;
    let (from, to) = date_range(query.from.as_ref(), query.to.as_ref())?;
    let mut stats = stats::stats(&state.db, &site, from, to)
        .await
        .map_err(AppError::Unavailable)?;
    if config.referral.is_some() || config.loyalty.is_some() {
        // Rewards whose hold period is over count as earned. Releasing them is the same
        // write the shoppers' own reads make; if it fails, the stats still answer, with
        // those rewards as pending.
        if let Err(e) = loyalty::release_due(&state.db, config, now_ms()).await {
            tracing::warn!("releasing held rewards for stats: {e}");
        }
        loyalty::totals(
            &state.db,
            &site,
            stats::day_start_ms(from),
            stats::day_start_ms(to + 1),
            &mut stats.programs,
        )
        .await
        .map_err(AppError::Unavailable)?;
    }
    Ok(Json(stats))
}

#[derive(Deserialize)]
struct RecentQuery {
    limit: Option<u32>,
}

/// The newest stored events of a site.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/events",
    params(
        ("site" = String, Path, description = "site id: 1-64 characters of a-z, 0-9, _, . and -", pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Newest first", body = api::EventsPage),
        (status = 400, description = "Bad limit", body = api::ErrorBody),
        (status = 404, description = "Site not configured", body = api::ErrorBody),
    )
)]
async fn recent_events(
    State(state): State<AppState>,
    Path(site): Path<String>,
    error::Params(query): error::Params<RecentQuery>,
) -> Result<Json<api::EventsPage>, AppError> {
    known_site(&state, &site)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("limit: must be between 1 and 500"));
    }
    let events = state
        .db
        .recent_events(&site, limit)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(api::EventsPage { site, events }))
}
