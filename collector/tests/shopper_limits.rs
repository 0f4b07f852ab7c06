//! The shopper routes under load: their rate limit, and the referral count's indexed
//! lookup; and the indexes behind the dashboard's lists of recent events.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::Harness;
use rapport_collector::db::Param;
use rapport_collector::loyalty::{self, identity_hash};
use serde_json::json;

const CLUB_SECRET: &str = "sk_club_0123456789abcdef0123456789abcdef";

fn shopper(request: axum::http::request::Builder, user: &str) -> axum::http::request::Builder {
    request
        .header(loyalty::USER_HEADER, user)
        .header(loyalty::USER_HASH_HEADER, identity_hash(CLUB_SECRET, user))
}

fn requests(user: &str) -> Vec<Request<Body>> {
    vec![
        shopper(Request::get("/v1/sites/club/loyalty"), user)
            .body(Body::empty())
            .unwrap(),
        shopper(Request::get("/v1/sites/club/referral"), user)
            .body(Body::empty())
            .unwrap(),
        shopper(Request::post("/v1/sites/club/loyalty/redeem"), user)
            .header(loyalty::IDEMPOTENCY_HEADER, "k-1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "reward": "ten-off" }).to_string()))
            .unwrap(),
    ]
}

/// Each shopper request reads the ledger or the referral state: a client gets a bucket of
/// them per site, then 429 with Retry-After on every shopper route, whatever identity it
/// signs with.
async fn shopper_routes_answer_429_once_a_client_has_used_its_bucket(mut h: Harness) {
    h.state.shopper_rate_limit =
        rapport_collector::RateLimit::new(3, std::time::Duration::from_secs(60)).unwrap();
    let mut statuses = Vec::new();
    for request in requests("ana") {
        let (status, _, _) = h.send(request).await;
        statuses.push(status.as_u16());
    }
    // Redeeming with no points is a 409: the request was served.
    assert_eq!(statuses, [200, 200, 409]);
    for request in requests("bo") {
        let (status, body, headers) = h.send(request).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        let wait: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(body["error"].as_str().unwrap().starts_with("rate limit"));
    }
    // The widget's public config is not a shopper read.
    let request = Request::get("/v1/sites/club/config")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.0, StatusCode::OK);
}

/// The referral panel's "invited" counts the visitors whose events carry the code, found
/// by the code itself: a property whose name merely looks like `referral_code` (which a
/// text match with `_` as a wildcard counted) is not the code.
async fn the_referral_count_finds_the_code_not_text_like_it(h: Harness) {
    let referral = |h: &Harness| {
        let request = shopper(Request::get("/v1/sites/club/referral"), "rita")
            .body(Body::empty())
            .unwrap();
        let h = h.state.clone();
        async move {
            let response = tower::ServiceExt::oneshot(rapport_collector::app(h), request)
                .await
                .unwrap();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        }
    };
    let code = referral(&h).await["code"].as_str().unwrap().to_owned();
    let now = rapport_collector::now_ms();
    let event = |n: u32, visitor: &str, props: serde_json::Value| {
        json!({
            "id": format!("00000000-0000-4000-8000-{n:012}"),
            "name": "page_view",
            "ts": now,
            "visitor_id": visitor,
            "session_id": "22222222-2222-4222-8222-222222222222",
            "pageview_id": "33333333-3333-4333-8333-333333333333",
            "returning": false,
            "url": "https://shop.example/",
            "props": props,
        })
    };
    let events = vec![
        event(
            1,
            "0b6c2d7e-1111-4d8e-9b7a-3c2a1f0e9d81",
            json!({ "referral_code": code }),
        ),
        event(
            2,
            "0b6c2d7e-2222-4d8e-9b7a-3c2a1f0e9d82",
            json!({ "referralXcode": code }),
        ),
        event(
            3,
            "0b6c2d7e-3333-4d8e-9b7a-3c2a1f0e9d83",
            json!({ "referral_code": "SOMEONE-ELSE" }),
        ),
    ];
    let batch = json!({ "site": "club", "sent_at": now, "events": events });
    let (status, body) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.stored("club").await.len(), 3);
    assert_eq!(referral(&h).await["stats"]["invited"], 1);
}

/// The plan of each read, as the database describes it (SQLite's EXPLAIN QUERY PLAN; on
/// PostgreSQL, with a table this small, the planner's choice says little, so the indexes
/// themselves are checked).
async fn plan(h: &Harness, sql: &str, params: &[Param]) -> String {
    let rows = h
        .state
        .db
        .read(&format!("EXPLAIN QUERY PLAN {sql}"), params)
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.text(3))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `/live` counts the visitors who arrived since a moment, `/events` and `/feedback` list
/// the newest arrivals, and the referral panel counts a code's visitors: each through an
/// index, not a scan of the site's events.
async fn arrival_and_referral_reads_use_an_index(h: Harness) {
    if h.state.db.dialect() == rapport_collector::db::Dialect::Postgres {
        let indexes = h
            .state
            .db
            .read(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'events'",
                &[],
            )
            .await
            .unwrap();
        let defs: Vec<String> = indexes.iter().map(|r| r.text(0)).collect();
        for wanted in [
            "(site, received_at DESC, ts DESC, id)",
            "(site, name, received_at DESC, ts DESC, id)",
            "(site, referral_code)",
        ] {
            assert!(
                defs.iter().any(|d| d.contains(wanted)),
                "no index on {wanted}: {defs:?}"
            );
        }
        return;
    }
    let site = || Param::Text("demo".into());
    let live = plan(
        &h,
        "SELECT COUNT(DISTINCT visitor_id) FROM events WHERE site = $1 AND received_at >= $2",
        &[site(), Param::Int(0)],
    )
    .await;
    assert!(live.contains("events_site_received"), "{live}");
    let recent = plan(
        &h,
        "SELECT id FROM events WHERE site = $1 ORDER BY received_at DESC, ts DESC, id LIMIT 100",
        &[site()],
    )
    .await;
    assert!(recent.contains("events_site_received"), "{recent}");
    assert!(!recent.contains("TEMP B-TREE"), "{recent}");
    let feedback = plan(
        &h,
        "SELECT id FROM events WHERE site = $1 AND name = $2 \
         ORDER BY received_at DESC, ts DESC, id LIMIT 100",
        &[site(), Param::Text("feedback_submitted".into())],
    )
    .await;
    assert!(feedback.contains("events_site_name_received"), "{feedback}");
    assert!(!feedback.contains("TEMP B-TREE"), "{feedback}");
    let referred = plan(
        &h,
        "SELECT COUNT(DISTINCT visitor_id) FROM events WHERE site = $1 AND referral_code = $2",
        &[site(), Param::Text("CODE".into())],
    )
    .await;
    assert!(referred.contains("events_referral_code"), "{referred}");
}

mod sqlite {
    #[tokio::test]
    async fn shopper_routes_answer_429_once_a_client_has_used_its_bucket() {
        super::shopper_routes_answer_429_once_a_client_has_used_its_bucket(
            super::common::Harness::sqlite().await,
        )
        .await
    }
    #[tokio::test]
    async fn the_referral_count_finds_the_code_not_text_like_it() {
        super::the_referral_count_finds_the_code_not_text_like_it(
            super::common::Harness::sqlite().await,
        )
        .await
    }
    #[tokio::test]
    async fn arrival_and_referral_reads_use_an_index() {
        super::arrival_and_referral_reads_use_an_index(super::common::Harness::sqlite().await).await
    }
}

mod postgres {
    #[tokio::test]
    async fn shopper_routes_answer_429_once_a_client_has_used_its_bucket() {
        super::shopper_routes_answer_429_once_a_client_has_used_its_bucket(
            super::common::Harness::postgres().await,
        )
        .await
    }
    #[tokio::test]
    async fn the_referral_count_finds_the_code_not_text_like_it() {
        super::the_referral_count_finds_the_code_not_text_like_it(
            super::common::Harness::postgres().await,
        )
        .await
    }
    #[tokio::test]
    async fn arrival_and_referral_reads_use_an_index() {
        super::arrival_and_referral_reads_use_an_index(super::common::Harness::postgres().await)
            .await
    }
}

/// The limit does not depend on where the events are. (The referral count reads the
/// transactional database's events, which ClickHouse deployments leave empty.)
mod clickhouse {
    #[tokio::test]
    async fn shopper_routes_answer_429_once_a_client_has_used_its_bucket() {
        super::shopper_routes_answer_429_once_a_client_has_used_its_bucket(
            super::common::Harness::clickhouse().await,
        )
        .await
    }
}
