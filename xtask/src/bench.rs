//! `cargo xtask bench [collector | dashboard | peers]`: benchmarks, never part of
//! `cargo xtask test`.
//!
//! Without an argument, all three: the collector's ingest and stats on SQLite, PostgreSQL
//! and ClickHouse; the dashboard's time to its first figures with 1M events on SQLite
//! (`bench/dashboard.js`, `target/bench/dashboard.json`); then Rapport beside the scripts a
//! site owner would otherwise embed (`bench/run.js`), which writes `bench/RESULTS.md` and
//! `bench/results.json` with the ingest figures included.

use crate::postgres::Postgres;
use crate::util::{cmd, exec, root, step, Result};
use crate::{dist, install};

pub fn run(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None => {
            collector()?;
            dashboard()?;
            peers(true)
        }
        Some("collector") => collector(),
        Some("dashboard") => dashboard(),
        Some("peers") => peers(false),
        Some(other) => Err(format!(
            "unknown benchmark `{other}`; available: collector, dashboard, peers"
        )),
    }
}

/// Ingest throughput and latency on SQLite, PostgreSQL and ClickHouse, beside the raw
/// insert ceiling (`target/bench/collector.json`); then the stats' latency and the
/// collector's memory over growing data (`target/bench/stats.json`).
fn collector() -> Result {
    install::ensure_postgres()?; // the benchmarks themselves are cargo benches
    install::ensure_clickhouse()?;
    let pg = Postgres::start()?;
    let ch = crate::clickhouse::Pair::start()?;
    for (bench, what) in [
        ("ingest", "collector ingest benchmark (server profile)"),
        (
            "stats",
            "collector stats benchmark: 30-day stats over growing data",
        ),
    ] {
        step(what);
        let mut c = cmd(
            "cargo",
            &[
                "bench",
                "--profile",
                "server",
                "-p",
                "rapport-collector",
                "--bench",
                bench,
            ],
        );
        c.env("RAPPORT_BENCH_POSTGRES_URL", &pg.url);
        c.env("RAPPORT_BENCH_CLICKHOUSE_URL", &ch.first.url);
        exec(&mut c)?;
    }
    Ok(())
}

/// The dashboard in Chromium against the collector (server profile) on a SQLite database of
/// 1M events, seeded once over HTTP and kept in `target/bench/dashboard.db` for later runs.
fn dashboard() -> Result {
    install::ensure_bench_tools()?;
    install::ensure_trunk()?;
    // The script counts a kept database's events with the sqlite3 shell before reusing it.
    install::ensure_debian(&[("sqlite3", "sqlite3")])?;
    dist::dashboard()?;
    step("the collector, server profile");
    exec(&mut cmd(
        "cargo",
        &["build", "--profile", "server", "-p", "rapport-collector"],
    ))?;
    step("the dashboard's first figures with 1M events on SQLite (bench/dashboard.js)");
    let mut node = cmd("node", &["bench/dashboard.js"]);
    node.env(
        "RAPPORT_COLLECTOR_BIN",
        root().join("target/server/rapport-collector"),
    );
    exec(&mut node)
}

/// Payload, main-thread cost and delivery of Rapport and its peers in headless Chromium;
/// `with_collector` when the ingest figures were made in this same run (an older file is
/// left out of the results rather than reported as this run's).
fn peers(with_collector: bool) -> Result {
    install::ensure_bench_tools()?;
    let embed = dist::run()?;
    let bench = root().join("bench");
    step("benchmark peers: npm ci in bench/ (pinned versions)");
    let mut npm = cmd(
        "npm",
        &["ci", "--no-audit", "--no-fund", "--ignore-scripts"],
    );
    npm.current_dir(&bench);
    exec(&mut npm)?;
    step("side-by-side benchmarks in Chromium (bench/run.js)");
    let mut node = cmd("node", &["bench/run.js"]);
    node.env("RAPPORT_EMBED_DIR", &embed);
    if with_collector {
        node.env(
            "RAPPORT_COLLECTOR_JSON",
            root().join("target/bench/collector.json"),
        );
    }
    exec(&mut node)
}
