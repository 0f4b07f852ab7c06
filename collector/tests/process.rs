//! The collector binary as an operator runs it: start-up errors and graceful shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A shopper's browser, as the e2e tests present theirs (tests/e2e/browser.js).
const UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const BIN: &str = env!("CARGO_BIN_EXE_rapport-collector");

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rapport.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_config_stops_start_up_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[site]]\nid = \"demo\"\norigins = [\"*\"]\norgins = [\"x\"]\n",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}/r.db", dir.path().display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("line 4") && stderr.contains("orgins"),
        "{stderr}"
    );

    let config = write_config(
        dir.path(),
        "[[site]]\nid = \"demo\"\norigins = [\"shop.example\"]\n",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("site[0].origins"));
}

/// Starts the collector with `config` (and `extra` arguments): `Ok(())` once it listens
/// (then stopped), or `Err(stderr)` when it exits first.
fn starts(config: &std::path::Path, db: &str, extra: &[&std::ffi::OsStr]) -> Result<(), String> {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--database-url", db])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.contains("listening on") {
        child.kill().unwrap();
        child.wait().unwrap();
        return Ok(());
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!child.wait().unwrap().success(), "{stderr}");
    Err(stderr)
}

/// Attack: the repository's `rapport.toml` (or a copy of its demo site) run as is, without
/// `--demo-dir`. Its secret is public, so anyone could sign order webhooks and mint points.
/// The collector refuses to start and says why; with the demo routes on it starts.
#[test]
fn the_public_demo_secret_is_refused_without_the_demo_routes() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let demo_site = "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n\
        secret = \"demo-only-secret-0f3a9c2e7b1d4a6f8e5c\"\ndemo = true\n";
    let not_demo = demo_site.replace("demo = true\n", "");
    let demo_dir = [std::ffi::OsStr::new("--demo-dir"), dir.path().as_os_str()];
    for (text, extra) in [
        (demo_site, &[][..]),
        (not_demo.as_str(), &[][..]),
        (not_demo.as_str(), &demo_dir[..]),
        (include_str!("../../rapport.toml"), &[][..]),
    ] {
        let config = write_config(dir.path(), text);
        let stderr = starts(&config, &db, extra)
            .expect_err("started with the public demo secret, without the demo routes");
        assert!(
            stderr.contains("site[0].secret")
                && stderr.contains("public demo secret")
                && stderr.contains("--demo-dir"),
            "{stderr}"
        );
    }
    // With the demo routes on, the demo site starts.
    let config = write_config(dir.path(), demo_site);
    assert_eq!(starts(&config, &db, &demo_dir), Ok(()));
}

#[test]
fn sigterm_finishes_the_batch_in_flight_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let (mut child, addr) = start(dir.path(), &db, Stdio::null());

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let body = format!(
        r#"{{"site":"demo","sent_at":{now},"events":[{{"id":"00000000-0000-4000-8000-000000000001","name":"page_view","ts":{now},"visitor_id":"11111111-1111-4111-8111-111111111111","session_id":"22222222-2222-4222-8222-222222222222","pageview_id":"33333333-3333-4333-8333-333333333333","returning":false,"url":"https://shop.example/","props":{{}}}}]}}"#
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nUser-Agent: {UA}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    // The request is half sent when the signal arrives.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""accepted":1"#), "{response}");

    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    // New connections are refused once it has stopped, and the event is on disk.
    assert!(TcpStream::connect(&addr).is_err());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = rt.block_on(async {
        let db = rapport_collector::Db::connect(&db).await.unwrap();
        db.recent_events("demo", 10).await.unwrap()
    });
    assert_eq!(stored.len(), 1);
}

/// A collector process on `db` with a config of one open site, `demo`, and its address.
fn start(dir: &std::path::Path, db: &str, stderr: Stdio) -> (std::process::Child, String) {
    let config = write_config(dir, "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url", db])
        .args(["--rate-limit-burst", "100000"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    (child, addr)
}

/// One HTTP/1.1 request on a new connection; the status code and the body.
fn http(addr: &str, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {UA}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(body).unwrap();
    let mut response = Vec::new();
    // An empty reply (a dropped connection) reads as status 0.
    let _ = conn.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
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

/// A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Events whose props are 8 KB each, stored straight into `db` for the last `days` days.
fn seed_large(db: &str, events: u32, days: u64) {
    use rapport_core::{Event, PropValue, Props};
    let now = rapport_collector::now_ms();
    let filler = "x".repeat(8 * 1024 - 64);
    let id = |kind: u32, n: u32| {
        uuid::Uuid::parse_str(&format!("{kind:08x}-0000-4000-8000-{n:012x}")).unwrap()
    };
    let rows: Vec<Event> = (0..events)
        .map(|n| {
            let mut props = Props::new();
            props.insert("pad".into(), PropValue::Str(filler.clone()));
            Event {
                id: id(1, n),
                name: if n % 4 == 0 {
                    "page_view"
                } else {
                    "page_engagement"
                }
                .into(),
                ts: now - (u64::from(n) % days) * 86_400_000 - 60_000,
                visitor_id: id(2, n / 8),
                session_id: id(3, n / 4),
                pageview_id: id(4, n / 4),
                returning: n % 3 == 0,
                url: format!("https://shop.example/p/{}", n % 500),
                referrer: None,
                props,
            }
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = rapport_collector::Db::connect(db).await.unwrap();
        for chunk in rows.chunks(500) {
            let new: Vec<_> = chunk
                .iter()
                .map(|event| rapport_collector::db::NewEvent {
                    event,
                    ts: event.ts,
                })
                .collect();
            db.insert_events("demo", now, &new).await.unwrap();
        }
        db.close().await;
    });
}

/// Stats over 30 days of 20,000 events with 8 KB props (160 MB of props) on SQLite, four
/// requests at once: the collector's resident memory grows by less than a fixed ceiling, as
/// measured from the process. What remains is SQLite's working memory (page caches and the
/// ephemeral tables of the DISTINCT counts, each bounded by the cache size, on at most four
/// pooled connections). Reading the range's events into memory, as stats once did, grew it
/// by about half a gigabyte per request.
#[test]
fn stats_over_a_large_range_stay_under_a_memory_ceiling() {
    const CEILING_KB: u64 = 96 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    seed_large(&db, 20_000, 30);
    let (mut child, addr) = start(dir.path(), &db, Stdio::null());
    let before = proc_kb(child.id(), "VmRSS");
    // Four requests at once, as four open dashboards polling.
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || http(&addr, "GET", "/v1/sites/demo/stats", "", b""))
        })
        .collect();
    for request in requests {
        let (status, body) = request.join().unwrap();
        assert_eq!(status, 200, "{body}");
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(stats["total"]["pageviews"], 5_000);
        assert_eq!(stats["total"]["sessions"], 5_000);
    }
    let peak = proc_kb(child.id(), "VmHWM");
    child.kill().unwrap();
    child.wait().unwrap();
    let growth = peak.saturating_sub(before);
    eprintln!("stats memory: {before} kB resident before, {peak} kB peak, +{growth} kB");
    assert!(
        growth < CEILING_KB,
        "stats grew the process by {growth} kB (ceiling {CEILING_KB} kB)"
    );
}

/// Requests of the kinds a schema-driven fuzzer and an adversarial review sent: every one is
/// answered (never an empty reply), none with a 5xx, and the log holds no panic.
#[test]
fn no_input_reaches_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let (mut child, addr) = start(dir.path(), &db, Stdio::from(log));
    let now = rapport_collector::now_ms();
    let event = |id: u32, name: &str, props: &str| {
        format!(
            r#"{{"id":"00000000-0000-4000-8000-{id:012}","name":"{name}","ts":{now},"visitor_id":"11111111-1111-4111-8111-111111111111","session_id":"22222222-2222-4222-8222-222222222222","pageview_id":"33333333-3333-4333-8333-333333333333","returning":false,"url":"https://shop.example/","props":{props}}}"#
        )
    };
    let batch = |events: &[String]| {
        format!(
            r#"{{"site":"demo","sent_at":{now},"events":[{}]}}"#,
            events.join(",")
        )
    };
    let json = "Content-Type: application/json\r\n";
    let text = "Content-Type: text/plain\r\n";
    let overflow = batch(&[
        event(1, "page_engagement", r#"{"engaged_ms":1e19}"#),
        event(2, "page_engagement", r#"{"engaged_ms":1e19}"#),
        event(3, "page_view", "{}"),
    ]);
    let huge_numbers = batch(&[
        event(4, "scroll_milestone", r#"{"depth":1e308}"#),
        event(5, "feedback_submitted", r#"{"type":"nps","score":-1e308}"#),
        event(6, "page_view", r#"{"visit_count":18446744073709551616}"#),
    ]);
    let cases: Vec<(&str, String, &str, String)> = vec![
        ("GET", "/v1/sites/demo/stats?to=-9999-01-01".into(), "", String::new()),
        ("GET", "/v1/sites/demo/stats?from=-9999-01-01&to=9999-12-31".into(), "", String::new()),
        ("GET", "/v1/sites/demo/stats?to=9999-12-31".into(), "", String::new()),
        ("GET", "/v1/sites/demo/stats?to=0000-01-01".into(), "", String::new()),
        ("GET", "/v1/sites/demo/stats?from=%FF%FE".into(), "", String::new()),
        ("GET", "/v1/sites/demo/events?limit=-1".into(), "", String::new()),
        ("GET", "/v1/sites/demo/events?limit=99999999999999999999".into(), "", String::new()),
        ("GET", "/v1/sites/%00/stats".into(), "", String::new()),
        ("GET", format!("/v1/sites/{}/config", "a".repeat(5000)), "", String::new()),
        ("GET", "/v1/sites/demo/loyalty".into(), "x-rapport-user: \r\nx-rapport-user-hash: zz\r\n", String::new()),
        ("POST", "/v1/sites/demo/loyalty/redeem".into(), "idempotency-key: k\r\n", "{".into()),
        ("POST", "/v1/sites/demo/orders".into(), "x-rapport-signature: t=99999999999999999999999,sha256=00\r\n", "{}".into()),
        ("POST", "/v1/batch".into(), text, overflow.clone()),
        ("POST", "/v1/batch".into(), json, overflow),
        ("POST", "/v1/batch".into(), json, huge_numbers),
        ("POST", "/v1/batch".into(), json, r#"{"site":"demo","sent_at":18446744073709551615,"events":[]}"#.into()),
        ("POST", "/v1/batch".into(), json, r#"{"site":"demo","sent_at":-1,"events":[{}]}"#.into()),
        ("POST", "/v1/batch".into(), json, r#"{"site":"demo","sent_at":0,"events":[{"ts":18446744073709551615}],"dropped":18446744073709551615}"#.into()),
        ("POST", "/v1/batch".into(), json, "[]".into()),
        ("POST", "/v1/batch".into(), "Content-Type: application/json; charset=\u{7f}\r\n", "{}".into()),
        ("GET", "/v1/sites/demo/stats".into(), "", String::new()),
    ];
    for (method, path, headers, body) in &cases {
        let (status, reply) = http(&addr, method, path, headers, body.as_bytes());
        assert!(
            (200..500).contains(&status),
            "{method} {path}: {status} {reply}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(!log.contains("panicked at"), "{log}");
    assert!(!log.is_empty(), "the log was captured");
}

/// Rows stored before the measure columns existed (migration 0003 leaves them with
/// `measured = 0`) are measured when the collector starts, and then count in the stats.
#[test]
fn rows_stored_before_the_measure_columns_are_measured_at_start() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/r.db", dir.path().display());
    let now = rapport_collector::now_ms();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = rapport_collector::Db::connect(&url).await.unwrap();
        let event = |n: u32, name: &str, props: &str| -> rapport_core::Event {
            serde_json::from_str(&format!(
                r#"{{"id":"00000000-0000-4000-8000-{n:012}","name":"{name}","ts":{now},"visitor_id":"11111111-1111-4111-8111-111111111111","session_id":"22222222-2222-4222-8222-222222222222","pageview_id":"33333333-3333-4333-8333-333333333333","returning":false,"url":"https://shop.example/p/mug?x=1","props":{props}}}"#
            ))
            .unwrap()
        };
        let events = [
            event(1, "page_view", "{}"),
            event(2, "page_engagement", r#"{"engaged_ms":12000,"scroll_max":80}"#),
            event(3, "experiment_exposed", r#"{"experiment":"hero","variant":"big","variant_index":1}"#),
        ];
        let rows: Vec<_> = events
            .iter()
            .map(|event| rapport_collector::db::NewEvent { event, ts: now })
            .collect();
        db.insert_events("demo", now, &rows).await.unwrap();
        db.close().await;
        // As an older collector left them: props only.
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE events SET measured = 0, path = '', engaged_ms = NULL, scroll_depth = NULL, \
             experiment = NULL, variant = NULL, variant_index = NULL",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();

        let db = rapport_collector::Db::connect(&url).await.unwrap();
        let today = rapport_collector::report::stats::day_of(now as i64);
        let stats = rapport_collector::report::stats::stats(&db, "demo", today, today, &[])
            .await
            .unwrap();
        assert_eq!(stats.total.avg_session_engaged_ms, Some(12_000.0));
        assert_eq!(stats.total.scroll_reach[2], 100.0); // 80 % reached 75
        assert_eq!(stats.top_pages[0].path, "/p/mug");
        let experiments =
            rapport_collector::report::experiments::results(&db, "demo", today, today, "purchase")
                .await
                .unwrap();
        assert_eq!(experiments[0].experiment, "hero");
        assert_eq!(experiments[0].variants[0].variant, "big");
        assert_eq!(experiments[0].variants[0].index, 1);
    });
}

/// Runs the collector with `args` on `config`: `Err` with its listening line if it starts
/// (it is stopped then), `Ok` with its exit status and standard error if it stops.
fn start_or_refuse(
    dir: &std::path::Path,
    config: &str,
    args: &[&str],
) -> Result<(std::process::ExitStatus, String), String> {
    let config = write_config(dir, config);
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--database-url")
        .arg(format!("sqlite://{}/r.db", dir.display()))
        .args(args)
        .env_remove("RAPPORT_READ_TOKEN")
        .env_remove("RAPPORT_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(line);
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Ok((status, stderr))
}

/// With no read token configured, the collector refuses to listen beyond loopback, in one
/// line naming what to set, unless --public-reads says open reads are meant.
#[test]
fn beyond_loopback_without_a_read_token_the_collector_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let open = "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n";
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let refused = start_or_refuse(dir.path(), open, &["--listen", listen]);
        let (status, stderr) = match refused {
            Ok(stopped) => stopped,
            Err(line) => panic!("--listen {listen} with no token started: {line}"),
        };
        assert!(!status.success());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for setting in [
            "--listen",
            "[[site]] owners",
            "--admin-token",
            "--public-reads",
        ] {
            assert!(stderr.contains(setting), "{setting}: {stderr}");
        }
    }
    // Loopback, an explicit --public-reads, an owner or an admin token: it starts.
    let owned = format!("{open}owners = [\"sha256:{}\"]\n", {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest("rpt_owner-0123456789abcdef"))
    });
    for (config, args) in [
        (open, &["--listen", "127.0.0.1:0"][..]),
        (open, &["--listen", "0.0.0.0:0", "--public-reads"][..]),
        (owned.as_str(), &["--listen", "0.0.0.0:0"][..]),
        (
            open,
            &[
                "--listen",
                "0.0.0.0:0",
                "--admin-token",
                "admin-token-0123456789",
            ][..],
        ),
    ] {
        let started = start_or_refuse(dir.path(), config, args);
        assert!(started.is_err(), "{args:?}: {started:?}");
    }
    // --public-reads would open what the tokens close: refused.
    let both = start_or_refuse(
        dir.path(),
        &owned,
        &["--listen", "127.0.0.1:0", "--public-reads"],
    );
    let (status, stderr) = both.expect("--public-reads with owner tokens started");
    assert!(
        !status.success() && stderr.contains("--public-reads"),
        "{stderr}"
    );
}

/// One GET on a new connection with this Host header; the status and the whole response.
fn get_with_host(addr: &str, host: &str, path: &str, headers: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// A loopback collector with no token: a page whose name an attacker rebinds to 127.0.0.1
/// (its requests carry `Host: rebind.evil.example`) reads nothing; the demo's own pages and
/// scripts on 127.0.0.1 or localhost read on.
#[test]
fn a_dns_rebinding_host_reads_nothing_from_a_loopback_collector() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let (mut child, addr) = start(dir.path(), &db, Stdio::null());
    let port = addr.rsplit(':').next().unwrap();
    for route in ["feedback", "events", "stats", "live"] {
        let path = format!("/v1/sites/demo/{route}");
        for host in [
            format!("rebind.evil.example:{port}"),
            "rebind.evil.example".to_owned(),
            format!("127.0.0.1.nip.io:{port}"),
        ] {
            let (status, response) = get_with_host(&addr, &host, &path, "");
            assert_eq!(status, 403, "{path} with Host {host}: {response}");
            assert!(
                response.contains("no read token is configured"),
                "{response}"
            );
        }
        for host in [addr.clone(), format!("localhost:{port}")] {
            let (status, response) = get_with_host(&addr, &host, &path, "");
            assert_eq!(status, 200, "{path} with Host {host}: {response}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `token new` prints a token and the hash to configure; the collector then reads that
/// site's data for the token only, and `token hash` gives the same hash.
#[test]
fn a_token_from_token_new_reads_its_site_and_nothing_reads_without_it() {
    let out = Command::new(BIN).args(["token", "new"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let (token, hash) = (field("token:"), field("hash:"));
    assert!(token.len() >= 40 && hash.starts_with("sha256:"), "{stdout}");
    let mut hashed = Command::new(BIN)
        .args(["token", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(hashed.stdin.take().unwrap(), "{token}").unwrap();
    let again = hashed.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), hash);

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("[[site]]\nid = \"demo\"\norigins = [\"*\"]\nowners = [\"{hash}\"]\n[[site]]\nid = \"other\"\norigins = [\"*\"]\n"),
    );
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}/r.db", dir.path().display()))
        .env_remove("RAPPORT_READ_TOKEN")
        .env_remove("RAPPORT_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    let auth = format!("Authorization: Bearer {token}\r\n");
    // Even from loopback, with a token configured a read needs one.
    assert_eq!(http(&addr, "GET", "/v1/sites/demo/stats", "", b"").0, 401);
    assert_eq!(
        http(&addr, "GET", "/v1/sites/demo/stats", &auth, b"").0,
        200
    );
    let (status, other) = http(&addr, "GET", "/v1/sites/other/stats", &auth, b"");
    assert_eq!(status, 404, "{other}");
    let (status, list) = http(&addr, "GET", "/v1/sites", &auth, b"");
    assert_eq!(status, 200);
    assert!(
        list.ends_with(r#"{"sites":[{"id":"demo","access":"all"}]}"#),
        "{list}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A collector process like [`start`]'s, with extra environment.
fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let config = write_config(dir, "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}/r.db", dir.display()))
        .args(["--rate-limit-burst", "100000"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    (child, addr)
}

/// What the server sends on `conn` until it closes it, waiting at most `wait`; `None` if it
/// neither answers nor closes in time.
fn reply_within(conn: &mut TcpStream, wait: Duration) -> Option<String> {
    conn.set_read_timeout(Some(wait)).unwrap();
    let mut reply = Vec::new();
    match conn.read_to_end(&mut reply) {
        Ok(_) => Some(String::from_utf8_lossy(&reply).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Some(String::from_utf8_lossy(&reply).into_owned())
        }
        Err(_) => None,
    }
}

/// Slow clients: one that never finishes its headers is disconnected, one that never
/// finishes its body is answered 408, and while the cap of requests in progress is taken
/// by such clients, others get a 503 at once, and the health check still answers.
#[test]
fn slow_clients_are_cut_off_and_the_requests_in_progress_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    // Set through the environment, which an older collector ignores.
    let (mut child, addr) = start_with(
        dir.path(),
        &[
            ("RAPPORT_HEADER_TIMEOUT_SECONDS", "1"),
            ("RAPPORT_BODY_TIMEOUT_SECONDS", "1"),
            ("RAPPORT_MAX_CONCURRENT_REQUESTS", "2"),
        ],
    );
    let started = std::time::Instant::now();
    // Headers begun and never finished: the connection is closed.
    let mut silent = TcpStream::connect(&addr).unwrap();
    write!(silent, "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
    let reply = reply_within(&mut silent, Duration::from_secs(5));
    assert!(
        reply.is_some(),
        "a client that never finished its headers was still connected after 5 s"
    );
    // A body that stops halfway: 408 with a JSON error.
    let head = |len: usize| {
        format!(
            "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {UA}\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    let mut trickle = TcpStream::connect(&addr).unwrap();
    write!(trickle, "{}{{\"site\":", head(1000)).unwrap();
    let reply = reply_within(&mut trickle, Duration::from_secs(5))
        .expect("a client that never finished its body got no answer within 5 s");
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains(r#"{"error":"body: not received within 1 s"}"#),
        "{reply}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));

    // Two requests in progress, each holding the body back, take the cap of two ...
    let held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = TcpStream::connect(&addr).unwrap();
            write!(c, "{}{{", head(1000)).unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // ... so a third is refused at once with Retry-After, while the health check answers.
    let (status, reply) = http(&addr, "GET", "/v1/sites/demo/config", "", b"");
    assert_eq!(status, 503, "{reply}");
    assert!(reply.contains(r#""error":"busy"#), "{reply}");
    let (status, _) = http(&addr, "GET", "/healthz", "", b"");
    assert_eq!(status, 200);
    drop(held);
    // Once they are cut off, requests are served again.
    std::thread::sleep(Duration::from_millis(1500));
    let (status, reply) = http(&addr, "GET", "/v1/sites/demo/config", "", b"");
    assert_eq!(status, 200, "{reply}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `rapport-collector import`: a file's valid lines are stored and its refused ones listed
/// by number, with exit status 1; a second run stores nothing again; an unknown site or a
/// missing file is exit status 2 with nothing stored.
#[test]
fn import_stores_a_file_and_lists_the_lines_it_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let config = write_config(dir.path(), "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n");
    // Noon of a day 200 days back: older than any batch may carry.
    let day = rapport_collector::now_ms() / 86_400_000 - 200;
    let ts = day * 86_400_000 + 43_200_000;
    let event = |n: u32, url: &str| {
        format!(
            r#"{{"id":"00000000-0000-4000-8000-{n:012}","name":"page_view","ts":{ts},"visitor_id":"11111111-1111-4111-8111-111111111111","session_id":"22222222-2222-4222-8222-22222222222{n}","pageview_id":"33333333-3333-4333-8333-33333333333{n}","returning":false,"url":"{url}"}}"#
        )
    };
    let file = dir.path().join("history.ndjson");
    let text = [
        event(1, "https://shop.example/"),
        event(2, "javascript:alert(1)"),
        event(3, "https://shop.example/p/mug"),
        "{".into(),
    ]
    .join("\n");
    std::fs::write(&file, text + "\n").unwrap();
    let run = |site: &str, path: &std::path::Path| {
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["import", "--database-url", &db, "--site", site])
            .arg(path)
            .output()
            .unwrap()
    };
    let out = run("demo", &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("line 2: url"), "{stdout}");
    assert!(lines[1].starts_with("line 4: "), "{stdout}");
    assert_eq!(
        lines[2],
        "4 lines: 2 events stored, 0 already stored, 2 refused"
    );
    let again = run("demo", &file);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .ends_with("4 lines: 0 events stored, 2 already stored, 2 refused\n"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let unknown = run("other", &file);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("--site: \"other\" is not configured"),
        "{stderr}"
    );
    let missing = run("demo", &dir.path().join("none.ndjson"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open"));

    // The stats of that day count the two page views.
    let (mut child, addr) = start(dir.path(), &db, Stdio::null());
    let date = rapport_collector::report::stats::date_of(day as i64);
    let (status, body) = http(
        &addr,
        "GET",
        &format!("/v1/sites/demo/stats?from={date}&to={date}"),
        "",
        b"",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200, "{body}");
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["total"]["pageviews"], 2, "{body}");
    assert_eq!(stats["total"]["sessions"], 2, "{body}");
}
