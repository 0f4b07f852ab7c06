//! Installs what is missing, idempotently, with one line per step.
//!
//! Nothing here downloads a prebuilt binary: Rust tools are built by `cargo install` at pinned
//! versions, system tools come from Debian's packages, JavaScript tools from the committed
//! npm lockfile.

use std::path::Path;

use crate::util::{cmd, exec, output_line, root, step, Result};

/// The schema-driven fuzzer of the collector's contract, from PyPI into a virtual environment.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// trunk 0.22 needs a newer rustc than this machine kind has.
const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What building the widget needs.
pub fn ensure_build_tools() -> Result {
    ensure_wasm_target()?;
    ensure_nightly()?;
    ensure_wasm_bindgen()?;
    ensure_debian(&[("wasm-opt", "binaryen")])?;
    ensure_npm()
}

/// What the side-by-side benchmark needs: the build tools and Chromium; not the WebDriver
/// or trunk, which would only lengthen a first run on a fresh machine.
pub fn ensure_bench_tools() -> Result {
    ensure_build_tools()?;
    ensure_debian(&[("chromium", "chromium")])
}

/// Everything: build tools, the browser and PostgreSQL for tests, the WebDriver for
/// wasm-bindgen-test, and trunk for `trunk serve`.
pub fn ensure_all() -> Result {
    ensure_bench_tools()?;
    ensure_postgres()?;
    ensure_clickhouse()?;
    ensure_debian(&[("chromedriver", "chromium-driver")])?;
    ensure_schemathesis()?;
    ensure_trunk()
}

/// `target/venv/bin/schemathesis`, the fuzzer `cargo xtask test` runs against the collector.
pub fn schemathesis_bin() -> std::path::PathBuf {
    root().join("target/venv/bin/schemathesis")
}

/// schemathesis at its pinned version, in a virtual environment under `target/`.
pub fn ensure_schemathesis() -> Result {
    let bin = schemathesis_bin();
    let version = output_line(&bin.to_string_lossy(), &["--version"]).unwrap_or_default();
    if version.ends_with(SCHEMATHESIS_VERSION) {
        step(&format!("schemathesis {SCHEMATHESIS_VERSION}: present"));
        return Ok(());
    }
    step(&format!(
        "schemathesis {SCHEMATHESIS_VERSION}: installing with pip into target/venv"
    ));
    let venv = root().join("target/venv");
    if !venv.join("bin/pip").is_file() {
        exec(&mut cmd(
            "python3",
            &["-m", "venv", &venv.to_string_lossy()],
        ))?;
    }
    exec(&mut cmd(
        &venv.join("bin/pip").to_string_lossy(),
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
        ],
    ))
}

/// Debian's server binaries live outside PATH, under /usr/lib/postgresql/<version>/bin.
pub fn ensure_postgres() -> Result {
    if crate::postgres::bin_dir().is_some() {
        step("postgresql: present");
        return Ok(());
    }
    apt_install(&["postgresql"])
}

/// Debian's `clickhouse-server` (18.16), for the events store's tests and benchmark.
pub fn ensure_clickhouse() -> Result {
    ensure_debian(&[("clickhouse-server", "clickhouse-server")])
}

fn ensure_wasm_target() -> Result {
    let installed = output_line_all("rustup", &["target", "list", "--installed"]);
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        step("wasm32 target: present");
        return Ok(());
    }
    step("wasm32 target: installing with rustup");
    exec(&mut cmd("rustup", &["target", "add", WASM_TARGET]))
}

/// The pinned nightly the embed builds use, with `rust-src` (for `-Zbuild-std`) and the wasm32
/// target; rustup fetches it from its own distribution server.
fn ensure_nightly() -> Result {
    let nightly = crate::dist::NIGHTLY;
    let components = output_line_all(
        "rustup",
        &["component", "list", "--installed", "--toolchain", nightly],
    );
    let has = |c: &str| components.lines().any(|l| l.trim().starts_with(c));
    if has("rust-src") && has("rust-std-wasm32-unknown-unknown") {
        step(&format!("{nightly} with rust-src and wasm32: present"));
        return Ok(());
    }
    step(&format!(
        "{nightly}: installing with rustup (rust-src, wasm32 target)"
    ));
    exec(&mut cmd(
        "rustup",
        &[
            "toolchain",
            "install",
            nightly,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
            "--target",
            WASM_TARGET,
        ],
    ))
}

fn output_line_all(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The exact `wasm-bindgen` version in Cargo.lock; the CLI must match it.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

fn ensure_wasm_bindgen() -> Result {
    let version = locked_wasm_bindgen_version()?;
    let want = format!("wasm-bindgen {version}");
    let have = output_line("wasm-bindgen", &["--version"]);
    let runner = output_line("wasm-bindgen-test-runner", &["--version"]);
    if have.as_deref() == Some(want.as_str()) && runner.is_some() {
        step(&format!("wasm-bindgen-cli {version}: present"));
        return Ok(());
    }
    step(&format!(
        "wasm-bindgen-cli {version}: installing with cargo install (several minutes)"
    ));
    // Without --locked: the CLI's lockfile names a dependency version the index no longer has.
    exec(&mut cmd(
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={version}"),
        ],
    ))
}

pub fn ensure_trunk() -> Result {
    let want = format!("trunk {TRUNK_VERSION}");
    if output_line("trunk", &["--version"]).as_deref() == Some(want.as_str()) {
        step(&format!("trunk {TRUNK_VERSION}: present"));
        return Ok(());
    }
    step(&format!(
        "trunk {TRUNK_VERSION}: installing with cargo install (about 12 minutes)"
    ));
    exec(&mut cmd(
        "cargo",
        &["install", "trunk", "--version", TRUNK_VERSION, "--locked"],
    ))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Installs the Debian packages whose program is missing.
pub fn ensure_debian(programs: &[(&str, &str)]) -> Result {
    let missing: Vec<&str> = programs
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    for (program, package) in programs {
        if on_path(program) {
            step(&format!("{package}: present"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

fn apt_install(packages: &[&str]) -> Result {
    step(&format!("{}: installing with apt-get", packages.join(", ")));
    let root_user = output_line("id", &["-u"]).as_deref() == Some("0");
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = Vec::new();
        if !root_user {
            all.push("apt-get");
        }
        all.extend_from_slice(args);
        let program = if root_user { "apt-get" } else { "sudo" };
        let mut c = cmd(program, &all);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        exec(&mut c)
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    if apt(&install).is_err() {
        apt(&["update"])?;
        apt(&install)?;
    }
    Ok(())
}

/// `npm ci` from the committed lockfile; browsers come from Debian, never from Playwright.
fn ensure_npm() -> Result {
    let root = root();
    let stamp = root.join("node_modules/.package-lock.json");
    if is_newer(&stamp, &root.join("package-lock.json")) {
        step("npm packages: present");
        return Ok(());
    }
    step("npm packages: installing with npm ci");
    let mut c = cmd("npm", &["ci", "--no-audit", "--no-fund"]);
    c.env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    exec(&mut c)
}

fn is_newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a >= b)
}
