//! rapport-collector: receives Rapport batches, stores them, and serves the dashboard.
//!
//! [`app`] builds the whole HTTP surface from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket.
//!
//! Modules depend one way (ARCHITECTURE.md): this file's routes and the OpenAPI description
//! (`api`) on the handlers (`ingest`, `sites`, `breakdown`, `prompts`, `experiments`,
//! `loyalty`, `links`, `demo`, `health`) and on `access`, which decides who reads the site
//! data; the handlers and `access` on `state`; the handlers and `state` on the report layer
//! (`report`: the reports' queries, which import no handler and not `state`); all of them on
//! storage (`db`), `config` and `limit`; and everything on the leaves `error`, `secret` and
//! `programs`. `import` (the bulk import command) rests on storage only.

pub mod access;
pub mod api;
pub mod breakdown;
pub mod config;
pub mod db;
pub mod demo;
pub mod device;
pub mod error;
pub mod experiments;
pub mod health;
pub mod import;
pub mod ingest;
pub mod limit;
pub mod links;
pub mod loyalty;
pub mod programs;
pub mod prompts;
pub mod report;
pub mod secret;
pub mod serve;
pub mod sites;
pub mod state;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{Html, IntoResponse};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use db::Db;
pub use error::AppError;
pub use limit::RateLimit;
pub use state::{now_ms, AppState};

/// Decompressed request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
        .route("/v1/sites/{site}/loyalty", get(loyalty::loyalty_status))
        .route("/v1/sites/{site}/loyalty/redeem", post(loyalty::redeem))
        .route("/v1/sites/{site}/referral", get(loyalty::referral_status))
        // Each of these reads the ledger or the referral state: bounded per client and site.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_shopper,
        ))
        // The widget reads its site's prompts and theme from the sites' pages.
        .route("/v1/sites/{site}/config", get(sites::site_config))
        .layer(shopper_cors);
    // Decompression sits outside the body limit, so the limit counts decompressed bytes and
    // a gzip bomb stops at 1 MB.
    let ingest = Router::new()
        .route("/v1/batch", post(ingest::post_batch))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(axum::middleware::map_request(ingest::url_encoding))
        .layer(cors);
    let mut router = Router::new()
        .route("/", get(dashboard))
        .route(
            "/openapi.json",
            get(|| async { Json(<api::ApiDoc as utoipa::OpenApi>::openapi()) }),
        )
        .route("/v1/sites", get(access::readable_sites))
        // The site data: owners and the admin read all of it, shared links the aggregates.
        .merge(
            Router::new()
                .route("/v1/sites/{site}/stats", get(sites::site_stats))
                .route("/v1/sites/{site}/live", get(sites::site_live))
                .route("/v1/sites/{site}/prompts", get(prompts::site_prompts))
                .route("/v1/sites/{site}/breakdown", get(breakdown::site_breakdown))
                .route(
                    "/v1/sites/{site}/experiments",
                    get(experiments::site_experiments),
                )
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    access::stats_access,
                )),
        )
        .merge(
            Router::new()
                .route("/v1/sites/{site}/events", get(sites::recent_events))
                .route("/v1/sites/{site}/feedback", get(sites::feedback_answers))
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    access::private_access,
                )),
        )
        // The site's shared links, which its owners (and the admin) make and revoke.
        .route(
            "/v1/sites/{site}/shared-links",
            get(links::list).post(links::create),
        )
        .route("/v1/sites/{site}/shared-links/{id}", delete(links::revoke))
        // Server to server, signed with the site secret.
        .route("/v1/sites/{site}/orders", post(loyalty::order_webhook))
        .route(
            "/v1/sites/{site}/coupons/{code}/consume",
            post(loyalty::consume_coupon),
        )
        .merge(shopper)
        .merge(ingest);
    if let Some(dir) = &state.demo_dir {
        router = router
            .nest_service("/demo", ServeDir::new(dir))
            .merge(demo::routes());
    }
    if let Some(dir) = &state.dashboard_dir {
        // The dashboard's wasm is about 1 MB; gzip takes it to about a quarter.
        router = router.merge(
            Router::new()
                .nest_service("/dashboard", ServeDir::new(dir))
                .layer(tower_http::compression::CompressionLayer::new()),
        );
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
    // Every route but the health checks counts against the cap on requests in progress and
    // has its body read within the deadline before its handler runs; the health checks
    // answer however busy the collector is.
    let limits = &state.limits;
    router
        .layer(axum::middleware::from_fn_with_state(
            (limits.in_flight.clone(), limits.body_timeout),
            serve::bounded,
        ))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(axum::middleware::from_fn_with_state(
            state.trusted_proxies.clone(),
            limit::client_addr,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// 429 with `Retry-After` once a client has used up its shopper bucket for the site of
/// the path (`/v1/sites/{site}/…`).
async fn limit_shopper(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let site = request
        .uri()
        .path()
        .strip_prefix("/v1/sites/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_owned();
    let client = request
        .extensions()
        .get::<limit::ClientAddr>()
        .copied()
        .unwrap_or(limit::ClientAddr(None));
    if let Err(secs) = state.shopper_rate_limit.check(&site, client) {
        return AppError::TooManyRequests(secs).into_response();
    }
    next.run(request).await
}

/// The dashboard's page (its script and wasm are under `/dashboard/`); without a built
/// dashboard, a page that says how to build one.
async fn dashboard(State(state): State<AppState>) -> Html<String> {
    let built = match &state.dashboard_dir {
        Some(dir) => tokio::fs::read_to_string(dir.join("index.html")).await.ok(),
        None => None,
    };
    Html(built.unwrap_or_else(|| NO_DASHBOARD.into()))
}

const NO_DASHBOARD: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
<title>Rapport collector</title><h1>Rapport collector</h1><p>The dashboard is not served \
here. Build it with <code>cargo xtask dist</code> and start the collector with \
<code>--dashboard-dir dist/dashboard</code>. The API is described at \
<a href=\"/openapi.json\">/openapi.json</a>.</p></html>";
