//! `GET /v1/sites/{site}/experiments`: page experiments' results (`report::experiments`).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

pub use rapport_core::report::Experiments;

use crate::error::{AppError, Params};
use crate::report::experiments::results;
use crate::report::stats;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ExperimentsQuery {
    from: Option<String>,
    to: Option<String>,
    goal: Option<String>,
}

/// `GET /v1/sites/{site}/experiments?from&to&goal`: every experiment with exposures in the
/// range, per variant, against the control.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/experiments",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days before `to`", format = Date),
        ("to" = Option<String>, Query, description = "last UTC day, YYYY-MM-DD (default: today); not before `from`", format = Date),
        ("goal" = Option<String>, Query, description = "the event that counts as a conversion (default: purchase)", pattern = r"^[a-z0-9_.-]{1,64}$"),
    ),
    responses(
        (status = 200, description = "Results per experiment and variant (docs/metrics.md#experiments)", body = Experiments),
        (status = 400, description = "Bad date, range or goal", body = crate::error::ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = crate::error::ErrorBody),
        (status = 403, description = "No read token is configured and the request is not local", body = crate::error::ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = crate::error::ErrorBody),
        (status = 503, description = "Storage unavailable, or the report took longer than the read budget (--read-timeout-seconds); see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn site_experiments(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Params(query): Params<ExperimentsQuery>,
) -> Result<Json<Experiments>, AppError> {
    crate::state::known_site(&state, &site)?;
    let (from, to) = crate::state::date_range(query.from.as_ref(), query.to.as_ref())?;
    let goal = query.goal.unwrap_or_else(|| "purchase".into());
    rapport_core::validate::event_name(&goal)
        .map_err(|e| AppError::bad_request(format!("goal: {}", e.reason)))?;
    let experiments = results(&state.db, &site, from, to, &goal)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(Experiments {
        site,
        from: stats::date_of(from),
        to: stats::date_of(to),
        goal,
        experiments,
    }))
}
