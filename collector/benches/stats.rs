//! `cargo xtask bench collector`: how `GET /v1/sites/{site}/stats` for a 30-day and a
//! 365-day range grows with the stored events, and what it costs the collector in memory, on
//! SQLite and, when their URLs are set, PostgreSQL (RAPPORT_BENCH_POSTGRES_URL) and
//! ClickHouse (RAPPORT_BENCH_CLICKHOUSE_URL). Not a test: it reports, it does not judge.
//!
//! Each backend is seeded in steps (100k, 1M, 10M events by default;
//! RAPPORT_BENCH_STATS_SIZES=N,N,… to change) with the bulk import (`rapport-collector
//! import`'s own code, fed newline-delimited JSON), spread over the 365 days ending today.
//! After each step a collector process (the release binary) is started on the data, asked for
//! each range's stats three times, and its peak resident memory read from /proc. A SQLite
//! step that would take longer than 15 minutes to seed, at the rate of the steps before, is
//! skipped and said.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rapport_collector::{now_ms, Db};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_rapport-collector");
const DAY_MS: u64 = 86_400_000;
const SEED_CHUNK: usize = 20_000;
const SKIP_SEEDING_OVER: Duration = Duration::from_secs(15 * 60);

/// Days the seeded sessions spread over, ending today.
const SPREAD_DAYS: u64 = 365;

/// Event `n` of the seeded site, as a line of JSON: sessions of 10 events (2 page views,
/// engagement, scroll, now and then feedback), 3 sessions a visitor, a session a day on each
/// of the [`SPREAD_DAYS`] days ending today in turn.
fn event(n: u64, now: u64) -> String {
    let uuid = |kind: u32, v: u64| format!("{kind:08x}-0000-4000-8000-{v:012x}");
    let session = n / 10;
    let (name, props) = match n % 10 {
        0 | 5 => ("page_view", json!({})),
        1 | 6 => (
            "scroll_milestone",
            json!({ "depth": 25 * (1 + session % 4) }),
        ),
        9 if session.is_multiple_of(7) => (
            "feedback_submitted",
            json!({ "type": "nps", "score": session % 11 }),
        ),
        _ => (
            "page_engagement",
            json!({ "engaged_ms": (n * 137) % 60_000, "scroll_max": (n * 7) % 101 }),
        ),
    };
    let value = json!({
        "id": uuid(1, n),
        "name": name,
        "ts": (now / DAY_MS - session % SPREAD_DAYS) * DAY_MS + 60_000 + (n % 10) * 10_000,
        "visitor_id": uuid(2, session / 3),
        "session_id": uuid(3, session),
        "pageview_id": uuid(4, n / 5),
        "returning": !session.is_multiple_of(3),
        "url": format!("https://shop.example/p/{}?utm_source=mail", (n / 5) % 400),
        "props": props,
    });
    value.to_string()
}

/// Sessions among the first `events` that are in the `days` days ending today.
fn sessions_within(events: u64, days: u64) -> u64 {
    (0..events / 10).filter(|s| s % SPREAD_DAYS < days).count() as u64
}

/// Stores events `from..to` of the seeded site through the bulk import, and returns the
/// seconds the import itself took (not the making of the lines).
async fn seed(db: &Db, from: u64, to: u64, now: u64) -> f64 {
    let mut n = from;
    let mut seconds = 0.0;
    while n < to {
        let end = (n + SEED_CHUNK as u64).min(to);
        let lines: String = (n..end).map(|i| event(i, now) + "\n").collect();
        let started = Instant::now();
        let report = rapport_collector::import::import(db, "demo", lines.as_bytes(), now)
            .await
            .unwrap();
        seconds += started.elapsed().as_secs_f64();
        assert_eq!(report.stored, end - n, "{report:?}");
        n = end;
    }
    seconds
}

fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

struct Reading {
    /// Per range (30 days, 365 days): the first request's and the best of three, in ms.
    ranges: Vec<(f64, f64)>,
    start_kb: u64,
    peak_kb: u64,
}

/// The ranges asked for, in days ending today.
const RANGES: [u64; 2] = [30, 365];

/// Starts the collector on the data, asks for each range's stats three times, reads its
/// memory.
fn measure(config: &std::path::Path, url: &str, events: Option<&str>, seeded: u64) -> Reading {
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--database-url", url])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(events) = events {
        command.args(["--events-url", events]);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    let start_kb = proc_kb(child.id(), "VmRSS");
    let today = now_ms() / DAY_MS;
    let ranges = RANGES
        .iter()
        .map(|&days| {
            let from = rapport_collector::report::stats::date_of((today + 1 - days) as i64);
            let to = rapport_collector::report::stats::date_of(today as i64);
            let mut times = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                let (status, body) =
                    get(&addr, &format!("/v1/sites/demo/stats?from={from}&to={to}"));
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(status, 200, "{body}");
                let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
                // The range's sessions are all counted: the reads covered all its data.
                assert_eq!(
                    stats["total"]["sessions"],
                    sessions_within(seeded, days),
                    "{body}"
                );
            }
            (
                times[0],
                times.iter().cloned().fold(f64::INFINITY, f64::min),
            )
        })
        .collect();
    let peak_kb = proc_kb(child.id(), "VmHWM");
    let _ = child.kill();
    let _ = child.wait();
    Reading {
        ranges,
        start_kb,
        peak_kb,
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<u64> = std::env::var("RAPPORT_BENCH_STATS_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000, 10_000_000]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rapport.toml");
    std::fs::write(&config, "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n").unwrap();
    let pid = std::process::id();
    let sqlite = |name: &str| format!("sqlite://{}/{name}.db", dir.path().display());
    let mut backends: Vec<(&str, String, Option<String>)> = vec![("SQLite", sqlite("stats"), None)];
    if let Ok(pg) = std::env::var("RAPPORT_BENCH_POSTGRES_URL") {
        use sqlx::Connection;
        let name = format!("bench_stats_{pid}");
        let mut admin = sqlx::PgConnection::connect(&pg).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{}/{name}", pg.rsplit_once('/').unwrap().0);
        backends.push(("PostgreSQL", url, None));
    }
    if let Ok(ch) = std::env::var("RAPPORT_BENCH_CLICKHOUSE_URL") {
        backends.push((
            "ClickHouse",
            sqlite("ledger"),
            Some(format!("{}/bench_stats_{pid}", ch.trim_end_matches('/'))),
        ));
    }
    println!(
        "collector stats: GET /v1/sites/demo/stats (30 and 365 days) over events seeded by the bulk import across 365 days, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("| storage | events | imported events/s | 30 days: first ms | best of 3 ms | 365 days: first ms | best of 3 ms | collector RSS at start MB | collector peak RSS MB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let now = now_ms();
    let mut results = Vec::new();
    for (name, url, events) in backends {
        let db = Db::connect(&url).await.unwrap();
        let db = match &events {
            Some(e) => db.with_events(e).await.unwrap(),
            None => db,
        };
        let (mut seeded, mut seconds) = (0u64, 0f64);
        for &size in &sizes {
            let rate = seeded as f64 / seconds.max(1e-9);
            let projected = (size - seeded.min(size)) as f64 / rate.max(1.0);
            if name == "SQLite" && seeded > 0 && projected > SKIP_SEEDING_OVER.as_secs_f64() {
                println!(
                    "| {name} | {size} | skipped: seeding would take about {:.0} min at {:.0} events/s | | | | | | |",
                    projected / 60.0,
                    rate
                );
                results.push(json!({ "storage": name, "events": size, "skipped": format!("seeding would take about {:.0} min", projected / 60.0) }));
                continue;
            }
            seconds += seed(&db, seeded, size, now).await;
            seeded = size;
            let r = measure(&config, &url, events.as_deref(), size);
            let [(first30, best30), (first365, best365)] = r.ranges[..] else {
                unreachable!()
            };
            println!(
                "| {name} | {size} | {:.0} | {first30:.0} | {best30:.0} | {first365:.0} | {best365:.0} | {:.1} | {:.1} |",
                seeded as f64 / seconds,
                r.start_kb as f64 / 1024.0,
                r.peak_kb as f64 / 1024.0
            );
            results.push(json!({
                "storage": name, "events": size, "import_events_per_s": seeded as f64 / seconds,
                "first_ms": first30, "best_ms": best30,
                "first_365_ms": first365, "best_365_ms": best365,
                "rss_start_mb": r.start_kb as f64 / 1024.0, "rss_peak_mb": r.peak_kb as f64 / 1024.0,
            }));
        }
        db.close().await;
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("stats.json");
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&json!({ "sizes": sizes, "results": results })).unwrap(),
    )
    .unwrap();
    println!("written: {}", file.display());
}
