//! `cargo xtask test`: every check, in the order that reuses builds, then one summary line.

use std::time::Instant;

use crate::postgres::Postgres;
use crate::util::{cmd, root, run_capture, step, Result};
use crate::{clickhouse, dist, install, size};

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Tally {
    /// A check that is one pass or one failure (fmt, clippy, the size budget).
    fn check(&mut self, name: &str, result: Result) {
        match result {
            Ok(()) => self.passed += 1,
            Err(e) => {
                self.failed += 1;
                self.failures.push(format!("{name}: {e}"));
            }
        }
    }

    /// A test runner: count its tests; a failed run that reported no failing test (a build
    /// error, a crash) counts as one failure.
    fn tests(&mut self, name: &str, ok: bool, passed: usize, failed: usize) {
        self.passed += passed;
        self.failed += failed;
        if !ok || failed > 0 {
            if failed == 0 {
                self.failed += 1;
            }
            self.failures.push(format!("{name}: failed"));
        }
    }
}

/// Sums `test result: ok. N passed; M failed` lines of cargo test and wasm-bindgen-test.
fn cargo_counts(output: &str) -> (usize, usize) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let number_before = |word: &str| -> usize {
            let words: Vec<&str> = line.split([' ', ';']).filter(|w| !w.is_empty()).collect();
            words
                .windows(2)
                .find(|w| w[1] == word)
                .and_then(|w| w[0].parse().ok())
                .unwrap_or(0)
        };
        passed += number_before("passed");
        failed += number_before("failed");
    }
    (passed, failed)
}

fn cargo_check(tally: &mut Tally, name: &str, args: &[&str]) {
    step(name);
    let (ok, _) = run_capture(&mut cmd("cargo", args));
    tally.check(
        name,
        if ok {
            Ok(())
        } else {
            Err("see output above".into())
        },
    );
}

pub fn run() -> Result {
    let started = Instant::now();
    let mut tally = Tally::default();
    if let Err(e) = install::ensure_all() {
        tally.check("install", Err(e));
        return finish(tally, started);
    }

    cargo_check(
        &mut tally,
        "cargo fmt --check",
        &["fmt", "--all", "--", "--check"],
    );
    cargo_check(
        &mut tally,
        "clippy (host)",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    for (name, package, targets) in [
        ("clippy (wasm32)", "rapport_widget", &["--all-targets"][..]),
        (
            "clippy (wasm32, UI stage)",
            "rapport-ui",
            &["--all-targets"][..],
        ),
        (
            "clippy (wasm32, dashboard)",
            "rapport-dashboard",
            &["--all-targets"][..],
        ),
    ] {
        let mut args = vec![
            "clippy",
            "-p",
            package,
            "--target",
            "wasm32-unknown-unknown",
        ];
        args.extend_from_slice(targets);
        args.extend_from_slice(&["--", "-D", "warnings"]);
        cargo_check(&mut tally, name, &args);
    }

    step("native tests (storage on SQLite, PostgreSQL and ClickHouse)");
    match (Postgres::start(), clickhouse::Pair::start()) {
        (Ok(pg), Ok(ch)) => {
            let mut c = cmd(
                "cargo",
                // Every test binary runs, so one failure does not hide the others.
                &[
                    "test",
                    "--workspace",
                    "--exclude",
                    "rapport_widget",
                    "--no-fail-fast",
                ],
            );
            c.env("RAPPORT_TEST_POSTGRES_URL", &pg.url);
            c.env("RAPPORT_TEST_CLICKHOUSE_URL", &ch.first.url);
            c.env(
                "RAPPORT_TEST_CLICKHOUSE_SHARDS",
                format!("{},{}", ch.first.url, ch.second.url),
            );
            c.env("RAPPORT_TEST_CLICKHOUSE_CLUSTER", clickhouse::CLUSTER);
            let (ok, out) = run_capture(&mut c);
            let (p, f) = cargo_counts(&out);
            tally.tests("native tests", ok, p, f);
        }
        (Err(e), _) => tally.check("PostgreSQL for the native tests", Err(e)),
        (_, Err(e)) => tally.check("ClickHouse for the native tests", Err(e)),
    }

    step("the collector's contract, fuzzed by schemathesis");
    tally.check("schemathesis", crate::contract::run());

    step("dist/embed");
    let embed = dist::run();
    step("dist/dashboard");
    tally.check("dashboard build (trunk)", dist::dashboard());
    match &embed {
        Ok(dir) => {
            step("size budget");
            tally.check("size budget", size::check(dir));
            step("the embed API's TypeScript declarations (tsc --noEmit)");
            tally.check("rapport.d.ts", crate::types::check(dir));
        }
        Err(e) => tally.check("dist", Err(e.clone())),
    }

    step("wasm-bindgen-test in headless Chromium");
    let mut c = cmd(
        "cargo",
        &[
            "test",
            "-p",
            "rapport_widget",
            "-p",
            "rapport-ui",
            "--target",
            "wasm32-unknown-unknown",
        ],
    );
    c.env("CHROMEDRIVER", "/usr/bin/chromedriver");
    let (ok, out) = run_capture(&mut c);
    let (p, f) = cargo_counts(&out);
    tally.tests("wasm-bindgen-test", ok, p, f);

    step("trunk build (the development page)");
    let (ok, _) = run_capture(&mut cmd("trunk", &["build"]));
    tally.check(
        "trunk build",
        if ok {
            Ok(())
        } else {
            Err("see output above".into())
        },
    );

    if let Ok(dir) = embed {
        step("Playwright end-to-end tests in Chromium");
        let collector = root().join("target/debug/rapport-collector");
        let results = root().join("target/playwright-results.json");
        let _ = std::fs::remove_file(&results);
        let mut c = cmd("npx", &["playwright", "test", "-c", "tests/e2e"]);
        c.env("RAPPORT_COLLECTOR_BIN", &collector)
            .env("RAPPORT_EMBED_DIR", &dir)
            .env("PLAYWRIGHT_JSON_OUTPUT_FILE", &results)
            .env("RAPPORT_TRUNK_DIR", root().join("target/trunk"));
        let (ok, _) = run_capture(&mut c);
        let (p, f) = playwright_counts(&results);
        tally.tests("Playwright", ok, p, f);
    }
    finish(tally, started)
}

/// Counts from Playwright's JSON reporter: `stats.expected` passed, `unexpected` failed.
fn playwright_counts(path: &std::path::Path) -> (usize, usize) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (0, 0);
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (0, 0);
    };
    let get = |k: &str| json["stats"][k].as_u64().unwrap_or(0) as usize;
    (get("expected") + get("flaky"), get("unexpected"))
}

fn finish(tally: Tally, started: Instant) -> Result {
    println!();
    for failure in &tally.failures {
        println!("FAILED {failure}");
    }
    println!("wall time: {:.0} s", started.elapsed().as_secs_f64());
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", tally.failures.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_counts_sums_every_result_line() {
        let out = "test a ... ok\ntest result: ok. 8 passed; 0 failed; 0 ignored\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored\n";
        assert_eq!(cargo_counts(out), (11, 2));
    }
}
