//! Storage behind one interface: SQLite (default) or PostgreSQL for everything, and
//! optionally ClickHouse for the events (`--events-url`), while the loyalty ledger and the
//! referral state stay in the transactional database.
//!
//! Queries use `$n` placeholders and types that mean the same on both SQL databases, through
//! sqlx's `Any` driver, so both run the same migrations and the same statements. The
//! metrics' reads go through [`Db::read`], which runs the same SQL on ClickHouse with the
//! values inlined ([`clickhouse::inline`]) and the few words that differ taken from
//! [`Dialect`].

use std::path::Path;
use std::str::FromStr;

use rapport_core::{Event, PropValue, Props};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row as _};

mod clickhouse;

use clickhouse::ClickHouse;

/// Which database is behind the pool, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// The reports' reads: their own connections (on SQLite read-only, beside the writer
    /// thanks to WAL), so that no number of reads can hold every connection ingest needs.
    reads: AnyPool,
    /// Reads of the reports in progress at once, in whichever database the events are.
    read_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Longest one read may take, waiting for its turn included.
    read_timeout: std::time::Duration,
    /// Where the events live when not in `pool`.
    events: Option<std::sync::Arc<ClickHouse>>,
}

/// The database the events, and so the metrics' reads, are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    ClickHouse,
}

impl Dialect {
    /// The 64-bit floating-point type's name.
    pub fn float(self) -> &'static str {
        match self {
            Dialect::ClickHouse => "Float64",
            _ => "DOUBLE PRECISION",
        }
    }

    /// The events table as a metric reads it: in ClickHouse collapsed by `FINAL`, so an
    /// event stored twice and not merged yet counts once.
    pub fn events(self) -> &'static str {
        match self {
            Dialect::ClickHouse => "events FINAL",
            _ => "events",
        }
    }

    /// The events table as stored: in ClickHouse without `FINAL` (which merges the rows of
    /// the range on read: a 30-day stats request over 300k events took 756 ms with it, 123
    /// without), so a copy of an event that raced in through a second collector may be
    /// there until the table merges it. Only for queries that count each event once
    /// whatever its copies: maxima, minima, groups, distinct ids, `IN` lists.
    pub fn events_as_stored(self) -> &'static str {
        "events"
    }

    /// Byte order for text in `ORDER BY`.
    pub fn bytewise(self) -> &'static str {
        match self {
            Dialect::Postgres => " COLLATE \"C\"",
            _ => "",
        }
    }
}

/// A value bound to a `$n` placeholder of a read.
#[derive(Clone, Debug)]
pub enum Param {
    Int(i64),
    Text(String),
}

/// One cell of a read's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

/// One row of a read's answer; the accessors read a missing or null cell as 0, None or "".
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        match self.0.get(i) {
            Some(Cell::Int(n)) => *n,
            Some(Cell::Float(f)) => *f as i64,
            Some(Cell::Text(t)) => t.parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// A count: never negative.
    pub fn count(&self, i: usize) -> u64 {
        u64::try_from(self.int(i)).unwrap_or(0)
    }

    pub fn float(&self, i: usize) -> Option<f64> {
        match self.0.get(i) {
            Some(Cell::Int(n)) => Some(*n as f64),
            Some(Cell::Float(f)) => Some(*f),
            Some(Cell::Text(t)) => t.parse().ok(),
            _ => None,
        }
    }

    pub fn text(&self, i: usize) -> String {
        match self.0.get(i) {
            Some(Cell::Text(t)) => t.clone(),
            Some(Cell::Int(n)) => n.to_string(),
            Some(Cell::Float(f)) => f.to_string(),
            _ => String::new(),
        }
    }
}

/// A cell of an `Any` row, whichever type the database gave it.
fn any_cell(row: &sqlx::any::AnyRow, i: usize) -> Cell {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Int);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Float);
    }
    match row.try_get::<Option<String>, _>(i) {
        Ok(Some(t)) => Cell::Text(t),
        _ => Cell::Null,
    }
}

pub use rapport_core::report::StoredEvent;

/// An accepted event with its corrected time.
pub struct NewEvent<'a> {
    pub event: &'a Event,
    pub ts: u64,
}

/// When the events of one store call reached the collector (`received_at`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arrival {
    /// All of them now, in this batch.
    At(u64),
    /// Each at its own (stored) time: history moved in by `rapport-collector import`, so
    /// that the live count and the newest-events lists do not take it for new traffic.
    EventTime,
}

impl Arrival {
    fn of(self, new: &NewEvent<'_>) -> i64 {
        as_i64(match self {
            Arrival::At(at) => at,
            Arrival::EventTime => new.ts,
        })
    }
}

/// Columns per event row (13, the measures, `measured`), and rows per INSERT statement
/// (30 × 500 parameters stays under both SQLite's and PostgreSQL's limits).
const COLUMNS: usize = 14 + MEASURE_COLUMNS.len();
const INSERT_CHUNK: usize = 500;
// SQLite's limit, the lower of the two.
const _: () = assert!(INSERT_CHUNK * COLUMNS <= 32_766);

/// What the metrics read from an event, in typed columns, so the stats are aggregated in the
/// database without reading `props`. Numbers are whole and never negative; values outside
/// what a browser produces (only in rows stored before ingest bounded them) are clamped, so
/// no aggregate can overflow.
#[derive(Debug, Default, PartialEq)]
pub struct Measures {
    pub path: String,
    pub engaged_ms: Option<i64>,
    pub scroll_depth: Option<i64>,
    pub score: Option<i64>,
    pub feedback_type: Option<String>,
    pub referred: bool,
    /// experiment_exposed: the experiment, the variant and its position (0: the control).
    pub experiment: Option<String>,
    pub variant: Option<String>,
    pub variant_index: Option<i64>,
    /// The request's device class (`device::class`); empty for rows stored before it.
    pub device: String,
    /// A page view's referrer host, when it is another site than the page's.
    pub referrer_host: Option<String>,
    /// The campaign attribution the event carries.
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// A prompt event's prompt (its `variant` goes in `variant`).
    pub prompt_id: Option<String>,
    /// The referral code the event arrived with (`props.referral_code`).
    pub referral_code: Option<String>,
}

/// A property as a whole number: a non-negative JSON number, truncated, at most `max`.
fn whole(props: &Props, key: &str, max: u64) -> Option<i64> {
    match props.get(key)? {
        PropValue::Num(n) => {
            let v = n.as_str().parse::<f64>().ok().filter(|v| *v >= 0.0)?;
            Some(as_i64((v as u64).min(max)))
        }
        _ => None,
    }
}

/// The host of a URL (lowercase, without `www.`), if it has one.
pub fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

impl Measures {
    /// The measures of an event of `name` on `url` (a page view's `referrer`), sent from a
    /// `device` class.
    pub fn of(
        name: &str,
        url: &str,
        referrer: Option<&str>,
        props: &Props,
        device: &str,
    ) -> Measures {
        use rapport_core::validate::MAX_ENGAGED_MS;
        let text = |key: &str| match props.get(key) {
            Some(PropValue::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let page_host = host_of(url);
        let mut m = Measures {
            path: path_of(url),
            referred: text("referral_code").is_some(),
            referral_code: text("referral_code"),
            device: device.to_owned(),
            referrer_host: referrer
                .and_then(host_of)
                .filter(|h| name == "page_view" && Some(h) != page_host.as_ref()),
            utm_source: text("utm_source"),
            utm_medium: text("utm_medium"),
            utm_campaign: text("utm_campaign"),
            ..Measures::default()
        };
        match name {
            "page_engagement" => {
                m.engaged_ms = whole(props, "engaged_ms", MAX_ENGAGED_MS);
                m.scroll_depth = whole(props, "scroll_max", 100);
            }
            "scroll_milestone" => m.scroll_depth = whole(props, "depth", 100),
            "feedback_submitted" => {
                m.score = whole(props, "score", u64::from(u32::MAX));
                m.feedback_type = text("type");
            }
            "experiment_exposed" => {
                m.experiment = text("experiment");
                m.variant = text("variant");
                m.variant_index = whole(props, "variant_index", 9);
            }
            _ => {}
        }
        // The prompts' own events carry their prompt and A/B variant.
        match name {
            "prompt_shown" | "prompt_dismissed" | "feedback_submitted" => {
                m.prompt_id = text("prompt_id");
                if m.prompt_id.is_some() {
                    m.variant = Some(text("variant").unwrap_or_else(|| "default".into()));
                }
            }
            _ => {}
        }
        m
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Measures {
    /// Binds the columns in the order of [`MEASURE_COLUMNS`].
    fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        query
            .bind(self.path)
            .bind(self.engaged_ms)
            .bind(self.scroll_depth)
            .bind(self.score)
            .bind(self.feedback_type)
            .bind(i64::from(self.referred))
            .bind(self.experiment)
            .bind(self.variant)
            .bind(self.variant_index)
            .bind(self.device)
            .bind(self.referrer_host)
            .bind(self.utm_source)
            .bind(self.utm_medium)
            .bind(self.utm_campaign)
            .bind(self.prompt_id)
            .bind(self.referral_code)
    }
}

/// The measure columns, in the order [`Measures::bind`] binds them.
const MEASURE_COLUMNS: [&str; 16] = [
    "path",
    "engaged_ms",
    "scroll_depth",
    "score",
    "feedback_type",
    "referred",
    "experiment",
    "variant",
    "variant_index",
    "device",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "prompt_id",
    "referral_code",
];

/// The URL's path, without origin, query or fragment.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/").to_owned()
}

/// The multi-row `INSERT` of `rows` events, `COLUMNS` placeholders each, bound in the order
/// [`Db::insert_events_from`] binds them.
///
/// On SQLite the placeholders are anonymous `?`s. SQLite keeps a named or numbered
/// placeholder (`$7`, `?7`) in a list it searches from the start: once per placeholder when
/// it parses the statement, and again for each one when sqlx asks its name to bind it, on
/// every execution. A statement of P numbered placeholders so costs O(P²): 0.3 s for a chunk
/// of 500 events (15,000 placeholders), which made a 1000-event batch cost 4× more per event
/// than a 100-event one. Anonymous ones are numbered as they come and have no name to look
/// up. PostgreSQL reads its `$n` directly.
fn insert_sql(backend: Backend, rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = format!(
        "INSERT INTO events (id, site, name, ts, client_ts, received_at, visitor_id, \
         session_id, pageview_id, is_returning, url, referrer, props, {}, measured) VALUES ",
        MEASURE_COLUMNS.join(", ")
    );
    sql.reserve(rows * COLUMNS * 8 + 64);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${}", row * COLUMNS + col + 1);
                }
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (site, id) DO NOTHING RETURNING id");
    sql
}

/// On SQLite, an index holding every column the stats' event scans read (`report::stats`),
/// in the range's order, so those scans read the index alone instead of looking up each row
/// in the table. `cargo xtask bench collector` with 100k events over 365 days: a 30-day
/// stats request 66 → 34 ms, a 365-day one 648 → 385 ms; ingest over HTTP 33.6k → 31.9k
/// events/s. Not a migration, since the migrations are PostgreSQL's too, whose B-tree
/// entries are limited to about 2.7 KB and `feedback_type` is free text up to the props'
/// 8 KB; SQLite's entries have no such limit. Built once, when a collector first starts on
/// a database without it. `report::stats`' tests check that the scans use it.
pub(crate) const SQLITE_REPORT_INDEX: &str = "CREATE INDEX IF NOT EXISTS events_report ON events \
     (site, ts, name, session_id, pageview_id, visitor_id, is_returning, engaged_ms, \
     scroll_depth, score, feedback_type, referred)";

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The `props` column: JSON text written by this collector; unreadable text reads as null.
fn props_column(row: &sqlx::any::AnyRow, index: usize) -> Result<serde_json::Value, sqlx::Error> {
    let text: String = row.try_get(index)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// What the reports' reads may use: how many run at once (by default 2 on SQLite, whose
/// writer keeps its own 4 connections, and 8 on PostgreSQL, beside 16 for the rest), and how
/// long each may take before it is given up and answered with 503.
#[derive(Clone, Copy, Debug)]
pub struct ReadBudget {
    pub concurrency: Option<usize>,
    pub timeout: std::time::Duration,
}

impl Default for ReadBudget {
    fn default() -> ReadBudget {
        ReadBudget {
            concurrency: None,
            timeout: std::time::Duration::from_secs(20),
        }
    }
}

/// Why a read of the reports was given up: it took longer than the read budget.
#[derive(Debug, thiserror::Error)]
#[error("the read took longer than {} s", .0.as_secs_f64())]
pub struct ReadTimeout(pub std::time::Duration);

/// Whether `error` is a read given up for its budget: ours ([`ReadTimeout`]) or PostgreSQL's
/// `statement_timeout` (SQLSTATE 57014).
pub fn is_read_timeout(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(e) => e.get_ref().is_some_and(|inner| inner.is::<ReadTimeout>()),
        sqlx::Error::Database(e) => e.code().as_deref() == Some("57014"),
        _ => false,
    }
}

pub(crate) fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Db {
    /// Connects and runs migrations. A `sqlite:` file is created, with its folder, if missing.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        Db::connect_with(url, ReadBudget::default()).await
    }

    /// [`connect`](Db::connect) with this budget for the reports' reads.
    pub async fn connect_with(url: &str, budget: ReadBudget) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let mut url = url.to_owned();
        let sqlite = is_sqlite(&url);
        if sqlite {
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let backend = if sqlite {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers (the dashboard) run beside the writer; the busy
                        // timeout turns short lock waits into waits instead of errors.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        if sqlite {
            sqlx::query(SQLITE_REPORT_INDEX).execute(&pool).await?;
        }
        let slots = budget
            .concurrency
            .unwrap_or(if sqlite { 2 } else { 8 })
            .max(1);
        // Whole milliseconds, at least one: PostgreSQL reads 0 as no limit.
        let timeout_ms = budget.timeout.as_millis().clamp(1, i32::MAX as u128);
        let reads = AnyPoolOptions::new()
            .max_connections(u32::try_from(slots).unwrap_or(u32::MAX))
            .min_connections(0)
            // The read budget's own timer (`budgeted`) bounds the wait for a connection; the
            // pool's is later, so a read over its budget always says so, never "unavailable".
            .acquire_timeout(budget.timeout + std::time::Duration::from_secs(1))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // A read connection never writes; it waits for no lock to read.
                        conn.execute("PRAGMA query_only = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    } else {
                        // The server ends a read over its budget itself, freeing its work.
                        conn.execute(&*format!("SET statement_timeout = {timeout_ms}"))
                            .await?;
                    }
                    Ok(())
                })
            })
            // Lazily: a read connection opens within the read's own budget when a read needs
            // it, so a tight budget never fails the start-up.
            .connect_lazy_with(AnyConnectOptions::from_str(&url)?);
        let db = Db {
            pool,
            backend,
            reads,
            read_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
            read_timeout: budget.timeout,
            events: None,
        };
        db.measure_old_rows().await?;
        Ok(db)
    }

    /// Keeps the events in ClickHouse from now on (`clickhouse://HOST:PORT/DB`): connects,
    /// creates the database if missing and runs its migrations.
    pub async fn with_events(mut self, url: &str) -> Result<Db, sqlx::Error> {
        self.events = Some(std::sync::Arc::new(ClickHouse::connect(url).await?));
        Ok(self)
    }

    /// Where the events are.
    pub fn dialect(&self) -> Dialect {
        match (&self.events, self.backend) {
            (Some(_), _) => Dialect::ClickHouse,
            (None, Backend::Sqlite) => Dialect::Sqlite,
            (None, Backend::Postgres) => Dialect::Postgres,
        }
    }

    /// Runs `read` within the read budget: after the reads ahead of it leave it a slot, and
    /// for at most the read timeout from now, waiting included; else a [`ReadTimeout`].
    async fn budgeted<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        let within = async {
            let _slot = self
                .read_slots
                .acquire()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            read.await
        };
        tokio::time::timeout(self.read_timeout, within)
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    ReadTimeout(self.read_timeout),
                )))
            })
    }

    /// Runs a read of the events (`$n` placeholders) where they are, within the read budget
    /// ([`ReadBudget`]).
    pub async fn read(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, sqlx::Error> {
        self.budgeted(self.read_unbudgeted(sql, params)).await
    }

    async fn read_unbudgeted(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, sqlx::Error> {
        if let Some(ch) = &self.events {
            return ch.query(&clickhouse::inline(sql, params)).await;
        }
        let mut query = sqlx::query(sql);
        for p in params {
            query = match p {
                Param::Int(n) => query.bind(*n),
                Param::Text(t) => query.bind(t.clone()),
            };
        }
        Ok(query
            .fetch_all(&self.reads)
            .await?
            .iter()
            .map(|row| Row((0..row.len()).map(|i| any_cell(row, i)).collect()))
            .collect())
    }

    /// Fills the measure columns of rows stored before they existed (migration 0003), a
    /// thousand at a time; a no-op once every row is measured.
    async fn measure_old_rows(&self) -> Result<(), sqlx::Error> {
        let set: Vec<String> = MEASURE_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let n = MEASURE_COLUMNS.len();
        let update = format!(
            "UPDATE events SET {}, measured = 1 WHERE site = ${} AND id = ${}",
            set.join(", "),
            n + 1,
            n + 2
        );
        loop {
            let rows = sqlx::query(
                "SELECT site, id, name, url, props, referrer FROM events WHERE measured = 0 \
                 LIMIT 1000",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let (site, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                let (name, url): (String, String) = (row.try_get(2)?, row.try_get(3)?);
                let props: Props =
                    serde_json::from_str(&row.try_get::<String, _>(4)?).unwrap_or_default();
                let referrer: Option<String> = row.try_get(5)?;
                Measures::of(&name, &url, referrer.as_deref(), &props, "")
                    .bind(sqlx::query(&update))
                    .bind(site)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }

    /// Closes every connection; later queries fail (and the API answers 503).
    pub async fn close(&self) {
        if let Some(ch) = &self.events {
            ch.close();
        }
        self.reads.close().await;
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        match &self.events {
            Some(ch) => ch.ping().await,
            None => Ok(()),
        }
    }

    /// Stores the events whose ids are not stored yet for `site`, in one transaction (all of
    /// them or none), and returns the ids it stored now. Ids are unique per site: the same id
    /// at another site is another event.
    pub async fn insert_events(
        &self,
        site: &str,
        received_at: u64,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.insert_events_from(site, received_at, "", events).await
    }

    /// [`insert_events`](Db::insert_events) from a client of this device class.
    pub async fn insert_events_from(
        &self,
        site: &str,
        received_at: u64,
        device: &str,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.store(site, Arrival::At(received_at), device, events)
            .await
    }

    /// Stores history (`rapport-collector import`) like [`insert_events`](Db::insert_events),
    /// each event as received at its own time and from no known device class.
    pub async fn import_events(
        &self,
        site: &str,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.store(site, Arrival::EventTime, "", events).await
    }

    async fn store(
        &self,
        site: &str,
        arrival: Arrival,
        device: &str,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        if let Some(ch) = &self.events {
            return ch.insert_events(site, arrival, device, events).await;
        }
        let mut inserted = Vec::new();
        let mut tx = self.pool.begin().await?;
        // Multi-row statements: one round trip per chunk instead of one per event.
        for chunk in events.chunks(INSERT_CHUNK) {
            let sql = insert_sql(self.backend, chunk.len());
            let mut query = sqlx::query(&sql);
            for new in chunk {
                let e = new.event;
                let props = serde_json::to_string(&e.props).unwrap_or_else(|_| "{}".into());
                query = Measures::of(&e.name, &e.url, e.referrer.as_deref(), &e.props, device)
                    .bind(
                        query
                            .bind(e.id.to_string())
                            .bind(site)
                            .bind(&e.name)
                            .bind(as_i64(new.ts))
                            .bind(as_i64(e.ts))
                            .bind(arrival.of(new))
                            .bind(e.visitor_id.to_string())
                            .bind(e.session_id.to_string())
                            .bind(e.pageview_id.to_string())
                            .bind(i64::from(e.returning))
                            .bind(&e.url)
                            .bind(e.referrer.as_deref())
                            .bind(props),
                    )
                    .bind(1_i64);
            }
            for row in query.fetch_all(&mut *tx).await? {
                inserted.push(row.try_get::<String, _>(0)?);
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The newest events of a site, newest first.
    pub async fn recent_events(
        &self,
        site: &str,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        self.recent(site, None, limit).await
    }

    /// The newest events of a site with this name (any name for `None`), newest first.
    pub async fn recent(
        &self,
        site: &str,
        name: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        if let Some(ch) = &self.events {
            return ch.recent_events(site, name, limit).await;
        }
        let sql = format!(
            "SELECT id, name, ts, client_ts, received_at, visitor_id, session_id, pageview_id, \
             is_returning, url, referrer, props FROM events WHERE site = $1{} \
             ORDER BY received_at DESC, ts DESC, id LIMIT $2",
            if name.is_some() { " AND name = $3" } else { "" }
        );
        let mut query = sqlx::query(&sql).bind(site).bind(i64::from(limit));
        if let Some(name) = name {
            query = query.bind(name);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(StoredEvent {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    ts: row.try_get(2)?,
                    client_ts: row.try_get(3)?,
                    received_at: row.try_get(4)?,
                    visitor_id: row.try_get(5)?,
                    session_id: row.try_get(6)?,
                    pageview_id: row.try_get(7)?,
                    returning: row.try_get::<i64, _>(8)? != 0,
                    url: row.try_get(9)?,
                    referrer: row.try_get(10)?,
                    props: props_column(row, 11)?,
                })
            })
            .collect()
    }
}

/// A shared link an owner made (`shared_links`), as its site's list shows it: never its
/// token, which only its hash stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLink {
    pub id: String,
    pub label: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// How `shared_links.token_hash` keeps a token's SHA-256: 64 lowercase hex digits.
fn link_hash(hash: &[u8; 32]) -> String {
    hex::encode(hash)
}

impl Db {
    /// The site of the shared link whose token has this SHA-256, if one was made and is not
    /// revoked. The hash is of a 32-byte random token, so looking it up by value tells a
    /// guesser nothing.
    pub async fn shared_link_site(&self, hash: &[u8; 32]) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("SELECT site FROM shared_links WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(link_hash(hash))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get(0))
            .transpose()
    }

    /// Stores a new shared link of `site`, unless the site has `max` links not revoked
    /// already: then `false`, and nothing is stored.
    pub async fn insert_shared_link(
        &self,
        site: &str,
        link: &StoredLink,
        hash: &[u8; 32],
        max: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let active: i64 =
            sqlx::query("SELECT COUNT(*) FROM shared_links WHERE site = $1 AND revoked_at IS NULL")
                .bind(site)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if active >= max {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO shared_links (id, site, token_hash, label, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&link.id)
        .bind(site)
        .bind(link_hash(hash))
        .bind(&link.label)
        .bind(link.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The shared links of `site` that are not revoked, newest first.
    pub async fn shared_links(&self, site: &str) -> Result<Vec<StoredLink>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, label, created_at FROM shared_links \
             WHERE site = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
        )
        .bind(site)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredLink {
                    id: row.try_get(0)?,
                    label: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// Revokes the shared link `id` of `site` from `now` on (ms); `false` when the site has
    /// no such link, or it was revoked already.
    pub async fn revoke_shared_link(
        &self,
        site: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE shared_links SET revoked_at = $3 \
             WHERE site = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(site)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of an insert, as SQLite and sqlx see them: `?` alone, or the `$n`s.
    fn placeholders(sql: &str) -> (usize, Vec<usize>) {
        let anonymous = sql.matches('?').count();
        let numbered = sql
            .split('$')
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap()
            })
            .collect();
        (anonymous, numbered)
    }

    /// A regression guard without a clock: on SQLite a numbered or named placeholder costs a
    /// search of the ones before it, at parse and at every bind, so a chunk's cost would grow
    /// with the square of its rows. Its inserts must carry only anonymous `?`s, one per
    /// column and row, whatever the size of the chunk.
    #[test]
    fn sqlite_inserts_bind_anonymous_placeholders_only() {
        for rows in [1, 2, 50, INSERT_CHUNK] {
            let sql = insert_sql(Backend::Sqlite, rows);
            assert_eq!(
                placeholders(&sql),
                (rows * COLUMNS, Vec::new()),
                "{rows} rows"
            );
            assert_eq!(sql.matches('(').count(), rows + 2, "{rows} rows");
        }
    }

    /// PostgreSQL's `$n` run 1, 2, 3… in the order the values are bound.
    #[test]
    fn postgres_inserts_number_placeholders_in_binding_order() {
        for rows in [1, 3, INSERT_CHUNK] {
            let (anonymous, numbered) = placeholders(&insert_sql(Backend::Postgres, rows));
            assert_eq!(anonymous, 0);
            assert_eq!(numbered, (1..=rows * COLUMNS).collect::<Vec<_>>());
        }
    }
}
