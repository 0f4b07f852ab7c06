//! The collector serves the built dashboard at `/` and its files under `/dashboard/`,
//! compressed for browsers that accept gzip; without one, `/` says how to build it.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use http_body_util::BodyExt;
use rapport_collector::app;
use tower::ServiceExt;

async fn get(h: &Harness, path: &str, gzip: bool) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = app(h.state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn the_built_dashboard_is_served_at_the_root_and_compressed() {
    let mut h = Harness::sqlite().await;
    let (status, _, body) = get(&h, "/", false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("--dashboard-dir"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>built</title>",
    )
    .unwrap();
    let wasm = "rapport dashboard ".repeat(10_000);
    std::fs::write(dir.path().join("rapport-dashboard_bg.wasm"), &wasm).unwrap();
    h.state.dashboard_dir = Some(dir.path().to_owned());

    let (status, _, body) = get(&h, "/", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<!doctype html><title>built</title>");
    let (status, headers, body) = get(&h, "/dashboard/rapport-dashboard_bg.wasm", true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(body.len() < wasm.len() / 10, "{} bytes", body.len());
    let (_, headers, body) = get(&h, "/dashboard/rapport-dashboard_bg.wasm", false).await;
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(body.len(), wasm.len());
    assert_eq!(
        get(&h, "/dashboard/../Cargo.toml", false).await.0,
        StatusCode::NOT_FOUND
    );
}
