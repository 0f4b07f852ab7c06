//! Rapport's tracker stage: the WebAssembly half of the widget that every page loads.
//!
//! The loader (`www/rapport.js`, the widget's only hand-written JavaScript) keeps the calls
//! made while loading, then calls [`start`]. From there everything is Rust: the [`Engine`]
//! (the rules of `rapport-core`) decides sessions, pageviews, engaged time, scroll
//! milestones and when to wake; [`Delivery`] decides when to send and what a response means;
//! this crate carries out their commands through web-sys and js-sys: ids, events, storage,
//! the wire and the network.
//!
//! Nothing here may throw into the host page. Every call into the page's JavaScript that
//! can throw goes through a `catch` binding and its error is handled; nothing panics (a
//! panic would trap). The driver's state lives in one `RefCell`; every entry point (each API
//! call, each listener, the timer, each promise callback) runs through [`run`], which queues
//! a call that arrives while another runs (a page hook calling back in) and runs it next, so
//! no borrow is ever contended. Objects built from the page's input have no prototype, so
//! no property name can reach a frozen or polluted built-in one.
//!
//! Listeners and the one timer are owned (`gloo-events`, `gloo-timers`): [`Driver::teardown`]
//! drops them, which detaches everything.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Object, Reflect};
use rapport_core::{Delivery, Engine};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Performance, Storage, Window};

mod calls;
mod config;
mod page;
mod queue;
mod send;
mod ui;
mod visit;

use config::Settings;

// A small allocator: dlmalloc would be a sizeable part of the module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The browser functions the driver calls that may throw, bound with `catch` so that an
/// exception (a host page's replacement, a proxy's trap) comes back as an error.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = console, js_name = warn)]
    fn console_warn(message: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = console, js_name = error)]
    fn console_error(message: &str) -> Result<(), JsValue>;
    /// `String(value)`, for messages that name an error.
    #[wasm_bindgen(catch, js_name = String)]
    fn js_string(value: &JsValue) -> Result<String, JsValue>;
    /// `fetch(url, init)`: a host page may have replaced it with one that throws.
    #[wasm_bindgen(catch)]
    fn fetch(url: &str, init: &JsValue) -> Result<JsValue, JsValue>;
    /// Anything with a `then`: the promises of fetch, import() and the UI stage.
    type Thenable;
    #[wasm_bindgen(catch, method, js_name = then)]
    fn then2(this: &Thenable, ok: &JsValue, failed: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = navigator, js_name = sendBeacon)]
    fn send_beacon(url: &str, data: &str) -> Result<bool, JsValue>;
    /// `AbortSignal.timeout(ms)`, where the browser has it.
    #[wasm_bindgen(catch, js_namespace = AbortSignal, js_name = timeout)]
    fn abort_after(ms: u32) -> Result<web_sys::AbortSignal, JsValue>;
    /// `Object.keys(value)`: a proxy's `ownKeys` trap may throw.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;
}

/// The callbacks' one shape: a value in, a value out (for promise chains).
pub(crate) type Then = Box<dyn FnOnce(JsValue) -> JsValue>;

/// `p.then(ok, failed)`; the promise it makes, or undefined when `p` has no `then`.
pub(crate) fn then(p: &JsValue, ok: Then, failed: Then) -> JsValue {
    let ok = Closure::once_into_js(ok);
    let failed = Closure::once_into_js(failed);
    p.unchecked_ref::<Thenable>()
        .then2(&ok, &failed)
        .unwrap_or(JsValue::UNDEFINED)
}

/// A callback that ignores what it gets.
pub(crate) fn ignore() -> Then {
    Box::new(|_| JsValue::UNDEFINED)
}

/// `String(value)`, or a placeholder when even that throws.
pub(crate) fn text_of(value: &JsValue) -> String {
    js_string(value).unwrap_or_else(|_| "an error".into())
}

/// One console line prefixed `rapport: `; `error` for a failure, else a warning.
pub(crate) fn log(message: &str, error: bool) {
    let mut line = String::from("rapport: ");
    line.push_str(message);
    let _ = if error {
        console_error(&line)
    } else {
        console_warn(&line)
    };
}

/// `target[key]`, undefined when it is not an object or reading throws.
pub(crate) fn get(target: &JsValue, key: &str) -> JsValue {
    if !target.is_object() && !target.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key] = value` on an object of ours.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// An object without a prototype.
pub(crate) fn bare() -> Object {
    Object::create(JsValue::NULL.unchecked_ref())
}

/// A whole number of milliseconds as the engine takes it.
pub(crate) fn ms(t: f64) -> rapport_core::Millis {
    rapport_core::Millis::from_js(t)
}

/// Appends `n` in decimal.
pub(crate) fn push_num(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[at..] {
        out.push(char::from(*d));
    }
}

/// A call into the driver, run on its state.
type Job = Box<dyn FnOnce(&mut Driver)>;

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
    static JOBS: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `job` on the driver, unless it was stopped. A call that arrives while another runs
/// (a page hook or the UI stage calling back in) runs right after it, in order. After each
/// job, the UI stage hears the events it emitted, with the driver's state released so that
/// the stage may read the facts or track in turn.
pub(crate) fn run(job: Job) {
    if RUNNING.with(|r| r.replace(true)) {
        JOBS.with(|jobs| jobs.borrow_mut().push_back(job));
        return;
    }
    step(job);
    drain_jobs();
}

/// An event for the driver: handled at once, with no job made, unless a job is running
/// (an event the driver's own call dispatched), when it waits its turn with its own
/// reference to the event. This is the hot path of input and scroll events.
pub(crate) fn run_event(f: fn(&mut Driver, &web_sys::Event), e: &web_sys::Event) {
    if RUNNING.with(|r| r.replace(true)) {
        let e = e.clone();
        JOBS.with(|jobs| jobs.borrow_mut().push_back(Box::new(move |d| f(d, &e))));
        return;
    }
    step(|d| f(d, e));
    drain_jobs();
}

/// Runs the jobs that arrived while one ran, in order, then lets the next call in.
fn drain_jobs() {
    while let Some(job) = JOBS.with(|jobs| jobs.borrow_mut().pop_front()) {
        step(job);
    }
    RUNNING.with(|r| r.set(false));
}

/// One job on the driver, then the UI stage hears the events it emitted.
fn step(job: impl FnOnce(&mut Driver)) {
    let heard = DRIVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = slot.as_mut()?;
        if d.dead {
            return None;
        }
        job(d);
        if d.notify.is_empty() {
            return None;
        }
        let names = std::mem::take(&mut d.notify);
        Some((d.heard.clone()?, names))
    });
    if let Some((heard, names)) = heard {
        for name in names {
            // A prompt failed: tracking goes on.
            let _ = heard.call1(&JsValue::UNDEFINED, &JsValue::from_str(&name));
        }
    }
}

/// Reads the driver's state outside a job (the UI stage's `facts()`); `None` while a job
/// runs or once tracking stopped.
pub(crate) fn peek<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    DRIVER.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        slot.as_mut().filter(|d| !d.dead).map(f)
    })
}

/// Everything the tracker holds for this page.
pub(crate) struct Driver {
    pub w: Window,
    pub doc: Document,
    pub perf: Performance,
    /// `localStorage`, unless the page cannot have it.
    pub storage: Option<Storage>,
    /// The loader's `window.rapport`.
    pub api: Object,
    pub script: Element,
    /// `JSON.parse` and `JSON.stringify` as the loader found them, before page scripts could
    /// replace them.
    pub parse: Function,
    pub stringify: Function,
    /// The loader's `import()`, for the UI stage.
    pub import: Function,
    pub cfg: Settings,
    pub engine: Engine,
    pub delivery: Delivery,
    pub v: visit::VisitState,
    pub q: queue::Queue,
    /// The UI stage's listener, event names from before it came, and names it has yet to hear.
    pub heard: Option<Function>,
    pub missed: Vec<String>,
    pub notify: Vec<String>,
    /// Warnings given once: bits of [`Warned`].
    pub warned: u8,
    pub dead: bool,
    /// The one timer: the engine's next wake or the next send.
    pub timer: Option<Timeout>,
    pub fresh: bool,
    pub page: page::PageState,
    pub listeners: Vec<EventListener>,
    pub ui_stop: Option<Function>,
}

/// Warnings given at most once per page.
pub(crate) mod warned {
    pub const STORAGE: u8 = 1;
    pub const CORRUPT: u8 = 2;
    pub const BEFORE_SEND: u8 = 4;
    pub const LARGE: u8 = 8;
    pub const REFUSED: u8 = 16;
}

impl Driver {
    /// `String(JSON.stringify(value))` with the loader's function.
    pub fn to_json(&self, value: &JsValue) -> Result<String, JsValue> {
        self.stringify
            .call1(&JsValue::UNDEFINED, value)?
            .as_string()
            .ok_or(JsValue::UNDEFINED)
    }

    /// `JSON.parse(text)` with the loader's function; undefined when it is not JSON.
    pub fn parse_json(&self, text: &str) -> JsValue {
        self.parse
            .call1(&JsValue::UNDEFINED, &JsValue::from_str(text))
            .unwrap_or(JsValue::UNDEFINED)
    }

    pub fn now(&self) -> f64 {
        js_sys::Date::now()
    }

    pub fn perf_now(&self) -> f64 {
        self.perf.now()
    }

    pub fn warn_once(&mut self, which: u8, message: &str) {
        if self.warned & which == 0 {
            self.warned |= which;
            log(message, false);
        }
    }

    /// Reports an exception from the page's JavaScript that cost one call.
    pub fn failed(&self, what: &str, error: &JsValue) {
        let mut line = String::from(what);
        line.push_str(" failed: ");
        line.push_str(&text_of(error));
        log(&line, true);
    }
}

/// Starts tracking. `api` is the loader's `window.rapport`, `early` the calls made before
/// now as `[name, [wall time, page time, ...arguments]]`, `script` the script tag, `json`
/// the JSON methods as the loader found them, `import` the loader's `import()`. Returns
/// false after one console error naming the field when the config is bad; an error thrown
/// here (a broken `JSON.stringify`) is the loader's to report.
#[wasm_bindgen]
pub fn start(
    api: Object,
    early: Array,
    script: Element,
    json: JsValue,
    import: Function,
) -> Result<bool, JsValue> {
    let Some(w) = web_sys::window() else {
        return Ok(false);
    };
    let Some(doc) = w.document() else {
        return Ok(false);
    };
    let perf = w.performance().ok_or(JsValue::UNDEFINED)?;
    let Some((cfg, delivery_config)) = config::read(&script, &w) else {
        return Ok(false);
    };
    let stringify: Function = get(&json, "stringify").dyn_into()?;
    let parse: Function = get(&json, "parse").dyn_into()?;
    let storage = w.local_storage().ok().flatten();
    let engine = Engine::new(cfg.engine, None);
    let delivery = Delivery::new(delivery_config);
    let driver = Driver {
        q: queue::Queue::new(visit::uuid(&w)),
        v: visit::VisitState::default(),
        page: page::PageState::default(),
        w,
        doc,
        perf,
        storage,
        api,
        script,
        parse,
        stringify,
        import,
        cfg,
        engine,
        delivery,
        heard: None,
        missed: Vec::new(),
        notify: Vec::new(),
        warned: 0,
        dead: false,
        timer: None,
        fresh: false,
        listeners: Vec::new(),
        ui_stop: None,
    };
    DRIVER.with(|cell| *cell.borrow_mut() = Some(driver));
    // The boot runs as one job; its first event is the first use of JSON.stringify, whose
    // failure stops the tracker before anything is attached.
    let booted = std::rc::Rc::new(RefCell::new(Ok(())));
    let result = booted.clone();
    run(Box::new(move |d| *result.borrow_mut() = d.boot()));
    let outcome = booted.replace(Ok(()));
    if let Err(e) = outcome {
        DRIVER.with(|cell| *cell.borrow_mut() = None);
        return Err(e);
    }
    // Each call made while loading is replayed on its own: a bad one costs only itself.
    for call in early.iter() {
        let name = get(&call, "0").as_string().unwrap_or_default();
        let args: Array = get(&call, "1").dyn_into().unwrap_or_default();
        run(Box::new(move |d| d.call(&name, &args)));
    }
    let alive = peek(|_| ()).is_some();
    if alive {
        run(Box::new(|d| d.attach()));
    }
    Ok(true)
}

/// `array[array.length] = value`: not `Array.prototype.push`, which a host page may have
/// replaced.
pub(crate) fn append(array: &Array, value: &JsValue) {
    array.set(array.length(), value.clone());
}
