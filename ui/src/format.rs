//! Numbers, currency units and dates for the shopper's language, with `js_sys::Intl`: no
//! float formatting in Rust.

use js_sys::{Array, Function, Intl, Object, Reflect};
use wasm_bindgen::JsValue;

/// Formats for one language.
#[derive(Clone)]
pub struct Format {
    lang: String,
    number: Function,
    /// "$1" (or "1 €", "١ US$") for "Every {unit} spent".
    pub unit: String,
}

fn options(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

impl Format {
    /// `currency`: an ISO 4217 code (USD when none).
    pub fn new(lang: &str, currency: Option<&str>) -> Format {
        let locales = Array::of1(&JsValue::from_str(lang));
        let number = Intl::NumberFormat::new(&locales, &Object::new()).format();
        let money = Intl::NumberFormat::new(
            &locales,
            &options(&[
                ("style", "currency".into()),
                ("currency", currency.unwrap_or("USD").into()),
                ("maximumFractionDigits", 0.into()),
            ]),
        );
        let unit = money
            .format()
            .call1(&JsValue::NULL, &1.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| "$1".into());
        Format {
            lang: lang.into(),
            number,
            unit,
        }
    }

    /// A whole number, grouped for the language (`1,250`, `١٬٢٥٠`).
    pub fn n(&self, v: f64) -> String {
        let v = if v.is_finite() { v } else { 0.0 };
        self.number
            .call1(&JsValue::NULL, &v.into())
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }

    /// A signed number: `+50`, `-500`.
    pub fn signed(&self, v: f64) -> String {
        let mut s = String::new();
        if v > 0.0 {
            s.push('+');
        }
        s.push_str(&self.n(v));
        s
    }

    /// A day and a short month (`3 Dec`), from ms since the epoch or an ISO date.
    pub fn day(&self, at: &JsValue) -> String {
        let date = js_sys::Date::new(at);
        if date.get_time().is_nan() {
            return String::new();
        }
        let o = options(&[("day", "numeric".into()), ("month", "short".into())]);
        date.to_locale_date_string(&self.lang, &o).into()
    }
}
