//! Events in ClickHouse (`--events-url clickhouse://HOST:PORT/DB`), over its HTTP interface.
//!
//! Only what every server since 18.16 understands: statements in the request body,
//! `INSERT … FORMAT JSONEachRow` for writes, `FORMAT JSONCompact` for reads. 18.16 has no
//! query parameters, so values are written into the SQL as literals by [`literal`], the one
//! place that quotes them.
//!
//! The table is a `ReplacingMergeTree` sorted by (site, day, event id) and partitioned by
//! the month of `day`, the day of the stored, clock-corrected time (`ts`): whatever a
//! client's clock says, a batch lands in the months the collector received it in, so no
//! client can spread one insert over more partitions than the server takes in one block
//! (before schema version 4 the day was the client's own, and a group of batches with
//! clocks set months apart could fail every batch of the group). A batch's ids are looked
//! up by (site, id), whatever their day, so a retried batch stores nothing twice even when
//! its corrected times differ from the first try's. Copies of an event with the same day
//! that raced in through two collectors are collapsed on read: by the aggregates of the
//! stats, breakdowns, experiments and prompts, which a copy does not change, and by `FINAL`
//! for the other reads.
//!
//! With `?cluster=NAME` the collector creates `events_local` on the server it talks to and
//! `events` as a `Distributed` table over the cluster's shards, sharded by visitor
//! (docs/scaling.md). Every copy of an event has the same visitor, so it lands on the same
//! shard, where it is collapsed.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{as_i64, Arrival, Cell, Measures, NewEvent, Param, Row, StoredEvent};

/// A request to ClickHouse that takes longer than this fails (503 to the client).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Ids per duplicate lookup: 2,000 quoted ids are about 80 KB of SQL.
const LOOKUP_IDS: usize = 2_000;

/// The writer joins the batches waiting for it into one insert up to about this many rows.
/// Far under the server's block size (1,048,576 rows), so the insert stays one block.
const GROUP_ROWS: usize = 20_000;

/// Batches that may wait for the writer; more wait for a place in the queue.
const QUEUE: usize = 1_024;

/// The `Date` range ClickHouse can store; event days beyond it are clamped.
const FIRST_DAY: i64 = 0;
const LAST_DAY: i64 = 49_710; // 2106-02-07

#[derive(Clone)]
pub struct ClickHouse {
    http: Http,
    database: String,
    cluster: Option<String>,
    /// The writer task's queue ([`write_groups`]).
    writer: mpsc::Sender<Job>,
}

/// Requests to one server.
#[derive(Clone)]
struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `http://HOST:PORT/?database=DB&…`, the URL of every request.
    endpoint: String,
    /// `Basic …` when the URL names a user.
    authorization: Option<String>,
    /// Set by [`ClickHouse::close`]: every later request fails, as with a closed pool.
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// One batch's events, waiting for the writer: each as (id, event day, JSON line).
struct Job {
    site: String,
    rows: Vec<(String, String, String)>,
    /// The ids stored now, or why nothing of the batch was.
    reply: oneshot::Sender<Result<Vec<String>, String>>,
}

fn error(message: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Protocol(format!("clickhouse: {}", message.into()))
}

/// A name ClickHouse takes without quoting: a database or a cluster.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// A value as a ClickHouse literal: numbers as they are, strings quoted with `\` escapes.
pub fn literal(param: &Param) -> String {
    match param {
        Param::Int(n) => n.to_string(),
        Param::Text(text) => {
            let mut out = String::with_capacity(text.len() + 2);
            out.push('\'');
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("\\'"),
                    '\0' => out.push_str("\\0"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    }
}

/// `sql` with `$1`, `$2`, … replaced by the literals of `params`, in one pass from left to
/// right: `$10` is read whole, and a literal's own text (a filter value that says `$1`) is
/// never read again.
pub fn inline(sql: &str, params: &[Param]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| params.get(i))
        {
            Some(p) => out.push_str(&literal(p)),
            None => out.push_str(&rest[at..at + 1 + digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The day of a stored (clock-corrected) time, as ClickHouse's `Date` text.
fn event_day(ts: u64) -> String {
    let day = (as_i64(ts) / 86_400_000).clamp(FIRST_DAY, LAST_DAY);
    (time::Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY).expect("1970-01-01")
        + time::Duration::days(day))
    .to_string()
}

/// 1970-01-01 as a Julian day number.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// The columns of the events table, in ClickHouse's types. `day` is the day of the stored,
/// clock-corrected time `ts` (since schema version 4; the client's own day before).
const COLUMNS: &str = "site String, day Date, id String, name String, ts Int64, \
    client_ts Int64, received_at Int64, visitor_id String, session_id String, \
    pageview_id String, is_returning Int64, url String, referrer Nullable(String), \
    path String, engaged_ms Nullable(Int64), scroll_depth Nullable(Int64), \
    score Nullable(Int64), feedback_type Nullable(String), referred Int64, \
    experiment Nullable(String), variant Nullable(String), variant_index Nullable(Int64), \
    props String";

impl ClickHouse {
    /// Parses `clickhouse://[USER[:PASSWORD]@]HOST:PORT/DB[?cluster=NAME]`, creates the
    /// database if missing and runs the migrations.
    pub async fn connect(url: &str) -> Result<ClickHouse, sqlx::Error> {
        let rest = url.strip_prefix("clickhouse://").ok_or_else(|| {
            error("the events URL must look like clickhouse://HOST:PORT/DATABASE")
        })?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let database = if database.is_empty() {
            "default"
        } else {
            database
        };
        if !plain_name(database) {
            return Err(error(format!(
                "database \"{database}\": use letters, digits and _"
            )));
        }
        if host.is_empty() {
            return Err(error("the events URL names no host"));
        }
        let mut cluster = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("cluster", name)) if plain_name(name) => cluster = Some(name.to_owned()),
                _ => {
                    return Err(error(format!(
                        "unknown or malformed URL option \"{pair}\"; the only one is cluster=NAME"
                    )))
                }
            }
        }
        let authorization = userinfo.map(|u| {
            use base64::Engine;
            let u = percent_decode(u);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(u)
            )
        });
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let mut http = Http {
            client,
            endpoint: format!("http://{host}/?output_format_json_quote_64bit_integers=0"),
            authorization,
            closed: Default::default(),
        };
        http.execute(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
            .await?;
        http.endpoint = format!(
            "http://{host}/?database={database}&output_format_json_quote_64bit_integers=0\
             &insert_distributed_sync=1"
        );
        let (writer, queue) = mpsc::channel(QUEUE);
        // The task ends when the last handle (and so the last sender) is dropped.
        tokio::spawn(write_groups(http.clone(), queue));
        let ch = ClickHouse {
            http,
            database: database.to_owned(),
            cluster,
            writer,
        };
        ch.migrate().await?;
        Ok(ch)
    }

    /// The statements that bring a database to the current schema, in order; each runs
    /// once per server, recorded in `rapport_migrations`.
    fn migrations(&self) -> Vec<String> {
        let engine = "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day) \
                      ORDER BY (site, day, id)";
        // Version 2: the breakdowns' columns (device class, referrer host, campaign).
        let added = "ADD COLUMN device String DEFAULT '', \
                     ADD COLUMN referrer_host Nullable(String), \
                     ADD COLUMN utm_source Nullable(String), \
                     ADD COLUMN utm_medium Nullable(String), \
                     ADD COLUMN utm_campaign Nullable(String)";
        // Version 3: the prompts' results.
        let prompt = "ADD COLUMN prompt_id Nullable(String)";
        match &self.cluster {
            None => vec![
                format!("CREATE TABLE IF NOT EXISTS events ({COLUMNS}) {engine}"),
                format!("ALTER TABLE events {added}"),
                format!("ALTER TABLE events {prompt}"),
            ],
            Some(cluster) => vec![
                format!("CREATE TABLE IF NOT EXISTS events_local ({COLUMNS}) {engine}"),
                format!(
                    "CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = \
                     Distributed({cluster}, {db}, events_local, sipHash64(visitor_id))",
                    db = self.database
                ),
                format!("ALTER TABLE events_local {added}"),
                format!("ALTER TABLE events {added}"),
                format!("ALTER TABLE events_local {prompt}"),
                format!("ALTER TABLE events {prompt}"),
            ],
        }
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        self.execute(
            "CREATE TABLE IF NOT EXISTS rapport_migrations (version UInt32, name String) \
             ENGINE = TinyLog",
        )
        .await?;
        let layout = if self.cluster.is_some() {
            "sharded"
        } else {
            "single"
        };
        let done = self
            .query(&format!(
                "SELECT version FROM rapport_migrations WHERE name = {}",
                literal(&Param::Text(layout.into()))
            ))
            .await?
            .iter()
            .map(|row| row.int(0))
            .max()
            .unwrap_or(0);
        let mut steps: Vec<Option<String>> = self.migrations().into_iter().map(Some).collect();
        // Version 4: the day (and so the partition) of the stored time, not the client's.
        steps.push(None);
        for (i, statement) in steps.iter().enumerate() {
            let version = i as i64 + 1;
            if version <= done {
                continue;
            }
            match statement {
                Some(statement) => self.execute(statement).await?,
                None => {
                    let table = if self.cluster.is_some() {
                        "events_local"
                    } else {
                        "events"
                    };
                    self.redate(table).await?;
                }
            }
            self.execute(&format!(
                "INSERT INTO rapport_migrations (version, name) VALUES ({version}, '{layout}')"
            ))
            .await?;
        }
        Ok(())
    }

    async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.http.execute(sql).await
    }

    /// Rebuilds `table` with each row's `day` taken from its stored time `ts`: a copy is
    /// filled month by month (so no insert spans more than one partition), then takes the
    /// table's place. Safe to run again if stopped half-way: each step starts from what the
    /// one before left.
    async fn redate(&self, table: &str) -> Result<(), sqlx::Error> {
        let (copy, old) = (format!("{table}_v4"), format!("{table}_v3"));
        let columns: Vec<&str> = COLUMNS
            .split(", ")
            .map(|c| c.split_whitespace().next().unwrap_or_default())
            .chain([
                "device",
                "referrer_host",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "prompt_id",
            ])
            .collect();
        // `ts` in ms as a Date, within what a Date holds (as [`event_day`] clamps).
        let day = format!(
            "toDate(toDateTime(toUInt32(intDiv(greatest(least(ts, {}), 0), 1000))))",
            (LAST_DAY + 1) * 86_400_000 - 1
        );
        let selected: Vec<String> = columns
            .iter()
            .map(|c| {
                if *c == "day" {
                    format!("{day} AS day")
                } else {
                    (*c).to_owned()
                }
            })
            .collect();
        self.execute(&format!("DROP TABLE IF EXISTS {copy}"))
            .await?;
        self.execute(&format!("CREATE TABLE {copy} AS {table}"))
            .await?;
        let months = self
            .query(&format!("SELECT DISTINCT toYYYYMM({day}) FROM {table}"))
            .await?;
        for month in months {
            self.execute(&format!(
                "INSERT INTO {copy} ({}) SELECT {} FROM {table} WHERE toYYYYMM({day}) = {}",
                columns.join(", "),
                selected.join(", "),
                month.int(0)
            ))
            .await?;
        }
        self.execute(&format!("DROP TABLE IF EXISTS {old}")).await?;
        self.execute(&format!("RENAME TABLE {table} TO {old}, {copy} TO {table}"))
            .await?;
        self.execute(&format!("DROP TABLE {old}")).await
    }

    /// The rows of a `SELECT`, each cell as a [`Cell`].
    pub async fn query(&self, sql: &str) -> Result<Vec<Row>, sqlx::Error> {
        self.http.query(sql).await
    }

    pub fn close(&self) {
        self.http
            .closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.execute("SELECT 1").await
    }

    /// Stores the events whose ids `site` does not have yet and returns the ids stored now.
    /// The batch joins the others waiting for the writer ([`write_groups`]): each is stored
    /// whole or not at all. Copies that race in through another collector are collapsed by
    /// the table and on read (see the module).
    pub async fn insert_events(
        &self,
        site: &str,
        arrival: Arrival,
        device: &str,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows = events
            .iter()
            .map(|new| {
                let e = new.event;
                let m = Measures::of(&e.name, &e.url, e.referrer.as_deref(), &e.props, device);
                let line = Line {
                    site,
                    day: event_day(new.ts),
                    id: e.id.to_string(),
                    name: &e.name,
                    ts: as_i64(new.ts),
                    client_ts: as_i64(e.ts),
                    received_at: arrival.of(new),
                    visitor_id: e.visitor_id.to_string(),
                    session_id: e.session_id.to_string(),
                    pageview_id: e.pageview_id.to_string(),
                    is_returning: i64::from(e.returning),
                    url: &e.url,
                    referrer: e.referrer.as_deref(),
                    path: m.path,
                    engaged_ms: m.engaged_ms,
                    scroll_depth: m.scroll_depth,
                    score: m.score,
                    feedback_type: m.feedback_type,
                    referred: i64::from(m.referred),
                    experiment: m.experiment,
                    variant: m.variant,
                    variant_index: m.variant_index,
                    device: m.device,
                    referrer_host: m.referrer_host,
                    utm_source: m.utm_source,
                    utm_medium: m.utm_medium,
                    utm_campaign: m.utm_campaign,
                    prompt_id: m.prompt_id,
                    props: serde_json::to_string(&e.props).unwrap_or_else(|_| "{}".into()),
                };
                let json = serde_json::to_string(&line).map_err(|e| error(e.to_string()))?;
                Ok((line.id, line.day, json))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            site: site.to_owned(),
            rows,
            reply,
        };
        self.writer
            .send(job)
            .await
            .map_err(|_| error("the writer has stopped"))?;
        answer
            .await
            .map_err(|_| error("the writer has stopped"))?
            .map_err(|message| sqlx::Error::Io(std::io::Error::other(message)))
    }

    /// The newest events of a site, newest first, each once.
    pub async fn recent_events(
        &self,
        site: &str,
        name: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let named = match name {
            Some(n) => format!(" AND name = {}", literal(&Param::Text(n.to_owned()))),
            None => String::new(),
        };
        let rows = self
            .query(&format!(
                "SELECT id, name, ts, client_ts, received_at, visitor_id, session_id, \
                 pageview_id, is_returning, url, referrer, props FROM events FINAL \
                 WHERE site = {}{named} ORDER BY received_at DESC, ts DESC, id LIMIT {limit}",
                literal(&Param::Text(site.to_owned()))
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|row| StoredEvent {
                id: row.text(0),
                name: row.text(1),
                ts: row.int(2),
                client_ts: row.int(3),
                received_at: row.int(4),
                visitor_id: row.text(5),
                session_id: row.text(6),
                pageview_id: row.text(7),
                returning: row.int(8) != 0,
                url: row.text(9),
                referrer: match row.0.get(10) {
                    Some(Cell::Text(t)) => Some(t.clone()),
                    _ => None,
                },
                props: serde_json::from_str(&row.text(11)).unwrap_or_default(),
            })
            .collect())
    }
}

impl Http {
    /// Sends one statement (with any data after it) and returns the answer's body.
    async fn send(&self, body: Bytes) -> Result<Bytes, sqlx::Error> {
        if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(sqlx::Error::PoolClosed);
        }
        let mut request = axum::http::Request::post(&self.endpoint);
        if let Some(auth) = &self.authorization {
            request = request.header(axum::http::header::AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| error(e.to_string()))?;
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    sqlx::Error::Io(std::io::Error::other(format!("clickhouse: {e}")))
                })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| sqlx::Error::Io(std::io::Error::other(format!("clickhouse: {e}"))))?
                .to_bytes();
            if status.is_success() {
                Ok(body)
            } else {
                Err(error(String::from_utf8_lossy(&body).trim().to_owned()))
            }
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.send(Bytes::from(sql.to_owned())).await.map(|_| ())
    }

    /// The rows of a `SELECT`, each cell as a [`Cell`].
    async fn query(&self, sql: &str) -> Result<Vec<Row>, sqlx::Error> {
        let body = self
            .send(Bytes::from(format!("{sql} FORMAT JSONCompact")))
            .await?;
        let answer: Value =
            serde_json::from_slice(&body).map_err(|e| error(format!("unreadable answer: {e}")))?;
        let rows = answer["data"]
            .as_array()
            .ok_or_else(|| error("answer without data"))?;
        Ok(rows
            .iter()
            .map(|row| {
                Row(row
                    .as_array()
                    .map(|cells| cells.iter().map(cell).collect())
                    .unwrap_or_default())
            })
            .collect())
    }
}

/// One row of `INSERT … FORMAT JSONEachRow`, in the table's column names.
#[derive(Serialize)]
struct Line<'a> {
    site: &'a str,
    day: String,
    id: String,
    name: &'a str,
    ts: i64,
    client_ts: i64,
    received_at: i64,
    visitor_id: String,
    session_id: String,
    pageview_id: String,
    is_returning: i64,
    url: &'a str,
    referrer: Option<&'a str>,
    path: String,
    engaged_ms: Option<i64>,
    scroll_depth: Option<i64>,
    score: Option<i64>,
    feedback_type: Option<String>,
    referred: i64,
    experiment: Option<String>,
    variant: Option<String>,
    variant_index: Option<i64>,
    device: String,
    referrer_host: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    prompt_id: Option<String>,
    props: String,
}

/// The writer: takes the batches waiting in the queue, up to about [`GROUP_ROWS`] events,
/// and stores them with one duplicate lookup per site and one insert, then answers each.
/// While an insert runs, the next batches gather, so the server sees few large inserts
/// (few parts to merge) however many small batches arrive. No batch is answered before its
/// insert has returned, so a 200 still means stored.
async fn write_groups(http: Http, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut rows = first.rows.len();
        let mut group = vec![first];
        while rows < GROUP_ROWS {
            match queue.try_recv() {
                Ok(job) => {
                    rows += job.rows.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        match write_group(&http, &group).await {
            Ok(stored) => {
                for (job, ids) in group.into_iter().zip(stored) {
                    let _ = job.reply.send(Ok(ids));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for job in group {
                    let _ = job.reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// Stores a group of batches in one insert and returns, per batch, the ids stored now.
async fn write_group(http: &Http, group: &[Job]) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let quoted = |items: &mut dyn Iterator<Item = &String>| {
        items
            .map(|s| literal(&Param::Text(s.clone())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The ids each site has already, whatever their day (a retry's corrected times may
    // differ from the first try's), asked in slices that keep each statement far under the
    // server's 256 KiB query limit.
    let mut by_site: std::collections::BTreeMap<&str, Vec<&(String, String, String)>> =
        std::collections::BTreeMap::new();
    for job in group {
        by_site
            .entry(&job.site)
            .or_default()
            .extend(job.rows.iter());
    }
    let mut stored = std::collections::HashSet::new();
    for (site, rows) in by_site {
        for slice in rows.chunks(LOOKUP_IDS) {
            let found = http
                .query(&format!(
                    "SELECT id FROM events WHERE site = {} AND id IN ({})",
                    literal(&Param::Text(site.to_owned())),
                    quoted(&mut slice.iter().map(|(id, _, _)| id)),
                ))
                .await?;
            stored.extend(found.into_iter().map(|row| (site.to_owned(), row.text(0))));
        }
    }
    let mut body = String::from("INSERT INTO events FORMAT JSONEachRow\n");
    let mut out = Vec::with_capacity(group.len());
    for job in group {
        let mut ids = Vec::new();
        for (id, _, line) in &job.rows {
            // The first copy of an id, in this group or before it, is the one stored.
            if stored.insert((job.site.clone(), id.clone())) {
                body.push_str(line);
                body.push('\n');
                ids.push(id.clone());
            }
        }
        out.push(ids);
    }
    if out.iter().any(|ids| !ids.is_empty()) {
        http.send(Bytes::from(body)).await?;
    }
    Ok(out)
}

fn cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Number(n) => n
            .as_i64()
            .map(Cell::Int)
            .unwrap_or_else(|| Cell::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Bool(b) => Cell::Int(i64::from(*b)),
        other => Cell::Text(other.to_string()),
    }
}

/// `%XX` escapes of a URL's user info, decoded (a malformed escape stays as written).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_params_inlined() {
        assert_eq!(literal(&Param::Text("a'b\\c".into())), r"'a\'b\\c'");
        assert_eq!(
            inline("x = $1 AND y = $10 AND z = $2", &{
                let mut p: Vec<Param> = (1..=10).map(Param::Int).collect();
                p[0] = Param::Text("s".into());
                p
            }),
            "x = 's' AND y = 10 AND z = 2"
        );
        // A value that looks like a placeholder stays a value.
        assert_eq!(
            inline(
                "a = $1 AND b = $2 AND c = $3",
                &[
                    Param::Text("$2' OR 1 = 1 --".into()),
                    Param::Text("x".into()),
                    Param::Int(7)
                ]
            ),
            r"a = '$2\' OR 1 = 1 --' AND b = 'x' AND c = 7"
        );
        assert_eq!(inline("cost $ and $0", &[Param::Int(1)]), "cost $ and $0");
    }

    #[test]
    fn user_info_is_percent_decoded() {
        assert_eq!(percent_decode("rapport:p%40ss%3A1"), "rapport:p@ss:1");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%4"), "a%4");
    }

    #[test]
    fn event_days_stay_in_the_date_range() {
        assert_eq!(event_day(0), "1970-01-01");
        assert_eq!(event_day(1_764_633_600_000), "2025-12-02");
        assert_eq!(event_day(u64::MAX), "2106-02-07");
    }
}
