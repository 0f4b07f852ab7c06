//! Stats on a seeded data set whose expected numbers were worked out by hand (see the table
//! in each comment), on SQLite, PostgreSQL and ClickHouse.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use rapport_collector::{now_ms, report::stats};
use serde_json::{json, Value};

on_every_database!(
    experiment_results_match_the_hand_computed_numbers,
    stats_match_the_hand_computed_numbers,
    stats_reject_bad_ranges,
    a_read_token_guards_the_site_data,
    live_counts_the_visitors_of_the_last_five_minutes,
    feedback_lists_the_newest_answers_with_their_prompt,
    breakdowns_match_the_hand_computed_numbers,
    prompt_results_match_the_hand_computed_numbers
);

/// `…/prompts`, worked out by hand. NPS prompt `nps-main`: variant `a` shown 4 times,
/// dismissed once, answered 10 and 6 (rate 50 %, mean 8); variant `b` shown twice, answered
/// 9 and 9 (rate 100 %, mean 9). b − a: rate +50 points ± 1.96·√(0.25/4)·100 = 49.0, so
/// [1.0, 99.0], told apart; mean +1 ± t(0.975, df 1)·2 = 25.4, not told apart. A CSAT prompt
/// without variants is `default`. Events without a prompt id are not counted.
async fn prompt_results_match_the_hand_computed_numbers(h: Harness) {
    let now = now_ms();
    let mut n = 0;
    let mut ev = |name: &str, visitor: u32, props: Value| {
        n += 1;
        json!({
            "id": id(1, n), "name": name, "ts": now - 10_000 + u64::from(n), "visitor_id": id(2, visitor),
            "session_id": id(3, visitor), "pageview_id": id(4, visitor), "returning": false,
            "url": "https://shop.example/", "props": props
        })
    };
    let p = |variant: &str, extra: Value| {
        let mut v = json!({"prompt_id": "nps-main", "variant": variant, "type": "nps"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let mut events = Vec::new();
    for visitor in 1..=4 {
        events.push(ev("prompt_shown", visitor, p("a", json!({}))));
    }
    events.push(ev("prompt_dismissed", 1, p("a", json!({}))));
    events.push(ev("feedback_submitted", 2, p("a", json!({"score": 10}))));
    events.push(ev("feedback_submitted", 3, p("a", json!({"score": 6}))));
    for visitor in 5..=6 {
        events.push(ev("prompt_shown", visitor, p("b", json!({}))));
        events.push(ev(
            "feedback_submitted",
            visitor,
            p("b", json!({"score": 9})),
        ));
    }
    events.push(ev(
        "prompt_shown",
        7,
        json!({"prompt_id": "csat", "type": "csat"}),
    ));
    events.push(ev(
        "feedback_submitted",
        7,
        json!({"prompt_id": "csat", "type": "csat", "score": 4}),
    ));
    events.push(ev(
        "feedback_submitted",
        8,
        json!({"type": "nps", "score": 0}),
    ));
    events.push(ev("page_view", 8, json!({})));
    for (visitor, score) in [(9, 1), (10, 1), (11, 0)] {
        events.push(ev(
            "feedback_submitted",
            visitor,
            json!({"prompt_id": "helpful", "type": "thumbs", "score": score}),
        ));
    }
    for (visitor, choice) in [(12, "Price"), (13, "Shipping"), (14, "Price")] {
        events.push(ev(
            "feedback_submitted",
            visitor,
            json!({"prompt_id": "why", "type": "choice", "choice": 0, "choice_text": choice}),
        ));
    }
    // Visitor 5 (variant b) is returning: the only one a `visitor_type` filter keeps.
    for e in &mut events {
        if e["visitor_id"] == id(2, 5) {
            e["returning"] = json!(true);
        }
    }
    let body = json!({ "site": "demo", "sent_at": now, "events": events }).to_string();
    assert_eq!(h.post("text/plain", body).await.0, StatusCode::OK);

    let request = Request::get("/v1/sites/demo/prompts")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let prompts = body["prompts"].as_array().unwrap();
    let ids: Vec<&str> = prompts
        .iter()
        .map(|p| p["prompt_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["csat", "helpful", "nps-main", "why"]);
    // How often each answer was given, most first, ties by answer.
    let answers = |p: &Value, v: usize| -> Vec<(String, u64)> {
        p["variants"][v]["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["answer"].as_str().unwrap().to_owned(),
                    a["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, u64)]| -> Vec<(String, u64)> {
        list.iter().map(|(a, n)| (a.to_string(), *n)).collect()
    };
    assert_eq!(answers(&prompts[0], 0), pairs(&[("4", 1)]));
    assert_eq!(prompts[1]["kind"], "thumbs");
    assert_eq!(answers(&prompts[1], 0), pairs(&[("1", 2), ("0", 1)]));
    assert_eq!(answers(&prompts[2], 0), pairs(&[("10", 1), ("6", 1)]));
    assert_eq!(answers(&prompts[2], 1), pairs(&[("9", 2)]));
    assert_eq!(prompts[3]["kind"], "choice");
    assert_eq!(
        answers(&prompts[3], 0),
        pairs(&[("Price", 2), ("Shipping", 1)])
    );
    let csat = &prompts[0];
    assert_eq!(csat["kind"], "csat");
    assert_eq!(csat["variants"][0]["variant"], "default");
    assert_eq!(csat["variants"][0]["answered"], 1);
    assert_eq!(csat["variants"][0]["mean_score"], 4.0);
    let nps = &prompts[2];
    assert_eq!(nps["kind"], "nps");
    let (a, b) = (&nps["variants"][0], &nps["variants"][1]);
    assert_eq!(
        [&a["variant"], &a["shown"], &a["dismissed"], &a["answered"]],
        [&json!("a"), &json!(4), &json!(1), &json!(2)]
    );
    assert_eq!(a["response_rate"], 50.0);
    assert_eq!(a["mean_score"], 8.0);
    assert_eq!(
        [&a["promoters"], &a["passives"], &a["detractors"]],
        [&json!(1), &json!(0), &json!(1)]
    );
    assert_eq!(a["versus_first"], Value::Null);
    assert_eq!(
        [&b["shown"], &b["answered"], &b["promoters"]],
        [&json!(2), &json!(2), &json!(2)]
    );
    assert_eq!(b["response_rate"], 100.0);
    let rate = &b["versus_first"]["response_rate"];
    assert_eq!(rate["difference"], 50.0);
    assert!((rate["low"].as_f64().unwrap() - 1.0).abs() < 0.01, "{rate}");
    assert!(
        (rate["high"].as_f64().unwrap() - 99.0).abs() < 0.01,
        "{rate}"
    );
    assert_eq!(rate["excludes_zero"], true);
    let mean = &b["versus_first"]["mean_score"];
    assert_eq!(mean["difference"], 1.0);
    assert!(
        (mean["high"].as_f64().unwrap() - 26.41).abs() < 0.05,
        "{mean}"
    );
    assert_eq!(mean["excludes_zero"], false);

    // Filtered to returning visitors: only visitor 5, in variant b.
    let request = Request::get("/v1/sites/demo/prompts?visitor_type=returning")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["filters"],
        json!([{"dimension": "visitor_type", "value": "returning"}])
    );
    let prompts = body["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{body}");
    let b = &prompts[0]["variants"][0];
    assert_eq!(
        [&b["variant"], &b["shown"], &b["answered"]],
        [&json!("b"), &json!(1), &json!(1)]
    );
}

/// Three visitors on three devices. `(value, visitors, page views)` per dimension, worked
/// out by hand:
///
/// | visitor | device | returning | pages (referrer)                              | campaign     |
/// |---------|--------|-----------|-----------------------------------------------|--------------|
/// | A       | desktop| no        | / (www.google.com), /p/mug (own site), /checkout | news/spring |
/// | B       | mobile | yes       | /p/mug (news.example.org, ref code), then /   | none         |
/// | C       | tablet | no        | / (none)                                      | none         |
async fn breakdowns_match_the_hand_computed_numbers(h: Harness) {
    let now = now_ms();
    let mut n = 0;
    let mut view = |visitor: u32, ago: u64, path: &str, referrer: Option<&str>, props: Value| {
        n += 1;
        let mut e = json!({
            "id": id(1, n), "name": "page_view", "ts": now - ago, "visitor_id": id(2, visitor),
            "session_id": id(3, visitor), "pageview_id": id(4, n), "returning": visitor == 2,
            "url": format!("https://shop.example{path}"), "props": props
        });
        if let Some(r) = referrer {
            e["referrer"] = json!(r);
        }
        e
    };
    let spring = json!({"utm_source": "news", "utm_campaign": "spring"});
    let a = vec![
        view(
            1,
            9_000,
            "/",
            Some("https://www.google.com/search?q=mug"),
            spring.clone(),
        ),
        view(
            1,
            8_000,
            "/p/mug",
            Some("https://shop.example/"),
            spring.clone(),
        ),
        view(
            1,
            7_000,
            "/checkout",
            Some("https://shop.example/p/mug"),
            spring,
        ),
    ];
    let mut b = vec![
        view(
            2,
            6_000,
            "/p/mug",
            Some("https://news.example.org/a"),
            json!({"referral_code": "RITA"}),
        ),
        view(2, 4_000, "/", None, json!({})),
    ];
    b.insert(1, {
        let mut e = view(2, 5_000, "/p/mug", None, json!({"sku": "mug"}));
        e["name"] = json!("add_to_cart");
        e
    });
    let c = vec![view(3, 3_000, "/", None, json!({}))];
    let agents = [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", a),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", b),
        ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", c),
    ];
    for (agent, events) in agents {
        let body = json!({ "site": "demo", "sent_at": now, "events": events }).to_string();
        let request = Request::post("/v1/batch")
            .header("content-type", "text/plain")
            .header("user-agent", agent)
            .body(Body::from(body))
            .unwrap();
        let (status, body, _) = h.send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let rows = |body: &Value| -> Vec<(String, u64, u64)> {
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["value"].as_str().unwrap().to_owned(),
                    r["visitors"].as_u64().unwrap(),
                    r["pageviews"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    type Rows = &'static [(&'static str, u64, u64)];
    let expected: [(&str, Rows); 10] = [
        (
            "page",
            &[("/", 3, 3), ("/p/mug", 2, 2), ("/checkout", 1, 1)],
        ),
        ("entry_page", &[("/", 2, 2), ("/p/mug", 1, 1)]),
        ("exit_page", &[("/", 2, 2), ("/checkout", 1, 1)]),
        (
            "referrer",
            &[("", 3, 4), ("google.com", 1, 1), ("news.example.org", 1, 1)],
        ),
        ("utm_source", &[("", 2, 3), ("news", 1, 3)]),
        ("utm_medium", &[("", 3, 6)]),
        ("utm_campaign", &[("", 2, 3), ("spring", 1, 3)]),
        ("visitor_type", &[("new", 2, 4), ("returning", 1, 2)]),
        ("referred", &[("not referred", 2, 4), ("referred", 1, 2)]),
        (
            "device",
            &[("desktop", 1, 3), ("mobile", 1, 2), ("tablet", 1, 1)],
        ),
    ];
    for (dimension, want) in expected {
        let request = Request::get(format!("/v1/sites/demo/breakdown?dimension={dimension}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = h.send(request).await;
        assert_eq!(status, StatusCode::OK, "{dimension}: {body}");
        let want: Vec<(String, u64, u64)> = want
            .iter()
            .map(|(v, a, b)| (v.to_string(), *a, *b))
            .collect();
        assert_eq!(rows(&body), want, "{dimension}");
        assert_eq!(body["dimension"], dimension);
    }
    for bad in ["?dimension=colour", ""] {
        let request = Request::get(format!("/v1/sites/demo/breakdown{bad}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = h.send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("dimension"),
            "{body}"
        );
    }

    // Filters keep whole sessions (whole visitors for new/returning and referred), so a
    // filtered report's visitors are the breakdown row's. (visitors, page views) by hand.
    let get = |query: String| {
        let h = &h;
        async move {
            let request = Request::get(query).body(Body::empty()).unwrap();
            h.send(request).await
        }
    };
    let filtered: [(&str, u64, u64); 12] = [
        ("device=mobile", 1, 2),
        ("page=%2Fp%2Fmug", 2, 5),
        ("entry_page=%2F", 2, 4),
        ("exit_page=%2Fcheckout", 1, 3),
        ("visitor_type=returning", 1, 2),
        ("visitor_type=new", 2, 4),
        ("referred=referred", 1, 2),
        ("referrer=google.com", 1, 3),
        ("utm_source=news&device=desktop", 1, 3),
        ("utm_source=news&device=mobile", 0, 0),
        ("utm_source=", 2, 3),
        ("utm_medium=", 3, 6),
    ];
    for (query, visitors, pageviews) in filtered {
        let (status, body, _) = get(format!("/v1/sites/demo/stats?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(
            (&body["total"]["visitors"], &body["total"]["pageviews"]),
            (&json!(visitors), &json!(pageviews)),
            "{query}"
        );
    }
    // One segment, every figure: B's session on a phone, returning, with an interaction.
    let (_, body, _) = get("/v1/sites/demo/stats?device=mobile".into()).await;
    assert_eq!(
        body["filters"],
        json!([{"dimension": "device", "value": "mobile"}])
    );
    let t = &body["total"];
    assert_eq!(
        [
            &t["sessions"],
            &t["returning_share"],
            &t["engagement_rate"],
            &t["bounce_rate"]
        ],
        [&json!(1), &json!(100.0), &json!(100.0), &json!(0.0)]
    );
    assert_eq!(
        body["top_pages"],
        json!([{"path": "/", "pageviews": 1}, {"path": "/p/mug", "pageviews": 1}])
    );
    type Filtered = (&'static str, &'static [(&'static str, u64, u64)]);
    let breakdowns: [Filtered; 4] = [
        ("page&device=mobile", &[("/", 1, 1), ("/p/mug", 1, 1)]),
        (
            "device&page=%2Fp%2Fmug",
            &[("desktop", 1, 3), ("mobile", 1, 2)],
        ),
        ("entry_page&device=desktop", &[("/", 1, 1)]),
        ("visitor_type&referrer=google.com", &[("new", 1, 3)]),
    ];
    for (query, want) in breakdowns {
        let (status, body, _) = get(format!("/v1/sites/demo/breakdown?dimension={query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let want: Vec<(String, u64, u64)> = want
            .iter()
            .map(|(v, a, b)| (v.to_string(), *a, *b))
            .collect();
        assert_eq!(rows(&body), want, "{query}");
    }
    // A value no segment can have is refused by name, and so is an overlong one.
    let long = "x".repeat(2049);
    for (query, field) in [
        ("stats?visitor_type=old".to_owned(), "visitor_type"),
        (
            "breakdown?dimension=page&referred=yes".to_owned(),
            "referred",
        ),
        (format!("prompts?device={long}"), "device"),
    ] {
        let (status, body, _) = get(format!("/v1/sites/demo/{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with(field), "{body}");
    }

    // One day is also read by the hour: 24 hours whose page views add up to the day's.
    let day = stats::date_of(i64::try_from((now - 9_000) / DAY).unwrap());
    let (status, body, _) = get(format!("/v1/sites/demo/stats?from={day}&to={day}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hours = body["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[0]["hour"], format!("{day}T00:00Z"));
    assert_eq!(hours[23]["hour"], format!("{day}T23:00Z"));
    let by_hour: u64 = hours.iter().map(|h| h["pageviews"].as_u64().unwrap()).sum();
    assert_eq!(by_hour, body["days"][0]["pageviews"].as_u64().unwrap());
    assert!(by_hour > 0);
    let hour = ((now - 9_000) % DAY) / 3_600_000;
    assert!(hours[hour as usize]["visitors"].as_u64().unwrap() >= 1);
    let (_, body, _) = get("/v1/sites/demo/stats".into()).await;
    assert_eq!(body["hours"], json!([]));
}

/// `…/feedback`: the newest `feedback_submitted` events only, newest first, with the
/// prompt, variant, type, score, text and choice from their properties.
async fn feedback_lists_the_newest_answers_with_their_prompt(h: Harness) {
    let now = now_ms();
    let event = |n: u32, name: &str, ago: u64, props: Value| {
        json!({
            "id": id(1, n), "name": name, "ts": now - ago, "visitor_id": id(2, n),
            "session_id": id(3, n), "pageview_id": id(4, n), "returning": false,
            "url": format!("https://shop.example/p/{n}"), "props": props
        })
    };
    let events = [
        event(
            1,
            "feedback_submitted",
            3_000,
            json!({"prompt_id": "nps-main", "variant": "warm", "type": "nps", "score": 9, "text": "ชอบมาก \"ดี\""}),
        ),
        event(2, "page_view", 2_500, json!({})),
        event(
            3,
            "feedback_submitted",
            2_000,
            json!({"prompt_id": "size", "variant": "default", "type": "choice", "choice": 1, "choice_text": "Too small"}),
        ),
        event(
            4,
            "prompt_dismissed",
            1_500,
            json!({"prompt_id": "nps-main"}),
        ),
        event(
            5,
            "feedback_submitted",
            1_000,
            json!({"prompt_id": "csat", "type": "csat", "score": 4}),
        ),
    ];
    let body = json!({ "site": "demo", "sent_at": now, "events": events }).to_string();
    assert_eq!(h.post("text/plain", body).await.0, StatusCode::OK);

    let request = Request::get("/v1/sites/demo/feedback")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answers = body["answers"].as_array().unwrap();
    let prompts: Vec<&str> = answers
        .iter()
        .map(|a| a["prompt_id"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["csat", "size", "nps-main"]);
    assert_eq!(answers[0]["score"], 4.0);
    assert_eq!(answers[0]["text"], Value::Null);
    assert_eq!(answers[1]["kind"], "choice");
    assert_eq!(answers[1]["choice"], "Too small");
    assert_eq!(answers[2]["text"], "ชอบมาก \"ดี\"");
    assert_eq!(answers[2]["variant"], "warm");
    assert_eq!(answers[2]["url"], "https://shop.example/p/1");
    // The stored time, corrected for the client clock by the few ms the batch took.
    let ts = answers[2]["ts"].as_u64().unwrap();
    assert!(ts.abs_diff(now - 3_000) < 1_000, "{ts}");

    let request = Request::get("/v1/sites/demo/feedback?limit=1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        h.send(request).await.1["answers"].as_array().unwrap().len(),
        1
    );
    for bad in ["0", "201", "x"] {
        let request = Request::get(format!("/v1/sites/demo/feedback?limit={bad}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = h.send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}: {body}");
        assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    }
}

/// `…/live`: distinct visitors whose events arrived in the last 5 minutes; events received
/// earlier do not count, however recent their own time.
async fn live_counts_the_visitors_of_the_last_five_minutes(h: Harness) {
    let now = now_ms();
    let event = |n: u32, visitor: u32| {
        json!({
            "id": id(1, n), "name": "page_view", "ts": now - 1_000, "visitor_id": id(2, visitor),
            "session_id": id(3, visitor), "pageview_id": id(4, n), "returning": false,
            "url": "https://shop.example/", "props": {}
        })
    };
    // Visitors 1 and 2 were received 6 minutes ago.
    let old: Vec<rapport_core::Event> = [event(1, 1), event(2, 2)]
        .into_iter()
        .map(|e| serde_json::from_value(e).unwrap())
        .collect();
    let rows: Vec<rapport_collector::db::NewEvent> = old
        .iter()
        .map(|e| rapport_collector::db::NewEvent {
            event: e,
            ts: now - 360_000,
        })
        .collect();
    h.state
        .db
        .insert_events("demo", now - 360_000, &rows)
        .await
        .unwrap();
    // Now visitors 2, 3 and 4, visitor 3 twice.
    let events = [event(3, 2), event(4, 3), event(5, 3), event(6, 4)];
    let body = json!({ "site": "demo", "sent_at": now, "events": events }).to_string();
    assert_eq!(h.post("text/plain", body).await.0, StatusCode::OK);

    let request = Request::get("/v1/sites/demo/live")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["visitors"], 3, "{body}");
    assert_eq!(body["window_ms"], 300_000);
    assert!(body["at"].as_u64().unwrap() >= now);
    let request = Request::get("/v1/sites/nope/live")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.0, StatusCode::NOT_FOUND);
}

/// With `--admin-token`, events and stats answer only with the token; ingest and the
/// widget's own endpoints stay open.
async fn a_read_token_guards_the_site_data(h: Harness) {
    let mut h = h;
    h.state.admin_token = Some("read-token-0123456789".into());
    for path in ["/v1/sites/demo/events", "/v1/sites/demo/stats"] {
        for auth in [
            None,
            Some("Bearer wrong-token-0123456789"),
            Some("Bearer read-token-012345678"), // one character short
            Some("read-token-0123456789"),       // no scheme
        ] {
            let mut request = Request::get(path);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let (status, body, headers) = h.send(request.body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {auth:?}: {body}");
            assert_eq!(headers["www-authenticate"], "Bearer");
            assert!(
                body["error"].as_str().unwrap().starts_with("authorization"),
                "{body}"
            );
        }
        // The scheme is case-insensitive.
        let request = Request::get(path).header("authorization", "bearer read-token-0123456789");
        let (status, body, _) = h.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let config = Request::get("/v1/sites/demo/config")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(config).await.0, StatusCode::OK);
}

const DAY: u64 = 86_400_000;

fn id(kind: u32, n: u32) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

struct Seed {
    events: Vec<Value>,
    next: u32,
}

impl Seed {
    /// `visitor`, `session` and `pageview` are small numbers turned into ids.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        ts: u64,
        visitor: u32,
        session: u32,
        pageview: u32,
        returning: bool,
        path: &str,
        props: Value,
    ) {
        self.next += 1;
        self.events.push(json!({
            "id": id(1, self.next),
            "name": name,
            "ts": ts,
            "visitor_id": id(2, visitor),
            "session_id": id(3, session),
            "pageview_id": id(4, pageview),
            "returning": returning,
            "url": format!("https://shop.example{path}"),
            "props": props,
        }));
    }
}

/// Noon (UTC) `days_ago` days back: far from midnight, so clock correction cannot move an
/// event to another day.
fn noon(days_ago: u64) -> u64 {
    (now_ms() / DAY - days_ago) * DAY + DAY / 2
}

async fn stats_match_the_hand_computed_numbers(h: Harness) {
    let (d1, d2) = (noon(2), noon(1));
    let s = &mut Seed {
        events: Vec::new(),
        next: 0,
    };
    // Visitor 1, new, session 1 on day 1: two pages, 12 s engaged, one interaction.
    s.add("page_view", d1, 1, 1, 1, false, "/", json!({}));
    s.add(
        "page_engagement",
        d1 + 3_000,
        1,
        1,
        1,
        false,
        "/",
        json!({"engaged_ms": 3000, "scroll_max": 20}),
    );
    s.add(
        "page_engagement",
        d1 + 5_000,
        1,
        1,
        1,
        false,
        "/",
        json!({"engaged_ms": 4000, "scroll_max": 30}),
    );
    s.add(
        "page_view",
        d1 + 10_000,
        1,
        1,
        2,
        false,
        "/p/mug?utm_source=x",
        json!({}),
    );
    s.add(
        "add_to_cart",
        d1 + 15_000,
        1,
        1,
        2,
        false,
        "/p/mug",
        json!({"sku": "mug"}),
    );
    s.add(
        "page_engagement",
        d1 + 20_000,
        1,
        1,
        2,
        false,
        "/p/mug",
        json!({"engaged_ms": 8000, "scroll_max": 100}),
    );
    // Visitor 2, new, session 2 on day 2: one page, 3 s: a bounce.
    s.add("page_view", d2, 2, 2, 3, false, "/", json!({}));
    s.add(
        "scroll_milestone",
        d2 + 1_000,
        2,
        2,
        3,
        false,
        "/",
        json!({"depth": 25}),
    );
    s.add(
        "page_engagement",
        d2 + 3_000,
        2,
        2,
        3,
        false,
        "/",
        json!({"engaged_ms": 3000}),
    );
    // Visitor 3, returning, session 3: one page but 15 s engaged, NPS 10.
    s.add(
        "page_view",
        d2 + 100_000,
        3,
        3,
        4,
        true,
        "/p/mug",
        json!({}),
    );
    s.add(
        "page_engagement",
        d2 + 115_000,
        3,
        3,
        4,
        true,
        "/p/mug",
        json!({"engaged_ms": 15000, "scroll_max": 50}),
    );
    s.add(
        "feedback_submitted",
        d2 + 116_000,
        3,
        3,
        4,
        true,
        "/p/mug",
        json!({"type": "nps", "score": 10}),
    );
    // Visitor 3, session 4: one page, no engaged time, but a CSAT answer (a key event).
    s.add("page_view", d2 + 200_000, 3, 4, 5, true, "/", json!({}));
    s.add(
        "feedback_submitted",
        d2 + 205_000,
        3,
        4,
        5,
        true,
        "/",
        json!({"type": "csat", "score": 4}),
    );
    // Visitor 4, new, session 5: one page, 2 s, NPS 3 (a key event).
    s.add("page_view", d2 + 300_000, 4, 5, 6, false, "/", json!({}));
    s.add(
        "page_engagement",
        d2 + 302_000,
        4,
        5,
        6,
        false,
        "/",
        json!({"engaged_ms": 2000}),
    );
    s.add(
        "feedback_submitted",
        d2 + 304_000,
        4,
        5,
        6,
        false,
        "/",
        json!({"type": "nps", "score": 3}),
    );

    let body = json!({ "site": "demo", "sent_at": now_ms(), "events": s.events }).to_string();
    let (status, res) = h.post("text/plain", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    // A retried batch changes nothing.
    h.post("text/plain", body).await;
    assert_eq!(h.stored("demo").await.len(), 17);

    let (from, to) = (
        stats::date_of((d1 / DAY) as i64),
        stats::date_of((d2 / DAY) as i64),
    );
    let uri = format!("/v1/sites/demo/stats?from={from}&to={to}");
    let (status, st, _) = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{st}");
    let t = &st["total"];
    // visitors 1–4; only 3 is returning; 3 of 4 did something besides viewing.
    assert_eq!(t["visitors"], 4);
    assert_eq!(t["new_visitors"], 3);
    assert_eq!(t["returning_visitors"], 1);
    assert_eq!(t["returning_share"], 25.0);
    assert_eq!(t["engagement_rate"], 75.0);
    // 5 sessions, 6 pageviews.
    assert_eq!(t["sessions"], 5);
    assert_eq!(t["pageviews"], 6);
    assert_eq!(t["pages_per_session"], 1.2);
    // Engaged: 4000+8000, 3000, 15000, 0, 2000 = 32000 over 5 sessions.
    assert_eq!(t["avg_session_engaged_ms"], 6400.0);
    // Spans: 20000, 3000, 16000, 5000, 4000 = 48000 over 5 sessions.
    assert_eq!(t["avg_session_span_ms"], 9600.0);
    // Only session 2 bounced: 1 of 5.
    assert_eq!(t["bounce_rate"], 20.0);
    // Deepest scroll per pageview: 30, 100, 25, 50, none, none.
    let reach: Vec<f64> = t["scroll_reach"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let expected = [4.0 / 6.0, 2.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0].map(|x| x * 100.0);
    for (got, want) in reach.iter().zip(expected) {
        assert!((got - want).abs() < 1e-9, "{reach:?}");
    }
    // NPS: one promoter, one detractor of two answers; CSAT one answer of 4.
    assert_eq!(t["feedback"]["responses"], 3);
    assert_eq!(t["feedback"]["nps"], 0.0);
    assert_eq!(
        t["feedback"]["nps_distribution"],
        json!([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    );
    assert_eq!(t["feedback"]["csat_average"], 4.0);
    // Per day: day 1 has visitor 1 only; day 2 has the rest, with one bounce in 4 sessions.
    let days = st["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], from);
    assert_eq!(days[0]["visitors"], 1);
    assert_eq!(days[0]["pageviews"], 2);
    assert_eq!(days[0]["bounce_rate"], 0.0);
    assert_eq!(days[1]["visitors"], 3);
    assert_eq!(days[1]["sessions"], 4);
    assert_eq!(days[1]["bounce_rate"], 25.0);
    // Top pages by pageviews; the query string does not split a page.
    assert_eq!(
        st["top_pages"],
        json!([{"path": "/", "pageviews": 4}, {"path": "/p/mug", "pageviews": 2}])
    );
}

async fn stats_reject_bad_ranges(h: Harness) {
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-02&to=2026-11-01", "from"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        // Dates the calendar type cannot step back 29 days from once panicked the handler.
        ("to=-9999-01-01", "to"),
        ("from=-9999-01-01&to=2026-01-01", "from"),
        ("to=+2026-01-01", "to"),
        ("to=10000-01-01", "to"),
        ("from=0000-12-31&to=0001-01-10", "from"),
        ("to=2026-1-1", "to"),
        ("from=2026-01-01%00", "from"),
    ] {
        let uri = format!("/v1/sites/demo/stats?{query}");
        let (status, body, _) = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["error"].as_str().unwrap().starts_with(field),
            "{query}: {body}"
        );
    }
    let (status, _, _) = h
        .send(
            Request::get("/v1/sites/nosuchsite/stats")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The calendar's ends are valid, with the default 30 days before them.
    for (query, days) in [("to=0001-01-05", 30), ("from=9999-12-01&to=9999-12-31", 31)] {
        let uri = format!("/v1/sites/demo/stats?{query}");
        let (status, body, _) = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["days"].as_array().unwrap().len(), days, "{query}");
    }
    // A query that does not decode is a JSON 400 like any other.
    for uri in [
        "/v1/sites/demo/events?limit=-1",
        "/v1/sites/demo/events?limit=x",
    ] {
        let (status, body, headers) = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(headers["content-type"], "application/json");
        assert!(
            body["error"].as_str().unwrap().starts_with("query:"),
            "{body}"
        );
    }
    // An empty range is all zeros and nulls, not an error.
    let (status, body, _) = h
        .send(
            Request::get("/v1/sites/demo/stats")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"]["visitors"], 0);
    assert!(body["total"]["bounce_rate"].is_null());
    assert_eq!(body["days"].as_array().unwrap().len(), 30);
}

/// Experiment `layout`: the control and variant `b`, four exposed visitors each, one session
/// each, on one day, and one visitor never exposed. Per session (engaged ms; events):
///
/// | visitor | variant | engaged | events beyond page_view/page_engagement | bounced | interacted | converted |
/// |---|---|---|---|---|---|---|
/// | 1 | control | 3000 | — | yes | no | no |
/// | 2 | control | 12000 | — | no | no | no |
/// | 3 | control | 5000 | add_to_cart | yes | yes | no |
/// | 4 | control | 2000 + 2000 (two pages) | purchase | no | yes | yes |
/// | 5 | b | 20000 | add_to_cart, purchase | no | yes | yes |
/// | 6 | b | 15000 | add_to_cart | no | yes | no |
/// | 7 | b | 1000 | — | yes | no | no |
/// | 8 | b | 10000 | add_to_cart | no | yes | no |
/// | 9 | none | 30000 | purchase | — | — | — |
async fn experiment_results_match_the_hand_computed_numbers(h: Harness) {
    /// A visitor, its exposure (variant, position), its pages' engaged ms, its other events.
    type Visit<'a> = (u32, Option<(&'a str, u32)>, &'a [u64], &'a [&'a str]);
    let day = noon(1);
    let s = &mut Seed {
        events: Vec::new(),
        next: 0,
    };
    let plan: [Visit; 9] = [
        (1, Some(("control", 0)), &[3000], &[]),
        (2, Some(("control", 0)), &[12000], &[]),
        (3, Some(("control", 0)), &[5000], &["add_to_cart"]),
        (4, Some(("control", 0)), &[2000, 2000], &["purchase"]),
        (5, Some(("b", 1)), &[20000], &["add_to_cart", "purchase"]),
        (6, Some(("b", 1)), &[15000], &["add_to_cart"]),
        (7, Some(("b", 1)), &[1000], &[]),
        (8, Some(("b", 1)), &[10000], &["add_to_cart"]),
        (9, None, &[30000], &["purchase"]),
    ];
    for (v, exposure, pages, actions) in plan {
        let mut t = day + u64::from(v) * 60_000;
        if let Some((variant, index)) = exposure {
            let props =
                json!({ "experiment": "layout", "variant": variant, "variant_index": index });
            s.add("experiment_exposed", t, v, v, v * 10, false, "/p", props);
        }
        for (p, engaged) in pages.iter().enumerate() {
            let pageview = v * 10 + p as u32;
            s.add("page_view", t, v, v, pageview, false, "/p", json!({}));
            t += 500;
            s.add(
                "page_engagement",
                t,
                v,
                v,
                pageview,
                false,
                "/p",
                json!({ "engaged_ms": engaged }),
            );
            t += 500;
        }
        for action in actions {
            s.add(action, t, v, v, v * 10, false, "/p", json!({}));
        }
    }
    let body = json!({ "site": "demo", "sent_at": now_ms(), "events": s.events }).to_string();
    let (status, res) = h.post("text/plain", body).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["rejected"], json!([]));

    let (status, body, _) = h
        .send(
            Request::get("/v1/sites/demo/experiments")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["goal"], "purchase");
    let experiments = body["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 1);
    assert_eq!(experiments[0]["experiment"], "layout");
    let variants = experiments[0]["variants"].as_array().unwrap();
    let (control, b) = (&variants[0], &variants[1]);
    assert_eq!(control["variant"], "control");
    assert_eq!(control["index"], 0);
    assert!(control["versus_control"].is_null());
    for (v, visitors, engagement, bounce, time, conversion) in [
        (control, 4, 50.0, 50.0, 6000.0, 25.0),
        (b, 4, 75.0, 25.0, 11500.0, 25.0),
    ] {
        assert_eq!(v["visitors"], visitors, "{v}");
        assert_eq!(v["sessions"], visitors);
        assert_eq!(v["engagement_rate"], engagement, "{v}");
        assert_eq!(v["bounce_rate"], bounce, "{v}");
        assert_eq!(v["avg_engaged_ms"], time, "{v}");
        assert_eq!(v["conversion_rate"], conversion, "{v}");
    }
    // Rates: ±1.96·√(p₁q₁/4 + p₀q₀/4), in points. Engagement and bounce: √(.109375) → ±64.82;
    // conversion: √(.09375) → ±60.01. Time: variances 197e6/3 and 50e6/3, se 4536.89, Welch
    // df 4.4307, t 2.67318 → ±12127.9. Four visitors a side tell nothing apart.
    let vs = &b["versus_control"];
    for (metric, difference, half) in [
        ("engagement_rate", 25.0, 64.8197),
        ("bounce_rate", -25.0, 64.8197),
        ("conversion_rate", 0.0, 60.0114),
        ("avg_engaged_ms", 5500.0, 12127.9),
    ] {
        let i = &vs[metric];
        let got = |k: &str| i[k].as_f64().unwrap();
        assert!(
            (got("difference") - difference).abs() < 1e-6,
            "{metric}: {i}"
        );
        assert!(
            (got("high") - difference - half).abs() < 0.05,
            "{metric}: {i}"
        );
        assert!(
            (difference - got("low") - half).abs() < 0.05,
            "{metric}: {i}"
        );
        assert_eq!(i["excludes_zero"], false, "{metric}");
    }
    // Another goal: add_to_cart converts 1 of 4 in the control, 3 of 4 with b.
    let (_, body, _) = h
        .send(
            Request::get("/v1/sites/demo/experiments?goal=add_to_cart")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let variants = &body["experiments"][0]["variants"];
    assert_eq!(variants[0]["conversion_rate"], 25.0);
    assert_eq!(variants[1]["conversion_rate"], 75.0);
    let (status, body, _) = h
        .send(
            Request::get("/v1/sites/demo/experiments?goal=Not%20An%20Event")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().starts_with("goal:"),
        "{body}"
    );
    // Exposure is passive: it does not make a visitor interacting in the site's stats
    // (visitors 1, 2 and 7 did nothing else).
    let (_, stats, _) = h
        .send(
            Request::get("/v1/sites/demo/stats")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(stats["total"]["visitors"], 9);
    assert!((stats["total"]["engagement_rate"].as_f64().unwrap() - 600.0 / 9.0).abs() < 1e-9);
}

/// A GET through the app: status, headers and the body as sent (not decompressed).
async fn get_raw(
    h: &Harness,
    path: &str,
    gzip: bool,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = request.body(Body::empty()).unwrap();
    common::local(&mut request);
    let response = rapport_collector::app(h.state.clone())
        .oneshot(request)
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

/// The collector serves the built dashboard at `/` and its files under `/dashboard/`,
/// compressed for browsers that accept gzip; without one, `/` says how to build it.
#[tokio::test]
async fn the_built_dashboard_is_served_at_the_root_and_compressed() {
    let mut h = Harness::sqlite().await;
    let (status, _, body) = get_raw(&h, "/", false).await;
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

    let (status, _, body) = get_raw(&h, "/", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<!doctype html><title>built</title>");
    let (status, headers, body) = get_raw(&h, "/dashboard/rapport-dashboard_bg.wasm", true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(body.len() < wasm.len() / 10, "{} bytes", body.len());
    let (_, headers, body) = get_raw(&h, "/dashboard/rapport-dashboard_bg.wasm", false).await;
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(body.len(), wasm.len());
    assert_eq!(
        get_raw(&h, "/dashboard/../Cargo.toml", false).await.0,
        StatusCode::NOT_FOUND
    );
}
