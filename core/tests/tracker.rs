use rapport_core::{Entropy, Millis, Page, PropValue, Props, Snapshot, Tracker, TrackerConfig};

/// Deterministic ids: each draw is the next counter value.
struct Counter(u128);

impl Entropy for Counter {
    fn random_bytes(&mut self) -> [u8; 16] {
        self.0 += 1;
        self.0.to_be_bytes()
    }
}

fn page(path: &str) -> Page {
    Page {
        url: format!("https://shop.example{path}"),
        referrer: Some("https://search.example/".into()),
    }
}

fn tracker(stored: Option<&Snapshot>, seed: u128) -> Tracker<Counter> {
    Tracker::new(TrackerConfig::new("demo").unwrap(), stored, Counter(seed))
}

/// Runs every pending command, returning the last snapshot and all sent events.
fn drain(t: &mut Tracker<Counter>, now: Millis) -> (Option<Snapshot>, Vec<rapport_core::Event>) {
    let snapshot = t.poll_snapshot();
    assert_eq!(
        t.poll_snapshot(),
        None,
        "a snapshot is emitted once per change"
    );
    let mut events = Vec::new();
    while let Some(body) = t.poll_batch(now) {
        let batch: rapport_core::Batch = serde_json::from_str(&body).expect(&body);
        assert_eq!(batch.site, "demo");
        assert_eq!(batch.sent_at, now.0);
        events.extend(batch.events);
    }
    (snapshot, events)
}

#[test]
fn first_page_view_is_new_visitor_and_persists_state() {
    let mut t = tracker(None, 0);
    let now = Millis(1_700_000_000_000);
    t.on_page_view(now, page("/")).unwrap();
    let (snapshot, events) = drain(&mut t, now);
    assert!(snapshot.is_some(), "visitor and session must be persisted");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.name, "page_view");
    assert_eq!(e.ts, now.0);
    assert!(!e.returning);
    assert_eq!(e.url, "https://shop.example/");
    assert_eq!(e.referrer.as_deref(), Some("https://search.example/"));
    assert_eq!(e.id.get_version_num(), 4);
    let ids = [e.id, e.visitor_id, e.session_id, e.pageview_id];
    for (i, a) in ids.iter().enumerate() {
        assert!(ids[i + 1..].iter().all(|b| b != a), "ids must be distinct");
    }
}

#[test]
fn reload_within_idle_timeout_keeps_session_and_later_visit_is_returning() {
    let start = Millis(1_700_000_000_000);
    let mut first = tracker(None, 0);
    first.on_page_view(start, page("/")).unwrap();
    let (snapshot, events) = drain(&mut first, start);
    let snapshot = snapshot.unwrap();
    let session = events[0].session_id;
    let visitor = events[0].visitor_id;

    // Reload 29:59 later: same session, still a new visitor.
    let reload_at = start + Millis::from_secs(29 * 60 + 59);
    let mut reload = tracker(Some(&snapshot), 100);
    reload.on_page_view(reload_at, page("/again")).unwrap();
    let (snapshot2, events) = drain(&mut reload, reload_at);
    assert_eq!(events[0].session_id, session);
    assert_eq!(events[0].visitor_id, visitor);
    assert!(!events[0].returning);
    assert_eq!(reload.session().unwrap().pageviews, 2);

    // Back 30:01 after the last activity: new session, returning visitor.
    let back_at = reload_at + Millis::from_secs(30 * 60 + 1);
    let mut back = tracker(Some(&snapshot2.unwrap()), 200);
    back.on_page_view(back_at, page("/")).unwrap();
    let (_, events) = drain(&mut back, back_at);
    assert_ne!(events[0].session_id, session);
    assert_eq!(events[0].visitor_id, visitor);
    assert!(events[0].returning);
    assert_eq!(back.visitor().unwrap().visit_count, 2);
}

#[test]
fn corrupt_snapshot_starts_a_fresh_visitor() {
    let corrupt = Snapshot {
        visitor: "{not ours}".into(),
        session: "s1|zzz".into(),
    };
    let mut t = tracker(Some(&corrupt), 0);
    t.on_page_view(Millis(5), page("/")).unwrap();
    let (_, events) = drain(&mut t, Millis(5));
    assert!(!events[0].returning);
    assert_eq!(t.visitor().unwrap().visit_count, 1);
}

#[test]
fn track_validates_name_and_props_before_queueing() {
    let mut t = tracker(None, 0);
    assert_eq!(
        t.on_track(Millis(1), "early", Props::new())
            .unwrap_err()
            .field,
        "track"
    );
    t.on_page_view(Millis(1), page("/")).unwrap();
    assert_eq!(
        t.on_track(Millis(2), "Bad Name", Props::new())
            .unwrap_err()
            .field,
        "name"
    );
    let mut big = Props::new();
    big.insert("blob".into(), PropValue::Str("x".repeat(9000)));
    assert_eq!(t.on_track(Millis(2), "ok", big).unwrap_err().field, "props");
    let mut props = Props::new();
    props.insert("sku".into(), PropValue::Str("A-1".into()));
    t.on_track(Millis(3), "add_to_cart", props.clone()).unwrap();
    let (_, events) = drain(&mut t, Millis(4));
    let names: Vec<_> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["page_view", "add_to_cart"]);
    assert_eq!(events[1].props, props);
    assert_eq!(events[1].referrer, None);
    assert_eq!(events[1].pageview_id, events[0].pageview_id);
}

#[test]
fn batches_are_capped_at_max_batch_events() {
    let mut t = tracker(None, 0);
    t.on_page_view(Millis(1), page("/")).unwrap();
    for _ in 0..45 {
        t.on_track(Millis(2), "tick", Props::new()).unwrap();
    }
    let mut sizes = Vec::new();
    while let Some(body) = t.poll_batch(Millis(3)) {
        let b: rapport_core::Batch = serde_json::from_str(&body).unwrap();
        sizes.push(b.events.len());
    }
    assert_eq!(sizes, [20, 20, 6]);
}
