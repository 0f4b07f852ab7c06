//! Upgrading a database that an earlier collector wrote (migrations 0001 and 0002 applied,
//! with data): the rebuilt events table keeps every event, older rows are measured at start,
//! and earlier redemption keys take their unambiguous form. On SQLite and PostgreSQL.

use sha2::{Digest, Sha384};
use sqlx::{Connection, Executor};

const V1: &str = include_str!("../migrations/0001_events.sql");
const V2: &str = include_str!("../migrations/0002_loyalty.sql");

/// Writes the schema and rows an earlier collector left, through a raw connection.
async fn seed_old<C: Connection>(conn: &mut C, now: u64, postgres: bool)
where
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let (checksum_type, bool_true) = if postgres {
        ("BYTEA", "true")
    } else {
        ("BLOB", "1")
    };
    conn.execute(
        format!(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum {checksum_type} NOT NULL, execution_time BIGINT NOT NULL)"
        )
        .as_str(),
    )
    .await
    .unwrap();
    for (version, description, sql) in [(1, "events", V1), (2, "loyalty", V2)] {
        conn.execute(sql).await.unwrap();
        let checksum = hex::encode(Sha384::digest(sql.as_bytes()));
        let literal = if postgres {
            format!("'\\x{checksum}'")
        } else {
            format!("X'{checksum}'")
        };
        conn.execute(
            format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ({version}, '{description}', {bool_true}, {literal}, 1)"
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    for (n, name, props) in [
        (1, "page_view", "{}"),
        (
            2,
            "page_engagement",
            r#"{"engaged_ms":15000,"scroll_max":60}"#,
        ),
        (3, "feedback_submitted", r#"{"type":"nps","score":9}"#),
    ] {
        conn.execute(
            format!(
                "INSERT INTO events (id, site, name, ts, client_ts, received_at, visitor_id, \
                 session_id, pageview_id, is_returning, url, referrer, props) VALUES \
                 ('00000000-0000-4000-8000-{n:012}', 'demo', '{name}', {now}, {now}, {now}, \
                 '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', \
                 '33333333-3333-4333-8333-333333333333', 0, 'https://shop.example/p/mug?x=1', \
                 NULL, '{props}')"
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    // A redemption by customer `a:b` with key `c`, in the earlier key form.
    conn.execute(
        format!(
            "INSERT INTO ledger (id, site, customer, points, reason, idem_key, detail, created_at) \
             VALUES ('l1', 'club', 'a:b', -100, 'redeem', 'redeem:a:b:c', '{{}}', {now})"
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Opens `url` with the current collector and checks what it made of the earlier data: every
/// event, measured, and the redemption key in its unambiguous form.
async fn check_upgraded(url: &str, now: u64) {
    let db = rapport_collector::Db::connect(url).await.unwrap();
    let today = rapport_collector::report::stats::day_of(now as i64);
    let stats = rapport_collector::report::stats::stats(&db, "demo", today, today, &[])
        .await
        .unwrap();
    assert_eq!(stats.total.pageviews, 1);
    assert_eq!(stats.total.avg_session_engaged_ms, Some(15_000.0));
    assert_eq!(stats.total.scroll_reach, vec![100.0, 100.0, 0.0, 0.0, 0.0]);
    assert_eq!(stats.total.feedback.nps, Some(100.0));
    assert_eq!(stats.top_pages[0].path, "/p/mug");
    assert_eq!(db.recent_events("demo", 10).await.unwrap().len(), 3);
    db.close().await;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let key: (String,) = sqlx::query_as("SELECT idem_key FROM ledger WHERE id = 'l1'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(key.0, rapport_collector::loyalty::redeem_key("a:b", "c"));
}

#[tokio::test]
async fn a_sqlite_database_of_an_earlier_collector_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    let now = rapport_collector::now_ms();
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    seed_old(&mut conn, now, false).await;
    conn.close().await.unwrap();
    check_upgraded(&url, now).await;
}

#[tokio::test]
async fn a_postgres_database_of_an_earlier_collector_is_upgraded_with_its_data() {
    let admin_url = std::env::var("RAPPORT_TEST_POSTGRES_URL")
        .expect("RAPPORT_TEST_POSTGRES_URL is not set: run with `cargo xtask test`");
    let name = format!("upgrade_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let now = rapport_collector::now_ms();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    seed_old(&mut conn, now, true).await;
    conn.close().await.unwrap();
    check_upgraded(&url, now).await;
}
