//! API tests against a real SQLite file, through `app(state).oneshot(..)`.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use rapport_collector::{app, now_ms, AppState, Db};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Harness {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/rapport.db", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    Harness {
        state: AppState {
            db,
            demo_dir: None,
            embed_dir: None,
        },
        _dir: dir,
    }
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    async fn post(&self, content_type: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let request = Request::post("/v1/batch")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    async fn stored(&self, site: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                Request::get(format!("/v1/sites/{site}/events?limit=500"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().unwrap().clone()
    }
}

fn event(n: u32, ts: u64) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "name": "page_view",
        "ts": ts,
        "visitor_id": "11111111-1111-4111-8111-111111111111",
        "session_id": "22222222-2222-4222-8222-222222222222",
        "pageview_id": "33333333-3333-4333-8333-333333333333",
        "returning": false,
        "url": "https://shop.example/",
        "props": { "n": n }
    })
}

fn batch(events: Vec<Value>, sent_at: u64) -> String {
    json!({ "site": "demo", "sent_at": sent_at, "events": events }).to_string()
}

#[tokio::test]
async fn batch_is_stored_once_when_posted_twice() {
    let h = harness().await;
    let now = now_ms();
    let body = batch(vec![event(1, now), event(2, now)], now);
    for _ in 0..2 {
        let (status, res) = h.post("application/json", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        assert_eq!(res["accepted"], 2);
    }
    let stored = h.stored("demo").await;
    assert_eq!(stored.len(), 2);
    assert!(h.stored("other").await.is_empty());
}

#[tokio::test]
async fn text_plain_body_is_accepted_like_json() {
    let h = harness().await;
    let now = now_ms();
    let (status, _) = h
        .post("text/plain;charset=UTF-8", batch(vec![event(1, now)], now))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.stored("demo").await[0]["props"]["n"], 1);
}

#[tokio::test]
async fn one_bad_event_is_rejected_by_index_and_the_rest_stored() {
    let h = harness().await;
    let now = now_ms();
    let mut events: Vec<Value> = (0..99).map(|n| event(n, now)).collect();
    let mut bad = event(500, now);
    bad["name"] = json!("Not A Name");
    events.insert(42, bad);
    let (status, res) = h.post("application/json", batch(events, now)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["accepted"], 99);
    let rejected = res["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["index"], 42);
    assert!(
        rejected[0]["reason"].as_str().unwrap().starts_with("name:"),
        "{res}"
    );
    assert_eq!(rejected[0]["retryable"], false);
    assert_eq!(h.stored("demo").await.len(), 99);
}

#[tokio::test]
async fn all_bad_events_are_a_400_and_nothing_is_stored() {
    let h = harness().await;
    let now = now_ms();
    let mut wrong_type = event(1, now);
    wrong_type["returning"] = json!("yes");
    let mut nested = event(2, now);
    nested["props"] = json!({ "a": { "b": 1 } });
    let (status, res) = h
        .post("application/json", batch(vec![wrong_type, nested], now))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["rejected"].as_array().unwrap().len(), 2);
    assert!(h.stored("demo").await.is_empty());
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_precise_4xx() {
    let h = harness().await;
    let (status, res) = h.post("application/json", "{\"site\": \"demo\", ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        res["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed batch"),
        "{res}"
    );
    let now = now_ms();
    let (status, _) = h
        .post("application/xml", batch(vec![event(1, now)], now))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, res) = h.post("application/json", batch(vec![], now)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["error"], "events: must not be empty");
    assert!(h.stored("demo").await.is_empty());
}

#[tokio::test]
async fn oversize_body_is_413() {
    let h = harness().await;
    let big = "x".repeat(rapport_collector::MAX_BODY_BYTES + 1);
    let (status, _) = h.post("text/plain", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn skewed_client_clock_is_corrected() {
    let h = harness().await;
    let now = now_ms();
    let hour = 3_600_000;
    // The client's clock runs an hour fast; the event happened 2 s before sending.
    let sent_at = now + hour;
    let (status, _) = h
        .post(
            "application/json",
            batch(vec![event(1, sent_at - 2_000)], sent_at),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = &h.stored("demo").await[0];
    let ts = stored["ts"].as_u64().unwrap();
    let received = stored["received_at"].as_u64().unwrap();
    assert_eq!(received - ts, 2_000);
    assert_eq!(stored["client_ts"].as_u64().unwrap(), sent_at - 2_000);
}
