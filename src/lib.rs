//! Rapport's tracker stage: the WebAssembly half of the widget that every page loads.
//!
//! The module holds one [`Engine`] (the rules of `rapport-core`) and exports it to the
//! browser driver (`src/driver.js`) through numbers only: inputs go in with the wall clock
//! and the page clock passed in, and the driver drains the resulting commands with [`next`]
//! and [`arg`]. No strings cross, so the module needs no string marshalling, and the hot
//! paths (scroll, input) allocate nothing on either side. The driver owns ids, URLs,
//! properties, storage, the wire encoding and the network.
//!
//! Without the default `std` feature (the embeddable build) the crate is `no_std` with a
//! panic handler that traps (the driver catches the trap), so no formatting code is linked.

#![cfg_attr(not(feature = "std"), no_std)]

use rapport_core::{
    Command, Delivery, DeliveryConfig, Engine, EngineConfig, Millis, Outcome, Verdict, Visit,
};
use wasm_bindgen::prelude::*;

// Nothing here allocates; the core's wire types (collector only) need `alloc` to link.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// A panic is a bug: trap, and the driver stops the widget.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Command codes for [`next`], in the order of [`Command`].
pub const CMD_NONE: u8 = 0;
pub const CMD_NEW_VISITOR: u8 = 1;
pub const CMD_NEW_SESSION: u8 = 2;
pub const CMD_NEW_PAGEVIEW: u8 = 3;
pub const CMD_PAGE_VIEW: u8 = 4;
/// Args: engaged ms, scroll max, bounce, session engaged ms, session pageviews, key event.
pub const CMD_ENGAGEMENT: u8 = 5;
/// Arg: depth.
pub const CMD_MILESTONE: u8 = 6;
pub const CMD_PERSIST: u8 = 7;

/// Page signals for [`signal`].
pub const SIGNAL_INPUT: u8 = 1;
pub const SIGNAL_VISIBLE: u8 = 2;
pub const SIGNAL_HIDDEN: u8 = 3;
pub const SIGNAL_FOCUS: u8 = 4;
pub const SIGNAL_BLUR: u8 = 5;
pub const SIGNAL_SCROLL: u8 = 6;
pub const SIGNAL_HEIGHT: u8 = 7;
pub const SIGNAL_LEAVE: u8 = 8;

struct State {
    engine: Engine,
    delivery: Delivery,
    /// The arguments of the command [`next`] returned last.
    args: [f64; 6],
}

static STATE: spin::Mutex<Option<State>> = spin::Mutex::new(None);

/// Runs `f` on the engine. A failed `try_lock` means re-entry (a host hook calling back in
/// while the engine runs); that call is dropped rather than waited for.
fn with<R>(default: R, f: impl FnOnce(&mut State) -> R) -> R {
    match STATE.try_lock() {
        Some(mut guard) => guard.as_mut().map_or(default, f),
        None => default,
    }
}

/// A whole number in `[min, max]`; NaN (the attribute is absent) gives `default`.
fn option(value: f64, min: f64, max: f64, default: u64) -> Option<u64> {
    if value.is_nan() {
        Some(default)
    } else if value >= min && value <= max && value == (value as u64) as f64 {
        Some(value as u64)
    } else {
        None
    }
}

/// Starts the engine with the script tag's optional settings (NaN when absent):
/// `data-session-timeout` (minutes, 1–240, default 30), `data-session-max` (hours, 1–72,
/// default 24), `data-idle-timeout` (seconds, 5–600, default 30) and `data-attribution-days`
/// (0–365, default 30). Returns 0, or the 1-based position of the first bad setting.
#[wasm_bindgen]
pub fn init(
    session_timeout: f64,
    session_max: f64,
    idle_timeout: f64,
    attribution_days: f64,
) -> u8 {
    let mut config = EngineConfig::default();
    let Some(minutes) = option(session_timeout, 1.0, 240.0, 30) else {
        return 1;
    };
    let Some(hours) = option(session_max, 1.0, 72.0, 24) else {
        return 2;
    };
    let Some(idle) = option(idle_timeout, 5.0, 600.0, 30) else {
        return 3;
    };
    let Some(days) = option(attribution_days, 0.0, 365.0, 30) else {
        return 4;
    };
    config.session.idle_timeout = Millis::from_mins(minutes);
    config.session.max_duration = Millis::from_hours(hours);
    config.engage.idle = Millis::from_secs(idle);
    config.attribution_window = Millis::from_hours(24 * days);
    if let Some(mut slot) = STATE.try_lock() {
        *slot = Some(State {
            engine: Engine::new(config, None),
            delivery: Delivery::new(DeliveryConfig::default()),
            args: [0.0; 6],
        });
    }
    0
}

/// The visit found in storage (or written by another tab); the engine keeps it when it is
/// newer than its own, and the answer says whether it did (then the driver takes the stored
/// ids too). `same_session`: its session id is the one this page uses.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn restore(
    first_seen: f64,
    visit_count: f64,
    session_started: f64,
    last_activity: f64,
    pageviews: f64,
    engaged_ms: f64,
    key_event: bool,
    same_session: bool,
) -> bool {
    let visit = Visit {
        first_seen: Millis::from_js(first_seen),
        visit_count: Millis::from_js(visit_count).0.min(u32::MAX.into()) as u32,
        session_started: Millis::from_js(session_started),
        last_activity: Millis::from_js(last_activity),
        pageviews: Millis::from_js(pageviews).0.min(u32::MAX.into()) as u32,
        engaged_ms: Millis::from_js(engaged_ms).0,
        key_event,
    };
    with(false, |s| s.engine.adopt(visit, same_session))
}

/// A page view (`new_campaign`: the URL's campaign differs from the session's).
#[wasm_bindgen]
pub fn page(now: f64, perf: f64, new_campaign: bool) {
    with((), |s| {
        s.engine
            .on_page_view(Millis::from_js(now), Millis::from_js(perf), new_campaign)
    });
}

/// A custom event; `key` when its name is a key event.
#[wasm_bindgen]
pub fn event(now: f64, key: bool) {
    with((), |s| s.engine.on_event(Millis::from_js(now), key));
}

/// A page signal (`SIGNAL_*`) at wall time `now` and page time `perf` (`performance.now()`). Scroll passes
/// `scrollY + innerHeight` and `innerHeight` as `a` and `b`; height passes the document
/// height, `scrollY + innerHeight` and `innerHeight`.
#[wasm_bindgen]
pub fn signal(kind: u8, now: f64, perf: f64, a: f64, b: f64, c: f64) {
    with((), |s| {
        let (e, now, perf) = (&mut s.engine, Millis::from_js(now), Millis::from_js(perf));
        match kind {
            SIGNAL_INPUT => e.on_input(perf),
            SIGNAL_VISIBLE => e.on_visibility(now, perf, true),
            SIGNAL_HIDDEN => e.on_visibility(now, perf, false),
            SIGNAL_FOCUS => e.on_focus(perf, true),
            SIGNAL_BLUR => e.on_focus(perf, false),
            SIGNAL_SCROLL => e.on_scroll(now, perf, a, b),
            SIGNAL_HEIGHT => e.on_height(now, a, b, c),
            SIGNAL_LEAVE => e.on_leave(now, perf),
            _ => {}
        }
    });
}

/// Runs what is due (the heartbeat) and returns the milliseconds until the driver should
/// call again, or -1 for never (hidden, blurred or idle: input restarts the timer).
#[wasm_bindgen]
pub fn timer(now: f64, perf: f64) -> i32 {
    with(-1, |s| {
        match s
            .engine
            .on_timer(Millis::from_js(now), Millis::from_js(perf))
        {
            Some(wait) => wait.0.min(i32::MAX as u64) as i32,
            None => -1,
        }
    })
}

/// The current pageview's engaged ms at `perf` (`i` = 0) or deepest scroll in percent (1):
/// facts for the prompts' triggers.
#[wasm_bindgen]
pub fn fact(i: u8, perf: f64) -> f64 {
    with(0.0, |s| {
        let (engaged, scroll) = s.engine.page_facts(Millis::from_js(perf));
        if i == 0 {
            engaged.0 as f64
        } else {
            scroll.into()
        }
    })
}

/// The next command (`CMD_*`), `CMD_NONE` when there is none; its numbers via [`arg`].
#[wasm_bindgen]
pub fn next() -> u8 {
    with(CMD_NONE, |s| {
        let (code, args) = match s.engine.poll() {
            None => return CMD_NONE,
            Some(Command::NewVisitor) => (CMD_NEW_VISITOR, [0.0; 6]),
            Some(Command::NewSession) => (CMD_NEW_SESSION, [0.0; 6]),
            Some(Command::NewPageview) => (CMD_NEW_PAGEVIEW, [0.0; 6]),
            Some(Command::PageView) => (CMD_PAGE_VIEW, [0.0; 6]),
            Some(Command::Engagement {
                engaged_ms,
                scroll_max,
                bounce,
                session_engaged_ms,
                session_pageviews,
                key_event,
            }) => (
                CMD_ENGAGEMENT,
                [
                    engaged_ms as f64,
                    scroll_max.into(),
                    f64::from(u8::from(bounce)),
                    session_engaged_ms as f64,
                    session_pageviews.into(),
                    f64::from(u8::from(key_event)),
                ],
            ),
            Some(Command::Milestone(depth)) => {
                (CMD_MILESTONE, [depth.into(), 0.0, 0.0, 0.0, 0.0, 0.0])
            }
            Some(Command::Persist) => (CMD_PERSIST, [0.0; 6]),
        };
        s.args = args;
        code
    })
}

/// Argument `i` of the command [`next`] returned last.
#[wasm_bindgen]
pub fn arg(i: u8) -> f64 {
    with(0.0, |s| s.args.get(usize::from(i)).copied().unwrap_or(0.0))
}

/// Visit number `i` for persisting: first seen, visit count, session start, last activity,
/// pageviews, engaged ms, key event (0/1).
#[wasm_bindgen]
pub fn visit(i: u8) -> f64 {
    with(0.0, |s| {
        let Some(v) = s.engine.visit() else {
            return 0.0;
        };
        match i {
            0 => v.first_seen.0 as f64,
            1 => v.visit_count.into(),
            2 => v.session_started.0 as f64,
            3 => v.last_activity.0 as f64,
            4 => v.pageviews.into(),
            5 => v.engaged_ms as f64,
            6 => f64::from(u8::from(v.key_event)),
            _ => 0.0,
        }
    })
}

/// Whether the visitor had an earlier session.
#[wasm_bindgen]
pub fn returning() -> bool {
    with(false, |s| s.engine.returning())
}

/// Whether attribution captured at `captured` (wall ms) is still attached at `now`.
#[wasm_bindgen]
pub fn attribution_valid(now: f64, captured: f64) -> bool {
    with(false, |s| {
        s.engine
            .attribution_valid(Millis::from_js(now), Millis::from_js(captured))
    })
}

/// Delivery settings from the script tag (NaN when absent), clamped to sane ranges:
/// events and bytes per batch, the longest wait of an unsent event (ms), the queue's budget
/// (bytes), and the first and the largest retry backoff (ms).
#[wasm_bindgen]
pub fn delivery_init(
    max_events: f64,
    max_bytes: f64,
    max_wait: f64,
    budget: f64,
    backoff_base: f64,
    backoff_cap: f64,
) {
    let d = DeliveryConfig::default();
    let or = |v: f64, default: u64| {
        if v.is_nan() {
            default
        } else {
            Millis::from_js(v).0
        }
    };
    let config = DeliveryConfig {
        max_events: or(max_events, d.max_events.into()).min(u32::MAX.into()) as u32,
        max_bytes: or(max_bytes, d.max_bytes.into()).min(u32::MAX.into()) as u32,
        max_wait: Millis(or(max_wait, d.max_wait.0)),
        budget_bytes: or(budget, d.budget_bytes.into()).min(u32::MAX.into()) as u32,
        backoff_base: Millis(or(backoff_base, d.backoff_base.0)),
        backoff_cap: Millis(or(backoff_cap, d.backoff_cap.0)),
        retry_after_cap: d.retry_after_cap,
    };
    with((), |s| s.delivery = Delivery::new(config));
}

/// When to send the waiting events (`events` of `bytes` in all, the oldest queued at page
/// time `oldest`; `hiding`: the page is being hidden or left): 0 now, a wait in ms, or -1
/// for not now (nothing waiting, or offline).
#[wasm_bindgen]
pub fn due(perf: f64, events: u32, bytes: u32, oldest: f64, hiding: bool) -> i32 {
    with(-1, |s| {
        match s.delivery.due(
            Millis::from_js(perf),
            events,
            bytes,
            Millis::from_js(oldest),
            hiding,
        ) {
            Some(wait) => wait.0.min(i32::MAX as u64) as i32,
            None => -1,
        }
    })
}

/// Verdicts of [`outcome`].
pub const SENT_DELIVERED: u8 = 1;
pub const SENT_RETRY: u8 = 2;
pub const SENT_SPLIT: u8 = 3;
pub const SENT_DROP: u8 = 4;

/// How a send ended at page time `perf`: `status` 0 for a network error or timeout,
/// `retry_after` in seconds or NaN, `jitter` uniform in [0, 1]. Returns a `SENT_*` verdict;
/// after `SENT_RETRY`, [`due`] says when.
#[wasm_bindgen]
pub fn outcome(perf: f64, status: u16, retry_after: f64, jitter: f64) -> u8 {
    let outcome = if status == 0 {
        Outcome::Failed
    } else {
        Outcome::Status {
            code: status,
            retry_after: (retry_after >= 0.0)
                .then(|| Millis::from_js(retry_after).0.min(u32::MAX.into()) as u32),
        }
    };
    with(SENT_RETRY, |s| {
        match s
            .delivery
            .on_outcome(Millis::from_js(perf), outcome, jitter)
        {
            Verdict::Delivered => SENT_DELIVERED,
            Verdict::Retry(_) => SENT_RETRY,
            Verdict::Split => SENT_SPLIT,
            Verdict::Drop => SENT_DROP,
        }
    })
}

/// `online` / `offline`.
#[wasm_bindgen]
pub fn online(on: bool) {
    with((), |s| s.delivery.set_online(on));
}

/// Whether a queue of `bytes` is over the budget (drop the oldest and count them).
#[wasm_bindgen]
pub fn over_budget(bytes: f64) -> bool {
    with(false, |s| s.delivery.over_budget(Millis::from_js(bytes).0))
}

/// Events per batch, as configured.
#[wasm_bindgen]
pub fn batch_size() -> u32 {
    with(50, |s| s.delivery.config().max_events)
}

/// The experiment assignment under way: [`exp_start`], the key's bytes ([`exp_byte`]), the
/// weights ([`exp_weight`]), then [`exp_pick`]. Bytes go in one call each, so no string
/// crosses and nothing is allocated.
static ASSIGN: spin::Mutex<rapport_core::experiment::Assigner> =
    spin::Mutex::new(rapport_core::experiment::Assigner::new());

/// Starts an assignment.
#[wasm_bindgen]
pub fn exp_start() {
    if let Some(mut a) = ASSIGN.try_lock() {
        *a = rapport_core::experiment::Assigner::new();
    }
}

/// One byte of the key: the visitor id's UTF-8, a 0 byte, the experiment id's.
#[wasm_bindgen]
pub fn exp_byte(b: u8) {
    if let Some(mut a) = ASSIGN.try_lock() {
        a.byte(b);
    }
}

/// The next variant's weight.
#[wasm_bindgen]
pub fn exp_weight(w: f64) {
    if let Some(mut a) = ASSIGN.try_lock() {
        a.weight(w);
    }
}

/// The visitor's variant (0-based), or -1 when the weights cannot pick one.
#[wasm_bindgen]
pub fn exp_pick() -> i32 {
    ASSIGN
        .try_lock()
        .and_then(|a| a.pick())
        .map_or(-1, |i| i as i32)
}
