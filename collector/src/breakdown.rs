//! `GET /v1/sites/{site}/breakdown`: a range's visitors and page views by one dimension
//! (`report::breakdown`).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

pub use rapport_core::report::Breakdown;

use crate::error::{AppError, ErrorBody, Params};
use crate::report::breakdown::{breakdown, DIMENSIONS};
use crate::report::filter::Filters;
use crate::report::stats;
use crate::state::{date_range, known_site, AppState};

#[derive(Deserialize)]
pub struct BreakdownQuery {
    dimension: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(flatten)]
    filters: Filters,
}

/// `GET /v1/sites/{site}/breakdown?dimension=…&from&to`.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/breakdown",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        Filters,
        ("dimension" = String, Query, description = "what to group by", example = "page",
            pattern = "^(page|entry_page|exit_page|referrer|utm_source|utm_medium|utm_campaign|visitor_type|referred|device)$"),
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days before `to`", format = Date),
        ("to" = Option<String>, Query, description = "last UTC day, YYYY-MM-DD (default: today); not before `from`", format = Date),
    ),
    responses(
        (status = 200, description = "The values with the most visitors, most first", body = Breakdown),
        (status = 400, description = "Unknown dimension, bad date, range or filter", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable, or the report took longer than the read budget (--read-timeout-seconds); see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn site_breakdown(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<BreakdownQuery>,
) -> Result<Json<Breakdown>, AppError> {
    known_site(&state, &site)?;
    let dimension = query.dimension.unwrap_or_default();
    let (from, to) = date_range(query.from.as_ref(), query.to.as_ref())?;
    let filters = query.filters.list()?;
    let rows = breakdown(&state.db, &site, &dimension, from, to, &filters)
        .await
        .map_err(AppError::Unavailable)?
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "dimension: must be one of {}",
                DIMENSIONS.join(", ")
            ))
        })?;
    Ok(Json(Breakdown {
        site,
        from: stats::date_of(from),
        to: stats::date_of(to),
        dimension,
        filters,
        rows,
    }))
}
