//! The hand-written encoder and the collector's serde decoder must agree on every field.

use rapport_core::{Batch, Event, Number, PropValue, Props};
use uuid::Uuid;

fn sample_event(n: u128, referrer: Option<&str>) -> Event {
    let mut props = Props::new();
    props.insert(
        "price".into(),
        PropValue::Num(Number::parse("19.99").unwrap()),
    );
    props.insert("qty".into(), PropValue::Num(Number::parse("2").unwrap()));
    props.insert("gift".into(), PropValue::Bool(true));
    props.insert("note".into(), PropValue::Null);
    props.insert(
        "title".into(),
        PropValue::Str("ชุด \"ไทย\" / عربي / עברית".into()),
    );
    Event {
        id: Uuid::from_u128(n),
        name: "purchase".into(),
        ts: 1_700_000_000_123,
        visitor_id: Uuid::from_u128(n + 1),
        session_id: Uuid::from_u128(n + 2),
        pageview_id: Uuid::from_u128(n + 3),
        returning: n.is_multiple_of(2),
        url: "https://shop.example/p?utm_source=x".into(),
        referrer: referrer.map(Into::into),
        props,
    }
}

#[test]
fn batch_json_decodes_to_the_same_batch() {
    let batch = Batch {
        site: "demo".into(),
        sent_at: 1_700_000_000_999,
        events: vec![
            sample_event(10, Some("https://ref.example/")),
            sample_event(20, None),
        ],
    };
    let text = batch.to_json();
    let decoded: Batch = serde_json::from_str(&text).expect(&text);
    assert_eq!(decoded, batch);
}

#[test]
fn decoder_rejects_unknown_event_fields_and_nested_props() {
    let mut v: serde_json::Value = serde_json::from_str(
        &Batch {
            site: "d".into(),
            sent_at: 1,
            events: vec![sample_event(1, None)],
        }
        .to_json(),
    )
    .unwrap();
    v["events"][0]["props"]["nested"] = serde_json::json!({"a": 1});
    assert!(serde_json::from_value::<Batch>(v.clone()).is_err());
    v["events"][0]["props"]
        .as_object_mut()
        .unwrap()
        .remove("nested");
    v["events"][0]["points"] = serde_json::json!(1000);
    assert!(serde_json::from_value::<Batch>(v).is_err());
}
