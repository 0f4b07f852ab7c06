//! The stage's keys in `localStorage`, under `rapport:`, as JSON read and written with
//! serde-wasm-bindgen and `JSON`. Blocked or corrupt storage reads as the default.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn key(name: &str) -> String {
    let mut k = String::from("rapport:");
    k.push_str(name);
    k
}

/// The value under `rapport:<name>`, or the default when it is missing or unreadable.
pub fn load<T: DeserializeOwned + Default>(name: &str) -> T {
    let text = storage().and_then(|s| s.get_item(&key(name)).ok().flatten());
    text.and_then(|t| js_sys::JSON::parse(&t).ok())
        .and_then(|v| serde_wasm_bindgen::from_value(v).ok())
        .unwrap_or_default()
}

/// Writes `value` under `rapport:<name>`; blocked storage is ignored.
pub fn save(name: &str, value: &impl Serialize) {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    let Ok(v) = value.serialize(&serializer) else {
        return;
    };
    let Some(text) = js_sys::JSON::stringify(&v).ok().and_then(|t| t.as_string()) else {
        return;
    };
    if let Some(s) = storage() {
        let _ = s.set_item(&key(name), &text);
    }
}

/// The raw JSON value under `rapport:<name>` (for keys the tracker stage writes).
pub fn raw(name: &str) -> JsValue {
    storage()
        .and_then(|s| s.get_item(&key(name)).ok().flatten())
        .and_then(|t| js_sys::JSON::parse(&t).ok())
        .unwrap_or(JsValue::NULL)
}
