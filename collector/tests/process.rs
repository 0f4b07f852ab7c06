//! The collector binary as an operator runs it: start-up errors and graceful shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rapport-collector");

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rapport.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_config_stops_start_up_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[site]]\nid = \"demo\"\norigins = [\"*\"]\norgins = [\"x\"]\n",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}/r.db", dir.path().display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("line 4") && stderr.contains("orgins"),
        "{stderr}"
    );

    let config = write_config(
        dir.path(),
        "[[site]]\nid = \"demo\"\norigins = [\"shop.example\"]\n",
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("site[0].origins"));
}

#[test]
fn sigterm_finishes_the_batch_in_flight_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[[site]]\nid = \"demo\"\norigins = [\"*\"]\n");
    let db = format!("sqlite://{}/r.db", dir.path().display());
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--database-url", &db])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let body = format!(
        r#"{{"site":"demo","sent_at":{now},"events":[{{"id":"00000000-0000-4000-8000-000000000001","name":"page_view","ts":{now},"visitor_id":"11111111-1111-4111-8111-111111111111","session_id":"22222222-2222-4222-8222-222222222222","pageview_id":"33333333-3333-4333-8333-333333333333","returning":false,"url":"https://shop.example/","props":{{}}}}]}}"#
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    // The request is half sent when the signal arrives.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""accepted":1"#), "{response}");

    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    // New connections are refused once it has stopped, and the event is on disk.
    assert!(TcpStream::connect(&addr).is_err());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = rt.block_on(async {
        let db = rapport_collector::Db::connect(&db).await.unwrap();
        db.recent_events("demo", 10).await.unwrap()
    });
    assert_eq!(stored.len(), 1);
}
