//! Engagement of one pageview: engaged time and scroll depth.
//!
//! Times here are the page's monotonic clock (`performance.now()`), never the wall clock, so
//! a clock change cannot create or erase engaged time.

use crate::time::Millis;

/// The scroll depths reported once per pageview as `scroll_milestone`.
pub const MILESTONES: [u8; 5] = [25, 50, 75, 90, 100];

/// When time counts as engaged, and how often a running total is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngageRule {
    /// Input older than this no longer makes the visitor engaged.
    pub idle: Millis,
    /// While engaged, a running total is reported this often.
    pub heartbeat: Millis,
}

impl Default for EngageRule {
    fn default() -> Self {
        EngageRule {
            idle: Millis::from_secs(30),
            heartbeat: Millis::from_secs(15),
        }
    }
}

/// Engaged time and scroll depth of the current pageview.
///
/// Engaged time accrues while the page is visible, the window has focus and the last input
/// (pointer, key, scroll, touch) is at most [`EngageRule::idle`] old. Every input method
/// first accounts for the time since the previous call, during which nothing changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Engagement {
    rule: EngageRule,
    visible: bool,
    focused: bool,
    last_input: Option<Millis>,
    /// Engaged time is accounted up to this instant.
    mark: Millis,
    engaged: Millis,
    /// The engaged total last reported, and when.
    reported: Millis,
    last_report: Millis,
    /// Document height in CSS px, from the driver's ResizeObserver.
    height: f64,
    /// Viewport bottom (`scrollY + innerHeight`) and height, as last seen.
    bottom: f64,
    viewport: f64,
    scroll_max: u8,
    /// Bit i set: milestone `MILESTONES[i]` has been reported.
    milestones: u8,
}

impl Engagement {
    pub fn new(rule: EngageRule, now: Millis, visible: bool, focused: bool) -> Self {
        Engagement {
            rule,
            visible,
            focused,
            last_input: None,
            mark: now,
            engaged: Millis(0),
            reported: Millis(0),
            last_report: now,
            height: 0.0,
            bottom: 0.0,
            viewport: 0.0,
            scroll_max: 0,
            milestones: 0,
        }
    }

    fn active(&self) -> bool {
        self.visible && self.focused
    }

    /// The instant engagement lapses without further input.
    fn lapses_at(&self) -> Option<Millis> {
        self.last_input.map(|t| t + self.rule.idle)
    }

    /// Counts engaged time up to `now`. Nothing changed since `mark`, so the span engaged is
    /// `[mark, min(now, last input + idle)]` when the page was active.
    fn advance(&mut self, now: Millis) {
        if self.active() {
            if let Some(lapse) = self.lapses_at() {
                let end = now.min(lapse);
                if end > self.mark {
                    self.engaged = self.engaged + (end - self.mark);
                }
            }
        }
        self.mark = self.mark.max(now);
    }

    pub fn on_input(&mut self, now: Millis) {
        self.advance(now);
        self.last_input = Some(now);
    }

    pub fn on_visibility(&mut self, now: Millis, visible: bool) {
        self.advance(now);
        self.visible = visible;
    }

    pub fn on_focus(&mut self, now: Millis, focused: bool) {
        self.advance(now);
        self.focused = focused;
    }

    /// Engaged time of the pageview up to `now`.
    pub fn engaged(&mut self, now: Millis) -> Millis {
        self.advance(now);
        self.engaged
    }

    /// Marks the running total at `now` as reported and returns it with the part that is
    /// new since the previous report.
    pub fn report(&mut self, now: Millis) -> (Millis, Millis) {
        let total = self.engaged(now);
        let new = total - self.reported;
        self.reported = total;
        self.last_report = now;
        (total, new)
    }

    /// Whether a heartbeat is due: engaged time grew and a heartbeat period has passed since
    /// the last report.
    pub fn heartbeat_due(&mut self, now: Millis) -> bool {
        self.engaged(now) > self.reported && now.since(self.last_report) >= self.rule.heartbeat
    }

    /// When the driver should call back: the next heartbeat while engaged, else never (no
    /// timer runs while the page is hidden, blurred or idle; input restarts it).
    pub fn next_wake(&self, now: Millis) -> Option<Millis> {
        let lapse = self.lapses_at()?;
        if !self.active() || now >= lapse {
            return None;
        }
        let beat = self.last_report + self.rule.heartbeat;
        // At the lapse the total stops growing, so the beat after it reports nothing new;
        // wake for the beat only if some engaged time will precede it.
        Some(beat.max(now) - now)
    }

    pub fn scroll_max(&self) -> u8 {
        self.scroll_max
    }

    /// A new document height (ResizeObserver), with the viewport as it is now (which is not
    /// input). Returns newly reached milestones.
    pub fn on_height(&mut self, height: f64, bottom: f64, viewport: f64) -> u8 {
        self.height = height;
        self.bottom = bottom;
        self.viewport = viewport;
        self.depth_changed()
    }

    /// A scroll: `bottom` is `scrollY + innerHeight`, `viewport` is `innerHeight`. Returns
    /// the milestones reached for the first time, as bits over [`MILESTONES`].
    pub fn on_scroll(&mut self, bottom: f64, viewport: f64) -> u8 {
        self.bottom = bottom;
        self.viewport = viewport;
        self.depth_changed()
    }

    fn depth_changed(&mut self) -> u8 {
        let depth = depth(self.bottom, self.viewport, self.height);
        self.scroll_max = self.scroll_max.max(depth);
        let mut reached = 0;
        for (i, m) in MILESTONES.iter().enumerate() {
            if self.scroll_max >= *m {
                reached |= 1 << i;
            }
        }
        let new = reached & !self.milestones;
        self.milestones |= reached;
        new
    }
}

/// Scroll depth in percent: `bottom ÷ height × 100`, rounded down and clamped to 0–100. A
/// document no taller than the viewport is 100; within a pixel of the end counts as the end.
pub fn depth(bottom: f64, viewport: f64, height: f64) -> u8 {
    if height <= 0.0 || (viewport > 0.0 && height <= viewport) || bottom >= height - 1.0 {
        return if height > 0.0 { 100 } else { 0 };
    }
    let percent = bottom * 100.0 / height;
    if percent >= 100.0 {
        100
    } else if percent > 0.0 {
        percent as u8
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Millis {
        Millis::from_secs(secs)
    }

    fn active_at(t: u64) -> Engagement {
        Engagement::new(EngageRule::default(), s(t), true, true)
    }

    #[test]
    fn nothing_is_engaged_before_the_first_input() {
        let mut e = active_at(0);
        assert_eq!(e.engaged(s(60)), s(0));
        assert_eq!(e.next_wake(s(60)), None);
    }

    #[test]
    fn input_keeps_the_visitor_engaged_for_the_idle_period() {
        let mut e = active_at(0);
        e.on_input(s(1));
        assert_eq!(e.engaged(s(11)), s(10));
        // Without more input, engagement lapses 30 s after the last input.
        assert_eq!(e.engaged(s(100)), s(30));
        e.on_input(s(100));
        assert_eq!(e.engaged(s(105)), s(35));
    }

    #[test]
    fn idle_boundary_is_exactly_the_configured_period() {
        let rule = EngageRule {
            idle: s(5),
            heartbeat: s(15),
        };
        let mut e = Engagement::new(rule, s(0), true, true);
        e.on_input(s(0));
        assert_eq!(e.engaged(Millis(4_999)), Millis(4_999));
        assert_eq!(e.engaged(Millis(5_001)), s(5));
    }

    #[test]
    fn hidden_and_blurred_time_does_not_count() {
        let mut e = active_at(0);
        e.on_input(s(0));
        e.on_visibility(s(10), false);
        e.on_visibility(s(20), true);
        e.on_input(s(20));
        assert_eq!(e.engaged(s(25)), s(15));
        e.on_focus(s(25), false);
        assert_eq!(e.engaged(s(40)), s(15));
        e.on_focus(s(40), true);
        // Focus alone is not input; the input at 20 s still counts until 50 s.
        assert_eq!(e.engaged(s(60)), s(25));
    }

    #[test]
    fn heartbeats_come_every_period_while_engaged_and_stop_when_hidden() {
        let mut e = active_at(0);
        e.on_input(s(0));
        assert_eq!(e.next_wake(s(0)), Some(s(15)));
        assert!(!e.heartbeat_due(s(14)));
        assert!(e.heartbeat_due(s(15)));
        assert_eq!(e.report(s(15)), (s(15), s(15)));
        assert_eq!(e.next_wake(s(15)), Some(s(15)));
        e.on_visibility(s(20), false);
        assert_eq!(e.next_wake(s(20)), None, "no timer while hidden");
        assert_eq!(e.report(s(20)), (s(20), s(5)));
        // A duplicate report adds nothing.
        assert_eq!(e.report(s(21)), (s(20), s(0)));
    }

    #[test]
    fn no_heartbeat_once_idle() {
        let mut e = active_at(0);
        e.on_input(s(0));
        e.report(s(30));
        assert!(!e.heartbeat_due(s(60)), "nothing new after the lapse");
        assert_eq!(e.next_wake(s(31)), None);
    }

    #[test]
    fn depth_math() {
        assert_eq!(depth(720.0, 720.0, 4000.0), 18);
        assert_eq!(depth(2000.0, 720.0, 4000.0), 50);
        assert_eq!(
            depth(3999.5, 720.0, 4000.0),
            100,
            "within a pixel of the end"
        );
        assert_eq!(depth(500.0, 720.0, 600.0), 100, "shorter than the viewport");
        assert_eq!(depth(9000.0, 720.0, 4000.0), 100, "clamped");
        assert_eq!(depth(-5.0, 720.0, 4000.0), 0, "clamped");
        assert_eq!(depth(100.0, 720.0, 0.0), 0, "height unknown");
    }

    #[test]
    fn milestones_are_reported_once_and_in_order() {
        let mut e = active_at(0);
        assert_eq!(e.on_height(4000.0, 720.0, 720.0), 0);
        assert_eq!(e.on_scroll(720.0, 720.0), 0);
        assert_eq!(e.on_scroll(2000.0, 720.0), 0b00011, "25 and 50");
        assert_eq!(
            e.on_scroll(1000.0, 720.0),
            0,
            "scrolling back reports nothing"
        );
        assert_eq!(e.on_scroll(2000.0, 720.0), 0, "nor does returning");
        assert_eq!(e.on_scroll(4000.0, 720.0), 0b11100, "75, 90 and 100");
        assert_eq!(e.scroll_max(), 100);
    }

    #[test]
    fn a_growing_page_lowers_nothing_already_reached() {
        let mut e = active_at(0);
        assert_eq!(e.on_height(1000.0, 720.0, 720.0), 0b00011);
        assert_eq!(e.on_scroll(1000.0, 720.0), 0b11100);
        // Content loads below: the current depth drops, the maximum stays.
        assert_eq!(e.on_height(4000.0, 1000.0, 720.0), 0);
        assert_eq!(e.scroll_max(), 100);
    }

    #[test]
    fn height_changes_move_the_depth_without_counting_as_input() {
        let mut e = active_at(0);
        assert_eq!(
            e.on_height(700.0, 720.0, 720.0),
            0b11111,
            "a short page is 100 at once"
        );
        let mut e = active_at(0);
        assert_eq!(
            e.on_height(2880.0, 720.0, 720.0),
            0b00001,
            "a quarter is visible"
        );
        assert_eq!(
            e.on_height(1440.0, 720.0, 720.0),
            0b00010,
            "the page shrank to twice the viewport"
        );
        assert_eq!(e.last_input, None, "a resize is not input");
    }
}
