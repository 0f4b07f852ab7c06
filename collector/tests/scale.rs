//! Past one machine (docs/scaling.md): two collector processes, the events on two ClickHouse
//! shards behind a Distributed table sharded by visitor, the ledger in one PostgreSQL
//! database. Batches go to both collectors, some of them to each; the stats asked of either
//! equal those of a single-node collector that received every batch once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const BIN: &str = env!("CARGO_BIN_EXE_rapport-collector");
const CONFIG: &str = "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n";

struct Collector {
    child: Child,
    addr: String,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path, database_url: &str, events_url: &str) -> Collector {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
        .args(["--events-url", events_url])
        .args(["--rate-limit-burst", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains("http://"),
        "the collector did not start: {line:?}"
    );
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    Collector { child, addr }
}

/// `count` batches of 20 events: 12 visitors, each batch one session of one visitor with
/// page views, engagement, scroll and now and then an NPS answer or a referral share.
fn batches(count: usize) -> Vec<String> {
    let now = rapport_collector::now_ms();
    (0..count)
        .map(|b| {
            let uuid = |kind: u32, n: usize| format!("{kind:08x}-0000-4000-8000-{n:012x}");
            let events: Vec<Value> = (0..20)
                .map(|e| {
                    let n = b * 20 + e;
                    let page = e / 5;
                    let (name, props) = match e % 5 {
                        0 => ("page_view", json!({})),
                        1 => ("scroll_milestone", json!({ "depth": 25 * (b % 5) })),
                        2 if b % 3 == 0 => (
                            "feedback_submitted",
                            json!({ "type": "nps", "score": b % 11, "prompt_id": "p" }),
                        ),
                        2 if b % 4 == 1 => ("referral_shared", json!({ "channel": "copy" })),
                        _ => (
                            "page_engagement",
                            json!({ "engaged_ms": (b * 700 + e * 90) % 40_000, "scroll_max": (b * 13 + e) % 101 }),
                        ),
                    };
                    json!({
                        "id": uuid(1, n),
                        "name": name,
                        "ts": now - 3_600_000 * (b as u64 % 48) - 1_000 * (20 - e as u64),
                        "visitor_id": uuid(2, b % 12),
                        "session_id": uuid(3, b),
                        "pageview_id": uuid(4, b * 4 + page),
                        "returning": b % 12 != b,
                        "url": format!("https://shop.example/p/{}?utm_source=x", (b + page) % 7),
                        "props": props,
                    })
                })
                .collect();
            json!({ "site": "demo", "sent_at": now, "events": events }).to_string()
        })
        .collect()
}

/// A GET as from a browser on the collector's machine, which is what reads with no token
/// configured need.
fn local_get(path: &str) -> Request<Body> {
    let mut request = Request::get(path)
        .header("host", "127.0.0.1:8787")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            50_000,
        ))));
    request
}

async fn http(addr: &str, method: &str, path: &str, body: String) -> (u16, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<axum::body::Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "text/plain")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
        )
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_on_two_shards_count_every_event_once() {
    let (Ok(shards), Ok(cluster), Ok(pg)) = (
        std::env::var("RAPPORT_TEST_CLICKHOUSE_SHARDS"),
        std::env::var("RAPPORT_TEST_CLICKHOUSE_CLUSTER"),
        std::env::var("RAPPORT_TEST_POSTGRES_URL"),
    ) else {
        panic!(
            "RAPPORT_TEST_CLICKHOUSE_SHARDS, RAPPORT_TEST_CLICKHOUSE_CLUSTER and \
             RAPPORT_TEST_POSTGRES_URL are not set: run this test with `cargo xtask test`, \
             which starts two ClickHouse shards and PostgreSQL"
        );
    };
    let shards: Vec<&str> = shards.split(',').collect();
    assert_eq!(shards.len(), 2);
    let name = format!("scale_{}", std::process::id());

    // The ledger: one PostgreSQL database both collectors share.
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&pg).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let ledger = format!("{}/{name}", pg.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rapport.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let collectors: Vec<Collector> = shards
        .iter()
        .map(|shard| {
            start(
                &config,
                &ledger,
                &format!("{shard}/{name}?cluster={cluster}"),
            )
        })
        .collect();

    // The single-node reference: every batch once, in process, on SQLite.
    let reference = rapport_collector::app(rapport_collector::AppState::new(
        rapport_collector::Db::connect(&format!("sqlite://{}/one.db", dir.path().display()))
            .await
            .unwrap(),
        rapport_collector::Config::parse(CONFIG).unwrap(),
    ));

    let all = batches(60);
    let mut expected_events = 0;
    for (i, batch) in all.iter().enumerate() {
        let response = reference
            .clone()
            .oneshot(
                Request::post("/v1/batch")
                    .header("content-type", "text/plain")
                    .header(
                        "user-agent",
                        "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
                    )
                    .body(Body::from(batch.clone()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        expected_events += 20;
        // Every batch to one collector, every third also to the other, and every fifth to
        // both at once.
        let (a, b) = (&collectors[i % 2].addr, &collectors[(i + 1) % 2].addr);
        if i % 5 == 0 {
            let (x, y) = tokio::join!(
                http(a, "POST", "/v1/batch", batch.clone()),
                http(b, "POST", "/v1/batch", batch.clone())
            );
            assert_eq!((x.0, y.0), (200, 200), "{} {}", x.1, y.1);
            continue;
        }
        let (status, body) = http(a, "POST", "/v1/batch", batch.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], 20, "{body}");
        if i % 3 == 0 {
            let (status, body) = http(b, "POST", "/v1/batch", batch.clone()).await;
            assert_eq!(status, 200, "{body}");
            // The copy is known as one, through the other shard's collector too.
            assert_eq!(body["duplicates"].as_array().unwrap().len(), 20, "{body}");
        }
    }

    let response = reference
        .oneshot(local_get("/v1/sites/demo/stats"))
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let single: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(single["total"]["sessions"], 60, "{single}");
    assert_eq!(single["total"]["visitors"], 12, "{single}");
    assert_eq!(single["total"]["pageviews"], 240, "{single}");
    for c in &collectors {
        let (status, stats) = http(&c.addr, "GET", "/v1/sites/demo/stats", String::new()).await;
        assert_eq!(status, 200, "{stats}");
        for part in ["total", "days", "top_pages", "programs"] {
            assert_eq!(stats[part], single[part], "{part} differs at {}", c.addr);
        }
    }
    // A segment's subquery runs over the whole distributed table, whichever shard is asked.
    for filtered in [
        "/v1/sites/demo/stats?page=%2Fp%2F3",
        "/v1/sites/demo/stats?visitor_type=returning&entry_page=%2Fp%2F1",
    ] {
        let response = rapport_collector::app(rapport_collector::AppState::new(
            rapport_collector::Db::connect(&format!("sqlite://{}/one.db", dir.path().display()))
                .await
                .unwrap(),
            rapport_collector::Config::parse(CONFIG).unwrap(),
        ))
        .oneshot(local_get(filtered))
        .await
        .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let single: Value = serde_json::from_slice(&bytes).unwrap();
        // A true segment: some of the 60 sessions, not none and not all.
        let sessions = single["total"]["sessions"].as_u64().unwrap();
        assert!(
            sessions > 0 && sessions < 60,
            "{filtered}: {}",
            single["total"]
        );
        for c in &collectors {
            let (status, stats) = http(&c.addr, "GET", filtered, String::new()).await;
            assert_eq!(status, 200, "{stats}");
            assert_eq!(stats["total"], single["total"], "{filtered} at {}", c.addr);
        }
    }
    // Every event is stored once across the shards, whichever collector is asked.
    let (_, events) = http(
        &collectors[1].addr,
        "GET",
        "/v1/sites/demo/events?limit=500",
        String::new(),
    )
    .await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 500);
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 500, "an event is listed twice");
    assert!(expected_events > 500);
}
