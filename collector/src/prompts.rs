//! `GET /v1/sites/{site}/prompts`: each prompt's results in the range (`report::prompts`).

use axum::extract::{Path, State};
use axum::Json;

pub use rapport_core::report::Prompts;

use crate::error::{AppError, ErrorBody, Params};
use crate::report::prompts::results;
use crate::report::stats;
use crate::state::{date_range, known_site, AppState, StatsQuery};

/// `GET /v1/sites/{site}/prompts?from&to`.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/prompts",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        crate::report::filter::Filters,
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days before `to`", format = Date),
        ("to" = Option<String>, Query, description = "last UTC day, YYYY-MM-DD (default: today); not before `from`", format = Date),
    ),
    responses(
        (status = 200, description = "Each prompt with events in the range, per variant, over the sessions that pass the filters", body = Prompts),
        (status = 400, description = "Bad date, range or filter", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable, or the report took longer than the read budget (--read-timeout-seconds); see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn site_prompts(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<StatsQuery>,
) -> Result<Json<Prompts>, AppError> {
    known_site(&state, &site)?;
    let (from, to) = date_range(query.from.as_ref(), query.to.as_ref())?;
    let filters = query.filters.list()?;
    let prompts = results(&state.db, &site, from, to, &filters)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(Prompts {
        site,
        from: stats::date_of(from),
        to: stats::date_of(to),
        filters,
        prompts,
    }))
}
