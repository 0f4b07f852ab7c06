//! The tracker stage's browser side, exercised in headless Chromium by wasm-bindgen-test.

use rapport_core::Entropy;
use rapport_widget::io::{self, CryptoRandom};
use rapport_widget::{
    Widget, PROP_BOOLEAN, PROP_NOT_FINITE, PROP_NULL, PROP_NUMBER, PROP_STRING, PROP_UNSUPPORTED,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

#[wasm_bindgen_test]
fn storage_prefixes_keys_and_leaves_host_keys_alone() {
    let host = local_storage();
    host.set_item("cart", "host-owned").unwrap();
    assert!(io::storage_set("probe", "v1"));
    assert_eq!(
        host.get_item("rapport:probe").unwrap().as_deref(),
        Some("v1")
    );
    assert_eq!(io::storage_get("probe").as_deref(), Some("v1"));
    assert_eq!(io::storage_get("cart"), None, "reads only its own prefix");
    io::storage_remove("probe");
    assert_eq!(io::storage_get("probe"), None);
    assert_eq!(
        host.get_item("cart").unwrap().as_deref(),
        Some("host-owned")
    );
    host.remove_item("cart").unwrap();
}

#[wasm_bindgen_test]
fn absolute_url_resolves_against_the_page_and_refuses_other_schemes() {
    assert_eq!(
        io::absolute_url("/v1/batch"),
        Some(format!("{}/v1/batch", origin()))
    );
    assert_eq!(
        io::absolute_url("https://collector.example/v1/batch").as_deref(),
        Some("https://collector.example/v1/batch")
    );
    assert_eq!(io::absolute_url("ftp://collector.example/"), None);
    assert_eq!(io::absolute_url("javascript:alert(1)"), None);
}

#[wasm_bindgen_test]
fn config_errors_name_the_attribute() {
    let field = |site, endpoint| Widget::new(site, endpoint).err().map(|e| e.field);
    assert_eq!(field(None, Some("/v1/batch")), Some("data-site"));
    assert_eq!(field(Some("My Shop"), Some("/v1/batch")), Some("data-site"));
    assert_eq!(field(Some("demo"), None), Some("data-endpoint"));
    assert_eq!(
        field(Some("demo"), Some("ftp://x.example/")),
        Some("data-endpoint")
    );
    let widget = Widget::new(Some("demo"), Some("/v1/batch")).ok().unwrap();
    assert_eq!(widget.endpoint(), format!("{}/v1/batch", origin()));
}

#[wasm_bindgen_test]
fn crypto_random_yields_distinct_v4_uuids() {
    let a = CryptoRandom.uuid_v4();
    let b = CryptoRandom.uuid_v4();
    assert_ne!(a, b);
    assert_eq!(a.get_version_num(), 4);
    assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
}

/// The next batch body, parsed by the browser's own JSON parser.
fn next_batch(widget: &mut Widget) -> JsValue {
    let body = widget
        .tracker_mut()
        .poll_batch(rapport_core::Millis(2))
        .expect("a batch");
    js_sys::JSON::parse(&body).unwrap()
}

fn get(value: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(value.clone(), |v, key| {
        js_sys::Reflect::get(&v, &JsValue::from_str(key)).unwrap()
    })
}

#[wasm_bindgen_test]
fn reported_props_become_the_event_props() {
    let mut widget = Widget::new(Some("demo"), Some("/v1/batch")).ok().unwrap();
    widget.page(1.0, format!("{}/shop", origin()), String::new());
    widget.prop(PROP_STRING, "title".into(), "ชุด \"ไทย\"".into());
    widget.prop(PROP_NUMBER, "big".into(), "1e+21".into());
    widget.prop(PROP_BOOLEAN, "gift".into(), "true".into());
    widget.prop(PROP_NULL, "note".into(), String::new());
    widget.track(2.0, Some("add_to_cart".into()));
    let batch = next_batch(&mut widget);
    let events: js_sys::Array = get(&batch, &["events"]).into();
    assert_eq!(events.length(), 2);
    let props = get(&events.get(1), &["props"]);
    assert_eq!(
        get(&props, &["title"]).as_string().as_deref(),
        Some("ชุด \"ไทย\"")
    );
    assert_eq!(get(&props, &["big"]).as_f64(), Some(1e21));
    assert_eq!(get(&props, &["gift"]).as_bool(), Some(true));
    assert!(get(&props, &["note"]).is_null());
    assert_eq!(
        get(&events.get(1), &["name"]).as_string().as_deref(),
        Some("add_to_cart")
    );
}

#[wasm_bindgen_test]
fn unsupported_or_non_finite_props_drop_the_event() {
    let mut widget = Widget::new(Some("demo"), Some("/v1/batch")).ok().unwrap();
    widget.page(1.0, format!("{}/", origin()), String::new());
    widget.prop(PROP_UNSUPPORTED, "nested".into(), String::new());
    widget.track(2.0, Some("nested".into()));
    widget.prop(PROP_NOT_FINITE, "n".into(), String::new());
    widget.track(2.0, Some("nan".into()));
    widget.prop(PROP_STRING, "left".into(), "over".into());
    widget.track(2.0, Some("Bad Name".into()));
    widget.track(2.0, Some("clean".into()));
    let batch = next_batch(&mut widget);
    let events: js_sys::Array = get(&batch, &["events"]).into();
    let names: Vec<String> = events
        .iter()
        .map(|e| get(&e, &["name"]).as_string().unwrap())
        .collect();
    assert_eq!(names, ["page_view", "clean"]);
    // Props of a dropped event do not leak into the next one.
    assert_eq!(
        js_sys::Object::keys(&get(&events.get(1), &["props"]).into()).length(),
        0
    );
}
