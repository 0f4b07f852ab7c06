//! ClickHouse partitions by the stored, clock-corrected time: batches whose clients' clocks
//! are set months apart still land in the month they were received in, together with the
//! other sites' batches of the same insert.

// Only the ClickHouse harness is used here.
#[allow(dead_code)]
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

/// Sends one statement to the ClickHouse server at `server` (`clickhouse://HOST:PORT`) and
/// returns the answer's body; panics on an error answer.
fn clickhouse_run(server: &str, database: &str, sql: &str) -> String {
    use std::io::{Read, Write};
    let host = server
        .trim_start_matches("clickhouse://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /?database={database} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{sql}",
        sql.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{sql}: {answer}"
    );
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

mod clickhouse_upgrade {
    use super::*;

    /// A database of schema version 3, whose rows' day is the client's, is rebuilt on
    /// start-up: each row's day and partition become its stored time's, nothing is lost, and
    /// a stored id is still found as a duplicate.
    #[tokio::test]
    async fn a_version_3_table_is_redated_by_stored_time() {
        let server = std::env::var("RAPPORT_TEST_CLICKHOUSE_URL")
            .expect("RAPPORT_TEST_CLICKHOUSE_URL is not set");
        let database = format!("upgrade_{}", std::process::id());
        let url = format!("{}/{database}", server.trim_end_matches('/'));
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}/rapport.db", dir.path().display());
        let db = rapport_collector::Db::connect(&sqlite)
            .await
            .unwrap()
            .with_events(&url)
            .await
            .unwrap();
        drop(db);
        let now = now_ms();
        // The table as version 3 left it: an event stamped 200 days back by its client's
        // clock, stored (corrected) as now, in the client day's partition.
        clickhouse_run(&server, &database, "DROP TABLE rapport_migrations");
        clickhouse_run(
            &server,
            &database,
            "CREATE TABLE rapport_migrations (version UInt32, name String) ENGINE = TinyLog",
        );
        clickhouse_run(
            &server,
            &database,
            "INSERT INTO rapport_migrations VALUES (1, 'single'), (2, 'single'), (3, 'single')",
        );
        let client_ts = now - 200 * DAY;
        clickhouse_run(
            &server,
            &database,
            &format!(
                "INSERT INTO events (site, day, id, name, ts, client_ts, received_at, \
                 visitor_id, session_id, pageview_id, is_returning, url, path, referred, \
                 props) VALUES ('demo', toDate(toDateTime(intDiv({client_ts}, 1000))), \
                 '{}', 'page_view', {now}, {client_ts}, {now}, 'v', 's', 'p', 0, \
                 'https://shop.example/', '/', 0, '{{}}')",
                id(1, 7)
            ),
        );
        let db = rapport_collector::Db::connect(&sqlite)
            .await
            .unwrap()
            .with_events(&url)
            .await
            .unwrap();
        let parts = clickhouse_run(
            &server,
            &database,
            "SELECT DISTINCT partition FROM system.parts WHERE active \
             AND database = currentDatabase() AND table = 'events'",
        );
        let month = clickhouse_run(
            &server,
            &database,
            &format!("SELECT toYYYYMM(toDate(toDateTime(intDiv({now}, 1000))))"),
        );
        assert_eq!(parts.trim(), month.trim());
        let stored = db.recent_events("demo", 10).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].client_ts, client_ts as i64);
        let event: rapport_core::Event = serde_json::from_value(event(7, now - 1_000)).unwrap();
        let again = [rapport_collector::db::NewEvent {
            event: &event,
            ts: now - 1_000,
        }];
        assert!(db
            .insert_events("demo", now, &again)
            .await
            .unwrap()
            .is_empty());
        clickhouse_run(&server, &database, &format!("DROP DATABASE {database}"));
    }
}

mod clickhouse_copies {
    use super::*;
    use rapport_collector::report::stats;

    /// The stats, breakdowns, experiments and prompts read the table as stored, without `FINAL`:
    /// copies of every event that raced in through a second collector and are not merged
    /// yet change no figure.
    #[tokio::test]
    async fn copies_not_merged_yet_change_no_figure() {
        let server = std::env::var("RAPPORT_TEST_CLICKHOUSE_URL")
            .expect("RAPPORT_TEST_CLICKHOUSE_URL is not set");
        let h = common::Harness::clickhouse().await;
        let database = h
            .state
            .db
            .read("SELECT currentDatabase()", &[])
            .await
            .unwrap()[0]
            .text(0);
        // 2024-03-10, noon: two visitors, their answers and a share.
        let noon = 19_792 * DAY + DAY / 2;
        let line = |n: u64, visitor: u64, name: &str, props: serde_json::Value| {
            json!({
                "id": id(1, n), "name": name, "ts": noon + n * 1_000,
                "visitor_id": id(2, visitor), "session_id": id(3, visitor),
                "pageview_id": id(4, visitor), "returning": false,
                "url": "https://shop.example/", "props": props
            })
            .to_string()
                + "\n"
        };
        let text = [
            line(1, 1, "page_view", json!({})),
            line(
                2,
                1,
                "page_engagement",
                json!({"engaged_ms": 12_000, "scroll_max": 80}),
            ),
            line(
                3,
                1,
                "feedback_submitted",
                json!({"type": "nps", "score": 9, "prompt_id": "nps-main", "variant": "a"}),
            ),
            line(
                4,
                1,
                "feedback_submitted",
                json!({"type": "csat", "score": 4}),
            ),
            line(5, 2, "page_view", json!({"referral_code": "FRIEND"})),
            line(6, 2, "referral_shared", json!({})),
            line(
                7,
                2,
                "feedback_submitted",
                json!({"type": "nps", "score": 3}),
            ),
            line(
                10,
                1,
                "prompt_shown",
                json!({"type": "nps", "prompt_id": "nps-main", "variant": "a"}),
            ),
            line(
                8,
                1,
                "experiment_exposed",
                json!({"experiment": "hero", "variant": "b", "variant_index": 1}),
            ),
            line(
                9,
                2,
                "experiment_exposed",
                json!({"experiment": "hero", "variant": "a", "variant_index": 0}),
            ),
        ]
        .concat();
        let report =
            rapport_collector::import::import(&h.state.db, "demo", text.as_bytes(), now_ms())
                .await
                .unwrap();
        assert_eq!(report.stored, 10, "{report:?}");
        let read = || stats::stats(&h.state.db, "demo", 19_792, 19_792, &[]);
        let before = read().await.unwrap();
        let breakdowns = || async {
            let mut all = Vec::new();
            for dimension in rapport_collector::report::breakdown::DIMENSIONS {
                let rows = rapport_collector::report::breakdown::breakdown(
                    &h.state.db,
                    "demo",
                    dimension,
                    19_792,
                    19_792,
                    &[],
                )
                .await
                .unwrap()
                .unwrap();
                all.push((dimension, rows));
            }
            all
        };
        let experiments = || {
            rapport_collector::report::experiments::results(
                &h.state.db,
                "demo",
                19_792,
                19_792,
                "purchase",
            )
        };
        let prompts = || {
            rapport_collector::report::prompts::results(&h.state.db, "demo", 19_792, 19_792, &[])
        };
        let (breakdowns_before, experiments_before, prompts_before) = (
            breakdowns().await,
            experiments().await.unwrap(),
            prompts().await.unwrap(),
        );
        assert_eq!(prompts_before.len(), 1, "{prompts_before:?}");
        assert_eq!(experiments_before.len(), 1, "{experiments_before:?}");
        assert!(breakdowns_before.iter().all(|(_, rows)| !rows.is_empty()));
        let t = &before.total;
        assert_eq!((t.visitors, t.sessions, t.pageviews), (2, 2, 2));
        assert_eq!(t.feedback.responses, 3);
        assert_eq!(t.feedback.nps, Some(0.0));
        assert_eq!(t.feedback.csat_average, Some(4.0));
        assert_eq!(before.programs.referral.links_shared, 1);
        assert_eq!(before.programs.referral.referred_visitors, 1);

        // Every event again, as a second collector racing the first would have stored it,
        // with merges stopped so the copies stay.
        clickhouse_run(&server, &database, "SYSTEM STOP MERGES events");
        clickhouse_run(
            &server,
            &database,
            "INSERT INTO events SELECT * FROM events",
        );
        let rows = h
            .state
            .db
            .read("SELECT count() FROM events", &[])
            .await
            .unwrap();
        assert_eq!(rows[0].int(0), 20, "the copies are not there");
        let after = read().await.unwrap();
        assert_eq!(
            serde_json::to_value(&after).unwrap(),
            serde_json::to_value(&before).unwrap()
        );
        assert_eq!(breakdowns().await, breakdowns_before);
        assert_eq!(experiments().await.unwrap(), experiments_before);
        assert_eq!(prompts().await.unwrap(), prompts_before);
    }
}
