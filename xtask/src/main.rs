//! Project automation: `cargo xtask demo | test | dist | bench`.
//!
//! Every command first installs what is missing (see `install.rs`), so a fresh machine needs
//! nothing but rustup, node and the package registries.

mod bench;
mod clickhouse;
mod contract;
mod demo;
mod dist;
mod install;
mod names;
mod postgres;
mod size;
mod test;
mod types;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo    build the widget, start the collector and serve the demo on http://127.0.0.1:8080
  test    run every check: fmt, clippy, native, wasm-bindgen-test, Playwright, size budget
  contract  build the collector (debug) and fuzz its contract with schemathesis only
  dist    build dist/embed/ and print file sizes and SRI hashes (--stable: without the
          pinned nightly's size levers; --embed: only dist/embed/ and its size budget)
  ui-dev  build the UI stage (debug) into $TRUNK_STAGING_DIR; trunk's post-build hook
  bench   run the benchmarks: collector ingest, and Rapport beside its peers (bench/RESULTS.md)
  install install the toolchain pieces that are missing";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("test") => test::run(),
        Some("contract") => install::ensure_schemathesis()
            .and_then(|()| contract::build_collector())
            .and_then(|()| contract::run()),
        Some("dist") if args.iter().any(|a| a == "--embed") => install::ensure_build_tools()
            .and_then(|()| dist::run_with(dist::Toolchain::from_args(&args[1..])))
            .and_then(|dir| size::check(&dir)),
        Some("dist") => install::ensure_build_tools()
            .and_then(|()| install::ensure_trunk())
            .and_then(|()| dist::run_with(dist::Toolchain::from_args(&args[1..])))
            .and_then(|_| dist::dashboard()),
        Some("install") => install::ensure_all(),
        Some("ui-dev") => dist::ui_dev(),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
