//! The script tag's settings, validated before anything is stored or sent. A bad one gives
//! one console error naming its attribute, and tracking stays off.

use rapport_core::{DeliveryConfig, EngineConfig, Millis};
use wasm_bindgen::JsValue;
use web_sys::{Element, Window};

use crate::log;

/// The wire format of the batches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rapport,
    Segment,
    PostHog,
}

pub struct Settings {
    pub site: String,
    /// The endpoint as an absolute URL.
    pub endpoint: String,
    /// The endpoint with `encoding=gzip`, when batches sent by fetch are gzipped; else empty.
    pub zipped: String,
    pub format: Format,
    pub api_key: String,
    pub key_events: Vec<String>,
    /// Milliseconds before a send is given up.
    pub timeout: u32,
    /// The URL parameter carrying a referral code; empty for none.
    pub ref_param: String,
    pub engine: EngineConfig,
}

/// `a-z`, `0-9`, `_`, `.`, `-`, 1 to `max` characters.
pub fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

fn fail(field: &str, why: &str) -> Option<(Settings, DeliveryConfig)> {
    let mut line = String::from("config field \"data-");
    line.push_str(field);
    line.push_str("\" ");
    line.push_str(why);
    line.push_str("; tracking is off");
    log(&line, true);
    None
}

/// `+value` as JavaScript reads it (`Number(value)`).
pub fn number(value: &str) -> f64 {
    js_sys::Number::from(JsValue::from_str(value)).value_of()
}

/// A whole number in `[min, max]`; absent gives `default`.
fn whole(value: Option<String>, min: f64, max: f64, default: u64) -> Option<u64> {
    let Some(text) = value else {
        return Some(default);
    };
    let v = if text.trim().is_empty() {
        -1.0
    } else {
        number(&text)
    };
    (v >= min && v <= max && v == (v as u64) as f64).then_some(v as u64)
}

/// Reads and checks the tag's `data-*` settings.
pub fn read(script: &Element, w: &Window) -> Option<(Settings, DeliveryConfig)> {
    let attr = |name: &str| {
        let mut full = String::from("data-");
        full.push_str(name);
        script.get_attribute(&full)
    };
    let site = attr("site").unwrap_or_default();
    if site.is_empty() {
        return fail("site", "is missing");
    }
    if !is_name(&site, 64) {
        return fail(
            "site",
            "may only contain a-z, 0-9, '_', '.' and '-' (1-64 characters)",
        );
    }
    let given = attr("endpoint").unwrap_or_default();
    if given.is_empty() {
        return fail("endpoint", "is missing");
    }
    let here = w.location().href().unwrap_or_default();
    let endpoint = match web_sys::Url::new_with_base(&given, &here) {
        Ok(u) if matches!(u.protocol().as_str(), "http:" | "https:") => u.href(),
        _ => return fail("endpoint", "must be an http(s) URL"),
    };
    let mut engine = EngineConfig::default();
    let numeric: [(&str, f64, f64, u64); 4] = [
        ("session-timeout", 1.0, 240.0, 30),
        ("session-max", 1.0, 72.0, 24),
        ("idle-timeout", 5.0, 600.0, 30),
        ("attribution-days", 0.0, 365.0, 30),
    ];
    let mut values = [0u64; 4];
    for (i, (name, min, max, default)) in numeric.iter().enumerate() {
        match whole(attr(name), *min, *max, *default) {
            Some(v) => values[i] = v,
            None => return fail(name, "is not a whole number in the allowed range"),
        }
    }
    engine.session.idle_timeout = Millis::from_mins(values[0]);
    engine.session.max_duration = Millis::from_hours(values[1]);
    engine.engage.idle = Millis::from_secs(values[2]);
    engine.attribution_window = Millis::from_hours(24 * values[3]);
    let key_events: Vec<String> = attr("key-events")
        .unwrap_or_else(|| "feedback_submitted,referral_shared,purchase".into())
        .split(',')
        .map(|k| k.trim().to_string())
        .collect();
    if !key_events.iter().all(|k| is_name(k, 64)) {
        return fail("key-events", "must be event names separated by commas");
    }
    let format = match attr("format").as_deref() {
        None | Some("") | Some("rapport") => Format::Rapport,
        Some("segment") => Format::Segment,
        Some("posthog") => Format::PostHog,
        Some(_) => return fail("format", "must be rapport, segment or posthog"),
    };
    let api_key = attr("api-key").unwrap_or_default();
    // data-compress="gzip": batches sent by fetch are gzipped where the browser has
    // CompressionStream, and the URL says so (a beacon cannot set Content-Encoding, so the
    // URL is the one way for both). Beacons on the way out go uncompressed, without the flag.
    let compress = attr("compress");
    if compress.as_deref().is_some_and(|c| c != "gzip") {
        return fail("compress", "must be \"gzip\"");
    }
    let can_gzip = js_sys::Reflect::get(w, &JsValue::from_str("CompressionStream"))
        .is_ok_and(|f| f.is_function());
    let zipped = if compress.is_some() && can_gzip {
        let mut z = endpoint.clone();
        z.push(if z.contains('?') { '&' } else { '?' });
        z.push_str("encoding=gzip");
        z
    } else {
        String::new()
    };
    if format == Format::PostHog && api_key.is_empty() {
        return fail("api-key", "is required with data-format=\"posthog\"");
    }
    let num = |name: &str| attr(name).map_or(f64::NAN, |v| number(&v));
    let d = DeliveryConfig::default();
    let or = |v: f64, default: u64| {
        if v.is_nan() {
            default
        } else {
            Millis::from_js(v).0
        }
    };
    let small = |v: u64| v.min(u32::MAX.into()) as u32;
    let delivery = DeliveryConfig {
        max_events: small(or(num("batch-size"), d.max_events.into())),
        max_bytes: small(or(num("batch-bytes"), d.max_bytes.into())),
        max_wait: Millis(or(num("batch-wait"), d.max_wait.0)),
        budget_bytes: small(or(num("queue-budget"), d.budget_bytes.into())),
        backoff_base: Millis(or(num("backoff-base"), d.backoff_base.0)),
        backoff_cap: Millis(or(num("backoff-cap"), d.backoff_cap.0)),
        retry_after_cap: d.retry_after_cap,
    };
    let t = num("timeout");
    let timeout = if t.is_nan() || t == 0.0 { 10_000.0 } else { t }.clamp(1_000.0, 60_000.0) as u32;
    let ref_param = attr("ref-param").unwrap_or_else(|| "ref".into());
    if !ref_param.is_empty() && !is_name(&ref_param, 64) {
        return fail(
            "ref-param",
            "must be empty or 1-64 characters of a-z, 0-9, '_', '.' and '-'",
        );
    }
    // The loader falls back to 1000 ms on its own; the message is said here, where the
    // settings' messages live, so the loader stays small.
    if let Some(v) = attr("experiment-timeout").map(|t| number(&t)) {
        if !(0.0..=10_000.0).contains(&v) {
            log(
                "config field \"data-experiment-timeout\" must be 0-10000 ms; using 1000",
                true,
            );
        }
    }
    Some((
        Settings {
            site,
            endpoint,
            zipped,
            format,
            api_key,
            key_events,
            timeout,
            ref_param,
            engine,
        },
        delivery,
    ))
}
