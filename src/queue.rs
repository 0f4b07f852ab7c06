//! The write-ahead queue. Every event is written to storage before it is sent and removed
//! once the backend acknowledged it. Each tab writes only its own key; the queue of a closed
//! or crashed tab is adopted (under a Web Lock, or a lease in storage) by the next tab that
//! sends, so every event is sent by one tab. Full or blocked storage falls back to memory.

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::visit::PREFIX;
use crate::{get, push_num, run, set, warned, Driver};

/// A tab's queue untouched for this long belongs to a closed or crashed tab.
pub const ORPHAN_MS: i32 = 10_000;

pub struct Queue {
    pub tab: String,
    /// This tab's storage key.
    pub own: String,
    /// Event JSON, oldest first.
    pub events: Vec<String>,
    /// Dropped for the budget or refused, reported on the next batch.
    pub dropped: u32,
    /// Storage failed: events live in memory.
    pub memory: bool,
    /// Page time the oldest waiting event was queued.
    pub oldest: f64,
    pub in_flight: bool,
    /// Events per request after a 413, until a delivery.
    pub limit: u32,
    /// When another tab's queue turns stale (ms from now), or -1.
    pub orphan_wake: i32,
    /// Queue changes, and the change last sent by `send_all`.
    pub version: u32,
    pub sent_version: u32,
    /// The events of the fetch in flight, which `send_all` leaves to it, and the drop count
    /// it reports.
    pub flying: Vec<String>,
    pub reported: u32,
    /// That fetch is keepalive: the browser finishes it if the page goes.
    pub flying_kept: bool,
    /// Chunks handed to keepalive fetches on the way out, put back if those fail while the
    /// page lives.
    pub handed: Vec<(u32, Vec<String>)>,
    pub serial: u32,
    /// pagehide came: the page is being left.
    pub leaving: bool,
}

impl Queue {
    pub fn new(tab: String) -> Queue {
        let mut own = String::from(PREFIX);
        own.push_str("q:");
        own.push_str(&tab);
        Queue {
            tab,
            own,
            events: Vec::new(),
            dropped: 0,
            memory: false,
            oldest: 0.0,
            in_flight: false,
            limit: u32::MAX,
            orphan_wake: -1,
            version: 0,
            sent_version: u32::MAX,
            flying: Vec::new(),
            reported: 0,
            flying_kept: false,
            handed: Vec::new(),
            serial: 0,
            leaving: false,
        }
    }

    /// Characters queued, as storage counts them.
    pub fn size(&self) -> usize {
        self.events.iter().map(|e| e.len()).sum()
    }
}

impl Driver {
    /// Writes this tab's queue. A closed queue is another tab's at once: without the events
    /// of a keepalive fetch in flight, which the browser delivers after the page is gone.
    pub fn keep(&mut self, closed: bool) {
        if self.q.memory {
            return;
        }
        let Some(storage) = self.storage.as_ref() else {
            return self.fall_back_to_memory("SecurityError".into());
        };
        let skip = closed && self.q.flying_kept;
        let kept: Vec<&String> = self
            .q
            .events
            .iter()
            .filter(|e| !(skip && self.q.flying.contains(e)))
            .collect();
        let result = if kept.is_empty() && self.q.dropped == 0 {
            storage.remove_item(&self.q.own)
        } else {
            // The events go in as they are (not as escaped strings), so the budget counts
            // what storage holds.
            let mut text = String::from("{\"t\":");
            push_num(
                &mut text,
                if closed {
                    0
                } else {
                    js_sys::Date::now() as u64
                },
            );
            text.push_str(",\"d\":");
            push_num(&mut text, self.q.dropped.into());
            text.push_str(",\"e\":[");
            for (i, e) in kept.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(e);
            }
            text.push_str("]}");
            storage.set_item(&self.q.own, &text)
        };
        if let Err(e) = result {
            self.fall_back_to_memory(get(&e, "name").as_string().unwrap_or_default());
        }
    }

    fn fall_back_to_memory(&mut self, why: String) {
        self.q.memory = true;
        let mut line = String::from("storage is full or blocked (");
        line.push_str(&why);
        line.push_str("); events are kept in memory");
        self.warn_once(warned::STORAGE, &line);
    }

    pub fn enqueue(&mut self, json: String) {
        self.fresh = true;
        self.q.version = self.q.version.wrapping_add(1);
        if self.q.events.is_empty() {
            self.q.oldest = self.perf_now();
        }
        self.q.events.push(json);
        while self.q.events.len() > 1 && self.delivery.over_budget(self.q.size() as u64) {
            self.q.events.remove(0);
            self.q.dropped += 1;
        }
        self.keep(false);
    }

    /// Takes over the queues of closed and crashed tabs; unreadable ones are discarded.
    pub fn adopt_queues(&mut self) {
        let mut taken: Vec<String> = Vec::new();
        let now = js_sys::Date::now();
        let stale = now - f64::from(ORPHAN_MS);
        self.q.orphan_wake = -1;
        let mut prefix = String::from(PREFIX);
        prefix.push_str("q:");
        if let Some(storage) = self.storage.clone() {
            let n = storage.length().unwrap_or(0);
            for i in (0..n).rev() {
                let Ok(Some(k)) = storage.key(i) else {
                    continue;
                };
                if !k.starts_with(&prefix) || k == self.q.own {
                    continue;
                }
                let text = storage.get_item(&k).ok().flatten().unwrap_or_default();
                let v = self.parse_json(&text);
                let events = get(&v, "e");
                let readable = Array::is_array(&events)
                    && events
                        .unchecked_ref::<Array>()
                        .iter()
                        .all(|x| get(&x, "id").is_string());
                if !readable {
                    let _ = storage.remove_item(&k);
                    self.warn_once(
                        warned::CORRUPT,
                        "discarded an unreadable event queue from storage",
                    );
                    continue;
                }
                let events: Array = events.unchecked_into();
                let t = get(&v, "t").as_f64().unwrap_or(f64::NAN);
                if t < stale {
                    for x in events.iter() {
                        if let Ok(json) = self.to_json(&x) {
                            taken.push(json);
                        }
                    }
                    let d = get(&v, "d").as_f64().unwrap_or(0.0);
                    if d > 0.0 {
                        self.q.dropped += d as u32;
                    }
                    let _ = storage.remove_item(&k);
                } else if events.length() > 0 {
                    // Another tab's, still fresh: look again when it would be stale.
                    let wait = (t - stale + 50.0) as i32;
                    if self.q.orphan_wake < 0 || wait < self.q.orphan_wake {
                        self.q.orphan_wake = wait;
                    }
                }
            }
        }
        if !taken.is_empty() {
            self.q.version = self.q.version.wrapping_add(1);
            taken.append(&mut self.q.events);
            self.q.events = taken;
            self.q.oldest = 0.0; // from earlier pages: due at once
            self.keep(false);
            if !self.q.in_flight {
                self.schedule(0);
            }
        } else if self.q.orphan_wake >= 0 && self.timer.is_none() {
            self.schedule(self.q.orphan_wake);
        }
    }

    /// Adopts under the `rapport:adopt` Web Lock when the browser has Web Locks, else under
    /// a lease in storage.
    pub fn adopt_locked(&mut self) {
        if self.q.in_flight || self.q.memory {
            return;
        }
        let locks = get(&self.w.navigator(), "locks");
        if locks.is_object() {
            let request = get(&locks, "request");
            if let Ok(request) = request.dyn_into::<Function>() {
                let options = js_sys::Object::new();
                set(&options, "ifAvailable", &JsValue::TRUE);
                let granted: crate::Then = Box::new(|lock: JsValue| {
                    if !lock.is_null() && !lock.is_undefined() {
                        run(Box::new(|d| d.adopt_queues()));
                    }
                    JsValue::UNDEFINED
                });
                let granted = Closure::once_into_js(granted);
                if let Ok(p) = request.call3(
                    &locks,
                    &JsValue::from_str("rapport:adopt"),
                    &options,
                    &granted,
                ) {
                    crate::then(&p, crate::ignore(), crate::ignore());
                }
                return;
            }
        }
        // No Web Locks: a lease in storage.
        let Some(storage) = self.storage.clone() else {
            return;
        };
        let key = "rapport:lease";
        let now = js_sys::Date::now();
        let lease = self.parse_json(&storage.get_item(key).ok().flatten().unwrap_or_default());
        let holder = get(&lease, "tab").as_string();
        if holder.as_deref().is_some_and(|t| t != self.q.tab)
            && get(&lease, "until").as_f64().is_some_and(|u| u > now)
        {
            return;
        }
        let mine = js_sys::Object::new();
        set(&mine, "tab", &JsValue::from_str(&self.q.tab));
        set(
            &mine,
            "until",
            &JsValue::from_f64(now + f64::from(ORPHAN_MS)),
        );
        let Ok(text) = self.to_json(&mine) else {
            return;
        };
        if storage.set_item(key, &text).is_err() {
            return;
        }
        let read = self.parse_json(&storage.get_item(key).ok().flatten().unwrap_or_default());
        if get(&read, "tab").as_string().as_deref() == Some(self.q.tab.as_str()) {
            self.adopt_queues();
        }
    }
}
