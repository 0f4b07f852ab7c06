//! The site-data handlers: the public site config for the widget, the stats and the newest
//! events (the dashboard's reads), with their response bodies.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use rapport_core::report::{Answer, Answers, EventsPage, Live};

use crate::error::{AppError, ErrorBody, Params};
use crate::loyalty;
use crate::report::stats;
use crate::state::{date_range, known_site, now_ms, AppState, StatsQuery};

/// What the widget may know of its site's config: never write keys or secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSiteConfig {
    pub site: String,
    #[serde(flatten)]
    pub programs: crate::programs::Programs,
}

/// The public part of a site's config, for the widget. Never the write key.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/config",
    params(crate::state::SitePath),
    responses(
        (status = 200, description = "Cacheable for 5 minutes", body = PublicSiteConfig),
        (status = 400, description = "Site id breaks the rules", body = ErrorBody),
        (status = 404, description = "Site not configured", body = ErrorBody),
    )
)]
pub async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let site = known_site(&state, &site)?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(PublicSiteConfig {
            site: site.id.clone(),
            programs: site.programs(),
        }),
    ))
}

/// `GET /v1/sites/{site}/stats?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, inclusive; the last
/// 30 days by default), optionally for one segment (`&device=mobile`, see `filter`). The
/// loyalty ledger's figures are the whole site's: orders and points belong to customers,
/// not to sessions.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/stats",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        crate::report::filter::Filters,
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days before `to`", format = Date),
        ("to" = Option<String>, Query, description = "last UTC day, YYYY-MM-DD (default: today); not before `from`", format = Date),
    ),
    responses(
        (status = 200, description = "Metrics in total, per day, and per hour for one day (docs/metrics.md), over the sessions that pass the filters", body = stats::Stats),
        (status = 400, description = "Bad date, range or filter", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable, or the report took longer than the read budget (--read-timeout-seconds); see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn site_stats(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<StatsQuery>,
) -> Result<Json<stats::Stats>, AppError> {
    let config = known_site(&state, &site)?;
    let (from, to) = date_range(query.from.as_ref(), query.to.as_ref())?;
    let filters = query.filters.list()?;
    let mut stats = stats::stats(&state.db, &site, from, to, &filters)
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
pub struct RecentQuery {
    limit: Option<u32>,
}

/// The newest stored events of a site.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/events",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Newest first", body = EventsPage),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local, or the token is a shared link's, which reads the stats only", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn recent_events(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<RecentQuery>,
) -> Result<Json<EventsPage>, AppError> {
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
    Ok(Json(EventsPage { site, events }))
}

/// The live count's window.
pub const LIVE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// `GET /v1/sites/{site}/live`: distinct visitors with an event received in the last 5
/// minutes, counted in the database.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/live",
    security(("bearer" = [])),
    params(crate::state::SitePath),
    responses(
        (status = 200, description = "Visitors in the last 5 minutes", body = Live),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable, or the report took longer than the read budget (--read-timeout-seconds); see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn site_live(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<Live>, AppError> {
    known_site(&state, &site)?;
    let at = now_ms() as i64;
    let sql = format!(
        "SELECT COALESCE(COUNT(DISTINCT visitor_id), 0) FROM {} \
         WHERE site = $1 AND received_at >= $2",
        state.db.dialect().events()
    );
    let rows = state
        .db
        .read(
            &sql,
            &[
                crate::db::Param::Text(site.clone()),
                crate::db::Param::Int(at - LIVE_WINDOW_MS as i64),
            ],
        )
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(Live {
        site,
        visitors: rows.first().map_or(0, |r| r.count(0)),
        window_ms: LIVE_WINDOW_MS,
        at,
    }))
}

/// `GET /v1/sites/{site}/feedback?limit=N`: the newest answers to prompts
/// (`feedback_submitted` events), with their prompt, variant, score, text and page.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/feedback",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        ("limit" = Option<u32>, Query, description = "1 to 200, default 20", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "Newest first", body = Answers),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local, or the token is a shared link's, which reads the stats only", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn feedback_answers(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<RecentQuery>,
) -> Result<Json<Answers>, AppError> {
    known_site(&state, &site)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("limit: must be between 1 and 200"));
    }
    let events = state
        .db
        .recent(&site, Some("feedback_submitted"), limit)
        .await
        .map_err(AppError::Unavailable)?;
    let text = |p: &serde_json::Value, k: &str| p.get(k).and_then(|v| v.as_str()).map(String::from);
    let answers = events
        .into_iter()
        .map(|e| Answer {
            ts: e.ts,
            url: e.url,
            prompt_id: text(&e.props, "prompt_id"),
            variant: text(&e.props, "variant"),
            kind: text(&e.props, "type"),
            score: e.props.get("score").and_then(|v| v.as_f64()),
            text: text(&e.props, "text"),
            choice: text(&e.props, "choice_text"),
        })
        .collect();
    Ok(Json(Answers { site, answers }))
}
