//! Storage behind one interface for SQLite (default) and PostgreSQL.
//!
//! Queries use `$n` placeholders and types that mean the same on both databases, through
//! sqlx's `Any` driver, so both run the same migrations and the same statements.

use std::path::Path;
use std::str::FromStr;

use rapport_core::Event;
use serde::Serialize;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

#[derive(Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
}

/// One stored event, as the API returns it.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: String,
    pub name: String,
    pub ts: i64,
    pub client_ts: i64,
    pub received_at: i64,
    pub visitor_id: String,
    pub session_id: String,
    pub pageview_id: String,
    pub returning: bool,
    pub url: String,
    pub referrer: Option<String>,
    #[schema(value_type = Object)]
    pub props: serde_json::Value,
}

/// An accepted event with its corrected time.
pub struct NewEvent<'a> {
    pub event: &'a Event,
    pub ts: u64,
}

/// Columns per event row, and rows per INSERT statement (13 × 500 parameters stays under
/// both SQLite's and PostgreSQL's limits).
const COLUMNS: usize = 13;
const INSERT_CHUNK: usize = 500;

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The `props` column: JSON text written by this collector; unreadable text reads as null.
fn props_column(row: &sqlx::any::AnyRow, index: usize) -> Result<serde_json::Value, sqlx::Error> {
    let text: String = row.try_get(index)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

pub(crate) fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Db {
    /// Connects and runs migrations. A `sqlite:` file is created, with its folder, if missing.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
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
        Ok(Db { pool })
    }

    /// Closes every connection; later queries fail (and the API answers 503).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Stores a batch in one transaction: all of it or none. Ids already stored are skipped,
    /// so a retried batch is stored once.
    /// Stores the events whose ids are not stored yet, in one transaction, and returns the
    /// ids it stored now.
    pub async fn insert_events(
        &self,
        site: &str,
        received_at: u64,
        events: &[NewEvent<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut inserted = Vec::new();
        let mut tx = self.pool.begin().await?;
        // Multi-row statements: one round trip per chunk instead of one per event.
        for chunk in events.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO events (id, site, name, ts, client_ts, received_at, visitor_id, \
                 session_id, pageview_id, is_returning, url, referrer, props) VALUES ",
            );
            for row in 0..chunk.len() {
                sql.push_str(if row == 0 { "(" } else { ", (" });
                for col in 0..COLUMNS {
                    if col > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('$');
                    sql.push_str(&(row * COLUMNS + col + 1).to_string());
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
            let mut query = sqlx::query(&sql);
            for new in chunk {
                let e = new.event;
                let props = serde_json::to_string(&e.props).unwrap_or_else(|_| "{}".into());
                query = query
                    .bind(e.id.to_string())
                    .bind(site)
                    .bind(&e.name)
                    .bind(as_i64(new.ts))
                    .bind(as_i64(e.ts))
                    .bind(as_i64(received_at))
                    .bind(e.visitor_id.to_string())
                    .bind(e.session_id.to_string())
                    .bind(e.pageview_id.to_string())
                    .bind(i64::from(e.returning))
                    .bind(&e.url)
                    .bind(e.referrer.as_deref())
                    .bind(props);
            }
            for row in query.fetch_all(&mut *tx).await? {
                inserted.push(row.try_get::<String, _>(0)?);
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Every event of `site` with `from_ms <= ts < to_ms`, for the metrics.
    pub async fn rows_between(
        &self,
        site: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::stats::Row>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT name, ts, visitor_id, session_id, pageview_id, is_returning, url, props \
             FROM events WHERE site = $1 AND ts >= $2 AND ts < $3",
        )
        .bind(site)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(crate::stats::Row {
                    name: row.try_get(0)?,
                    ts: row.try_get(1)?,
                    visitor_id: row.try_get(2)?,
                    session_id: row.try_get(3)?,
                    pageview_id: row.try_get(4)?,
                    returning: row.try_get::<i64, _>(5)? != 0,
                    url: row.try_get(6)?,
                    props: props_column(row, 7)?,
                })
            })
            .collect()
    }

    /// The newest events of a site, newest first.
    pub async fn recent_events(
        &self,
        site: &str,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, name, ts, client_ts, received_at, visitor_id, session_id, pageview_id, \
             is_returning, url, referrer, props FROM events WHERE site = $1 \
             ORDER BY received_at DESC, ts DESC, id LIMIT $2",
        )
        .bind(site)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
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
