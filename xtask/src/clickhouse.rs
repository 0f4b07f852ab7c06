//! Throwaway ClickHouse servers for the storage tests: Debian's `clickhouse-server`, a
//! temporary directory each, free loopback ports. Two of them, so that the distributed test
//! has two shards: both know the cluster `rapport_shards` made of the pair. Each also serves
//! single-node tests on its own. Stopped and deleted on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{step, Result};

/// The cluster every test server knows: shard 1 is the first server, shard 2 the second.
pub const CLUSTER: &str = "rapport_shards";

pub struct Server {
    child: Child,
    dir: PathBuf,
    /// `clickhouse://127.0.0.1:PORT`, the collector's form (HTTP port); add `/DB`.
    pub url: String,
}

pub struct Pair {
    pub first: Server,
    pub second: Server,
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn config(dir: &std::path::Path, http: u16, tcp: u16, shards: [u16; 2]) -> String {
    let replica = |port: u16| {
        format!("<shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>")
    };
    format!(
        "<yandex>\n\
         <path>{dir}/data/</path>\n\
         <tmp_path>{dir}/tmp/</tmp_path>\n\
         <logger><level>warning</level><log>{dir}/server.log</log>\
         <errorlog>{dir}/error.log</errorlog><console>0</console></logger>\n\
         <http_port>{http}</http_port>\n\
         <tcp_port>{tcp}</tcp_port>\n\
         <listen_host>127.0.0.1</listen_host>\n\
         <users_config>/etc/clickhouse-server/users.xml</users_config>\n\
         <mark_cache_size>67108864</mark_cache_size>\n\
         <remote_servers><{CLUSTER}>{}{}</{CLUSTER}></remote_servers>\n\
         </yandex>\n",
        replica(shards[0]),
        replica(shards[1]),
        dir = dir.display(),
    )
}

/// Waits until the server answers `SELECT 1` over HTTP.
fn wait_ready(http: u16, child: &mut Child, dir: &std::path::Path) -> Result {
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", http)) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request = "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.contains("Ok.")
            {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            return Err(format!("clickhouse-server exited ({status}): {log}"));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("clickhouse-server did not answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Pair {
    pub fn start() -> Result<Pair> {
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect::<Result<_>>()?;
        let (http, tcp) = ([ports[0], ports[1]], [ports[2], ports[3]]);
        let mut servers = Vec::new();
        for i in 0..2 {
            let dir =
                std::env::temp_dir().join(format!("rapport-ch-{}-{}", std::process::id(), http[i]));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let file = dir.join("config.xml");
            std::fs::write(&file, config(&dir, http[i], tcp[i], tcp))
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            step(&format!(
                "ClickHouse: starting a temporary server on 127.0.0.1:{} (shard {})",
                http[i],
                i + 1
            ));
            let mut child = Command::new("clickhouse-server")
                .arg(format!("--config-file={}", file.display()))
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start clickhouse-server: {e}"))?;
            if let Err(e) = wait_ready(http[i], &mut child, &dir) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
            servers.push(Server {
                child,
                dir,
                url: format!("clickhouse://127.0.0.1:{}", http[i]),
            });
        }
        let second = servers.pop().expect("two servers");
        let first = servers.pop().expect("two servers");
        Ok(Pair { first, second })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
