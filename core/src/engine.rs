//! The tracker's decisions: visitors, sessions, pageviews, engagement, scroll and bounce.
//!
//! [`Engine`] is sans-IO and allocation-free. The browser driver feeds it what happened
//! (`on_*`), with the wall clock (`now`, for sessions) and the page's monotonic clock
//! (`perf`, for engaged time) passed in, and carries out the [`Command`]s it hands back from
//! [`Engine::poll`]: draw an id, emit an event, persist the visit. The driver owns every
//! string (ids, URLs, names, properties) and the wire encoding; the engine owns every rule.

use crate::engage::{EngageRule, Engagement, MILESTONES};
use crate::session::SessionRule;
use crate::time::Millis;

/// The numbers that make a visitor's state, persisted by the driver between pages and
/// shared by the tabs of an origin. Ids are drawn and kept by the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Visit {
    pub first_seen: Millis,
    /// Sessions this visitor has started, the current one included.
    pub visit_count: u32,
    pub session_started: Millis,
    pub last_activity: Millis,
    pub pageviews: u32,
    /// Engaged time reported by the session's pageviews so far.
    pub engaged_ms: u64,
    /// A key event (e.g. `purchase`) happened in the session.
    pub key_event: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub session: SessionRule,
    pub engage: EngageRule,
    /// Engaged time that makes a session engaged (not a bounce).
    pub bounce_engaged: Millis,
    /// Pageviews that make a session engaged.
    pub bounce_pageviews: u32,
    /// How long attribution from a landing URL stays attached to events.
    pub attribution_window: Millis,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            session: SessionRule::default(),
            engage: EngageRule::default(),
            bounce_engaged: Millis::from_secs(10),
            bounce_pageviews: 2,
            attribution_window: Millis::from_hours(24 * 30),
        }
    }
}

/// What the driver must do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Draw a new visitor id: this browser is new (or its state was lost).
    NewVisitor,
    /// Draw a new session id.
    NewSession,
    /// Draw a new pageview id.
    NewPageview,
    /// Emit `page_view` for the current pageview.
    PageView,
    /// Emit `page_engagement`: the pageview's running totals, and the session's bounce
    /// verdict with the signals behind it, so a backend can apply its own definition.
    Engagement {
        engaged_ms: u64,
        scroll_max: u8,
        bounce: bool,
        session_engaged_ms: u64,
        session_pageviews: u32,
        key_event: bool,
    },
    /// Emit `scroll_milestone` for a depth in percent.
    Milestone(u8),
    /// The visit numbers changed: persist them.
    Persist,
}

/// Room for the commands one input can produce (a page view after a hidden pageview: six;
/// a scroll to the bottom: five milestones and a persist).
const QUEUE: usize = 16;

pub struct Engine {
    config: EngineConfig,
    visit: Option<Visit>,
    page: Option<Engagement>,
    /// Whether this pageview reported engagement yet, and the deepest scroll it reported.
    reported: bool,
    reported_scroll: u8,
    visible: bool,
    focused: bool,
    /// Document height, viewport bottom and viewport height, as last seen: a new pageview
    /// (a client-side navigation) starts from the height and viewport, as no resize may
    /// follow.
    view: (f64, f64, f64),
    queue: [Option<Command>; QUEUE],
    head: usize,
    len: usize,
}

impl Engine {
    /// Starts from the visit the driver found in storage, if any.
    pub fn new(config: EngineConfig, stored: Option<Visit>) -> Self {
        Engine {
            config,
            visit: stored,
            page: None,
            reported: false,
            reported_scroll: 0,
            visible: true,
            focused: true,
            view: (0.0, 0.0, 0.0),
            queue: [None; QUEUE],
            head: 0,
            len: 0,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn visit(&self) -> Option<&Visit> {
        self.visit.as_ref()
    }

    /// Whether the visitor had an earlier session: every event says so.
    pub fn returning(&self) -> bool {
        self.visit.is_some_and(|v| v.visit_count > 1)
    }

    /// The next command, oldest first.
    pub fn poll(&mut self) -> Option<Command> {
        if self.len == 0 {
            return None;
        }
        let command = self.queue.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        command
    }

    fn push(&mut self, command: Command) {
        // The driver drains after every input, so the queue never holds more than one
        // input's commands; should it fill, the oldest is dropped rather than panicking.
        if self.len == QUEUE {
            self.poll();
        }
        if let Some(slot) = self.queue.get_mut((self.head + self.len) % QUEUE) {
            *slot = Some(command);
            self.len += 1;
        }
    }

    /// Takes over the visit another tab (or an earlier page) stored, when it is newer than
    /// ours, and says whether it did. `same_session` says whether the stored session id is
    /// the one this page uses.
    pub fn adopt(&mut self, stored: Visit, same_session: bool) -> bool {
        let newer = match &self.visit {
            None => true,
            Some(mine) if same_session => {
                (stored.pageviews, stored.engaged_ms, stored.last_activity)
                    >= (mine.pageviews, mine.engaged_ms, mine.last_activity)
            }
            Some(mine) => stored.last_activity > mine.last_activity,
        };
        if newer {
            self.visit = Some(stored);
        }
        newer
    }

    /// Whether attribution captured at `captured` is still attached at `now`.
    pub fn attribution_valid(&self, now: Millis, captured: Millis) -> bool {
        now.since(captured) < self.config.attribution_window
    }

    /// Records activity at `now`, starting a visitor and a session when needed.
    fn touch(&mut self, now: Millis) {
        let rule = self.config.session;
        let mut visit = match self.visit {
            Some(v) => v,
            None => {
                self.push(Command::NewVisitor);
                Visit {
                    first_seen: now,
                    ..Visit::default()
                }
            }
        };
        let live = visit.visit_count > 0
            && rule.is_live((visit.session_started, visit.last_activity), now);
        if !live {
            self.push(Command::NewSession);
            visit.visit_count = visit.visit_count.saturating_add(1);
            visit.session_started = now;
            visit.pageviews = 0;
            visit.engaged_ms = 0;
            visit.key_event = false;
        }
        visit.last_activity = visit.last_activity.max(now);
        self.visit = Some(visit);
    }

    /// Activity at `now` that extends the current session if it is still live, without
    /// starting one: an engagement report or a milestone belongs to its pageview's session.
    fn keep_alive(&mut self, now: Millis) {
        let rule = self.config.session;
        if let Some(v) = self.visit.as_mut() {
            if v.visit_count > 0 && rule.is_live((v.session_started, v.last_activity), now) {
                v.last_activity = v.last_activity.max(now);
            }
        }
    }

    /// A page view at wall time `now` and page time `perf`: the initial load, a client-side
    /// navigation or `rapport.page()`. `new_campaign`: the URL carries a campaign other than
    /// the session's, which starts a new session. The previous pageview's engagement is
    /// reported first.
    pub fn on_page_view(&mut self, now: Millis, perf: Millis, new_campaign: bool) {
        self.report(now, perf);
        if new_campaign {
            if let Some(v) = self.visit.as_mut() {
                v.last_activity = Millis(0);
                v.session_started = Millis(0);
            }
        }
        self.touch(now);
        self.page = Some(Engagement::new(
            self.config.engage,
            perf,
            self.visible,
            self.focused,
        ));
        self.reported = false;
        self.reported_scroll = 0;
        self.push(Command::NewPageview);
        self.push(Command::PageView);
        if let Some(v) = self.visit.as_mut() {
            v.pageviews = v.pageviews.saturating_add(1);
        }
        self.push(Command::Persist);
        // Apps scroll a new route to the top after navigating; start the pageview there.
        let (height, _, viewport) = self.view;
        if height > 0.0 {
            self.on_height(now, height, viewport, viewport);
        }
    }

    /// A custom event at `now`; `key` when its name is one of the key events. The driver
    /// emits it after draining the commands this produced (a new session, say).
    pub fn on_event(&mut self, now: Millis, key: bool) {
        self.touch(now);
        if key {
            if let Some(v) = self.visit.as_mut() {
                v.key_event = true;
            }
        }
        self.push(Command::Persist);
    }

    /// Pointer, key, scroll or touch input at page time `perf`.
    pub fn on_input(&mut self, perf: Millis) {
        if let Some(p) = self.page.as_mut() {
            p.on_input(perf);
        }
    }

    pub fn on_focus(&mut self, perf: Millis, focused: bool) {
        self.focused = focused;
        if let Some(p) = self.page.as_mut() {
            p.on_focus(perf, focused);
        }
    }

    /// The page became visible or hidden; hiding reports the engagement so far.
    pub fn on_visibility(&mut self, now: Millis, perf: Millis, visible: bool) {
        self.visible = visible;
        if let Some(p) = self.page.as_mut() {
            p.on_visibility(perf, visible);
        }
        if !visible {
            self.report(now, perf);
        }
    }

    /// The page is being left (`pagehide`).
    pub fn on_leave(&mut self, now: Millis, perf: Millis) {
        self.on_visibility(now, perf, false);
    }

    /// A scroll: `bottom` is `scrollY + innerHeight`, `viewport` is `innerHeight`. Counts
    /// as input.
    pub fn on_scroll(&mut self, now: Millis, perf: Millis, bottom: f64, viewport: f64) {
        self.view.1 = bottom;
        self.view.2 = viewport;
        let Some(p) = self.page.as_mut() else { return };
        p.on_input(perf);
        let reached = p.on_scroll(bottom, viewport);
        self.milestones(now, reached);
    }

    /// The document's height changed (ResizeObserver), with the viewport as for
    /// [`Engine::on_scroll`]. Not input.
    pub fn on_height(&mut self, now: Millis, height: f64, bottom: f64, viewport: f64) {
        self.view = (height, bottom, viewport);
        let Some(p) = self.page.as_mut() else { return };
        let reached = p.on_height(height, bottom, viewport);
        self.milestones(now, reached);
    }

    /// Milestones are activity: they keep a live session alive.
    fn milestones(&mut self, now: Millis, reached: u8) {
        if reached != 0 {
            self.keep_alive(now);
        }
        for (i, depth) in MILESTONES.iter().enumerate() {
            if reached & (1 << i) != 0 {
                self.push(Command::Milestone(*depth));
            }
        }
    }

    /// Runs what is due at `perf` (the heartbeat) and returns how long until the driver
    /// should call again; `None` while hidden, blurred or idle (input restarts it).
    pub fn on_timer(&mut self, now: Millis, perf: Millis) -> Option<Millis> {
        let p = self.page.as_mut()?;
        if p.heartbeat_due(perf) {
            self.report(now, perf);
        }
        self.page.as_ref()?.next_wake(perf)
    }

    /// The current pageview's engaged time at `perf` and deepest scroll in percent, for
    /// prompt triggers.
    pub fn page_facts(&mut self, perf: Millis) -> (Millis, u8) {
        self.page
            .as_mut()
            .map_or((Millis(0), 0), |p| (p.engaged(perf), p.scroll_max()))
    }

    /// Whether the visit is engaged (not a bounce): engaged long enough, several pageviews,
    /// or a key event.
    pub fn engaged(&self) -> bool {
        self.visit.is_some_and(|v| {
            v.engaged_ms >= self.config.bounce_engaged.0
                || v.pageviews >= self.config.bounce_pageviews
                || v.key_event
        })
    }

    /// Queues `page_engagement` when the pageview has something to report.
    /// Reports are activity: a reader engaged for longer than the idle timeout keeps the
    /// session through the heartbeats.
    fn report(&mut self, now: Millis, perf: Millis) {
        let Some(p) = self.page.as_mut() else { return };
        let (total, new) = p.report(perf);
        let scroll = p.scroll_max();
        if total.0 == 0 && scroll == 0 {
            return; // no engaged time and no scroll on this pageview yet
        }
        if new.0 == 0 && scroll == self.reported_scroll && self.reported {
            return; // nothing new since the last report
        }
        self.reported = true;
        self.reported_scroll = scroll;
        self.keep_alive(now);
        let Some(v) = self.visit.as_mut() else { return };
        v.engaged_ms = v.engaged_ms.saturating_add(new.0);
        let v = *v;
        let bounce = !self.engaged();
        self.push(Command::Engagement {
            engaged_ms: total.0,
            scroll_max: scroll,
            bounce,
            session_engaged_ms: v.engaged_ms,
            session_pageviews: v.pageviews,
            key_event: v.key_event,
        });
        self.push(Command::Persist);
    }
}
