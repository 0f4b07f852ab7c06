//! The collector's contract, held by a schema-driven fuzzer: schemathesis generates requests
//! from `/openapi.json` and checks every answer against it (`--checks all`), with the
//! settings in `tests/contract/schemathesis.toml`, against a collector serving the site of
//! `tests/contract/rapport.toml`. Fixed seed, so a finding reproduces.
//!
//! `tests/contract/hooks.py` (schemathesis hooks) gives the generated requests what no schema
//! can: the contract site in batches and times near now, shopper identities and webhook
//! signatures computed with the site's secret, and ids the collector issued earlier. So
//! batches are stored and the programs' routes run their real logic, while negative data
//! stays negative. `RAPPORT_CONTRACT_LOG=<file>` logs every answer (operation, generation
//! mode, status) as JSON lines, for counting what was accepted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::install::schemathesis_bin;
use crate::util::{cmd, root, run_capture, Result};

/// Examples per operation and the seed of the generator.
const MAX_EXAMPLES: &str = "100";
const SEED: &str = "1";
/// The owner token of the `contract` site (its hash is in tests/contract/rapport.toml's
/// `owners`): sent with every request, it makes the site data readable, and schemathesis's
/// auth checks see reads without it refused with 401.
const OWNER_TOKEN: &str = "rpt_contract-owner-0123456789abcdef0123456789ab";

pub fn run() -> Result {
    let dir = std::env::temp_dir().join(format!("rapport-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log_path = dir.join("collector.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let contract = root().join("tests/contract");
    let mut collector = Command::new(root().join("target/debug/rapport-collector"))
        .arg("--config")
        .arg(contract.join("rapport.toml"))
        // Limits far above the run's request count: a 429 would stand in for the answer
        // under test.
        .args(["--listen", "127.0.0.1:0", "--rate-limit-burst", "100000"])
        .args(["--shopper-rate-limit-burst", "100000"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/contract.db", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("cannot start the collector: {e}"))?;
    let mut line = String::new();
    BufReader::new(collector.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let result = match line.trim().rsplit_once("http://") {
        Some((_, addr)) => {
            let schema = format!("http://{addr}/openapi.json");
            let bin = schemathesis_bin();
            let config = contract.join("schemathesis.toml");
            let mut c = cmd(
                &bin.to_string_lossy(),
                &[
                    "--config-file",
                    &config.to_string_lossy(),
                    "run",
                    &schema,
                    "--checks",
                    "all",
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--seed",
                    SEED,
                    "--no-color",
                    "--header",
                    &format!("Authorization: Bearer {OWNER_TOKEN}"),
                ],
            );
            // Its cache goes to the run's temporary folder, not into the source tree.
            c.current_dir(&dir);
            c.env("SCHEMATHESIS_HOOKS", contract.join("hooks.py"));
            c.env("RAPPORT_CONTRACT_CONFIG", contract.join("rapport.toml"));
            let (ok, _) = run_capture(&mut c);
            if ok {
                Ok(())
            } else {
                Err("schemathesis reported failures (see above)".into())
            }
        }
        None => Err(format!("the collector did not start: {line}")),
    };
    let _ = collector.kill();
    let _ = collector.wait();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    if log.contains("panicked at") {
        return Err(format!("the collector panicked during the run:\n{log}"));
    }
    result
}

/// `cargo xtask contract`: the collector's debug build, which [`run`] starts.
pub fn build_collector() -> Result {
    crate::util::step("cargo build -p rapport-collector");
    crate::util::exec(&mut cmd("cargo", &["build", "-p", "rapport-collector"]))
}
