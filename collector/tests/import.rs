//! `rapport-collector import`'s storage: history of any age, checked line by line, stored
//! once, on SQLite, PostgreSQL and ClickHouse. The command line itself is in process.rs.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use rapport_collector::import::{import, Report, BLOCK};
use rapport_collector::now_ms;
use serde_json::{json, Value};

on_every_database!(
    history_of_any_age_is_stored_and_counted_on_its_own_days,
    an_import_run_twice_stores_each_event_once_across_blocks,
);

const DAY_MS: u64 = 86_400_000;

fn uuid(kind: u32, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// Noon (UTC) of the day `days_ago` days before today's, and that day as `YYYY-MM-DD`.
fn noon(days_ago: u64) -> (u64, String) {
    let day = now_ms() / DAY_MS - days_ago;
    let date = rapport_collector::report::stats::date_of(day as i64);
    (day * DAY_MS + DAY_MS / 2, date)
}

fn line(n: u64, name: &str, ts: u64, props: Value) -> String {
    json!({
        "id": uuid(1, n),
        "name": name,
        "ts": ts,
        "visitor_id": uuid(2, n / 4),
        "session_id": uuid(3, n / 4),
        "pageview_id": uuid(4, n / 2),
        "returning": false,
        "url": format!("https://shop.example/p/{}", n / 2),
        "props": props,
    })
    .to_string()
}

async fn stats(h: &Harness, date: &str) -> Value {
    let request = Request::get(format!("/v1/sites/demo/stats?from={date}&to={date}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn history_of_any_age_is_stored_and_counted_on_its_own_days(h: Harness) {
    let (old, old_date) = noon(400);
    let (recent, _) = noon(3);
    let now = now_ms();
    let long = format!(
        r#"{{"pad":"{}"}}"#,
        "x".repeat(rapport_collector::import::MAX_LINE_BYTES)
    );
    let lines = [
        line(0, "page_view", old, json!({})),
        line(
            1,
            "page_engagement",
            old + 30_000,
            json!({ "engaged_ms": 12_000, "scroll_max": 80 }),
        ),
        String::new(),
        "not json".into(),
        line(0, "page_view", old, json!({})),
        line(2, "page_view", old, json!({})).replace("https://", "ftp://"),
        line(3, "page_view", now + 3_600_000, json!({})),
        long,
        line(
            4,
            "feedback_submitted",
            recent,
            json!({ "type": "nps", "score": 9, "user_hash": "ab", "user_expires": 1 }),
        ),
    ];
    let text = lines.join("\n");
    let report = import(&h.state.db, "demo", text.as_bytes(), now)
        .await
        .unwrap();
    let refused: Vec<(u64, &str)> = report
        .refused
        .iter()
        .map(|(n, reason)| (*n, reason.as_str()))
        .collect();
    assert_eq!((report.lines, report.stored, report.duplicates), (8, 3, 1));
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert_eq!(report.refused_lines, 4);
    assert_eq!(refused[0].0, 4);
    assert!(refused[0].1.contains("expected"), "{refused:?}");
    assert_eq!(refused[1].0, 6);
    assert!(refused[1].1.starts_with("url"), "{refused:?}");
    assert_eq!(refused[2], (7, "ts: is later than now"));
    assert_eq!(refused[3], (8, "longer than 65536 bytes"));

    // The day 400 days back has its page view and its engaged time.
    let day = stats(&h, &old_date).await;
    assert_eq!(day["total"]["pageviews"], 1, "{day}");
    assert_eq!(day["total"]["sessions"], 1, "{day}");
    assert_eq!(day["total"]["avg_session_engaged_ms"], 12_000.0, "{day}");
    assert_eq!(day["total"]["scroll_reach"][2], 100.0, "{day}");

    // Each event arrived at its own time; the proof of identity was not kept.
    let stored = h.stored("demo").await;
    assert_eq!(stored.len(), 3);
    for event in &stored {
        assert_eq!(event["received_at"], event["ts"], "{event}");
        assert!(event["props"].get("user_hash").is_none(), "{event}");
        assert!(event["props"].get("user_expires").is_none(), "{event}");
    }
    // A widget that sends an imported event again sends a duplicate.
    let resent: Value = serde_json::from_str(&lines[8]).unwrap();
    let batch = json!({ "site": "demo", "sent_at": now, "events": [resent] });
    let (status, body) = h.post("application/json", batch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["duplicates"], json!([0]), "{body}");
    let request = Request::get("/v1/sites/demo/live")
        .body(Body::empty())
        .unwrap();
    let (status, live, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["visitors"], 0, "history is not live traffic: {live}");
}

async fn an_import_run_twice_stores_each_event_once_across_blocks(h: Harness) {
    let (start, _) = noon(40);
    let count = BLOCK as u64 + 7;
    let text: String = (0..count)
        .map(|n| line(n, "page_view", start + n * 1_000, json!({})) + "\n")
        .collect();
    let now = now_ms();
    let first = import(&h.state.db, "demo", text.as_bytes(), now)
        .await
        .unwrap();
    assert_eq!(
        first,
        Report {
            lines: count,
            stored: count,
            duplicates: 0,
            refused_lines: 0,
            refused: Vec::new(),
        }
    );
    let again = import(&h.state.db, "demo", text.as_bytes(), now)
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, count));
    // Ten thousand seconds from noon: all on one day, two events a page view.
    let (_, date) = noon(40);
    let body = stats(&h, &date).await;
    assert_eq!(body["total"]["pageviews"], count.div_ceil(2), "{body}");
}
