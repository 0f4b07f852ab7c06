//! The metrics site owners watch, computed from stored events. `docs/metrics.md` states each
//! definition; this file is the one implementation of them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

/// Events that are measurement, not the shopper doing something.
const PASSIVE_EVENTS: &[&str] = &["page_view", "page_engagement", "scroll_milestone"];
/// Events that make a session engaged on their own (GA4's "key events").
pub const KEY_EVENTS: &[&str] = &["feedback_submitted", "referral_shared", "purchase"];
/// A session with at least this much engaged time is engaged.
pub const ENGAGED_SESSION_MS: u64 = 10_000;
pub const SCROLL_THRESHOLDS: [u64; 5] = [25, 50, 75, 90, 100];
const DAY_MS: i64 = 86_400_000;

/// One stored event, as much of it as the metrics need.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub ts: i64,
    pub visitor_id: String,
    pub session_id: String,
    pub pageview_id: String,
    pub returning: bool,
    pub url: String,
    pub props: serde_json::Value,
}

#[derive(Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Feedback {
    pub responses: u64,
    /// % promoters (9–10) − % detractors (0–6) among NPS answers; null without answers.
    pub nps: Option<f64>,
    /// Count of NPS answers per score 0..=10.
    pub nps_distribution: Vec<u64>,
    /// Mean CSAT score (1–5); null without answers.
    pub csat_average: Option<f64>,
}

#[derive(Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub visitors: u64,
    pub new_visitors: u64,
    pub returning_visitors: u64,
    /// returning_visitors ÷ visitors × 100.
    pub returning_share: Option<f64>,
    pub sessions: u64,
    pub pageviews: u64,
    pub pages_per_session: Option<f64>,
    /// Mean over sessions of the engaged time of their pageviews, ms.
    pub avg_session_engaged_ms: Option<f64>,
    /// Mean over sessions of last event − first event, ms.
    pub avg_session_span_ms: Option<f64>,
    /// Bounced sessions ÷ sessions × 100.
    pub bounce_rate: Option<f64>,
    /// Interacting visitors ÷ visitors × 100.
    pub engagement_rate: Option<f64>,
    /// Share of pageviews (%) whose deepest scroll reached 25, 50, 75, 90 and 100 %.
    pub scroll_reach: Vec<f64>,
    pub feedback: Feedback,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Day {
    pub date: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopPage {
    pub path: String,
    pub pageviews: u64,
}

/// The referral funnel in the range: links shared, visitors who arrived through one, and
/// the orders the site's server confirmed with a referral code, by the reward's status.
#[derive(Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReferralFunnel {
    /// `referral_shared` events.
    pub links_shared: u64,
    /// Visitors with an event carrying a referral code.
    pub referred_visitors: u64,
    /// Referred orders confirmed by the signed webhook.
    pub orders: u64,
    /// Rewards still in the hold period.
    pub pending: u64,
    pub earned: u64,
    /// Refunded in the hold period.
    pub cancelled: u64,
    /// Refused by a fraud rule (self-referral, existing customer, cap).
    pub rejected: u64,
}

/// The loyalty ledger in the range.
#[derive(Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Points {
    /// Points credited: orders, referral rewards, feedback.
    pub issued: u64,
    /// Points spent on rewards.
    pub redeemed: u64,
    pub redemptions: u64,
    /// Points taken back by refunds.
    pub clawed_back: u64,
    /// Customers with a ledger entry.
    pub customers: u64,
}

#[derive(Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Programs {
    pub referral: ReferralFunnel,
    pub points: Points,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub site: String,
    pub from: String,
    pub to: String,
    pub total: Metrics,
    pub days: Vec<Day>,
    pub top_pages: Vec<TopPage>,
    /// Referral and loyalty totals; the ledger's part is filled from the database.
    pub programs: Programs,
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn prop_u64(props: &serde_json::Value, key: &str) -> Option<u64> {
    props
        .get(key)
        .and_then(|v| v.as_f64())
        .filter(|v| *v >= 0.0)
        .map(|v| v as u64)
}

/// The URL's path, without origin or query.
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/").to_owned()
}

#[derive(Default)]
struct SessionAcc {
    first: i64,
    last: i64,
    pageviews: HashSet<String>,
    key_event: bool,
}

/// The metrics of `rows` (any order).
pub fn metrics(rows: &[&Row]) -> Metrics {
    let mut visitors: HashMap<&str, (bool, bool)> = HashMap::new(); // (returning, interacted)
    let mut sessions: HashMap<&str, SessionAcc> = HashMap::new();
    let mut pageviews: HashSet<&str> = HashSet::new();
    // Engaged time and deepest scroll per pageview: running totals, so keep the maximum.
    let mut engaged: HashMap<&str, u64> = HashMap::new();
    let mut scroll: HashMap<&str, u64> = HashMap::new();
    let mut pageview_session: HashMap<&str, &str> = HashMap::new();
    let mut feedback = Feedback {
        nps_distribution: vec![0; 11],
        ..Feedback::default()
    };
    let (mut nps_answers, mut promoters, mut detractors) = (0u64, 0u64, 0u64);
    let (mut csat_sum, mut csat_answers) = (0u64, 0u64);

    for row in rows {
        let visitor = visitors.entry(&row.visitor_id).or_default();
        visitor.0 |= row.returning;
        let session = sessions
            .entry(&row.session_id)
            .or_insert_with(|| SessionAcc {
                first: row.ts,
                last: row.ts,
                ..SessionAcc::default()
            });
        session.first = session.first.min(row.ts);
        session.last = session.last.max(row.ts);
        pageview_session.insert(&row.pageview_id, &row.session_id);
        if !PASSIVE_EVENTS.contains(&row.name.as_str()) {
            visitor.1 = true;
        }
        if KEY_EVENTS.contains(&row.name.as_str()) {
            session.key_event = true;
        }
        match row.name.as_str() {
            "page_view" => {
                pageviews.insert(&row.pageview_id);
                session.pageviews.insert(row.pageview_id.clone());
            }
            "page_engagement" => {
                if let Some(ms) = prop_u64(&row.props, "engaged_ms") {
                    let e = engaged.entry(&row.pageview_id).or_default();
                    *e = (*e).max(ms);
                }
                if let Some(depth) = prop_u64(&row.props, "scroll_max") {
                    let s = scroll.entry(&row.pageview_id).or_default();
                    *s = (*s).max(depth.min(100));
                }
            }
            "scroll_milestone" => {
                if let Some(depth) = prop_u64(&row.props, "depth") {
                    let s = scroll.entry(&row.pageview_id).or_default();
                    *s = (*s).max(depth.min(100));
                }
            }
            "feedback_submitted" => {
                feedback.responses += 1;
                let score = prop_u64(&row.props, "score");
                match (row.props.get("type").and_then(|t| t.as_str()), score) {
                    (Some("nps"), Some(score)) if score <= 10 => {
                        nps_answers += 1;
                        feedback.nps_distribution[score as usize] += 1;
                        if score >= 9 {
                            promoters += 1;
                        } else if score <= 6 {
                            detractors += 1;
                        }
                    }
                    (Some("csat"), Some(score)) if (1..=5).contains(&score) => {
                        csat_sum += score;
                        csat_answers += 1;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    let mut session_engaged: HashMap<&str, u64> = HashMap::new();
    for (pageview, ms) in &engaged {
        if let Some(session) = pageview_session.get(pageview) {
            *session_engaged.entry(session).or_default() += ms;
        }
    }
    let session_count = sessions.len() as u64;
    let bounced = sessions
        .iter()
        .filter(|(id, s)| {
            let engaged_ms = session_engaged.get(*id).copied().unwrap_or(0);
            s.pageviews.len() < 2 && engaged_ms < ENGAGED_SESSION_MS && !s.key_event
        })
        .count() as u64;
    let visitor_count = visitors.len() as u64;
    let returning = visitors.values().filter(|v| v.0).count() as u64;
    let interacting = visitors.values().filter(|v| v.1).count() as u64;
    let pageview_count = pageviews.len() as u64;
    let mean = |sum: u64| (session_count > 0).then(|| sum as f64 / session_count as f64);

    feedback.nps = (nps_answers > 0)
        .then(|| (promoters as f64 - detractors as f64) * 100.0 / nps_answers as f64);
    feedback.csat_average = (csat_answers > 0).then(|| csat_sum as f64 / csat_answers as f64);
    Metrics {
        visitors: visitor_count,
        new_visitors: visitor_count - returning,
        returning_visitors: returning,
        returning_share: pct(returning, visitor_count),
        sessions: session_count,
        pageviews: pageview_count,
        pages_per_session: (session_count > 0)
            .then(|| pageview_count as f64 / session_count as f64),
        avg_session_engaged_ms: mean(session_engaged.values().sum()),
        avg_session_span_ms: mean(sessions.values().map(|s| (s.last - s.first) as u64).sum()),
        bounce_rate: pct(bounced, session_count),
        engagement_rate: pct(interacting, visitor_count),
        scroll_reach: SCROLL_THRESHOLDS
            .iter()
            .map(|&t| {
                let reached = pageviews
                    .iter()
                    .filter(|pv| scroll.get(*pv).is_some_and(|&d| d >= t))
                    .count() as u64;
                pct(reached, pageview_count).unwrap_or(0.0)
            })
            .collect(),
        feedback,
    }
}

/// Calendar day (UTC) of a timestamp, as days since the Unix epoch.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY_MS)
}

pub fn day_start_ms(day: i64) -> i64 {
    day * DAY_MS
}

/// `YYYY-MM-DD` of an epoch day.
pub fn date_of(day: i64) -> String {
    let date = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(day);
    date.date().to_string()
}

/// Epoch day of `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some((date - time::OffsetDateTime::UNIX_EPOCH.date()).whole_days())
}

/// Totals and one entry per day from `from` to `to` (epoch days, inclusive).
pub fn stats(site: &str, from: i64, to: i64, rows: &[Row]) -> Stats {
    let all: Vec<&Row> = rows.iter().collect();
    let mut by_day: BTreeMap<i64, Vec<&Row>> = (from..=to).map(|d| (d, Vec::new())).collect();
    for row in rows {
        if let Some(day) = by_day.get_mut(&day_of(row.ts)) {
            day.push(row);
        }
    }
    let mut pages: HashMap<String, HashSet<&str>> = HashMap::new();
    for row in rows.iter().filter(|r| r.name == "page_view") {
        pages
            .entry(path_of(&row.url))
            .or_default()
            .insert(&row.pageview_id);
    }
    let mut top_pages: Vec<TopPage> = pages
        .into_iter()
        .map(|(path, views)| TopPage {
            path,
            pageviews: views.len() as u64,
        })
        .collect();
    top_pages.sort_by(|a, b| {
        b.pageviews
            .cmp(&a.pageviews)
            .then_with(|| a.path.cmp(&b.path))
    });
    top_pages.truncate(10);
    let referred: HashSet<&str> = rows
        .iter()
        .filter(|r| r.props.get("referral_code").is_some_and(|c| c.is_string()))
        .map(|r| r.visitor_id.as_str())
        .collect();
    let programs = Programs {
        referral: ReferralFunnel {
            links_shared: rows.iter().filter(|r| r.name == "referral_shared").count() as u64,
            referred_visitors: referred.len() as u64,
            ..ReferralFunnel::default()
        },
        points: Points::default(),
    };
    Stats {
        site: site.to_owned(),
        from: date_of(from),
        to: date_of(to),
        total: metrics(&all),
        days: by_day
            .into_iter()
            .map(|(day, rows)| Day {
                date: date_of(day),
                metrics: metrics(&rows),
            })
            .collect(),
        top_pages,
        programs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(date_of(parse_date("2026-11-22").unwrap()), "2026-11-22");
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn path_of_drops_origin_query_and_fragment() {
        assert_eq!(
            path_of("https://shop.example/p/mug?utm_source=x#top"),
            "/p/mug"
        );
        assert_eq!(path_of("https://shop.example"), "/");
    }
}
