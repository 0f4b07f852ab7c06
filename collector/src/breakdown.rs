//! `GET /v1/sites/{site}/breakdown`: a range's visitors and page views by one dimension,
//! grouped in the database on every backend. Pages, referrer hosts, campaigns and device
//! classes are columns filled at ingest; new or returning and referred are decided per
//! visitor; entry and exit pages per session, with each backend's own way of taking a
//! group's first row (SQLite's bare columns with `MIN`, PostgreSQL's `DISTINCT ON`,
//! ClickHouse's `argMin`).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

pub use rapport_core::report::{Breakdown, BreakdownRow, DIMENSIONS, REFERRED, VISITOR_TYPES};

use crate::db::{Db, Dialect};
use crate::error::{AppError, ErrorBody, Params};
use crate::filter::{Filter, Filters, Scope};
use crate::state::{date_range, known_site, AppState};
use crate::stats;

const ROWS: u32 = 50;

#[derive(Deserialize)]
pub struct BreakdownQuery {
    dimension: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(flatten)]
    filters: Filters,
}

/// Each session's first (or `last`) page view in the events that meet `scope`, as rows of
/// (`sid` session, `vid` visitor, `p` path).
pub(crate) fn session_pages(d: Dialect, last: bool, scope: &str) -> String {
    match d {
        Dialect::Sqlite => format!(
            "SELECT session_id AS sid, visitor_id AS vid, path AS p, {}(ts) AS at \
             FROM events WHERE {scope} AND name = 'page_view' GROUP BY session_id",
            if last { "MAX" } else { "MIN" }
        ),
        Dialect::Postgres => format!(
            "SELECT DISTINCT ON (session_id) session_id AS sid, visitor_id AS vid, \
             path AS p FROM events WHERE {scope} AND name = 'page_view' \
             ORDER BY session_id, ts {}, pageview_id",
            if last { "DESC" } else { "ASC" }
        ),
        Dialect::ClickHouse => format!(
            "SELECT session_id AS sid, any(visitor_id) AS vid, {}(path, ts) AS p \
             FROM {} WHERE {scope} AND name = 'page_view' GROUP BY session_id",
            if last { "argMax" } else { "argMin" },
            d.events()
        ),
    }
}

/// The SQL of a dimension over the events that meet `scope`; its rows are (value,
/// visitors, page views).
fn sql(d: Dialect, dimension: &str, scope: &str) -> Option<String> {
    let events = d.events();
    let pageviews = "CAST(COALESCE(COUNT(DISTINCT CASE WHEN name = 'page_view' \
                     THEN pageview_id END), 0) AS BIGINT)";
    let by_event = |column: &str, only_views: bool| {
        let views = if only_views {
            " AND name = 'page_view'"
        } else {
            ""
        };
        format!(
            "SELECT {column} AS bucket, CAST(COUNT(DISTINCT visitor_id) AS BIGINT) AS vis, \
             {pageviews} AS pv FROM {events} WHERE {scope}{views} GROUP BY {column}"
        )
    };
    let by_visitor = |column: &str, yes: &str, no: &str| {
        let bucket = format!("CASE WHEN flag <> 0 THEN '{yes}' ELSE '{no}' END");
        format!(
            "SELECT {bucket} AS bucket, CAST(COUNT(*) AS BIGINT) AS vis, \
             CAST(SUM(views) AS BIGINT) AS pv FROM (SELECT visitor_id AS vid, \
             MAX({column}) AS flag, {pageviews} AS views FROM {events} WHERE {scope} \
             GROUP BY visitor_id) t GROUP BY {bucket}"
        )
    };
    let by_session = |last: bool| {
        format!(
            "SELECT p AS bucket, CAST(COUNT(DISTINCT vid) AS BIGINT) AS vis, \
             CAST(COUNT(*) AS BIGINT) AS pv FROM ({}) t GROUP BY p",
            session_pages(d, last, scope)
        )
    };
    let grouped = match dimension {
        "page" => by_event("path", true),
        "entry_page" => by_session(false),
        "exit_page" => by_session(true),
        "referrer" => by_event("COALESCE(referrer_host, '')", true),
        "utm_source" => by_event("COALESCE(utm_source, '')", false),
        "utm_medium" => by_event("COALESCE(utm_medium, '')", false),
        "utm_campaign" => by_event("COALESCE(utm_campaign, '')", false),
        "device" => by_event("COALESCE(device, '')", false),
        "visitor_type" => by_visitor("is_returning", VISITOR_TYPES[1], VISITOR_TYPES[0]),
        "referred" => by_visitor("referred", REFERRED[1], REFERRED[0]),
        _ => return None,
    };
    // Ordered outside, where `bucket` is a column (PostgreSQL collates columns, not aliases).
    Some(format!(
        "SELECT bucket, vis, pv FROM ({grouped}) o ORDER BY vis DESC, bucket{} LIMIT {ROWS}",
        d.bytewise()
    ))
}

/// The breakdown of `site` over the days `from..=to` by `dimension`, in the sessions that
/// pass `filters`.
pub async fn breakdown(
    db: &Db,
    site: &str,
    dimension: &str,
    from: i64,
    to: i64,
    filters: &[Filter],
) -> Result<Option<Vec<BreakdownRow>>, sqlx::Error> {
    let scope = Scope {
        site,
        from,
        to,
        filters,
    };
    let (scope, params) = scope.sql(db.dialect());
    let Some(sql) = sql(db.dialect(), dimension, &scope) else {
        return Ok(None);
    };
    let rows = db.read(&sql, &params).await?;
    Ok(Some(
        rows.iter()
            .map(|r| BreakdownRow {
                value: r.text(0),
                visitors: r.count(1),
                pageviews: r.count(2),
            })
            .collect(),
    ))
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
