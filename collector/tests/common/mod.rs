//! A collector with a fresh database per test, on SQLite, PostgreSQL, or SQLite with the
//! events in ClickHouse, driven through `app(state).oneshot(..)`.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use rapport_collector::{app, AppState, Db};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub struct Harness {
    pub state: AppState,
    _dir: Option<tempfile::TempDir>,
}

/// Runs each named scenario `async fn name(h: Harness)` once per database, as
/// `sqlite::name`, `postgres::name` and `clickhouse::name`.
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::common::Harness::sqlite().await).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::common::Harness::postgres().await).await
            })*
        }
        mod clickhouse {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::common::Harness::clickhouse().await).await
            })*
        }
    };
}

/// Site `demo` from any origin; site `locked` only from https://shop.example with a key.
pub const TEST_CONFIG: &str = r#"
[[site]]
id = "demo"
origins = ["*"]

[[site.prompt]]
id = "nps-after-purchase"
type = "nps"
question = { en = "How likely are you to recommend us?", he = "עד כמה סביר שתמליצו עלינו?" }
trigger = { event = "purchase" }

[[site]]
id = "locked"
origins = ["https://shop.example"]
write_key = "wk_test_0123456789"
secret = "sk_test_0123456789abcdef0123456789abcdef"

[[site]]
id = "club"
origins = ["*"]
secret = "sk_club_0123456789abcdef0123456789abcdef"
demo = true

[[site.prompt]]
id = "nps-club"
type = "nps"
question = { en = "How likely are you to recommend us?" }
trigger = { engaged_seconds = 20 }

[[site.prompt]]
id = "csat-club"
type = "csat"
question = { en = "How was checkout?" }
trigger = { event = "purchase" }

[site.referral]
offer = { en = "Give $15, get $15" }
hold_days = 14
max_rewards_per_referrer = 2

[site.loyalty]
points_per_currency_unit = 1
referral_points = 500
feedback_points = 50

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze" }
threshold = 0

[[site.loyalty.tiers]]
id = "silver"
name = { en = "Silver" }
threshold = 1000

[[site.loyalty.rewards]]
id = "ten-off"
name = { en = "$10 off" }
cost = 100

[[site]]
id = "club-expiring"
origins = ["*"]
secret = "sk_clubexp_0123456789abcdef0123456789abcd"
identity_max_age_seconds = 3600

[[site.prompt]]
id = "nps-expiring"
type = "nps"
question = { en = "How likely are you to recommend us?" }
trigger = { engaged_seconds = 30 }

[site.loyalty]
feedback_points = 50

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze" }
threshold = 0

[[site]]
id = "club-soon"
origins = ["*"]
secret = "sk_clubsoon_0123456789abcdef0123456789abc"

[site.referral]
offer = { en = "Give $15, get $15" }
hold_seconds = 1

[site.loyalty]
referral_points = 500

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze" }
threshold = 0

[[site]]
id = "club-now"
origins = ["*"]
secret = "sk_clubnow_0123456789abcdef0123456789abcd"

[site.referral]
offer = { en = "Give $15, get $15" }
hold_days = 0

[site.loyalty]
referral_points = 500

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze" }
threshold = 0
"#;

/// Makes `request` one from loopback with `Host: 127.0.0.1:8787`, as a browser on the
/// collector's machine sends it (reads with no token configured answer only those), unless
/// the test set its own peer address or Host.
pub fn local(request: &mut Request<Body>) {
    if !request.headers().contains_key(header::HOST) {
        request.headers_mut().insert(
            header::HOST,
            header::HeaderValue::from_static("127.0.0.1:8787"),
        );
    }
    let extensions = request.extensions_mut();
    if extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_none()
    {
        extensions.insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            50_000,
        ))));
    }
}

/// A shopper's browser, as the e2e tests present theirs (tests/e2e/browser.js).
pub const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

fn state(db: Db) -> AppState {
    AppState::new(db, rapport_collector::Config::parse(TEST_CONFIG).unwrap())
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/rapport.db", dir.path().display()))
            .await
            .unwrap();
        Harness {
            state: state(db),
            _dir: Some(dir),
        }
    }

    /// A new database on the server `cargo xtask test` started (RAPPORT_TEST_POSTGRES_URL).
    pub async fn postgres() -> Harness {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin_url = std::env::var("RAPPORT_TEST_POSTGRES_URL").expect(
            "RAPPORT_TEST_POSTGRES_URL is not set: run the storage tests with `cargo xtask test`, \
             which starts a temporary PostgreSQL server",
        );
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let db = Db::connect(&url).await.unwrap();
        Harness {
            state: state(db),
            _dir: None,
        }
    }

    /// The events in a new database on the ClickHouse server `cargo xtask test` started
    /// (RAPPORT_TEST_CLICKHOUSE_URL), the ledger in SQLite.
    pub async fn clickhouse() -> Harness {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = std::env::var("RAPPORT_TEST_CLICKHOUSE_URL").expect(
            "RAPPORT_TEST_CLICKHOUSE_URL is not set: run the storage tests with `cargo xtask \
             test`, which starts a temporary ClickHouse server",
        );
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/rapport.db", dir.path().display()))
            .await
            .unwrap()
            .with_events(&format!("{}/{name}", server.trim_end_matches('/')))
            .await
            .unwrap();
        Harness {
            state: state(db),
            _dir: Some(dir),
        }
    }

    /// Sends `request` as a browser on this machine would (see [`local`]): with a browser's
    /// User-Agent unless it has one (the collector drops batches without one as a bot's).
    pub async fn send(
        &self,
        mut request: Request<Body>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        local(&mut request);
        if !request.headers().contains_key(header::USER_AGENT) {
            request.headers_mut().insert(
                header::USER_AGENT,
                header::HeaderValue::from_static(BROWSER_USER_AGENT),
            );
        }
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, headers)
    }

    pub async fn post(&self, content_type: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let request = Request::post("/v1/batch")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        let (status, body, _) = self.send(request).await;
        (status, body)
    }

    /// Stored events of `site`, read through the API.
    pub async fn stored(&self, site: &str) -> Vec<Value> {
        let request = Request::get(format!("/v1/sites/{site}/events?limit=500"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().unwrap().clone()
    }
}
