//! ClickHouse partitions by the stored, clock-corrected time: batches whose clients' clocks
//! are set months apart still land in the month they were received in, together with the
//! other sites' batches of the same insert.

mod common;

use axum::http::StatusCode;
use rapport_collector::now_ms;
use serde_json::json;

const DAY: u64 = 86_400_000;
/// Batches, each from a client whose clock is about a month further back than the last.
const CLOCKS: u64 = 40;

fn id(kind: u32, n: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

fn event(n: u64, ts: u64) -> serde_json::Value {
    json!({
        "id": id(1, n), "name": "page_view", "ts": ts, "visitor_id": id(2, n),
        "session_id": id(3, n), "pageview_id": id(4, n), "returning": false,
        "url": "https://shop.example/", "props": {}
    })
}

mod clickhouse {
    use super::*;

    #[tokio::test]
    async fn skewed_clocks_land_in_the_month_of_arrival() {
        let h = std::sync::Arc::new(common::Harness::clickhouse().await);
        let now = now_ms();
        // Batch k: sent by a clock 31·k days slow, with three events stamped within the 7
        // days before its sent_at; once corrected they all happened in the last 7 days.
        let batches: Vec<String> = (0..CLOCKS)
            .map(|k| {
                let sent_at = now - k * 31 * DAY;
                let events: Vec<_> = (0..3)
                    .map(|i| event(k * 3 + i, sent_at - i * 2 * DAY - 1_000))
                    .collect();
                json!({ "site": "demo", "sent_at": sent_at, "events": events }).to_string()
            })
            .collect();
        // Another site's batch, posted with them, so in the same insert group.
        let other = json!({
            "site": "club", "sent_at": now, "events": [event(1_000, now - 1_000)]
        })
        .to_string();
        let post = |body: String| {
            let h = h.clone();
            tokio::spawn(async move { h.post("text/plain", body).await })
        };
        let posts: Vec<_> = batches.into_iter().chain([other]).map(post).collect();
        for post in posts {
            let (status, body) = post.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_eq!(h.stored("demo").await.len() as u64, CLOCKS * 3);
        assert_eq!(h.stored("club").await.len(), 1);
        // Every event's stored time is within the last 7 days: at most two months, and
        // the partitions are those months.
        let parts = h
            .state
            .db
            .read(
                "SELECT DISTINCT partition FROM system.parts WHERE active \
                 AND database = currentDatabase() AND table = 'events'",
                &[],
            )
            .await
            .unwrap();
        let months = h
            .state
            .db
            .read(
                "SELECT DISTINCT toString(toYYYYMM(toDate(toDateTime(intDiv(ts, 1000))))) \
                 FROM events",
                &[],
            )
            .await
            .unwrap();
        let mut parts: Vec<String> = parts.iter().map(|r| r.text(0)).collect();
        let mut months: Vec<String> = months.iter().map(|r| r.text(0)).collect();
        parts.sort();
        months.sort();
        println!("partitions: {parts:?}; months of the stored times: {months:?}");
        assert!(months.len() <= 2, "{months:?}");
        assert_eq!(
            parts, months,
            "the partitions are not the stored times' months"
        );
        // A batch sent again, with another clock error, stores nothing twice.
        let again = json!({
            "site": "demo", "sent_at": now - 5 * DAY,
            "events": [event(0, now - 5 * DAY - 1_000)]
        })
        .to_string();
        let (status, body) = h.post("text/plain", again).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["duplicates"], json!([0]), "{body}");
        assert_eq!(h.stored("demo").await.len() as u64, CLOCKS * 3);
    }
}
