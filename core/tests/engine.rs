//! The engine's rules under scripted time: sessions, pageviews, engaged time, scroll, bounce.

use rapport_core::{Command, Engine, EngineConfig, Millis, Visit};

const T0: Millis = Millis(1_700_000_000_000);

fn s(secs: u64) -> Millis {
    Millis::from_secs(secs)
}

fn drain(e: &mut Engine) -> Vec<Command> {
    std::iter::from_fn(|| e.poll()).collect()
}

/// The `page_engagement` commands among `commands`.
fn reports(commands: &[Command]) -> Vec<(u64, u8, bool)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Engagement {
                engaged_ms,
                scroll_max,
                bounce,
                ..
            } => Some((*engaged_ms, *scroll_max, *bounce)),
            _ => None,
        })
        .collect()
}

/// The `scroll_milestone` depths among `commands`, in order.
fn depths(commands: &[Command]) -> Vec<u8> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Milestone(d) => Some(*d),
            _ => None,
        })
        .collect()
}

fn loaded() -> Engine {
    let mut e = Engine::new(EngineConfig::default(), None);
    e.on_page_view(T0, s(0), false);
    drain(&mut e);
    e
}

#[test]
fn first_page_view_draws_visitor_session_and_pageview_ids_then_emits() {
    let mut e = Engine::new(EngineConfig::default(), None);
    e.on_page_view(T0, s(0), false);
    assert_eq!(
        drain(&mut e),
        [
            Command::NewVisitor,
            Command::NewSession,
            Command::NewPageview,
            Command::PageView,
            Command::Persist
        ]
    );
    let v = e.visit().unwrap();
    assert_eq!((v.visit_count, v.pageviews, v.first_seen), (1, 1, T0));
    assert!(!e.returning());
}

#[test]
fn the_idle_timeout_is_thirty_minutes_exactly() {
    let mut first = loaded();
    let stored = *first.visit().unwrap();
    // Reload 29:59 after the last activity: same session, still a new visitor.
    let mut reload = Engine::new(EngineConfig::default(), Some(stored));
    let at = T0 + Millis::from_secs(29 * 60 + 59);
    reload.on_page_view(at, s(0), false);
    assert_eq!(
        drain(&mut reload),
        [Command::NewPageview, Command::PageView, Command::Persist]
    );
    assert_eq!(reload.visit().unwrap().pageviews, 2);
    assert!(!reload.returning());
    // 30:01 later: a new session, and the visitor is returning.
    let mut back = Engine::new(EngineConfig::default(), Some(*reload.visit().unwrap()));
    back.on_page_view(at + Millis::from_secs(30 * 60 + 1), s(0), false);
    assert_eq!(drain(&mut back)[0], Command::NewSession);
    assert!(back.returning());
    assert_eq!(back.visit().unwrap().visit_count, 2);
    first.on_page_view(T0 + s(1), s(1), false);
}

#[test]
fn a_session_ends_at_24_hours_even_when_active() {
    let mut e = loaded();
    let mut at = T0;
    // Activity every 20 minutes keeps it alive until the 24 h cap.
    while at < T0 + Millis::from_hours(24) - Millis::from_mins(20) {
        at = at + Millis::from_mins(20);
        e.on_event(at, false);
        assert!(!drain(&mut e).contains(&Command::NewSession), "{at:?}");
    }
    e.on_event(T0 + Millis::from_hours(24), false);
    assert!(drain(&mut e).contains(&Command::NewSession));
}

#[test]
fn a_new_campaign_starts_a_new_session() {
    let mut e = loaded();
    e.on_page_view(T0 + s(60), s(60), true);
    assert!(drain(&mut e).contains(&Command::NewSession));
    assert_eq!(e.visit().unwrap().visit_count, 2);
}

#[test]
fn engaged_time_skips_hidden_blurred_and_idle_time() {
    let mut e = loaded();
    e.on_input(s(0));
    e.on_visibility(T0 + s(10), s(10), false); // visible and active 0-10 s
    e.on_visibility(T0 + s(40), s(40), true);
    e.on_input(s(40));
    e.on_focus(s(45), false); // blurred 45-60 s
    e.on_focus(s(60), true);
    e.on_input(s(60)); // engaged until 90 s, then idle
    e.on_leave(T0 + s(200), s(200));
    let commands = drain(&mut e);
    let r = reports(&commands);
    assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [10_000, 45_000]);
    assert_eq!(e.visit().unwrap().engaged_ms, 45_000);
    let last = commands
        .iter()
        .rev()
        .find(|c| matches!(c, Command::Engagement { .. }));
    assert!(matches!(
        last,
        Some(Command::Engagement {
            session_engaged_ms: 45_000,
            session_pageviews: 1,
            key_event: false,
            ..
        })
    ));
}

#[test]
fn heartbeats_every_15_s_while_engaged_and_no_timer_when_hidden() {
    let mut e = loaded();
    e.on_input(s(0));
    assert_eq!(e.on_timer(T0 + s(0), s(0)), Some(s(15)));
    e.on_input(s(5));
    e.on_input(s(10));
    assert_eq!(e.on_timer(T0 + s(15), s(15)), Some(s(15)));
    e.on_input(s(20));
    e.on_input(s(29));
    assert_eq!(e.on_timer(T0 + s(30), s(30)), Some(s(15)));
    e.on_visibility(T0 + s(31), s(31), false);
    assert_eq!(e.on_timer(T0 + s(31), s(31)), None, "no timer while hidden");
    let totals: Vec<u64> = reports(&drain(&mut e)).iter().map(|r| r.0).collect();
    assert_eq!(totals, [15_000, 30_000, 31_000]);
    // Shown and hidden again after the idle period: nothing new, so no duplicate report.
    e.on_visibility(T0 + s(70), s(70), true);
    e.on_visibility(T0 + s(71), s(71), false);
    assert!(reports(&drain(&mut e)).is_empty());
}

#[test]
fn bounce_cases() {
    // A 3 s single-page visit.
    let mut e = loaded();
    e.on_input(s(0));
    e.on_leave(T0 + s(3), s(3));
    assert_eq!(reports(&drain(&mut e)), [(3_000, 0, true)]);
    // 9 s is still a bounce; 10 s and 12 s are not.
    for (secs, bounce) in [(9, true), (10, false), (12, false)] {
        let mut e = loaded();
        for at in 0..=secs {
            e.on_input(s(at));
        }
        e.on_leave(T0 + s(secs), s(secs));
        assert_eq!(reports(&drain(&mut e))[0].2, bounce, "{secs} s");
    }
    // A second pageview.
    let mut e = loaded();
    e.on_input(s(0));
    e.on_page_view(T0 + s(1), s(1), false);
    e.on_input(s(1));
    e.on_leave(T0 + s(2), s(2));
    let r = reports(&drain(&mut e));
    assert!(r[0].2, "reported before the second view");
    assert!(!r.last().unwrap().2);
    // A key event.
    let mut e = loaded();
    e.on_input(s(0));
    e.on_event(T0 + s(1), true);
    e.on_leave(T0 + s(2), s(2));
    assert!(!reports(&drain(&mut e))[0].2);
    assert!(e.visit().unwrap().key_event);
    // A page left without input or scroll reports nothing.
    let mut e = loaded();
    e.on_leave(T0 + s(5), s(5));
    assert!(reports(&drain(&mut e)).is_empty());
}

#[test]
fn scroll_milestones_once_per_pageview() {
    let mut e = loaded();
    e.on_height(T0, 4000.0, 720.0, 720.0);
    for bottom in [720.0, 2000.0, 1500.0, 4000.0, 4000.0] {
        e.on_scroll(T0 + s(1), s(1), bottom, 720.0);
    }
    e.on_leave(T0 + s(6), s(6));
    let commands = drain(&mut e);
    assert_eq!(depths(&commands), [25, 50, 75, 90, 100]);
    assert_eq!(reports(&commands)[0].1, 100);
    e.on_page_view(T0 + s(7), s(7), false);
    e.on_height(T0, 4000.0, 720.0, 720.0);
    e.on_scroll(T0 + s(7), s(7), 2000.0, 720.0);
    let again = drain(&mut e);
    assert_eq!(depths(&again), [25, 50], "a new pageview starts over");
}

#[test]
fn another_tabs_newer_visit_is_adopted_and_an_older_one_ignored() {
    let mut a = loaded();
    let older = *a.visit().unwrap();
    let mut newer = older;
    newer.pageviews = 3;
    newer.last_activity = older.last_activity + s(5);
    assert!(a.adopt(newer, true));
    assert_eq!(a.visit().unwrap().pageviews, 3);
    assert!(!a.adopt(older, true));
    assert_eq!(a.visit().unwrap().pageviews, 3);
    // A different session stored later (the other tab started one) wins.
    let other = Visit {
        visit_count: 2,
        last_activity: newer.last_activity + s(1),
        ..newer
    };
    a.adopt(other, false);
    assert_eq!(a.visit().unwrap().visit_count, 2);
}

#[test]
fn attribution_lasts_the_configured_window() {
    let e = loaded();
    let day = Millis::from_hours(24);
    assert!(e.attribution_valid(T0 + Millis(29 * day.0), T0));
    assert!(!e.attribution_valid(T0 + Millis(30 * day.0), T0));
}

#[test]
fn configured_idle_timeout_changes_engaged_time() {
    let mut config = EngineConfig::default();
    config.engage.idle = s(5);
    let mut e = Engine::new(config, None);
    e.on_page_view(T0, s(0), false);
    e.on_input(s(0));
    e.on_leave(T0 + s(60), s(60));
    assert_eq!(reports(&drain(&mut e))[0].0, 5_000);
}

#[test]
fn a_client_side_navigation_starts_from_the_known_page_size() {
    let mut e = loaded();
    e.on_height(T0, 4000.0, 720.0, 720.0);
    drain(&mut e);
    // The app renders the next route and scrolls; no resize is observed in between.
    e.on_page_view(T0 + s(5), s(5), false);
    e.on_scroll(T0 + s(6), s(6), 4000.0, 720.0);
    let commands = drain(&mut e);
    assert_eq!(depths(&commands), [25, 50, 75, 90, 100]);
}

#[test]
fn heartbeats_and_milestones_keep_a_long_read_in_one_session() {
    let mut e = loaded();
    e.on_height(T0, 40_000.0, 720.0, 720.0);
    // 35 minutes of reading: input every 10 s, heartbeats every 15 s, a scroll now and then.
    let mut at = 0;
    while at <= 35 * 60 {
        e.on_input(s(at));
        if at % 300 == 0 {
            e.on_scroll(T0 + s(at), s(at), 720.0 + at as f64 * 10.0, 720.0);
        }
        e.on_timer(T0 + s(at), s(at));
        at += 10;
    }
    drain(&mut e);
    e.on_page_view(T0 + s(at), s(at), false);
    let commands = drain(&mut e);
    assert!(!commands.contains(&Command::NewSession), "{commands:?}");
    assert_eq!(e.visit().unwrap().pageviews, 2);
    // After 31 idle minutes the next page view is a new session.
    let later = at + 31 * 60;
    e.on_page_view(T0 + s(later), s(later), false);
    assert!(drain(&mut e).contains(&Command::NewSession));
}
