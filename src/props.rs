//! Converting `rapport.track` properties from JavaScript into the core's flat `Props`.

use rapport_core::{Invalid, Number, PropValue, Props};
use wasm_bindgen::{JsCast, JsValue};

const NOT_SCALAR: Invalid =
    Invalid::new("props", "values must be strings, numbers, booleans or null");

/// `undefined` and `null` mean no properties; otherwise a flat plain object of scalars.
pub fn props_from_js(value: &JsValue) -> Result<Props, Invalid> {
    let mut props = Props::new();
    if value.is_undefined() || value.is_null() {
        return Ok(props);
    }
    if !value.is_object() || js_sys::Array::is_array(value) || value.is_function() {
        return Err(Invalid::new("props", "must be a plain object"));
    }
    let object: &js_sys::Object = value.unchecked_ref();
    for entry in js_sys::Object::entries(object).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let key = entry.get(0).as_string().unwrap_or_default();
        let raw = entry.get(1);
        let value = if raw.is_null() {
            PropValue::Null
        } else if let Some(b) = raw.as_bool() {
            PropValue::Bool(b)
        } else if let Some(s) = raw.as_string() {
            PropValue::Str(s)
        } else if let Some(n) = raw.as_f64() {
            let text: String = js_sys::Number::from(n)
                .to_string_with_radix(10)
                .map(Into::into)
                .map_err(|_| NOT_SCALAR)?;
            PropValue::Num(Number::parse(&text)?)
        } else {
            return Err(NOT_SCALAR);
        };
        props.insert(key, value);
    }
    Ok(props)
}
