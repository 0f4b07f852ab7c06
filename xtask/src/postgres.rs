//! A throwaway PostgreSQL server for the storage tests: Debian's binaries, a temporary
//! directory, a free loopback port. Stopped and deleted on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{output_line, step, Result};

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    /// Connection URL of the `postgres` database, as the `rapport` superuser.
    pub url: String,
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    output_line("id", &["-u"]).as_deref() == Some("0")
}

/// initdb refuses to run as root, so as root the server runs as the `postgres` user.
fn as_server_user(bin: &Path, program: &str) -> Command {
    let program = bin.join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run_quiet(mut c: Command, what: &str) -> Result {
    let out = c
        .output()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin =
            bin_dir().ok_or("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("rapport-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if is_root() {
            run_quiet(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(&dir);
                    c
                },
                "chown",
            )?;
        }
        step(&format!(
            "PostgreSQL: starting a temporary server on 127.0.0.1:{port}"
        ));
        let data = dir.join("data");
        let mut initdb = as_server_user(&bin, "initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "rapport", "--no-sync"]);
        run_quiet(initdb, "initdb")?;
        let mut start = as_server_user(&bin, "pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                dir.display()
            ))
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "start"]);
        let server = Postgres {
            url: format!("postgres://rapport@127.0.0.1:{port}/postgres"),
            dir,
            bin,
        };
        run_quiet(start, "pg_ctl start")?;
        Ok(server)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = as_server_user(&self.bin, "pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = run_quiet(stop, "pg_ctl stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
