//! Loyalty and referral through the HTTP API, on SQLite, PostgreSQL and ClickHouse (for the
//! events): identity checks, the signed order webhook, the fraud rules, the hold period and
//! the ledger.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use rapport_collector::loyalty::{self, sign};
use serde_json::{json, Value};

const CLUB_SECRET: &str = "sk_club_0123456789abcdef0123456789abcdef";
const NOW_SECRET: &str = "sk_clubnow_0123456789abcdef0123456789abcd";
const SOON_SECRET: &str = "sk_clubsoon_0123456789abcdef0123456789abc";
const EXPIRING_SECRET: &str = "sk_clubexp_0123456789abcdef0123456789abcd";

fn secret_of(site: &str) -> &'static str {
    match site {
        "club" => CLUB_SECRET,
        "club-soon" => SOON_SECRET,
        _ => NOW_SECRET,
    }
}

/// The `identify()` hash of `user` as the site's server computes it: under the identity key
/// derived from the secret.
fn id_hash(secret: &str, user: &str) -> String {
    loyalty::identity_hash(secret, user)
}

/// A shopper request signed the way the site's server signs `identify()`.
fn as_shopper(
    request: axum::http::request::Builder,
    site: &str,
    user: &str,
) -> axum::http::request::Builder {
    request
        .header(loyalty::USER_HEADER, user)
        .header(loyalty::USER_HASH_HEADER, id_hash(secret_of(site), user))
}

async fn order(h: &Harness, site: &str, body: Value) -> (StatusCode, Value) {
    let bytes = body.to_string();
    let now = rapport_collector::now_ms() / 1000;
    let signature = loyalty::webhook_signature(secret_of(site), now, bytes.as_bytes());
    let request = Request::post(format!("/v1/sites/{site}/orders"))
        .header("content-type", "application/json")
        .header(loyalty::SIGNATURE_HEADER, signature)
        .body(Body::from(bytes))
        .unwrap();
    let (status, body, _) = h.send(request).await;
    (status, body)
}

fn paid(order_id: &str, customer: &str, email: &str, cents: u64, code: Option<&str>) -> Value {
    let mut body = json!({
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        "email": email,
        "amount_cents": cents,
    });
    if let Some(code) = code {
        body["referral_code"] = code.into();
    }
    body
}

/// A signed-in shopper's `GET /v1/sites/{site}/{what}`, which must answer 200.
async fn shopper_get(h: &Harness, site: &str, user: &str, what: &str) -> Value {
    let request = as_shopper(Request::get(format!("/v1/sites/{site}/{what}")), site, user)
        .body(Body::empty())
        .unwrap();
    let (code, body, _) = h.send(request).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

async fn status(h: &Harness, site: &str, user: &str) -> Value {
    shopper_get(h, site, user, "loyalty").await
}

async fn referral(h: &Harness, site: &str, user: &str) -> Value {
    shopper_get(h, site, user, "referral").await
}

async fn redeem(h: &Harness, user: &str, key: &str, reward: &str) -> (StatusCode, Value) {
    let request = as_shopper(Request::post("/v1/sites/club/loyalty/redeem"), "club", user)
        .header(loyalty::IDEMPOTENCY_HEADER, key)
        .header("content-type", "application/json")
        .body(Body::from(json!({ "reward": reward }).to_string()))
        .unwrap();
    let (code, body, _) = h.send(request).await;
    (code, body)
}

async fn shopper_reads_need_a_valid_hash(h: Harness) {
    for (user, hash) in [
        ("alice", "".to_string()),
        ("alice", sign(CLUB_SECRET, b"bob")),
        (
            "alice",
            sign("another-secret-of-some-length-0000", b"alice"),
        ),
        ("alice", "zz-not-hex".to_string()),
    ] {
        for path in ["/v1/sites/club/loyalty", "/v1/sites/club/referral"] {
            let request = Request::get(path)
                .header(loyalty::USER_HEADER, user)
                .header(loyalty::USER_HASH_HEADER, &hash)
                .body(Body::empty())
                .unwrap();
            let (code, body, _) = h.send(request).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{path} {hash}: {body}");
            assert!(body.get("balance").is_none() && body.get("code").is_none());
        }
    }
    let anonymous = Request::get("/v1/sites/club/loyalty")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(anonymous).await.0, StatusCode::UNAUTHORIZED);
    // With the right hash the same request is answered.
    assert_eq!(status(&h, "club", "alice").await["balance"], 0);
}

async fn webhooks_need_a_valid_signature(h: Harness) {
    let body = paid("o-1", "alice", "alice@example.com", 5000, None).to_string();
    let now = rapport_collector::now_ms() / 1000;
    for signature in [
        String::new(),
        loyalty::webhook_signature(NOW_SECRET, now, body.as_bytes()), // another site's secret
        loyalty::webhook_signature(CLUB_SECRET, now, b"another body"),
        // A replay: a signature made ten minutes ago.
        loyalty::webhook_signature(CLUB_SECRET, now - 600, body.as_bytes()),
        // A shopper hash of the body is not a webhook signature.
        format!("t={now},sha256={}", sign(CLUB_SECRET, body.as_bytes())),
        format!("sha256={}", sign(CLUB_SECRET, body.as_bytes())),
    ] {
        let request = Request::post("/v1/sites/club/orders")
            .header(loyalty::SIGNATURE_HEADER, signature)
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(h.send(request).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        status(&h, "club", "alice").await["balance"],
        0,
        "nothing was stored"
    );
    let (code, answer) = order(&h, "club", json!({ "type": "order.paid", "order_id": "x" })).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("customer_id"),
        "{answer}"
    );
}

async fn order_points_are_awarded_once_and_taken_back_on_refund(h: Harness) {
    let (code, answer) = order(
        &h,
        "club",
        paid("o-1", "alice", "a@example.com", 12_345, None),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["points"], 123);
    // A retried webhook changes nothing.
    let (_, again) = order(
        &h,
        "club",
        paid("o-1", "alice", "a@example.com", 12_345, None),
    )
    .await;
    assert_eq!(again["duplicate"], true);
    let s = status(&h, "club", "alice").await;
    assert_eq!(s["balance"], 123);
    assert_eq!(s["tier"]["id"], "bronze");
    assert_eq!(s["next_tier"]["points_needed"], 1000 - 123);
    assert_eq!(s["activity"][0]["reason"], "order");
    let (code, refunded) = order(
        &h,
        "club",
        json!({ "type": "order.refunded", "order_id": "o-1" }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["points_removed"], 123);
    assert_eq!(status(&h, "club", "alice").await["balance"], 0);
    let (code, again) = order(
        &h,
        "club",
        json!({ "type": "order.refunded", "order_id": "o-1" }),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(again["duplicate"], true, "{again}");
    let (code, _) = order(
        &h,
        "club",
        json!({ "type": "order.refunded", "order_id": "nope" }),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

async fn a_client_claiming_points_changes_nothing(h: Harness) {
    // Events from the browser (even with the user's valid hash) are not facts the server
    // verified.
    let event = json!({
        "id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d8c", "name": "purchase", "ts": lib_now(),
        "visitor_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d81",
        "session_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d82",
        "pageview_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d83",
        "returning": false, "url": "https://shop.example/",
        "props": { "points": 100000, "user_id": "alice",
                   "user_hash": id_hash(CLUB_SECRET, "alice"), "amount": 999 }
    });
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": [event] });
    let (code, _) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        h.stored("club").await.len(),
        1,
        "the event itself is stored"
    );
    assert_eq!(status(&h, "club", "alice").await["balance"], 0);
}

/// A `feedback_submitted` event as the widget sends it, for the `club` site.
fn feedback(n: u128, prompt: &str, user: Option<(&str, String)>) -> Value {
    let mut props = json!({ "prompt_id": prompt, "type": "nps", "score": 9 });
    if let Some((id, hash)) = user {
        props["user_id"] = id.into();
        props["user_hash"] = hash.into();
    }
    json!({
        "id": uuid::Uuid::from_u128(0x5eed_0000 + n).to_string(), "name": "feedback_submitted",
        "ts": lib_now(), "visitor_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d81",
        "session_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d82",
        "pageview_id": "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d83",
        "returning": true, "url": "https://shop.example/", "props": props,
    })
}

/// `prompt_shown` of `prompt`, from the visitor and session of [`feedback`]'s answers.
fn shown(n: u128, prompt: &str) -> Value {
    let mut event = feedback(0x1000 + n, prompt, None);
    event["name"] = "prompt_shown".into();
    event["props"] = json!({ "prompt_id": prompt, "type": "nps" });
    event
}

/// An expiring identity for the `club-expiring` site: the hash covers "<expires>.<id>".
fn expiring(user: &str, expires: u64) -> (String, String) {
    let hash = loyalty::expiring_identity_hash(EXPIRING_SECRET, expires, user);
    (hash, expires.to_string())
}

async fn loyalty_as(
    h: &Harness,
    site: &str,
    user: &str,
    hash: &str,
    expires: Option<&str>,
) -> StatusCode {
    let mut request = Request::get(format!("/v1/sites/{site}/loyalty"))
        .header(loyalty::USER_HEADER, user)
        .header(loyalty::USER_HASH_HEADER, hash);
    if let Some(expires) = expires {
        request = request.header(loyalty::USER_EXPIRES_HEADER, expires);
    }
    h.send(request.body(Body::empty()).unwrap()).await.0
}

async fn expiring_identities_are_refused_once_expired(h: Harness) {
    let now = rapport_collector::now_ms() / 1000;
    let (hash, at) = expiring("ivy", now + 600);
    assert_eq!(
        loyalty_as(&h, "club-expiring", "ivy", &hash, Some(&at)).await,
        StatusCode::OK
    );
    // Expired, further ahead than the maximum age, another expiry than signed, no expiry at
    // all, and a plain hash: all refused.
    let (past, past_at) = expiring("ivy", now - 1);
    // 3600 s plus the 300 s allowed for the site server's clock, with a minute to spare so
    // that the collector's clock passing a second boundary during the test changes nothing.
    let (far, far_at) = expiring("ivy", now + 3960);
    let (skewed, skewed_at) = expiring("ivy", now + 3800);
    assert_eq!(
        loyalty_as(&h, "club-expiring", "ivy", &skewed, Some(&skewed_at)).await,
        StatusCode::OK
    );
    let plain = sign(EXPIRING_SECRET, b"ivy");
    let later = (now + 900).to_string();
    for (hash, expires) in [
        (&past, Some(past_at.as_str())),
        (&far, Some(far_at.as_str())),
        (&hash, Some(later.as_str())),
        (&hash, None),
        (&plain, None),
    ] {
        let code = loyalty_as(&h, "club-expiring", "ivy", hash, expires).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{hash} {expires:?}");
    }
    // A site with plain identities refuses the expiring form.
    let plain_club = sign(CLUB_SECRET, &loyalty::identity_message(now + 600, "ivy"));
    assert_eq!(
        loyalty_as(&h, "club", "ivy", &plain_club, Some(&at)).await,
        StatusCode::UNAUTHORIZED
    );

    // Feedback points follow the same rule, as of the answer's arrival.
    let answer = |n: u128, user: &str, (hash, expires): (String, String)| {
        let mut event = feedback(n, "nps-expiring", Some((user, hash)));
        event["props"]["user_expires"] = expires.parse::<u64>().unwrap().into();
        event
    };
    let events = [
        shown(1, "nps-expiring"),
        answer(1, "ivy", expiring("ivy", now + 600)),
        answer(2, "jo", expiring("jo", now - 5)),
    ];
    let batch = json!({ "site": "club-expiring", "sent_at": lib_now(), "events": events });
    let (code, body) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let read = |user: &str| {
        let (hash, expires) = expiring(user, now + 600);
        Request::get("/v1/sites/club-expiring/loyalty")
            .header(loyalty::USER_HEADER, user)
            .header(loyalty::USER_HASH_HEADER, hash)
            .header(loyalty::USER_EXPIRES_HEADER, expires)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(h.send(read("ivy")).await.1["balance"], 50);
    assert_eq!(h.send(read("jo")).await.1["balance"], 0);
}

async fn feedback_answers_earn_points_once_per_prompt_and_period(h: Harness) {
    let signed = || Some(("dana", id_hash(CLUB_SECRET, "dana")));
    let events = [
        shown(1, "nps-club"),
        shown(3, "csat-club"),
        feedback(1, "nps-club", signed()),
        feedback(2, "nps-club", signed()), // the same prompt again: nothing more
        feedback(3, "csat-club", signed()), // another prompt: earns
        feedback(4, "no-such-prompt", signed()),
        feedback(
            5,
            "nps-club",
            Some(("dana", id_hash(CLUB_SECRET, "someone-else"))),
        ), // forged
        feedback(6, "nps-club", None), // anonymous
    ];
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": events });
    let (code, answer) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 8);
    // A retried batch changes nothing.
    h.post("text/plain", batch.to_string()).await;
    let s = status(&h, "club", "dana").await;
    assert_eq!(s["balance"], 100, "{s}");
    let reasons: Vec<_> = s["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].clone())
        .collect();
    assert_eq!(reasons, [json!("feedback"), json!("feedback")]);
    // The proof is checked, never stored: what the events API shows cannot sign anyone in.
    let stored = h.stored("club").await;
    assert_eq!(stored.len(), 8);
    for event in stored {
        let props = &event["props"];
        assert!(
            props.get("user_hash").is_none() && props.get("user_expires").is_none(),
            "{event}"
        );
    }
}

/// The dashboard's referral funnel and points: from events (links shared, referred
/// visitors) and from the ledger (referred orders by status, points issued, redeemed and
/// taken back), for one range.
async fn the_site_stats_show_the_referral_funnel_and_points(h: Harness) {
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Rita shares her link; Fred lands with it.
    let mut shared = feedback(10, "nps-club", None);
    shared["name"] = "referral_shared".into();
    shared["props"] = json!({ "channel": "copy" });
    let mut landed = feedback(11, "nps-club", None);
    landed["name"] = "page_view".into();
    landed["visitor_id"] = "0b6c2d7e-1111-4d8e-9b7a-3c2a1f0e9d81".into();
    landed["props"] = json!({ "referral_code": code });
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": [shared, landed] });
    let (status_code, answer) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(status_code, StatusCode::OK, "{answer}");
    // Fred buys with the code ($10: 10 points), then refunds; Rita buys ($200: 200 points)
    // and redeems a $10 reward (100 points).
    order(
        &h,
        "club",
        paid("o-1", "fred", "fred@example.com", 1000, Some(&code)),
    )
    .await;
    order(
        &h,
        "club",
        paid("o-2", "rita", "rita@example.com", 20_000, None),
    )
    .await;
    order(
        &h,
        "club",
        json!({ "type": "order.refunded", "order_id": "o-1" }),
    )
    .await;
    let (redeemed, body) = redeem(&h, "rita", "key-1", "ten-off").await;
    assert_eq!(redeemed, StatusCode::OK, "{body}");

    let request = Request::get("/v1/sites/club/stats")
        .body(Body::empty())
        .unwrap();
    let (code, stats, _) = h.send(request).await;
    assert_eq!(code, StatusCode::OK, "{stats}");
    let p = &stats["programs"];
    assert_eq!(
        p["referral"],
        json!({ "links_shared": 1, "referred_visitors": 1, "orders": 1, "pending": 0,
                "earned": 0, "cancelled": 1, "rejected": 0 }),
        "{p}"
    );
    assert_eq!(
        p["points"],
        json!({ "issued": 210, "redeemed": 100, "redemptions": 1, "clawed_back": 10, "customers": 2 }),
        "{p}"
    );
    // The same ledger by day: all of it today, nothing on the 29 days before.
    let days = p["points_days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{p}");
    let today = days.last().unwrap();
    assert_eq!(
        [&today["issued"], &today["redeemed"], &today["clawed_back"]],
        [&json!(210), &json!(100), &json!(10)],
        "{p}"
    );
    assert_eq!(today["date"], stats["to"]);
    assert!(days[..29]
        .iter()
        .all(|d| d["issued"] == 0 && d["redeemed"] == 0));
}

fn lib_now() -> u64 {
    rapport_collector::now_ms()
}

async fn redemptions_never_overdraw_even_concurrently(h: Harness) {
    order(
        &h,
        "club",
        paid("o-1", "carol", "c@example.com", 25_000, None),
    )
    .await; // 250 points
            // Ten concurrent redemptions of 100 points: exactly two succeed.
    let attempts = (0..10).map(|i| {
        let h = &h;
        async move { redeem(h, "carol", &format!("k{i}"), "ten-off").await }
    });
    let results = futures_join_all(attempts).await;
    let ok: Vec<_> = results
        .iter()
        .filter(|(c, _)| *c == StatusCode::OK)
        .collect();
    let refused = results
        .iter()
        .filter(|(c, _)| *c == StatusCode::CONFLICT)
        .count();
    assert_eq!(ok.len(), 2, "{results:?}");
    assert_eq!(refused, 8);
    assert!(ok[0].1["coupon"].as_str().unwrap().starts_with("RAP-"));
    assert_ne!(ok[0].1["coupon"], ok[1].1["coupon"]);
    assert_eq!(status(&h, "club", "carol").await["balance"], 50);
    // Retrying a successful request returns its coupon again and spends nothing.
    let key = results
        .iter()
        .position(|(c, _)| *c == StatusCode::OK)
        .unwrap();
    let (code, again) = redeem(&h, "carol", &format!("k{key}"), "ten-off").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(again["coupon"], results[key].1["coupon"]);
    assert_eq!(again["balance"], 50);
    let (code, _) = redeem(&h, "carol", "k-unknown", "no-such-reward").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

/// Polls the futures together on this task, so the requests interleave.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs = Vec::new();
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, out) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.extend(results.into_iter().map(Option::unwrap));
    outputs
}

async fn a_referral_is_held_then_earned_and_shows_in_stats(h: Harness) {
    let code = referral(&h, "club-now", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(code.len() >= 13, "{code}");
    assert_eq!(
        referral(&h, "club-now", "rita").await["code"],
        code,
        "stable per shopper"
    );
    let (_, answer) = order(
        &h,
        "club-now",
        paid("o-1", "fred", "fred@example.com", 1000, Some(&code)),
    )
    .await;
    assert_eq!(answer["referral"]["status"], "pending", "{answer}");
    // hold_days = 0: released on the next request.
    let r = referral(&h, "club-now", "rita").await;
    assert_eq!(r["stats"]["rewards_earned"], 1, "{r}");
    assert_eq!(r["stats"]["joined"], 1);
    assert_eq!(status(&h, "club-now", "rita").await["balance"], 500);
    assert_eq!(status(&h, "club-now", "fred").await["balance"], 0);
}

async fn a_hold_in_seconds_keeps_the_reward_pending_until_it_is_over(h: Harness) {
    let code = referral(&h, "club-soon", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, answer) = order(
        &h,
        "club-soon",
        paid("o-1", "fred", "fred@example.com", 1000, Some(&code)),
    )
    .await;
    assert_eq!(answer["referral"]["status"], "pending", "{answer}");
    let r = referral(&h, "club-soon", "rita").await;
    assert_eq!(r["stats"]["rewards_pending"], 1, "{r}");
    assert_eq!(status(&h, "club-soon", "rita").await["balance"], 0);
    // hold_seconds = 1
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = referral(&h, "club-soon", "rita").await;
    assert_eq!(r["stats"]["rewards_earned"], 1, "{r}");
    assert_eq!(r["stats"]["rewards_pending"], 0, "{r}");
    assert_eq!(status(&h, "club-soon", "rita").await["balance"], 500);
}

/// `POST /demo-api/club/<what>` with a JSON body.
async fn demo_post(h: &Harness, what: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(format!("/demo-api/club/{what}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (code, body, _) = h.send(request).await;
    (code, body)
}

async fn the_demo_shop_signs_in_and_pays_through_the_signed_webhook(h: Harness) {
    // Without --demo-dir there are no demo routes.
    let (code, _) = demo_post(&h, "sign-in", json!({ "email": "ana@example.com" })).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let mut h = h;
    h.state.demo_dir = Some(std::env::temp_dir());
    // Only for sites marked demo, and only as JSON (a form on another site cannot post it).
    let other = Request::post("/demo-api/club-now/sign-in")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({ "email": "ana@example.com" }).to_string(),
        ))
        .unwrap();
    let (code, body, _) = h.send(other).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    let form = Request::post("/demo-api/club/checkout")
        .header("content-type", "text/plain")
        .body(Body::from(
            json!({ "email": "eve@example.com", "amount_cents": 100 }).to_string(),
        ))
        .unwrap();
    assert_eq!(h.send(form).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (code, ana) = demo_post(&h, "sign-in", json!({ "email": "Ana+shop@Example.com" })).await;
    assert_eq!(code, StatusCode::OK, "{ana}");
    let customer = ana["customer"].as_str().unwrap().to_owned();
    assert!(!customer.contains('@'), "no e-mail in the id: {customer}");
    assert_eq!(ana["hash"], id_hash(CLUB_SECRET, &customer));
    let (_, again) = demo_post(&h, "sign-in", json!({ "email": "ana@example.com" })).await;
    assert_eq!(
        again["customer"], customer,
        "one customer per normalised e-mail"
    );
    let code_of_ana = referral(&h, "club", &customer).await["code"].clone();

    let (code, paid) = demo_post(
        &h,
        "checkout",
        json!({ "email": "bo@example.org", "amount_cents": 2400, "referral_code": code_of_ana }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{paid}");
    assert_eq!(paid["points"], 24);
    assert_eq!(paid["referral"]["status"], "pending");
    let r = referral(&h, "club", &customer).await;
    assert_eq!(r["stats"]["rewards_pending"], 1, "{r}");

    let (code, refunded) = demo_post(&h, "refund", json!({ "order_id": paid["order_id"] })).await;
    assert_eq!(code, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["referral_cancelled"], true, "{refunded}");

    for (what, body, field) in [
        ("sign-in", json!({ "email": "not-an-address" }), "email"),
        (
            "checkout",
            json!({ "email": "bo@example.org", "amount_cents": 0 }),
            "amount_cents",
        ),
        (
            "checkout",
            json!({ "email": "bo@example.org", "amount_cents": 1, "points": 500 }),
            "points",
        ),
    ] {
        let (code, body) = demo_post(&h, what, body).await;
        assert!(code.is_client_error(), "{what}: {code} {body}");
        assert!(body.to_string().contains(field), "{what}: {body}");
    }
}

async fn refund_in_the_hold_period_cancels_the_reward(h: Harness) {
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    order(
        &h,
        "club",
        paid("o-1", "fred", "fred@example.com", 1000, Some(&code)),
    )
    .await;
    let r = referral(&h, "club", "rita").await;
    assert_eq!(
        r["stats"]["rewards_pending"], 1,
        "hold_days = 14 keeps it pending"
    );
    let (_, refunded) = order(
        &h,
        "club",
        json!({ "type": "order.refunded", "order_id": "o-1" }),
    )
    .await;
    assert_eq!(refunded["referral_cancelled"], true);
    let r = referral(&h, "club", "rita").await;
    assert_eq!(r["stats"]["rewards_pending"], 0);
    assert_eq!(r["stats"]["joined"], 1, "cancelled still joined");
    assert_eq!(status(&h, "club", "rita").await["balance"], 0);
}

async fn fraud_rules_refuse_self_referrals_existing_customers_and_over_cap(h: Harness) {
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Rita's own order with her own code.
    let (_, a) = order(
        &h,
        "club",
        paid("o-1", "rita", "Rita.Smith@gmail.com", 1000, Some(&code)),
    )
    .await;
    assert_eq!(a["referral"]["reason"], "self_referral");
    // A second account with the same mailbox spelled differently.
    let (_, a) = order(
        &h,
        "club",
        paid(
            "o-2",
            "rita2",
            "ritasmith+promo@GMAIL.com",
            1000,
            Some(&code),
        ),
    )
    .await;
    assert_eq!(a["referral"]["reason"], "self_referral");
    // An existing customer.
    order(
        &h,
        "club",
        paid("o-3", "olga", "olga@example.com", 1000, None),
    )
    .await;
    let (_, a) = order(
        &h,
        "club",
        paid("o-4", "olga", "olga@example.com", 1000, Some(&code)),
    )
    .await;
    assert_eq!(a["referral"]["reason"], "existing_customer");
    // Two new friends fill the cap of 2; the third is refused.
    for (i, friend) in ["f1", "f2", "f3"].iter().enumerate() {
        let (_, a) = order(
            &h,
            "club",
            paid(
                &format!("n-{i}"),
                friend,
                &format!("{friend}@example.com"),
                1000,
                Some(&code),
            ),
        )
        .await;
        let expected = if i < 2 { "pending" } else { "rejected" };
        assert_eq!(a["referral"]["status"], expected, "{friend}: {a}");
        if i == 2 {
            assert_eq!(a["referral"]["reason"], "cap_reached");
        }
    }
    let r = referral(&h, "club", "rita").await;
    assert_eq!(r["stats"]["rewards_pending"], 2);
    assert_eq!(r["stats"]["joined"], 2);
    // An unknown code is reported, and earns nothing.
    let (_, a) = order(
        &h,
        "club",
        paid("o-9", "zed", "zed@example.com", 1000, Some("NOSUCHCODE234")),
    )
    .await;
    assert_eq!(a["referral"]["status"], "unknown_code");
}

async fn self_referral_by_visitor_id_is_refused(h: Harness) {
    let visitor = "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d81";
    let request = as_shopper(Request::get("/v1/sites/club/referral"), "club", "rita")
        .header(loyalty::VISITOR_HEADER, visitor)
        .body(Body::empty())
        .unwrap();
    let (_, body, _) = h.send(request).await;
    let code = body["code"].as_str().unwrap().to_owned();
    let mut same_browser = paid("o-1", "other", "other@example.com", 1000, Some(&code));
    same_browser["visitor_id"] = visitor.into();
    let (_, a) = order(&h, "club", same_browser).await;
    assert_eq!(a["referral"]["reason"], "self_referral");
}

/// Attack: customer `a:b` redeems with key `c`, then customer `a` with key `b:c`. Both
/// spellings once made the ledger key `redeem:a:b:c`: the second insert hit the first one's
/// key, its failure was ignored, and `a` got a coupon without spending a point.
async fn colliding_idempotency_keys_never_give_a_free_coupon(h: Harness) {
    order(&h, "club", paid("o-a", "a", "a@example.com", 60_000, None)).await; // 600 points
    order(
        &h,
        "club",
        paid("o-ab", "a:b", "ab@example.com", 20_000, None),
    )
    .await; // 200
    let (code, first) = redeem(&h, "a:b", "c", "ten-off").await;
    assert_eq!(code, StatusCode::OK, "{first}");
    let (code, second) = redeem(&h, "a", "b:c", "ten-off").await;
    assert_eq!(code, StatusCode::OK, "{second}");
    assert_ne!(first["coupon"], second["coupon"]);
    // Each coupon was paid for, by its own customer, exactly once.
    assert_eq!(second["balance"], 500);
    let a = status(&h, "club", "a").await;
    assert_eq!(a["balance"], 500, "{a}");
    assert_eq!(a["activity"][0]["reason"], "redeem");
    assert_eq!(a["activity"][0]["points"], -100);
    assert_eq!(status(&h, "club", "a:b").await["balance"], 100);
    // Retries return each customer's own coupon and spend nothing more.
    let (_, again) = redeem(&h, "a", "b:c", "ten-off").await;
    assert_eq!(again["coupon"], second["coupon"]);
    let (_, again) = redeem(&h, "a:b", "c", "ten-off").await;
    assert_eq!(again["coupon"], first["coupon"]);
    assert_eq!(status(&h, "club", "a").await["balance"], 500);
    assert_eq!(status(&h, "club", "a:b").await["balance"], 100);
}

/// Attack: orders of 2^64 - 1 cents. The amount was stored capped and the points summed past
/// 64 bits, so the customer's loyalty read and the site's stats answered 503 for good.
async fn order_amounts_beyond_the_maximum_are_refused(h: Harness) {
    let (code, body) = order(
        &h,
        "club",
        paid("o-big", "max", "m@example.com", u64::MAX, None),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("amount_cents:"),
        "{body}"
    );
    let limit = loyalty::MAX_AMOUNT_CENTS;
    let (code, body) = order(
        &h,
        "club",
        paid("o-big", "max", "m@example.com", limit + 1, None),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    // Nothing of the refused order was stored: its id is still free, and many orders at the
    // largest amount keep every read answering.
    for i in 0..51 {
        let (code, body) = order(
            &h,
            "club",
            paid(&format!("o-{i}"), "max", "m@example.com", limit, None),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let (code, body) = order(&h, "club", paid("o-big", "max", "m@example.com", 100, None)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["points"], 1);
    let s = status(&h, "club", "max").await;
    assert_eq!(s["balance"], 51 * (limit / 100) + 1);
    let request = Request::get("/v1/sites/club/stats")
        .body(Body::empty())
        .unwrap();
    let (code, stats, _) = h.send(request).await;
    assert_eq!(code, StatusCode::OK, "{stats}");
    assert_eq!(
        stats["programs"]["points"]["issued"],
        51 * (limit / 100) + 1
    );
}

/// Found by the contract fuzzing: an amount of `54543.0` cents, an integer to JSON Schema
/// (and what a server holding amounts as floats sends), was a 400. A fraction of a cent is
/// still refused.
async fn whole_amounts_written_as_floats_are_taken(h: Harness) {
    let mut body = paid("o-float", "f", "f@example.com", 0, None);
    body["amount_cents"] = json!(54_500.0);
    let (code, answer) = order(&h, "club", body.clone()).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["points"], 545);
    body["order_id"] = json!("o-fraction");
    body["amount_cents"] = json!(54_500.5);
    let (code, answer) = order(&h, "club", body).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(status(&h, "club", "f").await["balance"], 545);
}

/// Attack: a friend's order with the referrer's mailbox spelled as Google also delivers it
/// (`googlemail.com`, a trailing dot on the domain).
async fn self_referral_through_other_spellings_of_a_gmail_address_is_refused(h: Harness) {
    let code = referral(&h, "club", "jane").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    order(
        &h,
        "club",
        paid("o-1", "jane", "jane.doe@gmail.com", 1000, None),
    )
    .await;
    for (i, email) in [
        "janedoe@googlemail.com",
        "Jane.Doe@gmail.com.",
        "jane.doe+x@GoogleMail.com.",
    ]
    .iter()
    .enumerate()
    {
        let (_, a) = order(
            &h,
            "club",
            paid(
                &format!("n-{i}"),
                &format!("jd{i}"),
                email,
                1000,
                Some(&code),
            ),
        )
        .await;
        assert_eq!(a["referral"]["reason"], "self_referral", "{email}: {a}");
    }
}

/// The demo routes take JSON only, and their 415 says so (it once offered text/plain too).
async fn the_demo_routes_name_the_content_type_they_take(mut h: Harness) {
    h.state.demo_dir = Some(std::env::temp_dir());
    let request = Request::post("/demo-api/club/sign-in")
        .header("content-type", "text/plain")
        .body(Body::from(json!({ "email": "a@example.com" }).to_string()))
        .unwrap();
    let (code, body, _) = h.send(request).await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["error"],
        "unsupported content type: send application/json"
    );
}

#[test]
fn email_normalisation_merges_spellings_of_one_mailbox() {
    use rapport_collector::loyalty::normalize_email;
    assert_eq!(
        normalize_email(" Jane.Doe+shop@GMail.com "),
        "janedoe@gmail.com"
    );
    assert_eq!(
        normalize_email("jane.doe@example.com"),
        "jane.doe@example.com"
    );
    assert_eq!(normalize_email("x+y@example.com"), "x@example.com");
    // Google delivers these to jane@gmail.com too.
    for spelling in [
        "jane@googlemail.com",
        "jane@gmail.com.",
        "JANE@GoogleMail.com.",
        "j.a.n.e@googlemail.com",
        "jane+shop@gmail.com..",
    ] {
        assert_eq!(normalize_email(spelling), "jane@gmail.com", "{spelling}");
    }
    // A trailing dot is dropped for every domain, and dots stay elsewhere.
    assert_eq!(normalize_email("j.d@Example.com."), "j.d@example.com");
}

#[test]
fn signatures_verify_only_for_the_same_secret_and_message() {
    let s = sign("secret-a", b"message");
    assert!(loyalty::verify("secret-a", b"message", &s));
    assert!(!loyalty::verify("secret-b", b"message", &s));
    assert!(!loyalty::verify("secret-a", b"messagf", &s));
    assert!(!loyalty::verify("secret-a", b"message", "not hex"));
}

/// The collector with `TEST_CONFIG` changed by `edit`, as a site's operator would change it.
fn reconfigure(h: &mut Harness, edit: impl FnOnce(&str) -> String) {
    let text = edit(common::TEST_CONFIG);
    h.state.config = std::sync::Arc::new(rapport_collector::Config::parse(&text).unwrap());
}

async fn refund(h: &Harness, site: &str, order_id: &str) -> Value {
    let (code, body) = order(
        h,
        site,
        json!({ "type": "order.refunded", "order_id": order_id }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

/// Attack: earn points with an order, redeem them for a coupon, refund the order. The
/// clawback once stopped at the balance left (23 of 123 points), so the coupon was free. Now
/// the whole order is taken back: the balance goes below zero, no reward can be redeemed
/// until later points pay the debt back.
async fn redeem_then_refund_leaves_a_debt_that_later_orders_pay_back(h: Harness) {
    let (_, answer) = order(
        &h,
        "club",
        paid("o-1", "ursula", "u@example.com", 12_345, None),
    )
    .await;
    assert_eq!(answer["points"], 123);
    let (code, coupon) = redeem(&h, "ursula", "k-1", "ten-off").await;
    assert_eq!(code, StatusCode::OK, "{coupon}");
    assert_eq!(coupon["balance"], 23);
    let refunded = refund(&h, "club", "o-1").await;
    assert_eq!(refunded["points_removed"], 123, "{refunded}");
    let s = status(&h, "club", "ursula").await;
    assert_eq!(s["balance"], -100, "{s}");
    assert_eq!(s["rewards"][0]["affordable"], false);
    assert_eq!(s["activity"][0]["reason"], "order_refund");
    assert_eq!(s["activity"][0]["points"], -123);
    // The debt blocks redemptions, and the next order pays it back first.
    let (code, body) = redeem(&h, "ursula", "k-2", "ten-off").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    order(
        &h,
        "club",
        paid("o-2", "ursula", "u@example.com", 15_000, None),
    )
    .await;
    assert_eq!(status(&h, "club", "ursula").await["balance"], 50);
    let (code, body) = redeem(&h, "ursula", "k-3", "ten-off").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
}

/// Attack: a customer who already ordered comes back under a new customer id (a new
/// account, same mailbox spelled another way) with a friend's code. The existing-customer
/// rule once counted orders by customer id only, so the friend earned a reward.
async fn a_returning_customer_under_a_new_id_earns_the_referrer_nothing(h: Harness) {
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    order(
        &h,
        "club",
        paid("o-1", "olga", "olga.k@gmail.com", 1000, None),
    )
    .await;
    let (_, a) = order(
        &h,
        "club",
        paid(
            "o-2",
            "olga-new",
            "OlgaK+again@googlemail.com",
            1000,
            Some(&code),
        ),
    )
    .await;
    assert_eq!(a["referral"]["status"], "rejected", "{a}");
    assert_eq!(a["referral"]["reason"], "existing_customer", "{a}");
    // A new mailbox under a new id is a new customer.
    let (_, a) = order(
        &h,
        "club",
        paid("o-3", "nina", "nina@example.com", 1000, Some(&code)),
    )
    .await;
    assert_eq!(a["referral"]["status"], "pending", "{a}");
    let r = referral(&h, "club", "rita").await;
    assert_eq!(r["stats"]["rewards_pending"], 1, "{r}");
}

/// Attack: the referrer fetches the code without `x-rapport-visitor` (curl with the hash
/// from the page), so the code was stored with an empty visitor id; the panel in the
/// referrer's browser reads it later with the header; an order from that browser through the
/// code then passed as a friend's.
async fn a_code_fetched_without_a_visitor_still_catches_the_same_browser(h: Harness) {
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d81";
    let request = as_shopper(Request::get("/v1/sites/club/referral"), "club", "rita")
        .header(loyalty::VISITOR_HEADER, browser)
        .body(Body::empty())
        .unwrap();
    let (status_code, body, _) = h.send(request).await;
    assert_eq!(status_code, StatusCode::OK, "{body}");
    assert_eq!(body["code"], code.as_str());
    let mut same_browser = paid("o-1", "ghost", "ghost@example.com", 1000, Some(&code));
    same_browser["visitor_id"] = browser.into();
    let (_, a) = order(&h, "club", same_browser).await;
    assert_eq!(a["referral"]["reason"], "self_referral", "{a}");
    // The points panel counts as well: another browser of Rita's, seen there.
    let laptop = "0b6c2d7e-2222-4d8e-9b7a-3c2a1f0e9d81";
    let request = as_shopper(Request::get("/v1/sites/club/loyalty"), "club", "rita")
        .header(loyalty::VISITOR_HEADER, laptop)
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.0, StatusCode::OK);
    let mut from_laptop = paid("o-2", "ghost2", "ghost2@example.com", 1000, Some(&code));
    from_laptop["visitor_id"] = laptop.into();
    let (_, a) = order(&h, "club", from_laptop).await;
    assert_eq!(a["referral"]["reason"], "self_referral", "{a}");
    // A friend's browser is not Rita's.
    let mut friend = paid("o-3", "fred", "fred@example.com", 1000, Some(&code));
    friend["visitor_id"] = "0b6c2d7e-3333-4d8e-9b7a-3c2a1f0e9d81".into();
    let (_, a) = order(&h, "club", friend).await;
    assert_eq!(a["referral"]["status"], "pending", "{a}");
}

/// Attack: a friend orders through the code, waits out the hold, and refunds. The earned
/// reward once stayed with the referrer.
async fn a_refund_takes_back_an_earned_referral_reward(h: Harness) {
    let code = referral(&h, "club-now", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    order(
        &h,
        "club-now",
        paid("o-1", "fred", "fred@example.com", 1000, Some(&code)),
    )
    .await;
    let r = referral(&h, "club-now", "rita").await;
    assert_eq!(r["stats"]["rewards_earned"], 1, "{r}");
    assert_eq!(status(&h, "club-now", "rita").await["balance"], 500);
    let refunded = refund(&h, "club-now", "o-1").await;
    assert_eq!(refunded["referral_cancelled"], true, "{refunded}");
    assert_eq!(refunded["referral_points_removed"], 500, "{refunded}");
    let s = status(&h, "club-now", "rita").await;
    assert_eq!(s["balance"], 0, "{s}");
    assert_eq!(s["activity"][0]["reason"], "referral_refund");
    let r = referral(&h, "club-now", "rita").await;
    assert_eq!(r["stats"]["rewards_earned"], 0, "{r}");
    // A repeated refund takes nothing more.
    assert_eq!(refund(&h, "club-now", "o-1").await["duplicate"], true);
    assert_eq!(status(&h, "club-now", "rita").await["balance"], 0);
}

/// Attack: many one-cent orders through the code, each a reward. With `min_order_cents` a
/// smaller order is rejected as `below_minimum`.
async fn a_referred_order_below_the_minimum_earns_nothing(mut h: Harness) {
    reconfigure(&mut h, |c| {
        c.replace(
            "max_rewards_per_referrer = 2\n",
            "max_rewards_per_referrer = 2\nmin_order_cents = 2000\n",
        )
    });
    let code = referral(&h, "club", "rita").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code_status, a) = order(
        &h,
        "club",
        paid("o-1", "pip", "pip@example.com", 1999, Some(&code)),
    )
    .await;
    assert_eq!(code_status, StatusCode::OK, "{a}");
    assert_eq!(a["referral"]["status"], "rejected", "{a}");
    assert_eq!(a["referral"]["reason"], "below_minimum", "{a}");
    let (_, a) = order(
        &h,
        "club",
        paid("o-2", "pat", "pat@example.com", 2000, Some(&code)),
    )
    .await;
    assert_eq!(a["referral"]["status"], "pending", "{a}");
    let r = referral(&h, "club", "rita").await;
    assert_eq!(r["stats"]["rewards_pending"], 1, "{r}");
}

/// A webhook whose signature is `signature`, for `body`.
async fn webhook_signed(h: &Harness, body: &str, signature: &str) -> (StatusCode, Value) {
    let request = Request::post("/v1/sites/club/orders")
        .header(loyalty::SIGNATURE_HEADER, signature)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (code, body, _) = h.send(request).await;
    (code, body)
}

/// Attack: a shopper signs up with the customer id `rapport-webhook.<t>.<order body>`, and
/// the site's server hands the page its identity hash. With one key for both, that hash was
/// the webhook signature of the order, and the order's points were minted. Now identities
/// and webhooks have keys of their own, also while old identity hashes still verify.
async fn an_identity_hash_never_verifies_as_a_webhook(mut h: Harness) {
    let now = rapport_collector::now_ms() / 1000;
    let until = now + 3600;
    reconfigure(&mut h, |c| {
        c.replace(
            "secret = \"sk_club_0123456789abcdef0123456789abcdef\"\n",
            &format!(
                "secret = \"sk_club_0123456789abcdef0123456789abcdef\"\nlegacy_identity_until = {until}\n"
            ),
        )
    });
    let body = paid("o-mint", "mallory", "m@example.com", 100_000_000, None).to_string();
    let customer_id = format!("rapport-webhook.{now}.{body}");
    // Both hashes the site's server may issue in the window verify as identities...
    let legacy = sign(CLUB_SECRET, customer_id.as_bytes());
    let current = id_hash(CLUB_SECRET, &customer_id);
    for hash in [&legacy, &current] {
        let request = Request::get("/v1/sites/club/loyalty")
            .header(loyalty::USER_HEADER, &customer_id)
            .header(loyalty::USER_HASH_HEADER, hash.as_str())
            .body(Body::empty())
            .unwrap();
        let (code, answer, _) = h.send(request).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
    }
    // ...and neither is a webhook signature.
    for hash in [&legacy, &current] {
        let (code, answer) = webhook_signed(&h, &body, &format!("t={now},sha256={hash}")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{answer}");
    }
    assert_eq!(
        status(&h, "club", "mallory").await["balance"],
        0,
        "nothing minted"
    );
    // Nor is a webhook signature an identity.
    let signature = loyalty::webhook_signature(CLUB_SECRET, now, b"mallory");
    let mac = signature.rsplit("sha256=").next().unwrap();
    let request = Request::get("/v1/sites/club/loyalty")
        .header(loyalty::USER_HEADER, "mallory")
        .header(loyalty::USER_HASH_HEADER, mac)
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.0, StatusCode::UNAUTHORIZED);
    // The real webhook, under the webhook key, is taken.
    let (code, answer) = order(
        &h,
        "club",
        paid("o-1", "mallory", "m@example.com", 1000, None),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
}

/// Old identity hashes (the secret itself as the key) verify before `legacy_identity_until`
/// only; without the setting, never.
async fn legacy_identity_hashes_verify_only_in_the_window(mut h: Harness) {
    let now = rapport_collector::now_ms() / 1000;
    let legacy = sign(CLUB_SECRET, b"lena");
    assert_eq!(
        loyalty_as(&h, "club", "lena", &legacy, None).await,
        StatusCode::UNAUTHORIZED
    );
    for (until, expected) in [
        (now + 600, StatusCode::OK),
        (now.saturating_sub(600), StatusCode::UNAUTHORIZED),
    ] {
        reconfigure(&mut h, |c| {
            c.replace(
                "secret = \"sk_club_0123456789abcdef0123456789abcdef\"\n",
                &format!(
                    "secret = \"sk_club_0123456789abcdef0123456789abcdef\"\nlegacy_identity_until = {until}\n"
                ),
            )
        });
        assert_eq!(
            loyalty_as(&h, "club", "lena", &legacy, None).await,
            expected,
            "{until}"
        );
        // The derived key's hashes verify throughout.
        let current = id_hash(CLUB_SECRET, "lena");
        assert_eq!(
            loyalty_as(&h, "club", "lena", &current, None).await,
            StatusCode::OK
        );
    }
}

/// Attack: a signed-in shopper posts `feedback_submitted` for every configured prompt, shown
/// or not (and for a prompt shown in another session). Each once earned feedback points.
async fn feedback_for_a_prompt_never_shown_earns_nothing(h: Harness) {
    let signed = || Some(("vera", id_hash(CLUB_SECRET, "vera")));
    let mut elsewhere = shown(2, "csat-club");
    elsewhere["session_id"] = "0b6c2d7e-4444-4d8e-9b7a-3c2a1f0e9d82".into();
    let events = [
        elsewhere,
        feedback(1, "nps-club", signed()),  // never shown
        feedback(2, "csat-club", signed()), // shown, but in another session
    ];
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": events });
    let (code, answer) = h.post("text/plain", batch.to_string()).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 3);
    assert_eq!(status(&h, "club", "vera").await["balance"], 0);
    // Shown in this session, answered in a later batch: earns, once.
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": [shown(3, "nps-club")] });
    h.post("text/plain", batch.to_string()).await;
    let events = [
        feedback(3, "nps-club", signed()),
        feedback(4, "nps-club", signed()),
    ];
    let batch = json!({ "site": "club", "sent_at": lib_now(), "events": events });
    h.post("text/plain", batch.to_string()).await;
    assert_eq!(status(&h, "club", "vera").await["balance"], 50);
}

/// `POST /v1/sites/club/coupons/{code}/consume` signed with `secret` at `t`.
async fn consume(h: &Harness, code: &str, body: &str, secret: &str, t: u64) -> (StatusCode, Value) {
    let signature = loyalty::coupon_signature(secret, t, code, body.as_bytes());
    let request = Request::post(format!("/v1/sites/club/coupons/{code}/consume"))
        .header("content-type", "application/json")
        .header(loyalty::SIGNATURE_HEADER, signature)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (code, body, _) = h.send(request).await;
    (code, body)
}

/// Attack: a coupon used on two orders (the shop had no way to ask whether it was used).
/// Now the site's server consumes it through a signed request, once.
async fn a_coupon_is_consumed_once(h: Harness) {
    order(
        &h,
        "club",
        paid("o-1", "cleo", "cleo@example.com", 30_000, None),
    )
    .await;
    let (_, first) = redeem(&h, "cleo", "k-1", "ten-off").await;
    let (_, second) = redeem(&h, "cleo", "k-2", "ten-off").await;
    let coupon = first["coupon"].as_str().unwrap().to_owned();
    let other = second["coupon"].as_str().unwrap().to_owned();
    let now = rapport_collector::now_ms() / 1000;
    let body = json!({ "order_id": "o-2" }).to_string();
    // Unsigned, signed by another site, signed for another coupon, a replay from ten
    // minutes ago, a shopper's identity hash of the message: all refused.
    for signature in [
        String::new(),
        loyalty::coupon_signature(NOW_SECRET, now, &coupon, body.as_bytes()),
        loyalty::coupon_signature(CLUB_SECRET, now, &other, body.as_bytes()),
        loyalty::coupon_signature(CLUB_SECRET, now - 600, &coupon, body.as_bytes()),
        format!(
            "t={now},sha256={}",
            id_hash(
                CLUB_SECRET,
                &String::from_utf8(loyalty::coupon_message(now, &coupon, body.as_bytes())).unwrap()
            )
        ),
    ] {
        let request = Request::post(format!("/v1/sites/club/coupons/{coupon}/consume"))
            .header(loyalty::SIGNATURE_HEADER, signature)
            .body(Body::from(body.clone()))
            .unwrap();
        let (code, answer, _) = h.send(request).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{answer}");
    }
    let (code, used) = consume(&h, &coupon, &body, CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::OK, "{used}");
    assert_eq!(used["reward"], "ten-off");
    assert_eq!(used["customer"], "cleo");
    assert_eq!(used["order_id"], "o-2");
    // The same order again (a retried request) is answered as the first time; another order,
    // or none, is refused.
    let (code, again) = consume(&h, &coupon, &body, CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    let other_order = json!({ "order_id": "o-3" }).to_string();
    let (code, refused) = consume(&h, &coupon, &other_order, CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("o-2"),
        "{refused}"
    );
    let (code, _) = consume(&h, &coupon, "", CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::CONFLICT);
    // The other coupon is still there to use; unknown codes and bad bodies are refused.
    let (code, _) = consume(&h, &other, "", CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = consume(&h, "RAP-2222-2222", "", CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, bad) = consume(&h, "RAP-2222-2223", r#"{"points": 5}"#, CLUB_SECRET, now).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("points"), "{bad}");
}

#[test]
fn identity_hashes_follow_the_documented_derivation() {
    use hmac::{Hmac, Mac};
    type H = Hmac<sha2::Sha256>;
    let mac = |key: &[u8], message: &[u8]| {
        let mut m = H::new_from_slice(key).unwrap();
        m.update(message);
        m.finalize().into_bytes().to_vec()
    };
    let key = mac(CLUB_SECRET.as_bytes(), b"rapport-identity-v1");
    assert_eq!(
        loyalty::identity_hash(CLUB_SECRET, "cust-42"),
        hex::encode(mac(&key, b"cust-42"))
    );
    let key = mac(CLUB_SECRET.as_bytes(), b"rapport-webhook-v1");
    assert_eq!(
        loyalty::webhook_signature(CLUB_SECRET, 1_700_000_000, b"{}"),
        format!(
            "t=1700000000,sha256={}",
            hex::encode(mac(&key, b"rapport-webhook.1700000000.{}"))
        )
    );
}

on_every_database!(
    shopper_reads_need_a_valid_hash,
    webhooks_need_a_valid_signature,
    order_points_are_awarded_once_and_taken_back_on_refund,
    a_client_claiming_points_changes_nothing,
    redemptions_never_overdraw_even_concurrently,
    a_referral_is_held_then_earned_and_shows_in_stats,
    a_hold_in_seconds_keeps_the_reward_pending_until_it_is_over,
    expiring_identities_are_refused_once_expired,
    the_demo_shop_signs_in_and_pays_through_the_signed_webhook,
    refund_in_the_hold_period_cancels_the_reward,
    fraud_rules_refuse_self_referrals_existing_customers_and_over_cap,
    self_referral_by_visitor_id_is_refused,
    feedback_answers_earn_points_once_per_prompt_and_period,
    the_site_stats_show_the_referral_funnel_and_points,
    colliding_idempotency_keys_never_give_a_free_coupon,
    order_amounts_beyond_the_maximum_are_refused,
    whole_amounts_written_as_floats_are_taken,
    self_referral_through_other_spellings_of_a_gmail_address_is_refused,
    the_demo_routes_name_the_content_type_they_take,
    redeem_then_refund_leaves_a_debt_that_later_orders_pay_back,
    a_returning_customer_under_a_new_id_earns_the_referrer_nothing,
    a_code_fetched_without_a_visitor_still_catches_the_same_browser,
    a_refund_takes_back_an_earned_referral_reward,
    a_referred_order_below_the_minimum_earns_nothing,
    an_identity_hash_never_verifies_as_a_webhook,
    legacy_identity_hashes_verify_only_in_the_window,
    feedback_for_a_prompt_never_shown_earns_nothing,
    a_coupon_is_consumed_once,
);
