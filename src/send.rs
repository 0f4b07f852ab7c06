//! Sending: the one timer, batches by fetch with their outcome judged by the delivery rules,
//! and everything left by beacon when the page is hidden or left.

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Object, Promise};
use rapport_core::{Outcome, Verdict};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Response;

use crate::config::Format;
use crate::queue::ORPHAN_MS;
use crate::{get, ms, push_num, run, set, warned, Driver};

/// No request body above this: the 64 KiB keepalive quota is shared by the page's requests.
const MAX_BYTES: usize = 60_000;
/// The bytes of keepalive request bodies a page may have in flight at once.
const KEEPALIVE_QUOTA: usize = 65_536;

/// The `Date` of `t` as ISO 8601.
fn iso(t: f64) -> JsValue {
    js_sys::Date::new(&JsValue::from_f64(t))
        .to_iso_string()
        .into()
}

/// The events from position `from` that fit one request: at most `cap`, and at most
/// `MAX_BYTES` of UTF-8 (the keepalive quota counts bytes).
fn take(list: &[String], from: usize, cap: usize) -> Vec<String> {
    let mut events = Vec::new();
    let mut bytes = 200;
    for next in list.iter().skip(from) {
        if events.len() >= cap {
            break;
        }
        let size = next.len() + 1;
        if !events.is_empty() && bytes + size > MAX_BYTES {
            break;
        }
        events.push(next.clone());
        bytes += size;
    }
    events
}

impl Driver {
    /// The body for a batch of event JSON, in the configured format; `beforeSend` may
    /// reshape it or veto it (`None`).
    fn body(&mut self, events: &[String]) -> Option<String> {
        let before = self.q_before_send();
        let mut batch: JsValue;
        if self.cfg.format == Format::Rapport {
            let mut native = String::from("{\"site\":\"");
            native.push_str(&self.cfg.site); // a checked name: nothing to escape
            native.push_str("\",\"sent_at\":");
            push_num(&mut native, js_sys::Date::now() as u64);
            if self.q.dropped > 0 {
                native.push_str(",\"dropped\":");
                push_num(&mut native, self.q.dropped.into());
            }
            native.push_str(",\"events\":[");
            native.push_str(&events.join(","));
            native.push_str("]}");
            if before.is_none() {
                return Some(native);
            }
            batch = self.parse_json(&native);
        } else {
            let list = Array::new();
            for e in events {
                let e = self.parse_json(e);
                let name = get(&e, "name").as_string().unwrap_or_default();
                let page = name == "page_view";
                let props = get(&e, "props");
                let ts = iso(get(&e, "ts").as_f64().unwrap_or(0.0));
                let out = Object::new();
                if self.cfg.format == Format::Segment {
                    set(
                        &out,
                        "type",
                        &JsValue::from_str(if page { "page" } else { "track" }),
                    );
                    if !page {
                        set(&out, "event", &JsValue::from_str(&name));
                    }
                    set(&out, "properties", &props);
                    set(&out, "anonymousId", &get(&e, "visitor_id"));
                    set(&out, "userId", &get(&props, "user_id"));
                    set(&out, "messageId", &get(&e, "id"));
                    set(&out, "timestamp", &ts);
                    let page_info = Object::new();
                    set(&page_info, "url", &get(&e, "url"));
                    set(&page_info, "referrer", &get(&e, "referrer"));
                    let library = Object::new();
                    set(&library, "name", &JsValue::from_str("rapport"));
                    let context = Object::new();
                    set(&context, "page", &page_info);
                    set(&context, "sessionId", &get(&e, "session_id"));
                    set(&context, "library", &library);
                    set(&out, "context", &context);
                } else {
                    let p = crate::bare();
                    set(&p, "distinct_id", &get(&e, "visitor_id"));
                    set(&p, "$current_url", &get(&e, "url"));
                    set(&p, "$session_id", &get(&e, "session_id"));
                    set(&p, "$referrer", &get(&e, "referrer"));
                    if let Ok(keys) = crate::object_keys(&props) {
                        for k in keys.iter() {
                            if let Ok(v) = js_sys::Reflect::get(&props, &k) {
                                let _ = js_sys::Reflect::set(&p, &k, &v);
                            }
                        }
                    }
                    let event = if page { "$pageview".into() } else { name };
                    set(&out, "event", &JsValue::from_str(&event));
                    set(&out, "properties", &p);
                    set(&out, "timestamp", &ts);
                    set(&out, "uuid", &get(&e, "id"));
                }
                crate::append(&list, &out);
            }
            let b = Object::new();
            if self.cfg.format == Format::Segment {
                set(&b, "batch", &list);
                set(&b, "sentAt", &iso(js_sys::Date::now()));
            } else {
                set(&b, "api_key", &JsValue::from_str(&self.cfg.api_key));
                set(&b, "batch", &list);
            }
            batch = b.into();
        }
        if let Some(hook) = before {
            match hook.call1(&JsValue::UNDEFINED, &batch) {
                // null vetoes; no answer keeps the batch
                Ok(shaped) if !shaped.is_undefined() => batch = shaped,
                Ok(_) => {}
                Err(e) => {
                    let mut line =
                        String::from("beforeSend threw, so the batch was sent as it was: ");
                    line.push_str(&crate::text_of(&e));
                    self.warn_once(warned::BEFORE_SEND, &line);
                }
            }
        }
        if batch.is_null() {
            return None;
        }
        self.to_json(&batch).ok()
    }

    fn q_before_send(&self) -> Option<Function> {
        self.page.before_send.clone()
    }

    /// Removes these events wherever they are now (the queue may have changed while they
    /// were in flight) and puts `again` back in front.
    fn remove(&mut self, events: &[String], again: Vec<String>) {
        let mut next = again;
        next.extend(
            std::mem::take(&mut self.q.events)
                .into_iter()
                .filter(|e| !events.contains(e)),
        );
        self.q.events = next;
        self.keep(false);
    }

    fn beacon(&self, payload: &str) -> bool {
        crate::send_beacon(&self.cfg.endpoint, payload).unwrap_or(false)
    }

    /// A POST's options: `body`, keepalive, the configured headers.
    fn init(&self, body: &JsValue, keepalive: bool) -> Object {
        let init = Object::new();
        set(&init, "method", &JsValue::from_str("POST"));
        set(&init, "body", body);
        set(&init, "keepalive", &JsValue::from_bool(keepalive));
        if let Some(h) = self.page.headers.as_ref() {
            set(&init, "headers", h);
        }
        init
    }

    /// One batch by fetch (keepalive, with a timeout); its outcome goes to the delivery
    /// rules.
    fn send(&mut self) {
        let cap = self.q.limit.min(self.delivery.config().max_events) as usize;
        let events = take(&self.q.events, 0, cap);
        let Some(payload) = self.body(&events) else {
            return self.remove(&events, Vec::new()); // vetoed
        };
        self.q.reported = self.q.dropped;
        self.q.in_flight = true;
        self.q.flying = events;
        self.q.serial = self.q.serial.wrapping_add(1);
        let serial = self.q.serial;
        let signal: JsValue = crate::abort_after(self.cfg.timeout)
            .map(JsValue::from)
            .unwrap_or(JsValue::UNDEFINED);
        let sent = if self.cfg.zipped.is_empty() {
            self.q.flying_kept = payload.len() < 65_000;
            let init = self.init(&JsValue::from_str(&payload), self.q.flying_kept);
            set(&init, "signal", &signal);
            crate::fetch(&self.cfg.endpoint, &init)
        } else {
            let url = self.cfg.zipped.clone();
            let init = self.init(&JsValue::UNDEFINED, false);
            set(&init, "signal", &signal);
            self.gzip(&payload).map(|zipped| {
                let post: crate::Then = Box::new(move |gz: JsValue| {
                    let size = get(&gz, "byteLength").as_f64().unwrap_or(0.0);
                    let kept = size < 65_000.0;
                    run(Box::new(move |d| d.q.flying_kept = kept));
                    set(&init, "keepalive", &JsValue::from_bool(kept));
                    let bag = web_sys::BlobPropertyBag::new();
                    bag.set_type("text/plain");
                    let sent = web_sys::Blob::new_with_buffer_source_sequence_and_options(
                        &Array::of1(&gz),
                        &bag,
                    )
                    .and_then(|b| {
                        set(&init, "body", &b);
                        crate::fetch(&url, &init)
                    });
                    sent.unwrap_or_else(|e| Promise::reject(&e).into())
                });
                crate::then(&zipped, post, Box::new(|e| Promise::reject(&e).into()))
            })
        };
        let answered: crate::Then = Box::new(move |r: JsValue| {
            let status = get(&r, "status").as_f64().unwrap_or(0.0) as u16;
            let retry_after = r
                .dyn_ref::<Response>()
                .and_then(|r| r.headers().get("Retry-After").ok().flatten())
                .filter(|v| !v.is_empty())
                .map_or(f64::NAN, |v| crate::config::number(&v));
            let read: crate::Then = Box::new(move |text: JsValue| {
                run(Box::new(move |d| {
                    let answer = d.parse_json(&text.as_string().unwrap_or_default());
                    d.done(serial, status, retry_after, &answer);
                }));
                JsValue::UNDEFINED
            });
            let unread: crate::Then = Box::new(move |_| {
                run(Box::new(move |d| {
                    d.done(serial, status, retry_after, &JsValue::UNDEFINED)
                }));
                JsValue::UNDEFINED
            });
            match r.dyn_ref::<Response>().map(|r| r.text()) {
                Some(Ok(p)) => crate::then(&p, read, unread),
                _ => unread(JsValue::UNDEFINED),
            }
        });
        let lost: crate::Then = Box::new(move |_| {
            run(Box::new(move |d| {
                d.done(serial, 0, f64::NAN, &JsValue::UNDEFINED)
            }));
            JsValue::UNDEFINED
        });
        match sent {
            Ok(p) => {
                crate::then(&p, answered, lost);
            }
            // The host page broke fetch: the beacon carries it, without an answer.
            Err(_) => {
                let status = if self.beacon(&payload) { 200 } else { 0 };
                self.done(serial, status, f64::NAN, &JsValue::UNDEFINED);
            }
        }
    }

    /// `payload` gzipped: a promise of its bytes.
    fn gzip(&self, payload: &str) -> Result<JsValue, JsValue> {
        let parts = Array::of1(&JsValue::from_str(payload));
        let blob = web_sys::Blob::new_with_str_sequence(&parts)?;
        let stream = blob.stream();
        let ctor: Function = get(&self.w, "CompressionStream").dyn_into()?;
        let gz = js_sys::Reflect::construct(&ctor, &Array::of1(&JsValue::from_str("gzip")))?;
        let piped = stream.pipe_through(gz.unchecked_ref());
        Ok(Response::new_with_opt_readable_stream(Some(&piped))?
            .array_buffer()?
            .into())
    }

    /// How the send `serial` ended: `status` 0 for a network error or timeout.
    fn done(&mut self, serial: u32, status: u16, retry_after: f64, answer: &JsValue) {
        if serial != self.q.serial || !self.q.in_flight {
            return;
        }
        self.q.in_flight = false;
        self.q.flying_kept = false;
        let events = std::mem::take(&mut self.q.flying);
        let outcome = if status == 0 {
            Outcome::Failed
        } else {
            Outcome::Status {
                code: status,
                retry_after: (retry_after >= 0.0)
                    .then(|| ms(retry_after).0.min(u32::MAX.into()) as u32),
            }
        };
        let jitter = js_sys::Math::random();
        match self
            .delivery
            .on_outcome(ms(self.perf_now()), outcome, jitter)
        {
            Verdict::Delivered => {
                self.q.dropped = self.q.dropped.saturating_sub(self.q.reported);
                self.q.limit = u32::MAX;
                // Only the rejects the backend calls retryable are sent again.
                let mut again = Vec::new();
                let rejected = get(answer, "rejected");
                if Array::is_array(&rejected) {
                    for r in rejected.unchecked_ref::<Array>().iter() {
                        let at = get(&r, "index").as_f64().unwrap_or(-1.0);
                        if get(&r, "retryable").is_truthy() && at >= 0.0 && at.fract() == 0.0 {
                            if let Some(e) = events.get(at as usize) {
                                again.push(e.clone());
                            }
                        }
                    }
                }
                self.remove(&events, again);
            }
            Verdict::Split => {
                if events.len() > 1 {
                    self.q.limit = events.len().div_ceil(2) as u32;
                } else {
                    self.warn_once(
                        warned::LARGE,
                        "an event larger than the backend accepts was dropped",
                    );
                    self.q.dropped += 1;
                    self.remove(&events, Vec::new());
                }
            }
            Verdict::Drop => {
                let mut line = String::from("the backend refused a batch (HTTP ");
                push_num(&mut line, status.into());
                line.push_str("); its events were dropped");
                self.warn_once(warned::REFUSED, &line);
                self.q.dropped += events.len() as u32;
                self.remove(&events, Vec::new());
            }
            Verdict::Retry(_) => {}
        }
        self.schedule(0);
    }

    /// The page is being hidden or left: everything not already in flight goes now, in
    /// chunks by keepalive fetch within the keepalive quota, by beacon past it or when fetch
    /// is broken. What the browser took is sent once: it leaves the queue and
    /// storage, so neither this page (pagehide after beforeunload, visible again) nor
    /// another tab adopting the queue sends it again. A keepalive fetch that fails while the
    /// page still lives puts its events back. What the browser did not take stays stored,
    /// marked closed when the page is being left (`last`), and the next page of the site or
    /// another tab sends it. Only then: a queue marked closed is another tab's to adopt at
    /// once, so it must no longer hold what the beacons carry.
    pub fn send_all(&mut self, last: bool) {
        if !self.w.navigator().on_line() || self.q.version == self.q.sent_version {
            if last {
                self.keep(true);
            }
            return;
        }
        self.q.sent_version = self.q.version;
        let pending: Vec<String> = self
            .q
            .events
            .iter()
            .filter(|e| !self.q.flying.contains(e))
            .cloned()
            .collect();
        let mut handed: Vec<String> = Vec::new();
        let mut quota: usize = if self.q.flying_kept {
            self.q.flying.iter().map(|e| e.len() + 1).sum::<usize>() + 200
        } else {
            0
        };
        let mut at = 0;
        while at < pending.len() {
            let chunk = take(&pending, at, usize::MAX);
            at += chunk.len();
            if let Some(payload) = self.body(&chunk) {
                // A keepalive fetch first: Chromium drops about one beacon in ten sent as a
                // tab closes (sendBeacon said true, nothing reached the server), and none of
                // the keepalive fetches in the same trial. The beacon is for pages whose
                // fetch is broken.
                // Keepalive requests share a 64 KiB quota, and a fetch over it fails only
                // later, when the page may be gone: past it, the beacon, which says at once.
                let fits = quota + payload.len() <= KEEPALIVE_QUOTA;
                let init = self.init(&JsValue::from_str(&payload), true);
                if fits && self.fetch_kept(&init, &chunk).is_ok() {
                    quota += payload.len();
                } else if self.page.headers.is_some() || !self.beacon(&payload) {
                    break; // neither: the rest stay queued
                }
            }
            handed.extend(chunk); // sent, or vetoed by beforeSend
            self.q.dropped = 0; // reported with the first chunk
        }
        if !handed.is_empty() {
            self.remove(&handed, Vec::new());
        }
        if last {
            self.keep(true);
        }
    }

    /// A keepalive fetch of `chunk` on the way out; if it fails while the page lives, the
    /// events are queued again, first.
    fn fetch_kept(&mut self, init: &Object, chunk: &[String]) -> Result<(), ()> {
        self.q.serial = self.q.serial.wrapping_add(1);
        let key = self.q.serial;
        let p = crate::fetch(&self.cfg.endpoint, init).map_err(|_| ())?;
        self.q.handed.push((key, chunk.to_vec()));
        let ok: crate::Then = Box::new(move |r: JsValue| {
            let status = get(&r, "status").as_f64().unwrap_or(0.0);
            run(Box::new(move |d| {
                d.kept_ended(key, status < 500.0 && status != 429.0)
            }));
            JsValue::UNDEFINED
        });
        let failed: crate::Then = Box::new(move |_| {
            run(Box::new(move |d| d.kept_ended(key, false)));
            JsValue::UNDEFINED
        });
        crate::then(&p, ok, failed);
        Ok(())
    }

    fn kept_ended(&mut self, key: u32, delivered: bool) {
        let Some(at) = self.q.handed.iter().position(|(k, _)| *k == key) else {
            return;
        };
        let (_, events) = self.q.handed.remove(at);
        if !delivered {
            let mut next = events;
            next.append(&mut self.q.events);
            self.q.events = next;
            self.q.version = self.q.version.wrapping_add(1);
            self.keep(false);
            self.schedule(0);
        }
    }

    /// Wakes in `wait` ms, or never for a negative wait; replaces the timer set before.
    pub fn schedule(&mut self, wait: i32) {
        self.timer = None; // dropping a Timeout clears it
        if wait >= 0 {
            self.timer = Some(Timeout::new(wait as u32, || {
                run(Box::new(|d| {
                    d.timer = None;
                    d.tick();
                }))
            }));
        }
    }

    /// The timer: the engine's heartbeat, adoption of other tabs' queues, the next send.
    fn tick(&mut self) {
        let t = self.perf_now();
        let mut wake = match self.engine.on_timer(ms(self.now()), ms(t)) {
            Some(w) => w.0.min(i32::MAX as u64) as i32,
            None => -1,
        };
        self.drain(self.now());
        self.adopt_locked();
        if !self.q.in_flight {
            let due = self.delivery.due(
                ms(t),
                self.q.events.len() as u32,
                self.q.size() as u32,
                ms(self.q.oldest),
                false,
            );
            match due.map(|d| d.0.min(i32::MAX as u64) as i32) {
                Some(0) => self.send(),
                Some(d) if wake < 0 || d < wake => wake = d,
                _ => {}
            }
        }
        if self.q.orphan_wake >= 0 && (wake < 0 || self.q.orphan_wake < wake) {
            wake = self.q.orphan_wake;
        }
        if !self.q.events.is_empty() {
            // Keep this tab's queue fresh, so no other tab takes it for a crashed one's.
            self.keep(false);
            if !(0..=ORPHAN_MS / 2).contains(&wake) {
                wake = ORPHAN_MS / 2;
            }
        }
        self.schedule(wake);
    }

    /// After an input or a call: new events need the send time worked out again.
    pub fn after(&mut self) {
        self.drain(self.now());
        if self.timer.is_none() || self.fresh {
            self.schedule(0);
        }
        self.fresh = false;
    }
}
