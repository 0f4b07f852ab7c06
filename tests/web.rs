//! The tracker's Rust driver in headless Chromium (wasm-bindgen-test): `start()` with a
//! script tag's settings, its events in the write-ahead queue, the API functions it puts on
//! the loader's object, and `destroy()` detaching what it attached. The end-to-end tests
//! (tests/e2e) cover the same driver against the real collector.

use js_sys::{Array, Function, Object, Reflect};
use rapport_widget::start;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().unwrap()
}

/// A script tag with these `data-*` settings.
fn script(settings: &[(&str, &str)]) -> web_sys::Element {
    let s = window()
        .document()
        .unwrap()
        .create_element("script")
        .unwrap();
    for (k, v) in settings {
        s.set_attribute(&format!("data-{k}"), v).unwrap();
    }
    s
}

fn json() -> JsValue {
    let j = Object::new();
    let global = Reflect::get(&js_sys::global(), &"JSON".into()).unwrap();
    for name in ["stringify", "parse"] {
        let f = Reflect::get(&global, &name.into()).unwrap();
        Reflect::set(&j, &name.into(), &f).unwrap();
    }
    j.into()
}

fn import() -> Function {
    // Never called: the site below has nothing for the UI stage.
    Reflect::get(&js_sys::global(), &"fetch".into())
        .unwrap()
        .unchecked_into()
}

/// This tab's queued events, parsed.
fn queued() -> Vec<serde_like::Event> {
    let s = storage();
    let mut out = Vec::new();
    for i in 0..s.length().unwrap() {
        let key = s.key(i).unwrap().unwrap();
        if !key.starts_with("rapport:q:") {
            continue;
        }
        let stored = js_sys::JSON::parse(&s.get_item(&key).unwrap().unwrap()).unwrap();
        let events: Array = Reflect::get(&stored, &"e".into()).unwrap().unchecked_into();
        for e in events.iter() {
            out.push(serde_like::Event::from(&e));
        }
    }
    out
}

mod serde_like {
    use js_sys::Reflect;
    use wasm_bindgen::JsValue;

    pub struct Event {
        pub name: String,
        pub url: String,
        pub visitor: String,
        pub props: JsValue,
    }

    impl From<&JsValue> for Event {
        fn from(e: &JsValue) -> Event {
            let text = |k: &str| {
                Reflect::get(e, &k.into())
                    .unwrap()
                    .as_string()
                    .unwrap_or_default()
            };
            Event {
                name: text("name"),
                url: text("url"),
                visitor: text("visitor_id"),
                props: Reflect::get(e, &"props".into()).unwrap(),
            }
        }
    }
}

fn call(api: &Object, name: &str, args: &[JsValue]) {
    let f: Function = Reflect::get(api, &name.into()).unwrap().unchecked_into();
    let list = Array::new();
    for a in args {
        list.push(a);
    }
    Reflect::apply(&f, &JsValue::UNDEFINED, &list).unwrap();
}

// One test: the module holds a single driver, and the tests of a file share the module.
#[wasm_bindgen_test]
fn the_driver_behind_start() {
    storage().clear().unwrap();
    let api = Object::new();

    // Bad settings: false, nothing stored, no API functions.
    let bad = script(&[("site", "Not A Name"), ("endpoint", "/v1/batch")]);
    assert_eq!(
        start(api.clone(), Array::new(), bad, json(), import()),
        Ok(false)
    );
    let bad = script(&[
        ("site", "demo"),
        ("endpoint", "/v1/batch"),
        ("idle-timeout", "4"),
    ]);
    assert_eq!(
        start(api.clone(), Array::new(), bad, json(), import()),
        Ok(false)
    );
    assert_eq!(storage().length().unwrap(), 0);
    assert!(Reflect::get(&api, &"track".into()).unwrap().is_undefined());

    // A call made while loading is replayed after the first page view.
    let early = Array::new();
    let args = Array::new();
    for v in [
        JsValue::from_f64(js_sys::Date::now()),
        JsValue::from_f64(window().performance().unwrap().now()),
        "early_call".into(),
    ] {
        args.push(&v);
    }
    early.push(&Array::of2(&"track".into(), &args));
    // Nothing listens on this port: sends fail and the events stay queued.
    let tag = script(&[
        ("site", "demo"),
        ("endpoint", "http://127.0.0.1:9/v1/batch"),
        ("batch-wait", "60000"),
    ]);
    let history = window().history().unwrap();
    let push_before = Reflect::get(&history, &"pushState".into()).unwrap();
    assert_eq!(start(api.clone(), early, tag, json(), import()), Ok(true));

    let events = queued();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["page_view", "early_call"]);
    let here = window().location().href().unwrap();
    let clean = here.split(['?', '#']).next().unwrap();
    assert_eq!(
        events[0].url, clean,
        "no fragment, no query but UTM and ref"
    );
    let visit =
        js_sys::JSON::parse(&storage().get_item("rapport:visit").unwrap().unwrap()).unwrap();
    let visitor = Reflect::get(&visit, &"v".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(visitor.len(), 36);
    assert_eq!(&visitor[14..15], "4", "a version-4 UUID");
    assert_eq!(events[0].visitor, visitor);

    // The API functions: a valid event is queued with its props; a bad one is dropped.
    let props = Object::new();
    Reflect::set(&props, &"plan".into(), &"pro".into()).unwrap();
    Reflect::set(&props, &"__proto__".into(), &"p".into()).unwrap();
    call(&api, "track", &["signup".into(), props.into()]);
    call(&api, "track", &["Bad Name".into()]);
    let nested = Object::new();
    Reflect::set(&nested, &"deep".into(), &Object::new()).unwrap();
    call(&api, "track", &["nested".into(), nested.into()]);
    let events = queued();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["page_view", "early_call", "signup"]);
    let plan = Reflect::get(&events[2].props, &"plan".into()).unwrap();
    assert_eq!(plan.as_string().as_deref(), Some("pro"));

    // A client-side navigation is a page view, through the wrapped history.
    let wrapped = Reflect::get(&history, &"pushState".into()).unwrap();
    assert_ne!(wrapped, push_before, "pushState is wrapped");
    history
        .push_state_with_url(&JsValue::NULL, "", Some("?view=2&utm_source=test#x"))
        .unwrap();
    let events = queued();
    let last = events.last().unwrap();
    assert_eq!(last.name, "page_view");
    assert_eq!(last.url, format!("{clean}?utm_source=test"));
    assert_eq!(
        Reflect::get(&last.props, &"utm_source".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("test"),
        "attribution rides on the session's events"
    );

    // destroy(): the history is as it was, and calls do nothing more.
    call(&api, "destroy", &[]);
    assert_eq!(
        Reflect::get(&history, &"pushState".into()).unwrap(),
        push_before
    );
    let count = queued().len();
    call(&api, "track", &["after_destroy".into()]);
    assert_eq!(queued().len(), count);
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(clean))
        .unwrap();
    storage().clear().unwrap();
}
