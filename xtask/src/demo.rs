//! `cargo xtask demo`: the product on http://127.0.0.1:8080.

use crate::util::{cmd, exec, root, step, Result};
use crate::{dist, install};

const LISTEN: &str = "127.0.0.1:8080";

pub fn run() -> Result {
    install::ensure_all()?;
    let embed = dist::run()?;
    dist::dashboard()?;
    step("building the collector");
    exec(&mut cmd(
        "cargo",
        &["build", "--profile", "server", "-p", "rapport-collector"],
    ))?;
    let root = root();
    let collector = root.join("target/server/rapport-collector");
    println!();
    println!("Rapport demo");
    println!("  demo shop:  http://{LISTEN}/demo/");
    println!("  dashboard:  http://{LISTEN}/");
    println!("  widget:     http://{LISTEN}/embed/rapport.js");
    println!("  database:   data/rapport.db");
    println!("Press Ctrl-C to stop.");
    // Ctrl-C reaches the collector too (same process group); it shuts down gracefully.
    let mut c = cmd(collector.to_str().ok_or("target path is not UTF-8")?, &[]);
    c.args([
        "--listen",
        LISTEN,
        "--database-url",
        "sqlite://data/rapport.db",
    ])
    .arg("--config")
    .arg(root.join("rapport.toml"))
    .arg("--demo-dir")
    .arg(root.join("www"))
    .arg("--embed-dir")
    .arg(embed)
    .arg("--dashboard-dir")
    .arg(root.join("dist/dashboard"));
    exec(&mut c)
}
