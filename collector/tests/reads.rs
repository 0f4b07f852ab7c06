//! Reads cannot starve ingest: many heavy stats requests at once, and a batch posted while
//! they run is stored at once, on SQLite and PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::Harness;
use rapport_collector::{app, now_ms};
use serde_json::json;
use tower::ServiceExt;

on_every_database!(heavy_reads_do_not_starve_ingest);

const DAY: u64 = 86_400_000;
/// Events seeded over the last 300 days: enough that a year-long filtered stats request
/// takes a while in a debug build, few enough to seed in a second or two.
const SEEDED: u32 = 12_000;
/// Concurrent year-long stats requests.
const READERS: usize = 8;

fn id(kind: u32, n: u32) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// A page view `n`, `age` ms ago.
fn event(n: u32, ts: u64) -> serde_json::Value {
    json!({
        "id": id(1, n), "name": "page_view", "ts": ts, "visitor_id": id(2, n % 3_000),
        "session_id": id(3, n % 6_000), "pageview_id": id(4, n), "returning": n.is_multiple_of(2),
        "url": format!("https://shop.example/p/{}", n % 40), "props": {}
    })
}

/// Seeds `SEEDED` page views straight into storage, spread over 300 days (from a day back,
/// so never in the future).
async fn seed(db: &rapport_collector::Db, now: u64) {
    let events: Vec<rapport_core::Event> = (0..SEEDED)
        .map(|n| serde_json::from_value(event(n, 0)).unwrap())
        .collect();
    let seeding = Instant::now();
    let step = 300 * DAY / u64::from(SEEDED);
    for chunk in events.chunks(5_000).enumerate() {
        let (c, chunk) = chunk;
        let rows: Vec<rapport_collector::db::NewEvent> = chunk
            .iter()
            .enumerate()
            .map(|(i, e)| rapport_collector::db::NewEvent {
                event: e,
                ts: now - DAY - (c * 5_000 + i) as u64 * step,
            })
            .collect();
        db.insert_events("demo", now - DAY, &rows).await.unwrap();
    }
    println!("seeded {SEEDED} events in {:?}", seeding.elapsed());
}

/// A year-long stats request filtered by a page: every query of it reads the whole year.
fn year_of_stats(now: u64) -> String {
    let today = now / DAY;
    let date = |day: u64| rapport_collector::report::stats::date_of(day as i64);
    format!(
        "/v1/sites/demo/stats?from={}&to={}&page=%2Fp%2F7",
        date(today - 365),
        date(today)
    )
}

async fn heavy_reads_do_not_starve_ingest(h: Harness) {
    let now = now_ms();
    seed(&h.state.db, now).await;
    let uri = year_of_stats(now);
    let started = Instant::now();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let mut request = Request::get(&uri).body(Body::empty()).unwrap();
            common::local(&mut request);
            let app = app(h.state.clone());
            tokio::spawn(async move {
                let response = app.oneshot(request).await.unwrap();
                (response.status(), started.elapsed())
            })
        })
        .collect();
    // The reads are under way (each runs about ten queries at once) when the batch comes.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let batch = json!({
        "site": "demo", "sent_at": now_ms(),
        "events": [event(SEEDED + 1, now_ms() - 1_000)],
    })
    .to_string();
    let posted = Instant::now();
    let (status, answer) =
        tokio::time::timeout(Duration::from_secs(60), h.post("text/plain", batch))
            .await
            .expect("the batch got no answer within 60 s");
    let took = posted.elapsed();
    let at = started.elapsed();
    let mut reads = Vec::new();
    for reader in readers {
        reads.push(reader.await.unwrap());
    }
    let last_read = reads.iter().map(|(_, t)| *t).max().unwrap();
    println!("batch: {status} after {took:?}; reads: {:?}", reads);
    assert_eq!(status, StatusCode::OK, "the batch was refused: {answer}");
    // Every read answered: with its stats, or with 503 once over the read budget.
    for (status, _) in &reads {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::SERVICE_UNAVAILABLE,
            "a read answered {status}"
        );
    }
    // The batch did not queue behind the reads: it was stored while most of them still
    // ran (each takes far longer than the batch's insert).
    let running = reads.iter().filter(|(_, t)| *t > at).count();
    assert!(
        running >= READERS / 2,
        "the batch was answered after {took:?}, once {} of {READERS} reads had ended \
         (the last at {last_read:?})",
        READERS - running
    );
    assert!(
        took < Duration::from_secs(5),
        "the batch waited {took:?} behind the reads"
    );
    assert_eq!(h.stored("demo").await[0]["id"], id(1, SEEDED + 1));
}

/// A read over its budget is given up and answered with 503, JSON and Retry-After; the
/// same read within the budget answers.
#[tokio::test]
async fn a_read_over_its_budget_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/rapport.db", dir.path().display());
    let config = || rapport_collector::Config::parse(common::TEST_CONFIG).unwrap();
    let roomy = rapport_collector::AppState::new(
        rapport_collector::Db::connect(&url).await.unwrap(),
        config(),
    );
    let now = now_ms();
    seed(&roomy.db, now).await;
    let tight = rapport_collector::db::ReadBudget {
        concurrency: Some(1),
        timeout: Duration::from_millis(1),
    };
    let tight = rapport_collector::AppState::new(
        rapport_collector::Db::connect_with(&url, tight)
            .await
            .unwrap(),
        config(),
    );
    let mut request = Request::get(year_of_stats(now))
        .body(Body::empty())
        .unwrap();
    common::local(&mut request);
    let response = app(tight).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("took longer"),
        "{body}"
    );
    let mut request = Request::get(year_of_stats(now))
        .body(Body::empty())
        .unwrap();
    common::local(&mut request);
    let response = app(roomy).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
