//! The stats as a property: for random event sets, every figure the report queries give
//! (the range's totals, each day, each hour of a one-day range, the top pages, the referral
//! counts, with and without a filter) equals the figure computed here straight from the raw
//! events by the definitions in docs/metrics.md. On SQLite, PostgreSQL and ClickHouse.
//!
//! The events are stored with `rapport-collector import` at fixed times, so no case
//! depends on today's date. Sessions start before, inside and after the range, and cross
//! midnight, so the range's edges and the day buckets are exercised.

// The report layer is called directly; the harness's HTTP helpers go unused here.
#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rapport_collector::report::filter::Filter;
use rapport_collector::report::stats::{
    self, Feedback, Metrics, Stats, TopPage, ENGAGED_SESSION_MS, KEY_EVENTS, PASSIVE_EVENTS,
    SCROLL_THRESHOLDS,
};
use serde_json::{json, Map, Value};

const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;
/// 2024-03-10, the range's first day; the range is three days, or its middle day alone.
const FIRST_DAY: u64 = 19_792;
const SESSIONS: usize = 6;
const PATHS: [&str; 4] = ["/", "/p/mug", "/p/tee", "/cart"];
const NAMES: [&str; 8] = [
    "page_view",
    "page_engagement",
    "scroll_milestone",
    "feedback_submitted",
    "referral_shared",
    "purchase",
    "add_to_cart",
    "experiment_exposed",
];

/// One event as the metrics see it.
#[derive(Debug, Clone)]
struct Ev {
    name: &'static str,
    ts: u64,
    session: usize,
    pageview: usize,
    returning: bool,
    engaged_ms: Option<u64>,
    scroll: Option<u64>,
    feedback: Option<(&'static str, u64)>,
    referred: bool,
    utm_source: Option<&'static str>,
    /// The page's referrer: another site (`news.example`), this one, or none.
    referrer: Option<&'static str>,
}

impl Ev {
    /// Each session belongs to one visitor, each pageview to one session.
    fn visitor(&self) -> usize {
        self.session % 4
    }
    fn pageview_key(&self) -> (usize, usize) {
        (self.session, self.pageview)
    }
    fn path(&self) -> &'static str {
        PATHS[(self.session + self.pageview) % PATHS.len()]
    }
}

fn uuid(kind: u32, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

fn line(n: usize, e: &Ev) -> String {
    let mut props = Map::new();
    if let Some(ms) = e.engaged_ms {
        props.insert("engaged_ms".into(), json!(ms));
    }
    if let Some(depth) = e.scroll {
        let key = if e.name == "scroll_milestone" {
            "depth"
        } else {
            "scroll_max"
        };
        props.insert(key.into(), json!(depth));
    }
    if let Some((kind, score)) = e.feedback {
        props.insert("type".into(), json!(kind));
        props.insert("score".into(), json!(score));
    }
    if e.referred {
        props.insert("referral_code".into(), json!("FRIEND"));
    }
    if let Some(source) = e.utm_source {
        props.insert("utm_source".into(), json!(source));
    }
    json!({
        "id": uuid(1, n as u64),
        "name": e.name,
        "ts": e.ts,
        "visitor_id": uuid(2, e.visitor() as u64),
        "session_id": uuid(3, e.session as u64),
        "pageview_id": uuid(4, (e.session * 8 + e.pageview) as u64),
        "returning": e.returning,
        "url": format!("https://shop.example{}", e.path()),
        "props": props,
        "referrer": e.referrer,
    })
    .to_string()
}

/// A random event set: six sessions, each starting somewhere from six hours before the
/// range to six hours after it, with up to 40 events in its first three hours.
fn events() -> impl Strategy<Value = Vec<Ev>> {
    let window = (FIRST_DAY * DAY_MS - 6 * HOUR_MS)..((FIRST_DAY + 3) * DAY_MS + 6 * HOUR_MS);
    let starts = prop::collection::vec(window, SESSIONS);
    let event = (
        0..SESSIONS,
        0..3_usize,
        prop_oneof![4 => Just(0_usize), 6 => 1..NAMES.len()],
        0..3 * HOUR_MS,
        prop::bool::weighted(0.3),
        prop::option::of(0..30_000_u64),
        prop::option::of(prop_oneof![
            Just(0_u64),
            Just(25),
            Just(50),
            Just(75),
            0..=100_u64
        ]),
        (
            prop_oneof![Just("nps"), Just("csat"), Just("thumbs")],
            0..=10_u64,
        ),
        prop::bool::weighted(0.15),
        prop::option::of(Just("news")),
        prop::option::of(prop_oneof![
            Just("https://www.news.example/today"),
            Just("https://shop.example/p/mug"),
        ]),
    );
    (starts, prop::collection::vec(event, 1..40)).prop_map(|(starts, list)| {
        list.into_iter()
            .map(
                |(
                    session,
                    pageview,
                    name,
                    offset,
                    returning,
                    engaged,
                    scroll,
                    feedback,
                    referred,
                    utm_source,
                    referrer,
                )| {
                    let name = NAMES[name];
                    Ev {
                        name,
                        ts: starts[session] + offset,
                        session,
                        pageview,
                        returning,
                        engaged_ms: engaged.filter(|_| name == "page_engagement"),
                        scroll: scroll
                            .filter(|_| matches!(name, "page_engagement" | "scroll_milestone")),
                        feedback: Some(feedback).filter(|_| name == "feedback_submitted"),
                        referred,
                        utm_source,
                        referrer,
                    }
                },
            )
            .collect()
    })
}

/// What a request asks: its first and last day, and at most one filter.
#[derive(Debug, Clone)]
struct Ask {
    from: u64,
    to: u64,
    filter: Option<(&'static str, &'static str)>,
}

fn ask() -> impl Strategy<Value = Ask> {
    let range = prop_oneof![
        Just((FIRST_DAY, FIRST_DAY + 2)),
        Just((FIRST_DAY + 1, FIRST_DAY + 1))
    ];
    let filter = prop_oneof![
        2 => Just(None),
        1 => Just(Some(("page", "/p/mug"))),
        1 => Just(Some(("entry_page", "/"))),
        1 => Just(Some(("exit_page", "/cart"))),
        1 => Just(Some(("utm_source", "news"))),
        1 => Just(Some(("utm_source", ""))),
        1 => Just(Some(("referrer", "news.example"))),
        1 => Just(Some(("referrer", ""))),
        1 => Just(Some(("visitor_type", "returning"))),
        1 => Just(Some(("visitor_type", "new"))),
        1 => Just(Some(("referred", "referred"))),
    ];
    (range, filter).prop_map(|((from, to), filter)| Ask { from, to, filter })
}

fn pct(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn mean(values: &[u64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<u64>() as f64 / values.len() as f64)
}

/// The metrics of a bucket's events, by the definitions.
fn metrics(events: &[&Ev]) -> Metrics {
    let visitors: BTreeSet<usize> = events.iter().map(|e| e.visitor()).collect();
    let returning: BTreeSet<usize> = events
        .iter()
        .filter(|e| e.returning)
        .map(|e| e.visitor())
        .collect();
    let interacting: BTreeSet<usize> = events
        .iter()
        .filter(|e| !PASSIVE_EVENTS.contains(&e.name))
        .map(|e| e.visitor())
        .collect();

    let mut sessions: BTreeMap<usize, Vec<&Ev>> = BTreeMap::new();
    for e in events {
        sessions.entry(e.session).or_default().push(e);
    }
    let (mut spans, mut engaged_times, mut bounced) = (Vec::new(), Vec::new(), 0);
    for list in sessions.values() {
        let first = list.iter().map(|e| e.ts).min().unwrap();
        let last = list.iter().map(|e| e.ts).max().unwrap();
        spans.push(last - first);
        let mut pageviews: BTreeMap<usize, Vec<&Ev>> = BTreeMap::new();
        for e in list {
            pageviews.entry(e.pageview).or_default().push(e);
        }
        let engaged: u64 = pageviews
            .values()
            .map(|pv| pv.iter().filter_map(|e| e.engaged_ms).max().unwrap_or(0))
            .sum();
        let views = pageviews
            .values()
            .filter(|pv| pv.iter().any(|e| e.name == "page_view"))
            .count();
        let keyed = list.iter().any(|e| KEY_EVENTS.contains(&e.name));
        engaged_times.push(engaged);
        if views < 2 && engaged < ENGAGED_SESSION_MS && !keyed {
            bounced += 1;
        }
    }

    let viewed: BTreeSet<(usize, usize)> = events
        .iter()
        .filter(|e| e.name == "page_view")
        .map(|e| e.pageview_key())
        .collect();
    let deepest = |key: &(usize, usize)| {
        events
            .iter()
            .filter(|e| e.pageview_key() == *key)
            .filter_map(|e| e.scroll)
            .max()
    };
    let scroll_reach = SCROLL_THRESHOLDS
        .iter()
        .map(|t| {
            let reached = viewed
                .iter()
                .filter(|k| deepest(k).is_some_and(|d| d >= *t))
                .count();
            pct(reached, viewed.len()).unwrap_or(0.0)
        })
        .collect();

    let answers = |kind: &str| {
        events
            .iter()
            .filter_map(|e| e.feedback.filter(|(k, _)| *k == kind).map(|(_, s)| s))
            .collect::<Vec<u64>>()
    };
    let nps = answers("nps");
    let csat: Vec<u64> = answers("csat")
        .into_iter()
        .filter(|s| (1..=5).contains(s))
        .collect();
    let promoters = nps.iter().filter(|s| **s >= 9).count() as f64;
    let detractors = nps.iter().filter(|s| **s <= 6).count() as f64;
    Metrics {
        visitors: visitors.len() as u64,
        new_visitors: (visitors.len() - returning.len()) as u64,
        returning_visitors: returning.len() as u64,
        returning_share: pct(returning.len(), visitors.len()),
        sessions: sessions.len() as u64,
        pageviews: viewed.len() as u64,
        pages_per_session: (!sessions.is_empty())
            .then(|| viewed.len() as f64 / sessions.len() as f64),
        avg_session_engaged_ms: mean(&engaged_times),
        avg_session_span_ms: mean(&spans),
        bounce_rate: pct(bounced, sessions.len()),
        engagement_rate: pct(interacting.len(), visitors.len()),
        scroll_reach,
        feedback: Feedback {
            responses: events
                .iter()
                .filter(|e| e.name == "feedback_submitted")
                .count() as u64,
            nps: (!nps.is_empty()).then(|| (promoters - detractors) * 100.0 / nps.len() as f64),
            nps_distribution: (0..=10)
                .map(|k| nps.iter().filter(|s| **s == k).count() as u64)
                .collect(),
            csat_average: mean(&csat),
        },
    }
}

/// The events a request reads: those in its range, of the sessions (or visitors) its
/// filter keeps.
fn scope<'a>(all: &'a [Ev], ask: &Ask) -> Vec<&'a Ev> {
    let range = ask.from * DAY_MS..(ask.to + 1) * DAY_MS;
    let within: Vec<&Ev> = all.iter().filter(|e| range.contains(&e.ts)).collect();
    let Some((dimension, value)) = ask.filter else {
        return within;
    };
    let sessions_with = |test: &dyn Fn(&Ev) -> bool| -> BTreeSet<usize> {
        within
            .iter()
            .filter(|e| test(e))
            .map(|e| e.session)
            .collect()
    };
    let visitors_with = |test: &dyn Fn(&Ev) -> bool| -> BTreeSet<usize> {
        within
            .iter()
            .filter(|e| test(e))
            .map(|e| e.visitor())
            .collect()
    };
    let keep = |e: &Ev| -> bool {
        match dimension {
            "page" => {
                sessions_with(&|x| x.name == "page_view" && x.path() == value).contains(&e.session)
            }
            "entry_page" => {
                // The session's first page view in the range (the earliest; ties by id).
                let first = within
                    .iter()
                    .filter(|x| x.session == e.session && x.name == "page_view")
                    .min_by_key(|x| (x.ts, x.pageview));
                first.is_some_and(|x| x.path() == value)
            }
            "exit_page" => {
                // The session's last page view in the range.
                let last = within
                    .iter()
                    .filter(|x| x.session == e.session && x.name == "page_view")
                    .max_by_key(|x| x.ts);
                last.is_some_and(|x| x.path() == value)
            }
            "utm_source" => {
                sessions_with(&|x| x.utm_source.unwrap_or("") == value).contains(&e.session)
            }
            // A page view's referring host when it is another site's (www. dropped).
            "referrer" => sessions_with(&|x| {
                let host = x
                    .referrer
                    .filter(|r| r.contains("news.example"))
                    .map_or("", |_| "news.example");
                x.name == "page_view" && host == value
            })
            .contains(&e.session),
            "visitor_type" => {
                visitors_with(&|x| x.returning).contains(&e.visitor()) == (value == "returning")
            }
            "referred" => visitors_with(&|x| x.referred).contains(&e.visitor()),
            _ => unreachable!(),
        }
    };
    within.iter().copied().filter(|e| keep(e)).collect()
}

/// The whole report, by the definitions.
fn expected(all: &[Ev], ask: &Ask) -> Value {
    let events = scope(all, ask);
    let bucketed = |size: u64, index: u64| -> Metrics {
        let list: Vec<&Ev> = events
            .iter()
            .copied()
            .filter(|e| e.ts / size == index)
            .collect();
        metrics(&list)
    };
    let mut pages: BTreeMap<&str, BTreeSet<(usize, usize)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.name == "page_view") {
        pages.entry(e.path()).or_default().insert(e.pageview_key());
    }
    let mut top: Vec<TopPage> = pages
        .into_iter()
        .map(|(path, views)| TopPage {
            path: path.to_owned(),
            pageviews: views.len() as u64,
        })
        .collect();
    top.sort_by(|a, b| b.pageviews.cmp(&a.pageviews).then(a.path.cmp(&b.path)));
    top.truncate(10);
    let referred: BTreeSet<usize> = events
        .iter()
        .filter(|e| e.referred)
        .map(|e| e.visitor())
        .collect();
    let hours: Vec<Value> = if ask.from == ask.to {
        (ask.from * 24..ask.from * 24 + 24)
            .map(|h| json!(bucketed(HOUR_MS, h)))
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "total": metrics(&events),
        "days": (ask.from..=ask.to).map(|d| json!(bucketed(DAY_MS, d))).collect::<Vec<_>>(),
        "hours": hours,
        "top_pages": top,
        "links_shared": events.iter().filter(|e| e.name == "referral_shared").count(),
        "referred_visitors": referred.len(),
    })
}

/// The same figures from the report queries.
fn actual(stats: &Stats) -> Value {
    json!({
        "total": stats.total,
        "days": stats.days.iter().map(|d| json!(d.metrics)).collect::<Vec<_>>(),
        "hours": stats.hours.iter().map(|h| json!(h.metrics)).collect::<Vec<_>>(),
        "top_pages": stats.top_pages,
        "links_shared": stats.programs.referral.links_shared,
        "referred_visitors": stats.programs.referral.referred_visitors,
    })
}

/// Equal, numbers within a relative 1e-9 (the databases average in floating point).
fn same(a: &Value, b: &Value, at: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) {
                Ok(())
            } else {
                Err(format!(
                    "{at}: {x} from the queries, {y} by the definitions"
                ))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{at}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x
            .iter()
            .try_for_each(|(k, v)| same(v, y.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"))),
        _ if a == b => Ok(()),
        _ => Err(format!(
            "{at}: {a} from the queries, {b} by the definitions"
        )),
    }
}

async fn one_case(h: Harness, events: Vec<Ev>, asks: Vec<Ask>) -> Result<(), String> {
    let text: String = events
        .iter()
        .enumerate()
        .map(|(n, e)| line(n, e) + "\n")
        .collect();
    let now = (FIRST_DAY + 10) * DAY_MS;
    let report = rapport_collector::import::import(&h.state.db, "demo", text.as_bytes(), now)
        .await
        .map_err(|e| format!("{e}"))?;
    if !report.refused.is_empty() || report.stored != events.len() as u64 {
        return Err(format!("import: {report:?}"));
    }
    for ask in asks {
        let filters: Vec<Filter> = ask
            .filter
            .iter()
            .map(|(dimension, value)| Filter {
                dimension: (*dimension).to_owned(),
                value: (*value).to_owned(),
            })
            .collect();
        let got = stats::stats(
            &h.state.db,
            "demo",
            ask.from as i64,
            ask.to as i64,
            &filters,
        )
        .await
        .map_err(|e| format!("{e}"))?;
        same(&actual(&got), &expected(&events, &ask), "stats")
            .map_err(|e| format!("{ask:?}: {e}"))?;
    }
    Ok(())
}

fn check(database: &str, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (events(), prop::collection::vec(ask(), 1..4));
    runner
        .run(&strategy, |(events, asks)| {
            rt.block_on(async {
                let h = match database {
                    "postgres" => Harness::postgres().await,
                    "clickhouse" => Harness::clickhouse().await,
                    _ => Harness::sqlite().await,
                };
                one_case(h, events, asks).await
            })
            .map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn sqlite_stats_equal_the_definitions_for_any_events() {
    check("sqlite", 160);
}

#[test]
fn postgres_stats_equal_the_definitions_for_any_events() {
    check("postgres", 80);
}

#[test]
fn clickhouse_stats_equal_the_definitions_for_any_events() {
    check("clickhouse", 48);
}
