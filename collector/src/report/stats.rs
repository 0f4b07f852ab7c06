//! The metrics site owners watch, aggregated in the database from stored events.
//! `docs/metrics.md` states each definition; the SQL here is the one implementation of them.
//!
//! The queries read only the typed columns filled at ingest (`db::Measures`), never
//! `props`, and return one row per day (or one for the range): the collector's memory does
//! not grow with the stored events. Every sum is a 64-bit integer over values bounded at
//! ingest, and every mean is computed in floating point by the database.

// The days' names, for the handlers that read them with the stats.
pub use super::days::{date_of, day_of, day_start_ms, hour_of, parse_date, FIRST_DATE, LAST_DATE};
use super::filter::{Filter, Scope};
use crate::db::{Db, Dialect, Row};

/// Events that are measurement, not the shopper doing something.
pub const PASSIVE_EVENTS: &[&str] = &[
    "page_view",
    "page_engagement",
    "scroll_milestone",
    "experiment_exposed",
];
/// Events that make a session engaged on their own (GA4's "key events").
pub const KEY_EVENTS: &[&str] = &["feedback_submitted", "referral_shared", "purchase"];
/// A session with at least this much engaged time is engaged.
pub const ENGAGED_SESSION_MS: u64 = 10_000;
pub const SCROLL_THRESHOLDS: [u64; 5] = [25, 50, 75, 90, 100];
use super::days::{DAY_MS, HOUR_MS};

// The report's types are shared with the dashboard, which reads them back.
pub use rapport_core::report::{
    Day, Feedback, Hour, Metrics, Points, PointsDay, ProgramTotals, ReferralFunnel, Stats, TopPage,
};

/// `part` ÷ `whole` × 100; null without a whole.
pub(crate) fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The metrics of a bucket with no events.
fn empty() -> Metrics {
    Metrics {
        scroll_reach: vec![0.0; SCROLL_THRESHOLDS.len()],
        feedback: Feedback {
            nps_distribution: vec![0; 11],
            ..Feedback::default()
        },
        ..Metrics::default()
    }
}

pub(crate) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The bucket of an event's `ts`: the UTC day or hour (`bucket` ms since the epoch ÷
/// `bucket`), or 0 for the whole range.
fn bucket_of(bucket: i64) -> String {
    if bucket > 0 {
        format!("CAST(ts / {bucket} AS BIGINT)")
    } else {
        "CAST(0 AS BIGINT)".to_owned()
    }
}

/// The events that meet `scope` (one site in `[$2, $3)` ms, and the filters), with their
/// bucket ([`bucket_of`]).
///
/// Read as stored, without ClickHouse's `FINAL`: every query over these rows aggregates
/// with maxima, minima and groups (a visitor's flags, a pageview's deepest scroll, a
/// session's pageviews), which a not yet merged copy of an event leaves unchanged. The
/// counts of events (answers, shares) are [`answers_sql`]'s, which count each event once.
fn events(d: Dialect, bucket: i64, scope: &str) -> String {
    format!(
        "SELECT {day} AS day, name, ts, visitor_id, session_id, pageview_id, is_returning, \
         engaged_ms, scroll_depth, score, feedback_type, referred \
         FROM {} WHERE {scope}",
        d.events_as_stored(),
        day = bucket_of(bucket),
    )
}

/// Visitors per bucket, with how many are returning, interacting and referred: each
/// visitor's flags first (one group per visitor), then the bucket's sums over them, so no
/// `COUNT(DISTINCT …)` is needed.
fn visitors_sql(d: Dialect, bucket: i64, scope: &str) -> String {
    let flag = |condition: &str| format!("MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)");
    format!(
        "SELECT day, CAST(COUNT(*) AS BIGINT), CAST(SUM(ret) AS BIGINT), \
         CAST(SUM(act) AS BIGINT), CAST(SUM(refd) AS BIGINT) \
         FROM (SELECT day, visitor_id, {ret} AS ret, {act} AS act, {refd} AS refd \
               FROM ({events}) e GROUP BY day, visitor_id) v GROUP BY day",
        ret = flag("is_returning <> 0"),
        act = flag(&format!("name NOT IN ({})", list(PASSIVE_EVENTS))),
        refd = flag("referred <> 0"),
        events = events(d, bucket, scope),
    )
}

/// The feedback answers and the referral shares per bucket: responses, the CSAT sum and
/// count, shares, and the NPS answers per score. Each event counts once: SQLite and
/// PostgreSQL keep one row per id; ClickHouse may hold a copy not merged yet, so there the
/// rows are first grouped by id (few rows: only these two events).
fn answers_sql(d: Dialect, bucket: i64, scope: &str) -> String {
    let sum = |condition: &str, value: &str| {
        format!(", CAST(SUM(CASE WHEN {condition} THEN {value} ELSE 0 END) AS BIGINT)")
    };
    let fb = "name = 'feedback_submitted'";
    let csat = format!("{fb} AND feedback_type = 'csat' AND score BETWEEN 1 AND 5");
    let nps: String = (0..=10)
        .map(|k| {
            sum(
                &format!("{fb} AND feedback_type = 'nps' AND score = {k}"),
                "1",
            )
        })
        .collect();
    let day = bucket_of(bucket);
    let rows = format!(
        "FROM {} WHERE {scope} AND name IN ('feedback_submitted', 'referral_shared')",
        d.events_as_stored()
    );
    let source = match d {
        Dialect::ClickHouse => format!(
            "SELECT day, id, MAX(name) AS name, MAX(feedback_type) AS feedback_type, \
             MAX(score) AS score FROM (SELECT {day} AS day, id, name, feedback_type, score \
             {rows}) c GROUP BY day, id"
        ),
        _ => format!("SELECT {day} AS day, name, feedback_type, score {rows}"),
    };
    format!(
        "SELECT day{responses}{csat_sum}{csat_n}{shared}{nps} FROM ({source}) a GROUP BY day",
        responses = sum(fb, "1"),
        csat_sum = sum(&csat, "score"),
        csat_n = sum(&csat, "1"),
        shared = sum("name = 'referral_shared'", "1"),
    )
}

/// Sessions per bucket: count, mean span, mean engaged time (Σ over its pageviews of their
/// largest `engaged_ms`) and bounces. One pass over the events: each pageview's first and
/// last time, largest engaged time, whether it was viewed and whether a key event happened
/// on it; then each session from its pageviews.
fn sessions_sql(d: Dialect, bucket: i64, scope: &str) -> String {
    format!(
        "SELECT day, CAST(COUNT(*) AS BIGINT), \
         AVG(CAST(last_ts - first_ts AS {float})), \
         AVG(CAST(engaged AS {float})), \
         CAST(SUM(CASE WHEN views < 2 AND engaged < {engaged} AND keyed = 0 \
              THEN 1 ELSE 0 END) AS BIGINT) \
         FROM (SELECT day, session_id, MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts, \
               MAX(keyed) AS keyed, CAST(SUM(COALESCE(engaged, 0)) AS BIGINT) AS engaged, \
               CAST(SUM(viewed) AS BIGINT) AS views \
               FROM (SELECT day, session_id, pageview_id, MIN(ts) AS first_ts, \
                     MAX(ts) AS last_ts, MAX(engaged_ms) AS engaged, \
                     MAX(CASE WHEN name = 'page_view' THEN 1 ELSE 0 END) AS viewed, \
                     MAX(CASE WHEN name IN ({key}) THEN 1 ELSE 0 END) AS keyed \
                     FROM ({events}) e GROUP BY day, session_id, pageview_id) v \
               GROUP BY day, session_id) s \
         GROUP BY day",
        engaged = ENGAGED_SESSION_MS,
        key = list(KEY_EVENTS),
        events = events(d, bucket, scope),
        float = d.float(),
    )
}

/// Pageviews per bucket, and how many reached each scroll threshold (their deepest scroll).
fn scroll_sql(d: Dialect, bucket: i64, scope: &str) -> String {
    let reached: String = SCROLL_THRESHOLDS
        .iter()
        .map(|t| format!(", CAST(SUM(CASE WHEN depth >= {t} THEN 1 ELSE 0 END) AS BIGINT)"))
        .collect();
    format!(
        "SELECT day, CAST(COUNT(*) AS BIGINT){reached} FROM (SELECT day, pageview_id, \
         MAX(scroll_depth) AS depth, MAX(CASE WHEN name = 'page_view' THEN 1 ELSE 0 END) AS viewed \
         FROM ({events}) e GROUP BY day, pageview_id) v WHERE viewed = 1 GROUP BY day",
        events = events(d, bucket, scope),
    )
}

/// The metrics of each bucket (`size` ms long, or 0 for one) that has events, by bucket,
/// and the referral counts of each.
async fn buckets(
    db: &Db,
    scope: &Scope<'_>,
    size: i64,
) -> Result<std::collections::BTreeMap<i64, (Metrics, ReferralFunnel)>, sqlx::Error> {
    let mut out = std::collections::BTreeMap::new();
    let d = db.dialect();
    let (scope, params) = scope.sql(d);
    let scope = scope.as_str();
    fn bucket<'a>(
        out: &'a mut std::collections::BTreeMap<i64, (Metrics, ReferralFunnel)>,
        row: &Row,
    ) -> &'a mut (Metrics, ReferralFunnel) {
        out.entry(row.int(0))
            .or_insert_with(|| (empty(), ReferralFunnel::default()))
    }
    // The three reads run at once (on the pool's connections); their rows are read in order,
    // since the scroll's and sessions' figures divide by the page views the scroll read counts.
    let (visitors_sql, answers_sql, sessions_sql, scroll_sql) = (
        visitors_sql(d, size, scope),
        answers_sql(d, size, scope),
        sessions_sql(d, size, scope),
        scroll_sql(d, size, scope),
    );
    let (visitors, answers, sessions, scroll) = tokio::try_join!(
        db.read(&visitors_sql, &params),
        db.read(&answers_sql, &params),
        db.read(&sessions_sql, &params),
        db.read(&scroll_sql, &params),
    )?;
    for row in visitors {
        let (m, funnel) = bucket(&mut out, &row);
        m.visitors = row.count(1);
        m.returning_visitors = row.count(2);
        m.new_visitors = m.visitors.saturating_sub(m.returning_visitors);
        m.returning_share = pct(m.returning_visitors, m.visitors);
        m.engagement_rate = pct(row.count(3), m.visitors);
        funnel.referred_visitors = row.count(4);
    }
    for row in answers {
        let (m, funnel) = bucket(&mut out, &row);
        m.feedback.responses = row.count(1);
        let (csat_sum, csat_answers) = (row.count(2), row.count(3));
        m.feedback.csat_average = (csat_answers > 0).then(|| csat_sum as f64 / csat_answers as f64);
        funnel.links_shared = row.count(4);
        let dist: Vec<u64> = (0..=10).map(|k| row.count(5 + k)).collect();
        let answers: u64 = dist.iter().sum();
        let promoters = dist[9] + dist[10];
        let detractors: u64 = dist[..=6].iter().sum();
        m.feedback.nps =
            (answers > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / answers as f64);
        m.feedback.nps_distribution = dist;
    }
    for row in scroll {
        let (m, _) = bucket(&mut out, &row);
        m.pageviews = row.count(1);
        m.scroll_reach = (0..SCROLL_THRESHOLDS.len())
            .map(|i| pct(row.count(2 + i), m.pageviews).unwrap_or(0.0))
            .collect();
    }
    for row in sessions {
        let (m, _) = bucket(&mut out, &row);
        m.sessions = row.count(1);
        m.avg_session_span_ms = row.float(2);
        m.avg_session_engaged_ms = row.float(3);
        m.bounce_rate = pct(row.count(4), m.sessions);
        m.pages_per_session = (m.sessions > 0).then(|| m.pageviews as f64 / m.sessions as f64);
    }
    Ok(out)
}

/// The ten most viewed paths, most first, ties by path (byte order).
async fn top_pages(db: &Db, scope: &Scope<'_>) -> Result<Vec<TopPage>, sqlx::Error> {
    let d = db.dialect();
    let (scope, params) = scope.sql(d);
    let sql = format!(
        "SELECT path, CAST(COUNT(DISTINCT pageview_id) AS BIGINT) AS views FROM {events} \
         WHERE {scope} AND name = 'page_view' \
         GROUP BY path ORDER BY views DESC, path{collate} LIMIT 10",
        events = d.events_as_stored(),
        collate = d.bytewise(),
    );
    Ok(db
        .read(&sql, &params)
        .await?
        .iter()
        .map(|row| TopPage {
            path: row.text(0),
            pageviews: row.count(1),
        })
        .collect())
}

/// Totals and one entry per day from `from` to `to` (epoch days, inclusive), and one per
/// hour when that is one day, over the sessions that pass `filters`.
pub async fn stats(
    db: &Db,
    site: &str,
    from: i64,
    to: i64,
    filters: &[Filter],
) -> Result<Stats, sqlx::Error> {
    let scope = Scope {
        site,
        from,
        to,
        filters,
    };
    // The range, its days, its hours (for one day) and its pages are read at once.
    let by_hour = async {
        if from == to {
            buckets(db, &scope, HOUR_MS).await
        } else {
            Ok(Default::default())
        }
    };
    let (mut whole, mut days, mut hours, top_pages) = tokio::try_join!(
        buckets(db, &scope, 0),
        buckets(db, &scope, DAY_MS),
        by_hour,
        top_pages(db, &scope),
    )?;
    let (total, funnel) = whole
        .remove(&0)
        .unwrap_or_else(|| (empty(), ReferralFunnel::default()));
    let hours = if from == to {
        let first = from * 24;
        (first..first + 24)
            .map(|h| Hour {
                hour: hour_of(h),
                metrics: hours.remove(&h).map_or_else(empty, |(m, _)| m),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Stats {
        site: site.to_owned(),
        from: date_of(from),
        to: date_of(to),
        filters: filters.to_vec(),
        total,
        days: (from..=to)
            .map(|day| Day {
                date: date_of(day),
                metrics: days.remove(&day).map_or_else(empty, |(m, _)| m),
            })
            .collect(),
        hours,
        top_pages,
        programs: ProgramTotals {
            referral: funnel,
            points: Points::default(),
            points_days: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stats scan of the events reads SQLite's covering index alone
    /// (`db::SQLITE_REPORT_INDEX`): a column added to [`events`] without it fails here.
    #[tokio::test]
    async fn on_sqlite_the_event_scans_read_only_the_report_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/r.db", dir.path().display()))
            .await
            .unwrap();
        let filters: [Filter; 0] = [];
        let scope = Scope {
            site: "demo",
            from: 0,
            to: 30,
            filters: &filters,
        };
        let (condition, params) = scope.sql(Dialect::Sqlite);
        for sql in [
            visitors_sql(Dialect::Sqlite, DAY_MS, &condition),
            answers_sql(Dialect::Sqlite, 0, &condition),
            sessions_sql(Dialect::Sqlite, DAY_MS, &condition),
            scroll_sql(Dialect::Sqlite, 0, &condition),
        ] {
            let plan: Vec<String> = db
                .read(&format!("EXPLAIN QUERY PLAN {sql}"), &params)
                .await
                .unwrap()
                .iter()
                .map(|row| row.text(3))
                .filter(|step| step.contains("events"))
                .collect();
            assert!(!plan.is_empty(), "{sql}");
            for step in &plan {
                assert!(
                    step.contains("USING COVERING INDEX events_report"),
                    "{step} in {plan:?}"
                );
            }
        }
    }

    #[test]
    fn path_of_drops_origin_query_and_fragment() {
        use crate::db::path_of;
        assert_eq!(
            path_of("https://shop.example/p/mug?utm_source=x#top"),
            "/p/mug"
        );
        assert_eq!(path_of("https://shop.example"), "/");
    }
}
