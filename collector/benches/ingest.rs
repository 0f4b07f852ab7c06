//! `cargo xtask bench collector`: ingest throughput and latency, next to the raw insert
//! ceiling of the same rows through the same driver, on SQLite, and when their URLs are set
//! on PostgreSQL (RAPPORT_BENCH_POSTGRES_URL) and ClickHouse (RAPPORT_BENCH_CLICKHOUSE_URL,
//! with the ledger on SQLite). Not a test: it reports, it does not judge.
//!
//! The load generator runs in this process and posts to the collector over loopback HTTP
//! with keep-alive connections, `CONCURRENCY` requests at a time, batches of 50 events.
//!
//! Then the cost per event by batch size ([`sweep`]): batches of 50 to 1000 realistic events,
//! one at a time, to `app(state)` on a SQLite file that already holds a week of traffic
//! (100k events; `RAPPORT_BENCH_SWEEP_STORED`). A batch of 1000 should cost no more per
//! event than one of 50. `RAPPORT_BENCH_SWEEP_ONLY=1` runs only this part.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rapport_collector::db::NewEvent;
use rapport_collector::{app, now_ms, AppState, Config, Db, RateLimit};
use serde_json::json;

const EVENTS_PER_BATCH: usize = 50;
const CONCURRENCY: usize = 16;

fn batches(count: usize, run: u32) -> Vec<String> {
    let now = now_ms();
    (0..count)
        .map(|b| {
            let events: Vec<_> = (0..EVENTS_PER_BATCH)
                .map(|e| {
                    let n = b * EVENTS_PER_BATCH + e;
                    json!({
                        "id": format!("{run:08x}-0000-4000-8000-{n:012x}"),
                        "name": if e == 0 { "page_view" } else { "page_engagement" },
                        "ts": now - 1_000,
                        "visitor_id": format!("11111111-1111-4111-8111-{:012x}", b % 997),
                        "session_id": format!("22222222-2222-4222-8222-{b:012x}"),
                        "pageview_id": format!("33333333-3333-4333-8333-{b:012x}"),
                        "returning": b % 3 == 0,
                        "url": "https://shop.example/products/stoneware-mug?utm_source=newsletter",
                        "props": { "engaged_ms": e * 1000, "scroll_max": e % 100 }
                    })
                })
                .collect();
            json!({ "site": "demo", "sent_at": now, "events": events }).to_string()
        })
        .collect()
}

struct Run {
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i].as_secs_f64() * 1000.0
    }
}

/// Runs `work(i)` for every i in 0..count, `CONCURRENCY` at a time.
async fn drive<F, Fut>(count: usize, work: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return latencies;
                    }
                    let t = Instant::now();
                    work(i).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Run {
        events: count * EVENTS_PER_BATCH,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// The storage of one run: the database, and where the events go when not there.
struct Storage {
    url: String,
    events: Option<String>,
}

impl Storage {
    async fn open(&self) -> Db {
        let db = Db::connect(&self.url).await.unwrap();
        match &self.events {
            Some(events) => db.with_events(events).await.unwrap(),
            None => db,
        }
    }
}

async fn http_run(storage: &Storage, bodies: Vec<String>) -> Run {
    let db = storage.open().await;
    let config = Config::parse("[[site]]\nid = \"demo\"\norigins = [\"*\"]").unwrap();
    let mut state = AppState::new(db, config);
    state.rate_limit = RateLimit::new(u32::MAX, Duration::from_millis(1)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bodies = Arc::new(bodies);
    let count = bodies.len();
    let uri: axum::http::Uri = format!("http://{addr}/v1/batch").parse().unwrap();
    let run = drive(count, move |i| {
        let (client, bodies, uri) = (client.clone(), bodies.clone(), uri.clone());
        async move {
            let request = axum::http::Request::post(uri)
                .header("content-type", "text/plain")
                .header(
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
                )
                .body(Full::new(Bytes::from(bodies[i].clone())))
                .unwrap();
            let response = client.request(request).await.unwrap();
            assert_eq!(response.status(), 200);
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        }
    })
    .await;
    server.abort();
    run
}

async fn empty(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("TRUNCATE events").execute(&pool).await.unwrap();
    pool.close().await;
}

async fn raw_run(storage: &Storage, bodies: &[String]) -> Run {
    let db = storage.open().await;
    let batches: Vec<(u64, Vec<rapport_core::Event>)> = bodies
        .iter()
        .map(|b| {
            let batch: rapport_core::Batch = serde_json::from_str(b).unwrap();
            (batch.sent_at, batch.events)
        })
        .collect();
    let batches = Arc::new(batches);
    let count = batches.len();
    drive(count, move |i| {
        let (db, batches) = (db.clone(), batches.clone());
        async move {
            let (sent_at, events) = &batches[i];
            let rows: Vec<NewEvent> = events
                .iter()
                .map(|event| NewEvent {
                    event,
                    ts: *sent_at,
                })
                .collect();
            db.insert_events("demo", now_ms(), &rows).await.unwrap();
        }
    })
    .await
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("RAPPORT_BENCH_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir().unwrap();
    let by_size = sweep(dir.path()).await;
    if std::env::var("RAPPORT_BENCH_SWEEP_ONLY").is_ok_and(|v| v == "1") {
        return;
    }
    let sqlite = |name: &str| format!("sqlite://{}/{name}.db", dir.path().display());
    let mut backends = vec![(
        "SQLite",
        Storage {
            url: sqlite("bench-http"),
            events: None,
        },
        Storage {
            url: sqlite("bench-raw"),
            events: None,
        },
    )];
    if let Ok(pg) = std::env::var("RAPPORT_BENCH_POSTGRES_URL") {
        let one = || Storage {
            url: pg.clone(),
            events: None,
        };
        backends.push(("PostgreSQL", one(), one()));
    }
    if let Ok(ch) = std::env::var("RAPPORT_BENCH_CLICKHOUSE_URL") {
        let pid = std::process::id();
        let at = |name: &str| Storage {
            url: sqlite(&format!("ledger-{name}")),
            events: Some(format!("{}/bench_{name}_{pid}", ch.trim_end_matches('/'))),
        };
        backends.push(("ClickHouse", at("http"), at("raw")));
    }
    println!(
        "collector ingest: {count} batches of {EVENTS_PER_BATCH} events, {CONCURRENCY} in flight, {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!("| storage | path | events/s | p50 ms | p99 ms | of raw ceiling |");
    println!("|---|---|---|---|---|---|");
    let mut results = Vec::new();
    for (run_id, (name, http_storage, raw_storage)) in backends.into_iter().enumerate() {
        let raw = raw_run(&raw_storage, &batches(count, 2 * run_id as u32 + 1)).await;
        if raw_storage.url == http_storage.url && raw_storage.events.is_none() {
            // One PostgreSQL database: the HTTP run starts from an empty table, as the
            // SQLite one does from its own file.
            empty(&raw_storage.url).await;
        }
        let http = http_run(&http_storage, batches(count, 2 * run_id as u32 + 2)).await;
        for (path, run) in [
            ("raw insert (same driver)", &raw),
            ("HTTP POST /v1/batch", &http),
        ] {
            println!(
                "| {name} | {path} | {:.0} | {:.2} | {:.2} | {:.0} % |",
                run.rate(),
                run.percentile(0.50),
                run.percentile(0.99),
                run.rate() / raw.rate() * 100.0
            );
        }
        results.push(json!({
            "storage": name,
            "http": { "events_per_s": http.rate(), "p50_ms": http.percentile(0.5), "p99_ms": http.percentile(0.99) },
            "raw": { "events_per_s": raw.rate(), "p50_ms": raw.percentile(0.5), "p99_ms": raw.percentile(0.99) },
        }));
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("collector.json");
    std::fs::write(&file, serde_json::to_string_pretty(&json!({ "batches": count, "events_per_batch": EVENTS_PER_BATCH, "concurrency": CONCURRENCY, "results": results, "by_batch_size": by_size })).unwrap()).unwrap();
    println!("written: {}", file.display());
}

/// The batch sizes [`sweep`] compares.
const SWEEP_SIZES: [usize; 4] = [50, 100, 500, 1000];

const SWEEP_SECRET: &str = "sk_bench_0123456789abcdef0123456789abcdef";

/// A site with a secret, a prompt and a loyalty program, so that signed feedback answers
/// go through the award as well.
fn sweep_config() -> Config {
    Config::parse(&format!(
        r#"
[[site]]
id = "demo"
origins = ["*"]
secret = "{SWEEP_SECRET}"

[[site.prompt]]
id = "nps-bench"
type = "nps"
question = {{ en = "How likely are you to recommend us?" }}
trigger = {{ engaged_seconds = 20 }}

[site.loyalty]
points_per_currency_unit = 1
referral_points = 500
feedback_points = 50

[[site.loyalty.tiers]]
id = "bronze"
name = {{ en = "Bronze" }}
threshold = 0
"#
    ))
    .unwrap()
}

/// The `n`th event of realistic traffic, `ago_ms` before `now`: sessions of 20 events (page
/// views, scroll milestones, engagement), 3000 visitors coming back, now and then a
/// referral code or a campaign on the landing page, and in one session in seven a prompt
/// shown and answered by a signed-in shopper.
fn realistic(n: usize, now: u64, ago_ms: u64) -> serde_json::Value {
    let uuid = |kind: u32, n: usize| format!("{kind:08x}-0000-4000-8000-{n:012x}");
    let (session, e) = (n / 20, n % 20);
    let visitor = session % 3000;
    let page = e / 5;
    let prompted = session % 7 == 0;
    let user = format!("shopper-{visitor}");
    let (name, props) = match (e % 5, e) {
        (0, 0) if session % 10 == 0 => (
            "page_view",
            json!({ "referral_code": format!("FRIEND{}", visitor % 50) }),
        ),
        (0, _) => ("page_view", json!({})),
        (1, _) => (
            "scroll_milestone",
            json!({ "depth": 25 * (session % 4 + 1) }),
        ),
        (_, 2) if prompted => (
            "prompt_shown",
            json!({ "prompt_id": "nps-bench", "variant": "default" }),
        ),
        (_, 7) if prompted => (
            "feedback_submitted",
            json!({
                "type": "nps", "score": session % 11, "prompt_id": "nps-bench",
                "user_id": user,
                "user_hash": rapport_collector::loyalty::identity_hash(SWEEP_SECRET, &user),
            }),
        ),
        _ => (
            "page_engagement",
            json!({ "engaged_ms": (n * 700) % 40_000, "scroll_max": (n * 13) % 101 }),
        ),
    };
    let campaign = if session % 4 == 0 {
        "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    } else {
        ""
    };
    let mut event = json!({
        "id": uuid(1, n),
        "name": name,
        "ts": now - ago_ms - 1_000 * (20 - e as u64),
        "visitor_id": uuid(2, visitor),
        "session_id": uuid(3, session),
        "pageview_id": uuid(4, session * 4 + page),
        "returning": session >= 3000,
        "url": format!("https://shop.example/products/{}{campaign}", (session + page) % 40),
        "props": props,
    });
    if name == "page_view" && session % 3 == 0 {
        event["referrer"] = "https://search.example/?q=mugs".into();
    }
    event
}

/// Milliseconds per event by batch size, on SQLite with a week of traffic stored: every
/// round posts 1000 events in batches of each size, the sizes interleaved so that the
/// growing table weighs on each alike.
async fn sweep(dir: &std::path::Path) -> Vec<serde_json::Value> {
    use tower::ServiceExt;
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let stored = var("RAPPORT_BENCH_SWEEP_STORED", 100_000);
    let rounds = var("RAPPORT_BENCH_SWEEP_ROUNDS", 10);
    let db = Db::connect(&format!("sqlite://{}/sweep.db", dir.display()))
        .await
        .unwrap();
    let now = now_ms();
    let week_ms = 7 * 86_400_000;
    let started = Instant::now();
    let mut n = 0;
    while n < stored {
        let events: Vec<rapport_core::Event> = (n..(n + 100).min(stored))
            .map(|i| {
                let ago = (i / 20) as u64 * 7919 % (week_ms / 1000) * 1000;
                serde_json::from_value(realistic(i, now, ago)).unwrap()
            })
            .collect();
        let rows: Vec<NewEvent> = events
            .iter()
            .map(|event| NewEvent {
                event,
                ts: event.ts,
            })
            .collect();
        db.insert_events("demo", now, &rows).await.unwrap();
        n += events.len();
    }
    println!(
        "by batch size: {stored} events stored first ({:.1} s), {rounds} rounds of 1000 events per size, one batch at a time",
        started.elapsed().as_secs_f64()
    );
    let mut state = AppState::new(db, sweep_config());
    state.rate_limit = RateLimit::new(u32::MAX, Duration::from_millis(1)).unwrap();
    let router = app(state);
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); SWEEP_SIZES.len()];
    for _ in 0..rounds {
        for (s, &size) in SWEEP_SIZES.iter().enumerate() {
            for _ in 0..1000 / size {
                let now = now_ms();
                let events: Vec<_> = (n..n + size).map(|i| realistic(i, now, 0)).collect();
                n += size;
                let body = json!({ "site": "demo", "sent_at": now, "events": events });
                let request = axum::http::Request::post("/v1/batch")
                    .header("content-type", "text/plain")
                    .header(
                        "user-agent",
                        "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
                    )
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                let t = Instant::now();
                let response = router.clone().oneshot(request).await.unwrap();
                let status = response.status();
                let answer = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                latencies[s].push(t.elapsed());
                assert_eq!(status, 200);
                let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                assert_eq!(answer["accepted"], size);
            }
        }
    }
    println!("| events per batch | batches | median ms per batch | ms per event | vs 50 |");
    println!("|---|---|---|---|---|");
    let per_event = |s: usize| {
        let total: Duration = latencies[s].iter().sum();
        total.as_secs_f64() * 1000.0 / (latencies[s].len() * SWEEP_SIZES[s]) as f64
    };
    SWEEP_SIZES
        .iter()
        .enumerate()
        .map(|(s, &size)| {
            let mut sorted = latencies[s].clone();
            sorted.sort();
            let median = sorted[sorted.len() / 2].as_secs_f64() * 1000.0;
            println!(
                "| {size} | {} | {median:.2} | {:.4} | {:.2}× |",
                sorted.len(),
                per_event(s),
                per_event(s) / per_event(0)
            );
            json!({ "events_per_batch": size, "batches": sorted.len(), "median_ms": median, "ms_per_event": per_event(s) })
        })
        .collect()
}
