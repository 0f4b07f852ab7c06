//! Filters on a report: any breakdown dimension as a query parameter
//! (`…/stats?device=mobile&utm_source=news`), so every figure of the dashboard can be read
//! for one segment. Filters combine with AND.
//!
//! A filter keeps whole sessions, not single events: a session with a page view of `/p/mug`
//! counts with all its events, so its bounce, engaged time and scroll stay what they were.
//! `visitor_type` and `referred` are decided per visitor, as their breakdowns are, and keep
//! whole visitors. So a filtered report's visitors equal the breakdown row's.

use serde::Deserialize;

pub use rapport_core::report::{Filter, REFERRED, VISITOR_TYPES};

use crate::db::{Dialect, Param};
use crate::error::AppError;

/// The rows of a site in the range, as `$1`, `$2` and `$3` name them.
pub const RANGE: &str = "site = $1 AND ts >= $2 AND ts < $3";

/// The longest filter value (a URL path or campaign name is far shorter).
const MAX_VALUE: usize = 2048;

/// The filters of a report's query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// only sessions with a page view of this path
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    page: Option<String>,
    /// only sessions that started on this path
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    entry_page: Option<String>,
    /// only sessions that ended on this path
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    exit_page: Option<String>,
    /// only sessions with a page view from this referring host (empty: none from another site)
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    referrer: Option<String>,
    /// only sessions with this `utm_source` (empty: without one)
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    utm_source: Option<String>,
    /// only sessions with this `utm_medium` (empty: without one)
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    utm_medium: Option<String>,
    /// only sessions with this `utm_campaign` (empty: without one)
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    utm_campaign: Option<String>,
    /// only new or only returning visitors
    #[param(pattern = "^(new|returning)$")]
    visitor_type: Option<String>,
    /// only visitors who came through a referral link, or only the others
    #[param(pattern = "^(referred|not referred)$")]
    referred: Option<String>,
    /// only sessions on this device class (desktop, mobile, tablet, unknown)
    #[param(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    device: Option<String>,
}

impl Filters {
    /// The filters given, in the order of the breakdown dimensions; a 400 naming the
    /// parameter for a value no report can have.
    pub fn list(&self) -> Result<Vec<Filter>, AppError> {
        let given = [
            ("page", &self.page),
            ("entry_page", &self.entry_page),
            ("exit_page", &self.exit_page),
            ("referrer", &self.referrer),
            ("utm_source", &self.utm_source),
            ("utm_medium", &self.utm_medium),
            ("utm_campaign", &self.utm_campaign),
            ("visitor_type", &self.visitor_type),
            ("referred", &self.referred),
            ("device", &self.device),
        ];
        let mut out = Vec::new();
        for (dimension, value) in given {
            let Some(value) = value else { continue };
            if value.chars().count() > MAX_VALUE {
                return Err(AppError::bad_request(format!(
                    "{dimension}: at most {MAX_VALUE} characters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(AppError::bad_request(format!(
                    "{dimension}: must not contain control characters"
                )));
            }
            let allowed: &[&str] = match dimension {
                "visitor_type" => &VISITOR_TYPES,
                "referred" => &REFERRED,
                _ => &[],
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(AppError::bad_request(format!(
                    "{dimension}: must be {}",
                    allowed.join(" or ")
                )));
            }
            out.push(Filter {
                dimension: dimension.to_owned(),
                value: value.clone(),
            });
        }
        Ok(out)
    }
}

/// The events a report reads: one site's, in the UTC days `from..=to`, in the sessions (or
/// visitors) that pass `filters`.
pub struct Scope<'a> {
    pub site: &'a str,
    pub from: i64,
    pub to: i64,
    pub filters: &'a [Filter],
}

impl Scope<'_> {
    /// The condition on events and the values of all its placeholders: `$1` the site, `$2`
    /// and `$3` the range in ms, the filters' values from `$4` on.
    pub fn sql(&self, d: Dialect) -> (String, Vec<Param>) {
        let mut params = vec![
            Param::Text(self.site.to_owned()),
            Param::Int(super::days::day_start_ms(self.from)),
            Param::Int(super::days::day_start_ms(self.to + 1)),
        ];
        let sql = conditions(d, self.filters, &mut params);
        (sql, params)
    }
}

/// The condition on events for the range and `filters`, whose values it pushes onto
/// `params` (after the site and the range, `$1` to `$3`).
fn conditions(d: Dialect, filters: &[Filter], params: &mut Vec<Param>) -> String {
    let mut sql = RANGE.to_owned();
    // ClickHouse's GLOBAL IN runs the subquery once, also over a distributed table.
    let within = match d {
        Dialect::ClickHouse => "GLOBAL IN",
        _ => "IN",
    };
    // Sets of sessions and visitors: a copy of an event not merged yet changes none.
    let events = d.events_as_stored();
    for f in filters {
        let at = 1 + params.len();
        let of_sessions = |condition: String| {
            format!(
                " AND session_id {within} (SELECT session_id FROM {events} WHERE {RANGE} \
                 AND {condition})"
            )
        };
        let of_visitors = |column: &str, yes: bool| {
            let test = if yes { "<> 0" } else { "= 0" };
            format!(
                " AND visitor_id {within} (SELECT visitor_id FROM {events} WHERE {RANGE} \
                 GROUP BY visitor_id HAVING MAX({column}) {test})"
            )
        };
        let of_entry_or_exit = |last: bool| {
            format!(
                " AND session_id {within} (SELECT sid FROM ({}) t WHERE p = ${at})",
                session_pages(d, last, RANGE)
            )
        };
        let clause = match f.dimension.as_str() {
            "page" => of_sessions(format!("name = 'page_view' AND path = ${at}")),
            "referrer" => of_sessions(format!(
                "name = 'page_view' AND COALESCE(referrer_host, '') = ${at}"
            )),
            "utm_source" | "utm_medium" | "utm_campaign" | "device" => {
                of_sessions(format!("COALESCE({}, '') = ${at}", f.dimension))
            }
            "entry_page" => of_entry_or_exit(false),
            "exit_page" => of_entry_or_exit(true),
            "visitor_type" => {
                sql.push_str(&of_visitors("is_returning", f.value == VISITOR_TYPES[1]));
                continue;
            }
            "referred" => {
                sql.push_str(&of_visitors("referred", f.value == REFERRED[1]));
                continue;
            }
            _ => continue,
        };
        sql.push_str(&clause);
        params.push(Param::Text(f.value.clone()));
    }
    sql
}

/// Each session's first (or `last`) page view in the events that meet `scope`, as rows of
/// (`sid` session, `vid` visitor, `p` path).
pub fn session_pages(d: Dialect, last: bool, scope: &str) -> String {
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
            // One row per session whatever copies of its page views are not merged yet.
            d.events_as_stored()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_placeholders_numbered_after_the_range() {
        let filters = [
            Filter {
                dimension: "device".into(),
                value: "mobile".into(),
            },
            Filter {
                dimension: "visitor_type".into(),
                value: "returning".into(),
            },
            Filter {
                dimension: "page".into(),
                value: "/p/mug".into(),
            },
        ];
        let scope = Scope {
            site: "demo",
            from: 0,
            to: 0,
            filters: &filters,
        };
        let (sql, params) = scope.sql(Dialect::Postgres);
        assert!(sql.contains("COALESCE(device, '') = $4"), "{sql}");
        assert!(sql.contains("HAVING MAX(is_returning) <> 0"), "{sql}");
        assert!(sql.contains("path = $5"), "{sql}");
        assert_eq!(params.len(), 5);
        let (sql, _) = scope.sql(Dialect::ClickHouse);
        assert!(sql.contains("GLOBAL IN"), "{sql}");
    }

    #[test]
    fn a_value_no_report_can_have_is_refused_by_name() {
        let bad = Filters {
            visitor_type: Some("old".into()),
            ..Filters::default()
        };
        let err = bad.list().unwrap_err();
        assert!(format!("{err:?}").contains("visitor_type"), "{err:?}");
        let good = Filters {
            referred: Some("not referred".into()),
            utm_source: Some(String::new()),
            ..Filters::default()
        };
        let list = good.list().unwrap();
        assert_eq!(
            list.iter()
                .map(|f| f.dimension.as_str())
                .collect::<Vec<_>>(),
            ["utm_source", "referred"]
        );
    }
}
