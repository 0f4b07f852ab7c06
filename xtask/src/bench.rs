//! `cargo xtask bench [collector]`: benchmarks, never part of `cargo xtask test`.

use crate::install;
use crate::postgres::Postgres;
use crate::util::{cmd, exec, step, Result};

pub fn run(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None | Some("collector") => collector(),
        Some(other) => Err(format!("unknown benchmark `{other}`; available: collector")),
    }
}

/// Ingest throughput and latency on SQLite and PostgreSQL, beside the raw insert ceiling.
fn collector() -> Result {
    install::ensure_all()?;
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
