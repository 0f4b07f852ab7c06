//! A range's visitors and page views by one dimension, grouped in the database on every
//! backend. Pages, referrer hosts, campaigns and device classes are columns filled at
//! ingest; new or returning and referred are decided per visitor; entry and exit pages per
//! session, with each backend's own way of taking a group's first row (SQLite's bare columns
//! with `MIN`, PostgreSQL's `DISTINCT ON`, ClickHouse's `argMin`: `filter::session_pages`).

pub use rapport_core::report::{BreakdownRow, DIMENSIONS, REFERRED, VISITOR_TYPES};

use super::filter::{session_pages, Filter, Scope};
use crate::db::{Db, Dialect};

/// Rows of one breakdown, most visitors first.
const ROWS: u32 = 50;

/// The SQL of a dimension over the events that meet `scope`; its rows are (value,
/// visitors, page views).
fn sql(d: Dialect, dimension: &str, scope: &str) -> Option<String> {
    // Distinct visitors and pageviews, a visitor's flags, one row per session: a copy of an
    // event not merged yet changes none, so ClickHouse reads without `FINAL`.
    let events = d.events_as_stored();
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
