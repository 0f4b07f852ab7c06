//! `cargo xtask bench [collector | peers]`: benchmarks, never part of `cargo xtask test`.
//!
//! Without an argument, both: the collector's ingest on SQLite and PostgreSQL, then Rapport
//! beside the scripts a site owner would otherwise embed (`bench/run.js`), which writes
//! `bench/RESULTS.md` and `bench/results.json` with the ingest figures included.

use crate::postgres::Postgres;
use crate::util::{cmd, exec, root, step, Result};
use crate::{dist, install};

pub fn run(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None => {
            collector()?;
            peers(true)
        }
        Some("collector") => collector(),
        Some("peers") => peers(false),
        Some(other) => Err(format!(
            "unknown benchmark `{other}`; available: collector, peers"
        )),
    }
}

/// Ingest throughput and latency on SQLite and PostgreSQL, beside the raw insert ceiling;
/// written to `target/bench/collector.json`.
fn collector() -> Result {
    install::ensure_postgres()?; // the benchmark itself is a cargo bench
    let pg = Postgres::start()?;
    step("collector ingest benchmark (server profile)");
    let mut c = cmd(
        "cargo",
        &[
            "bench",
            "--profile",
            "server",
            "-p",
            "rapport-collector",
            "--bench",
            "ingest",
        ],
    );
    c.env("RAPPORT_BENCH_POSTGRES_URL", &pg.url);
    exec(&mut c)
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
