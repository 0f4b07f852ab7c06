//! Who reads the site data, attacked through the real router: an owner's token reading
//! another owner's site, missing and wrong tokens, shared links reaching for the events and
//! feedback, and (with no token configured) reads from beyond loopback or through a
//! DNS-rebinding Host.

#[allow(dead_code)] // the storage-specific harnesses: access does not depend on storage
mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::Harness;
use http_body_util::BodyExt;
use rapport_collector::{app, now_ms, AppState, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

/// How `rapport.toml` lists a token: `sha256:` and its hash in hex.
fn token_hash_text(token: &str) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(token)))
}

const OWNER_A: &str = "rpt_owner-a-0123456789abcdef0123456789abcdef";
const OWNER_B: &str = "rpt_owner-b-0123456789abcdef0123456789abcdef";
const SHARED_B: &str = "rpt_shared-b-0123456789abcdef0123456789abcde";
const ADMIN: &str = "admin-token-0123456789";
/// What a shopper wrote on shop-b: only shop-b's owner (and the admin) may read it.
const SECRET_TEXT: &str = "call me on 555-0199, customer 4711";

/// Every read of a site's data, with the parameters it needs to answer 200.
const READ_ROUTES: [&str; 7] = [
    "stats",
    "events",
    "live",
    "prompts",
    "breakdown?dimension=page",
    "feedback",
    "experiments",
];
/// The reads a shared link may not make.
const PRIVATE: [&str; 2] = ["events", "feedback"];

/// shop-a of owner A; shop-b of owner B, with a shared link; shop-c of nobody (the admin's).
fn config(with_shop_b: bool, shared: bool) -> Config {
    let mut text = format!(
        "[[site]]\nid = \"shop-a\"\norigins = [\"*\"]\nowners = [\"{}\"]\n",
        token_hash_text(OWNER_A)
    );
    if with_shop_b {
        let links = if shared {
            format!("[\"{}\"]", token_hash_text(SHARED_B))
        } else {
            "[]".into()
        };
        text += &format!(
            "[[site]]\nid = \"shop-b\"\norigins = [\"*\"]\nowners = [\"{}\"]\nshared = {links}\n",
            token_hash_text(OWNER_B)
        );
    }
    text += "[[site]]\nid = \"shop-c\"\norigins = [\"*\"]\n";
    Config::parse(&text).unwrap()
}

async fn harness() -> Harness {
    let mut h = seeded(config(true, true)).await;
    h.state.admin_token = Some(ADMIN.into());
    h
}

/// A collector of `config` with a page view and a written answer on shop-b.
async fn seeded(config: Config) -> Harness {
    let mut h = Harness::sqlite().await;
    h.state.config = Arc::new(config);
    // A page view and a written answer on shop-b.
    let now = now_ms();
    let event = |n: u32, name: &str, props: Value| {
        json!({
            "id": format!("0000000{n}-0000-4000-8000-000000000001"), "name": name,
            "ts": now - 1_000, "visitor_id": "11111111-1111-4111-8111-111111111111",
            "session_id": "22222222-2222-4222-8222-222222222222",
            "pageview_id": "33333333-3333-4333-8333-333333333333", "returning": false,
            "url": "https://shop-b.example/", "props": props
        })
    };
    let events = [
        event(1, "page_view", json!({})),
        event(
            2,
            "feedback_submitted",
            json!({"prompt_id": "p", "type": "text", "text": SECRET_TEXT}),
        ),
    ];
    let batch = json!({ "site": "shop-b", "sent_at": now, "events": events }).to_string();
    let (status, body) = h.post("text/plain", batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h
}

/// A local GET (loopback, Host 127.0.0.1) with this Authorization header.
fn get(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    let mut request = request.body(Body::empty()).unwrap();
    common::local(&mut request);
    request
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Status, headers and the exact bytes of the answer.
async fn raw(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

#[tokio::test]
async fn another_sites_owner_token_gets_the_404_of_a_site_that_does_not_exist() {
    let h = harness().await;
    // The same collector without shop-b: what a site that does not exist answers.
    let mut without = h.state.clone();
    without.config = Arc::new(config(false, false));
    for route in READ_ROUTES {
        // Its own site: 200.
        let path = format!("/v1/sites/shop-a/{route}");
        let (status, body, _) = h.send(get(&path, Some(&bearer(OWNER_A)))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        // Another owner's site, and one nobody owns: the 404 of an unknown site, byte for
        // byte, headers included.
        for site in ["shop-b", "shop-c"] {
            let path = format!("/v1/sites/{site}/{route}");
            let (status, headers, bytes) = raw(&h.state, get(&path, Some(&bearer(OWNER_A)))).await;
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {text}");
            assert_eq!(
                text,
                format!("{{\"error\":\"site: \\\"{site}\\\" is not configured\"}}")
            );
            if site == "shop-b" {
                let absent = raw(&without, get(&path, Some(&bearer(OWNER_A)))).await;
                assert_eq!(
                    (status, headers, bytes),
                    absent,
                    "{path}: unlike a site that does not exist"
                );
            }
        }
    }
    // Owner B reads shop-b's answers, text included.
    let (status, body, _) = h
        .send(get("/v1/sites/shop-b/feedback", Some(&bearer(OWNER_B))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["answers"][0]["text"], SECRET_TEXT, "{body}");
}

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_on_every_read_route() {
    let h = harness().await;
    let hash = token_hash_text(OWNER_B);
    let wrong = [
        None,
        Some("Bearer ".to_owned()),
        Some(bearer("rpt_not-a-token-0123456789abcdef0123456789ab")),
        Some(bearer(&OWNER_B[..OWNER_B.len() - 1])),
        Some(OWNER_B.to_owned()),         // no scheme
        Some(format!("Basic {OWNER_B}")), // another scheme
        Some(bearer(&hash)),              // the config's hash is not a credential
        Some(bearer(hash.trim_start_matches("sha256:"))),
    ];
    let mut paths: Vec<String> = READ_ROUTES
        .iter()
        .flat_map(|r| ["shop-b", "shop-z"].map(|s| format!("/v1/sites/{s}/{r}")))
        .collect();
    paths.push("/v1/sites".into());
    for path in &paths {
        for auth in &wrong {
            let (status, body, headers) = h.send(get(path, auth.as_deref())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {auth:?}: {body}");
            assert_eq!(headers["www-authenticate"], "Bearer");
            let error = body["error"].as_str().unwrap();
            assert!(error.starts_with("authorization: "), "{body}");
            assert!(!body.to_string().contains(SECRET_TEXT));
        }
    }
    // The widget's and the shoppers' endpoints need no read token.
    let (status, _, _) = h.send(get("/v1/sites/shop-b/config", None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_shared_link_reads_its_sites_stats_but_never_events_or_feedback() {
    let h = harness().await;
    let link = bearer(SHARED_B);
    for route in READ_ROUTES {
        let path = format!("/v1/sites/shop-b/{route}");
        let (status, body, _) = h.send(get(&path, Some(&link))).await;
        if PRIVATE.iter().any(|p| route.starts_with(p)) {
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("shared link"),
                "{body}"
            );
            assert!(!body.to_string().contains(SECRET_TEXT));
        } else {
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            assert!(!body.to_string().contains(SECRET_TEXT), "{path}: {body}");
        }
        // Another site is not there for it.
        let other = format!("/v1/sites/shop-a/{route}");
        let (status, body, _) = h.send(get(&other, Some(&link))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}: {body}");
        assert_eq!(body, json!({"error": "site: \"shop-a\" is not configured"}));
    }
    let (_, body, _) = h.send(get("/v1/sites/shop-b/stats", Some(&link))).await;
    assert_eq!(body["total"]["pageviews"], 1, "{body}");
    // Revoked: its hash is gone from the config, and the link reads nothing.
    let mut revoked = h.state.clone();
    revoked.config = Arc::new(config(true, false));
    let (status, _, body) = raw(&revoked, get("/v1/sites/shop-b/stats", Some(&link))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn the_site_list_names_what_each_token_reads() {
    let h = harness().await;
    let list = |token: &'static str| {
        let h = &h;
        async move {
            let (status, body, _) = h.send(get("/v1/sites", Some(&bearer(token)))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    assert_eq!(
        list(OWNER_A).await,
        json!({"sites": [{"id": "shop-a", "access": "all"}]})
    );
    assert_eq!(
        list(OWNER_B).await,
        json!({"sites": [{"id": "shop-b", "access": "all"}]})
    );
    assert_eq!(
        list(SHARED_B).await,
        json!({"sites": [{"id": "shop-b", "access": "stats"}]})
    );
    let all = list(ADMIN).await;
    let ids: Vec<&str> = all["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["shop-a", "shop-b", "shop-c"]);
    // The admin token reads every site, one that no owner lists too.
    for site in ["shop-a", "shop-b", "shop-c"] {
        for route in READ_ROUTES {
            let path = format!("/v1/sites/{site}/{route}");
            let (status, body, _) = h.send(get(&path, Some(&bearer(ADMIN)))).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
    }
}

/// A read with no token, from `peer`, naming `host`, perhaps through a proxy.
fn from(peer: [u8; 4], host: Option<&str>, path: &str, forwarded: bool) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(host) = host {
        request = request.header("host", host);
    }
    if forwarded {
        request = request.header("x-forwarded-for", "203.0.113.7");
    }
    let mut request = request.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 50_000))));
    request
}

#[tokio::test]
async fn with_no_token_configured_reads_answer_only_loopback_clients_naming_loopback() {
    // shop-b's data with no token anywhere: the collector of a shop owner on their laptop.
    let open = Config::parse("[[site]]\nid = \"shop-b\"\norigins = [\"*\"]\n").unwrap();
    let h = seeded(open).await;
    let mut open = h.state.clone();
    let loopback = [127, 0, 0, 1];
    let mut paths: Vec<String> = READ_ROUTES
        .iter()
        .map(|r| format!("/v1/sites/shop-b/{r}"))
        .collect();
    paths.push("/v1/sites".into());
    for path in &paths {
        for (request, what) in [
            // A page of rebind.evil.example whose name now resolves to 127.0.0.1.
            (
                from(loopback, Some("rebind.evil.example:8787"), path, false),
                "rebinding Host",
            ),
            (
                from(loopback, Some("localhost.evil.example"), path, false),
                "look-alike Host",
            ),
            (from(loopback, None, path, false), "no Host"),
            // A client elsewhere that names loopback.
            (
                from([203, 0, 113, 9], Some("127.0.0.1:8787"), path, false),
                "remote peer",
            ),
            // A reverse proxy on this machine, relaying a client from elsewhere.
            (
                from(loopback, Some("127.0.0.1:8787"), path, true),
                "proxied",
            ),
        ] {
            let (status, _, body) = raw(&open, request).await;
            let text = String::from_utf8_lossy(&body);
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} ({what}): {text}");
            assert!(text.contains("no read token is configured"), "{text}");
            assert!(!text.contains(SECRET_TEXT));
        }
        for host in [
            "127.0.0.1:8787",
            "localhost:8787",
            "[::1]:8787",
            "localhost",
        ] {
            let (status, _, body) = raw(&open, from(loopback, Some(host), path, false)).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{path} {host}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // What the refused reads would have shown: shop-b's answers, text included.
    let (_, _, body) = raw(
        &open,
        from(
            loopback,
            Some("localhost"),
            "/v1/sites/shop-b/feedback",
            false,
        ),
    )
    .await;
    assert!(String::from_utf8_lossy(&body).contains(SECRET_TEXT));
    // --public-reads: the operator opens the reads to anyone.
    open.public_reads = true;
    let request = from(
        [203, 0, 113, 9],
        Some("stats.shop.example"),
        "/v1/sites/shop-b/feedback",
        true,
    );
    let (status, _, body) = raw(&open, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn openapi_states_the_bearer_scheme_and_the_refusals_of_every_read() {
    let h = Harness::sqlite().await;
    let (status, doc, _) = h
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    let mut paths: Vec<String> = READ_ROUTES
        .iter()
        .map(|r| format!("/v1/sites/{{site}}/{}", r.split('?').next().unwrap()))
        .collect();
    paths.push("/v1/sites".into());
    for path in &paths {
        let operation = &doc["paths"][path]["get"];
        assert_eq!(operation["security"], json!([{"bearer": []}]), "{path}");
        for code in ["401", "403"] {
            assert!(
                operation["responses"][code].is_object(),
                "{path} lacks {code}"
            );
        }
    }
    // The widget's own reads need no token.
    assert!(doc["paths"]["/v1/sites/{site}/config"]["get"]["security"].is_null());
}

/// A local request with a bearer token and, for a POST, a JSON body.
fn call(method: &str, path: &str, token: &str, body: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", bearer(token));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    common::local(&mut request);
    request
}

/// The seeded collector of [`harness`] on the database of `h`.
async fn links_harness(mut h: Harness) -> Harness {
    h.state.config = Arc::new(config(true, true));
    h.state.admin_token = Some(ADMIN.into());
    let now = now_ms();
    let batch = json!({ "site": "shop-b", "sent_at": now, "events": [{
        "id": "00000001-0000-4000-8000-000000000001", "name": "page_view", "ts": now - 1_000,
        "visitor_id": "11111111-1111-4111-8111-111111111111",
        "session_id": "22222222-2222-4222-8222-222222222222",
        "pageview_id": "33333333-3333-4333-8333-333333333333", "returning": false,
        "url": "https://shop-b.example/", "props": {}
    }, {
        "id": "00000002-0000-4000-8000-000000000001", "name": "feedback_submitted",
        "ts": now - 1_000, "visitor_id": "11111111-1111-4111-8111-111111111111",
        "session_id": "22222222-2222-4222-8222-222222222222",
        "pageview_id": "33333333-3333-4333-8333-333333333333", "returning": false,
        "url": "https://shop-b.example/",
        "props": {"prompt_id": "p", "type": "text", "text": SECRET_TEXT}
    }]})
    .to_string();
    let (status, body) = h.post("text/plain", batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h
}

/// An owner makes a link, which reads the stats but not the events or feedback, shows in
/// the list without its token, and reads nothing once revoked; no restart in between.
async fn an_owner_makes_lists_and_revokes_a_shared_link(h: Harness) {
    let h = links_harness(h).await;
    let links = "/v1/sites/shop-b/shared-links";
    let (status, made, headers) = h
        .send(call(
            "POST",
            links,
            OWNER_B,
            Some(r#"{"label": "board — לוח"}"#),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(headers["cache-control"], "no-store");
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rpt_") && token.len() == 47, "{made}");
    assert_eq!(id.len(), 16, "{made}");
    assert_eq!(made["label"], "board — לוח");
    assert!(made["created_at"].as_u64().unwrap() > 0);
    // Without a body, no label.
    let (status, plain, _) = h.send(call("POST", links, ADMIN, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert_eq!(plain["label"], "");

    // The link reads shop-b's aggregates, never its events or feedback, nor another site.
    for route in READ_ROUTES {
        let path = format!("/v1/sites/shop-b/{route}");
        let (status, body, _) = h.send(get(&path, Some(&bearer(&token)))).await;
        if PRIVATE.iter().any(|p| route.starts_with(p)) {
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        } else {
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
        assert!(!body.to_string().contains(SECRET_TEXT), "{path}: {body}");
        for site in ["shop-a", "shop-z"] {
            let other = format!("/v1/sites/{site}/{route}");
            let (status, body, _) = h.send(get(&other, Some(&bearer(&token)))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{other}: {body}");
            assert_eq!(
                body,
                json!({"error": format!("site: \"{site}\" is not configured")})
            );
        }
    }
    let (_, stats, _) = h
        .send(get("/v1/sites/shop-b/stats", Some(&bearer(&token))))
        .await;
    assert_eq!(stats["total"]["pageviews"], 1, "{stats}");
    let (_, sites, _) = h.send(get("/v1/sites", Some(&bearer(&token)))).await;
    assert_eq!(
        sites,
        json!({"sites": [{"id": "shop-b", "access": "stats"}]})
    );

    // The list shows both, newest first or at the same millisecond by id, never a token.
    let (status, list, _) = h.send(call("GET", links, OWNER_B, None)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["links"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{list}");
    let mine = listed.iter().find(|l| l["id"] == id.as_str()).unwrap();
    assert_eq!(
        mine,
        &json!({"id": id, "label": "board — לוח", "created_at": made["created_at"]})
    );
    assert!(!list.to_string().contains(&token), "{list}");
    assert!(!list.to_string().contains("rpt_"), "{list}");
    let (_, by_admin, _) = h.send(call("GET", links, ADMIN, None)).await;
    assert_eq!(by_admin, list);

    // Revoked: the next read is refused as an unknown token's, and the list drops it.
    let one = format!("{links}/{id}");
    let (status, body, _) = h.send(call("DELETE", &one, OWNER_B, None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for path in ["/v1/sites/shop-b/stats", "/v1/sites"] {
        let (status, body, headers) = h.send(get(path, Some(&bearer(&token)))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(headers["www-authenticate"], "Bearer");
    }
    let (_, list, _) = h.send(call("GET", links, OWNER_B, None)).await;
    assert_eq!(list["links"].as_array().unwrap().len(), 1, "{list}");
    assert_ne!(list["links"][0]["id"], id.as_str());
    // Revoking it again, or an id the site never had: 404.
    for path in [one.clone(), format!("{links}/0123456789abcdef")] {
        let (status, body, _) = h.send(call("DELETE", &path, OWNER_B, None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("id: "),
            "{body}"
        );
    }
    // The link of the other call still reads.
    let other = plain["token"].as_str().unwrap();
    let (status, _, _) = h
        .send(get("/v1/sites/shop-b/stats", Some(&bearer(other))))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Only the site's owners and the admin manage its links: a shared link (configured or
/// made) gets 403, another site's owner the 404 of a site that does not exist.
async fn only_owners_and_the_admin_manage_shared_links(h: Harness) {
    let h = links_harness(h).await;
    let links = "/v1/sites/shop-b/shared-links";
    let (_, made, _) = h.send(call("POST", links, OWNER_B, None)).await;
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    let one = format!("{links}/{id}");
    let attempts = |token: &str| {
        [
            call("POST", links, token, Some("{}")),
            call("GET", links, token, None),
            call("DELETE", &one, token, None),
        ]
    };
    for shared in [SHARED_B, token.as_str()] {
        for request in attempts(shared) {
            let what = format!("{} {}", request.method(), request.uri());
            let (status, body, _) = h.send(request).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("shared link"),
                "{body}"
            );
        }
    }
    // Owner A: shop-b is as absent as a site that does not exist, byte for byte.
    let mut without = h.state.clone();
    without.config = Arc::new(config(false, false));
    let absent = [
        call("POST", links, OWNER_A, Some("{}")),
        call("GET", links, OWNER_A, None),
        call("DELETE", &one, OWNER_A, None),
    ];
    for (request, same) in attempts(OWNER_A).into_iter().zip(absent) {
        let what = format!("{} {}", request.method(), request.uri());
        let answer = raw(&h.state, request).await;
        assert_eq!(answer.0, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(
            String::from_utf8(answer.2.clone()).unwrap(),
            "{\"error\":\"site: \\\"shop-b\\\" is not configured\"}"
        );
        assert_eq!(answer, raw(&without, same).await, "{what}");
    }
    // No token, or an unknown one: 401.
    for request in attempts("rpt_not-a-token-0123456789abcdef0123456789ab") {
        let (status, _, _) = h.send(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let mut request = Request::get(links).body(Body::empty()).unwrap();
    common::local(&mut request);
    assert_eq!(h.send(request).await.0, StatusCode::UNAUTHORIZED);
    // The admin, on a site nobody owns, and on one that does not exist.
    let (status, _, _) = h
        .send(call("POST", "/v1/sites/shop-c/shared-links", ADMIN, None))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = h
        .send(call("GET", "/v1/sites/shop-z/shared-links", ADMIN, None))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The link made survived all of that.
    let (status, _, _) = h
        .send(get("/v1/sites/shop-b/stats", Some(&bearer(&token))))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A label is bounded and has no control characters; the 400 names it.
async fn a_bad_label_gets_a_precise_400(h: Harness) {
    let h = links_harness(h).await;
    let links = "/v1/sites/shop-b/shared-links";
    let long = format!("{{\"label\": \"{}\"}}", "a".repeat(101));
    for (body, error) in [
        (long.as_str(), "label: must be at most 100 characters"),
        (
            r#"{"label": "a\u0007b"}"#,
            "label: must not contain control characters (U+0000-U+001F, U+007F-U+009F), found U+0007",
        ),
    ] {
        let (status, answer, _) = h.send(call("POST", links, OWNER_B, Some(body))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer, json!({ "error": error }));
    }
    for body in [r#"{"label": 7}"#, r#"{"name": "x"}"#, "not json"] {
        let (status, answer, _) = h.send(call("POST", links, OWNER_B, Some(body))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["error"].as_str().unwrap().starts_with("body: "));
    }
    let (_, list, _) = h.send(call("GET", links, OWNER_B, None)).await;
    assert_eq!(list, json!({"links": []}));
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn an_owner_makes_lists_and_revokes_a_shared_link() {
        super::an_owner_makes_lists_and_revokes_a_shared_link(Harness::sqlite().await).await
    }

    #[tokio::test]
    async fn only_owners_and_the_admin_manage_shared_links() {
        super::only_owners_and_the_admin_manage_shared_links(Harness::sqlite().await).await
    }

    #[tokio::test]
    async fn a_bad_label_gets_a_precise_400() {
        super::a_bad_label_gets_a_precise_400(Harness::sqlite().await).await
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn an_owner_makes_lists_and_revokes_a_shared_link() {
        super::an_owner_makes_lists_and_revokes_a_shared_link(Harness::postgres().await).await
    }

    #[tokio::test]
    async fn only_owners_and_the_admin_manage_shared_links() {
        super::only_owners_and_the_admin_manage_shared_links(Harness::postgres().await).await
    }

    #[tokio::test]
    async fn a_bad_label_gets_a_precise_400() {
        super::a_bad_label_gets_a_precise_400(Harness::postgres().await).await
    }
}

#[tokio::test]
async fn openapi_states_the_shared_link_routes() {
    let h = Harness::sqlite().await;
    let (_, doc, _) = h
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    let links = &doc["paths"]["/v1/sites/{site}/shared-links"];
    let one = &doc["paths"]["/v1/sites/{site}/shared-links/{id}"];
    for (operation, codes) in [
        (&links["post"], &["201", "400", "401", "403", "404"][..]),
        (&links["get"], &["200", "400", "401", "403", "404"][..]),
        (&one["delete"], &["204", "400", "401", "403", "404"][..]),
    ] {
        assert_eq!(
            operation["security"],
            json!([{"bearer": []}]),
            "{operation}"
        );
        for code in codes {
            assert!(
                operation["responses"][code].is_object(),
                "{operation} lacks {code}"
            );
        }
    }
    // The body is optional: a POST without one makes a link without a label.
    assert_ne!(links["post"]["requestBody"]["required"], json!(true));
}
