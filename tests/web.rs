//! The tracker stage's wasm exports, exercised in headless Chromium by wasm-bindgen-test:
//! the numbers-only interface the browser driver (`src/driver.js`) relies on.

use rapport_widget::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn drain() -> Vec<(u8, [f64; 6])> {
    std::iter::from_fn(|| {
        let code = next();
        (code != CMD_NONE).then(|| (code, std::array::from_fn(|i| arg(i as u8))))
    })
    .collect()
}

fn page_clock() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

// One test: the module holds a single engine, and the tests of a file share the module.
#[wasm_bindgen_test]
fn the_engine_behind_the_exports() {
    // Bad settings are reported by position, so the driver can name the attribute.
    assert_eq!(init(0.0, f64::NAN, f64::NAN, f64::NAN), 1);
    assert_eq!(init(f64::NAN, 73.0, f64::NAN, f64::NAN), 2);
    assert_eq!(init(f64::NAN, f64::NAN, 4.5, f64::NAN), 3);
    assert_eq!(init(f64::NAN, f64::NAN, f64::NAN, -1.0), 4);
    assert_eq!(init(f64::NAN, f64::NAN, 5.0, f64::NAN), 0);

    let now = js_sys::Date::now();
    let t0 = page_clock();
    page(now, t0, false);
    let codes: Vec<u8> = drain().iter().map(|c| c.0).collect();
    assert_eq!(
        codes,
        [
            CMD_NEW_VISITOR,
            CMD_NEW_SESSION,
            CMD_NEW_PAGEVIEW,
            CMD_PAGE_VIEW,
            CMD_PERSIST
        ]
    );
    assert_eq!(visit(1), 1.0, "visit count");
    assert_eq!(visit(0), now.floor(), "first seen");
    assert!(!returning());

    // Input, then a scroll to the end of a tall page, then leaving after the idle timeout
    // of 5 s: 5 s engaged, every milestone once, and a bounce (under 10 s, one pageview).
    signal(SIGNAL_INPUT, now, t0, 0.0, 0.0, 0.0);
    signal(SIGNAL_HEIGHT, now, t0, 4000.0, 720.0, 720.0);
    assert!(drain().is_empty(), "18 % reaches no milestone");
    signal(SIGNAL_SCROLL, now, t0, 4000.0, 720.0, 0.0);
    let milestones: Vec<f64> = drain()
        .iter()
        .filter(|c| c.0 == CMD_MILESTONE)
        .map(|c| c.1[0])
        .collect();
    assert_eq!(milestones, [25.0, 50.0, 75.0, 90.0, 100.0]);
    assert!(timer(now, t0) > 0, "a heartbeat is scheduled while engaged");
    signal(SIGNAL_LEAVE, now, t0 + 60_000.0, 0.0, 0.0, 0.0);
    let report = drain()
        .into_iter()
        .find(|c| c.0 == CMD_ENGAGEMENT)
        .expect("page_engagement on leave");
    assert_eq!(report.1, [5_000.0, 100.0, 1.0, 5_000.0, 1.0, 0.0]);
    assert_eq!(timer(now, t0 + 60_000.0), -1, "no timer once hidden");

    // A stored visit from another tab with more pageviews is taken over.
    let (first_seen, count, started, last) = (visit(0), visit(1), visit(2), visit(3));
    assert!(restore(
        first_seen,
        count,
        started,
        last + 1.0,
        3.0,
        5_000.0,
        false,
        true
    ));
    assert_eq!(visit(4), 3.0);
    assert!(!restore(
        first_seen, count, started, last, 1.0, 0.0, false, true
    ));

    // Attribution lasts 30 days by default.
    assert!(attribution_valid(now, now - 29.0 * 86_400_000.0));
    assert!(!attribution_valid(now, now - 30.0 * 86_400_000.0));
}

#[wasm_bindgen_test]
fn experiment_assignment_through_the_exports_matches_the_core() {
    let pick = |visitor: &str, experiment: &str, weights: &[f64]| {
        rapport_widget::exp_start();
        for b in visitor.bytes().chain([0]).chain(experiment.bytes()) {
            rapport_widget::exp_byte(b);
        }
        for w in weights {
            rapport_widget::exp_weight(*w);
        }
        rapport_widget::exp_pick()
    };
    for n in 0..50 {
        let visitor = format!("00000000-0000-4000-8000-{n:012}");
        let core = rapport_core::experiment::assign(&visitor, "layout", &[1.0, 3.0]);
        assert_eq!(pick(&visitor, "layout", &[1.0, 3.0]), core.unwrap() as i32);
    }
    assert_eq!(pick("v", "layout", &[1.0, -2.0]), -1);
    assert_eq!(pick("v", "layout", &[]), -1);
}
