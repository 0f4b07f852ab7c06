//! Ingest as a property: arbitrary JSON batches, mostly close to real events, on SQLite,
//! PostgreSQL and ClickHouse. Whatever the batch, ingest never fails with a 5xx or a panic,
//! accounts for every event, stores a repeat of the batch once, and the stats stay finite
//! and in range.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

const NAMES: &[&str] = &[
    "page_view",
    "page_engagement",
    "scroll_milestone",
    "feedback_submitted",
    "referral_shared",
    "purchase",
    "add_to_cart",
    "Bad Name",
    "",
];
const KEYS: &[&str] = &[
    "engaged_ms",
    "scroll_max",
    "depth",
    "score",
    "type",
    "referral_code",
    "visit_count",
    "session_pageviews",
    "note",
];

fn uuid(kind: u8, n: u8) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// Any JSON value a careless or hostile sender might put anywhere.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just(1e19), Just(-1e19), Just(1e308), Just(0.5), Just(-0.0)]
            .prop_map(Value::from),
        "[a-z0-9 :.-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A prop value: usually a plausible one for the key, sometimes anything.
fn prop_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..200_000).prop_map(Value::from),
        1 => (0u64..=11).prop_map(Value::from),
        1 => prop_oneof![Just("nps"), Just("csat"), Just("REF123")].prop_map(Value::from),
        2 => any_json(),
    ]
}

/// An event close to what the widget sends, with any field possibly off.
fn event(now: u64) -> impl Strategy<Value = Value> {
    let ts = prop_oneof![
        4 => (0u64..3_600_000).prop_map(move |back| Value::from(now - back)),
        1 => Just(Value::from(now + 3_600_000)),
        1 => Just(Value::from(now - 8 * 86_400_000)),
        1 => any_json(),
    ];
    let id = |kind: u8| {
        prop_oneof![
            6 => (0u8..6).prop_map(move |n| Value::from(uuid(kind, n))),
            1 => any_json(),
        ]
    };
    let props = prop::collection::btree_map(
        prop::sample::select(KEYS).prop_map(str::to_owned),
        prop_value(),
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
    let url = prop_oneof![
        Just(Value::from("https://shop.example/p/mug?utm_source=x#top")),
        Just(Value::from("https://shop.example/")),
        Just(Value::from("ftp://shop.example/")),
        any_json(),
    ];
    let real = (
        id(1),
        prop::sample::select(NAMES),
        ts,
        id(2),
        id(3),
        id(4),
        any::<bool>(),
        url,
        props,
    )
        .prop_map(|(id, name, ts, v, s, p, returning, url, props)| {
            json!({
                "id": id, "name": name, "ts": ts, "visitor_id": v, "session_id": s,
                "pageview_id": p, "returning": returning, "url": url, "props": props,
            })
        });
    prop_oneof![9 => real, 1 => any_json()]
}

fn batch(now: u64) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(event(now), 1..12)
}

fn in_range(value: &Value, low: f64, high: f64, what: &str) {
    if let Some(v) = value.as_f64() {
        assert!(v.is_finite() && (low..=high).contains(&v), "{what}: {v}");
    } else {
        assert!(value.is_null(), "{what}: {value}");
    }
}

/// The metrics of one bucket are finite and within their definitions' ranges.
fn check_metrics(m: &Value) {
    for rate in ["returning_share", "bounce_rate", "engagement_rate"] {
        in_range(&m[rate], 0.0, 100.0, rate);
    }
    for reach in m["scroll_reach"].as_array().unwrap() {
        in_range(reach, 0.0, 100.0, "scroll_reach");
    }
    in_range(&m["feedback"]["nps"], -100.0, 100.0, "nps");
    in_range(&m["feedback"]["csat_average"], 1.0, 5.0, "csat_average");
    for mean in [
        "avg_session_engaged_ms",
        "avg_session_span_ms",
        "pages_per_session",
    ] {
        in_range(&m[mean], 0.0, 1e15, mean);
    }
    let visitors = m["visitors"].as_u64().unwrap();
    assert_eq!(
        m["new_visitors"].as_u64().unwrap() + m["returning_visitors"].as_u64().unwrap(),
        visitors
    );
    if m["sessions"].as_u64().unwrap() > 0 {
        assert!(m["avg_session_span_ms"].is_number(), "{m}");
    }
}

async fn one_case(h: Harness, now: u64, events: Vec<Value>) {
    let size = events.len();
    let body = json!({ "site": "demo", "sent_at": now, "events": events }).to_string();
    let (status, first) = h.post("text/plain", body.clone()).await;
    let rejected = first["rejected"].as_array().map_or(0, Vec::len);
    match status {
        StatusCode::OK => {
            let accepted = first["accepted"].as_u64().unwrap() as usize;
            assert_eq!(accepted + rejected, size, "{first}");
        }
        StatusCode::BAD_REQUEST => assert_eq!(rejected, size, "{first}"),
        other => panic!("{other}: {first}"),
    }
    let stored = h.stored("demo").await.len();
    assert!(stored <= size);
    // The same batch again stores nothing new, and says every accepted event was a repeat.
    let (status, again) = h.post("text/plain", body).await;
    if status == StatusCode::OK {
        assert_eq!(again["accepted"], first["accepted"]);
        assert_eq!(
            again["duplicates"].as_array().unwrap().len() as u64,
            again["accepted"].as_u64().unwrap(),
            "{again}"
        );
    }
    assert_eq!(h.stored("demo").await.len(), stored);
    let request = Request::get("/v1/sites/demo/stats")
        .body(Body::empty())
        .unwrap();
    let (status, stats, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    check_metrics(&stats["total"]);
    for day in stats["days"].as_array().unwrap() {
        check_metrics(day);
    }
}

fn check(database: &str, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = rapport_collector::now_ms();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&batch(now), |events| {
            rt.block_on(async {
                let h = match database {
                    "postgres" => Harness::postgres().await,
                    "clickhouse" => Harness::clickhouse().await,
                    _ => Harness::sqlite().await,
                };
                one_case(h, now, events).await;
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn sqlite_ingest_holds_its_invariants_for_any_batch() {
    check("sqlite", 128);
}

#[test]
fn postgres_ingest_holds_its_invariants_for_any_batch() {
    check("postgres", 64);
}

#[test]
fn clickhouse_ingest_holds_its_invariants_for_any_batch() {
    check("clickhouse", 64);
}
