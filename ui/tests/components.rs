//! The shopper's components in headless Chromium (wasm-bindgen-test): each is mounted into a
//! wrapper element, driven with clicks and keys, and checked by its DOM and by what it
//! reports.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use rapport_core::config::{Display, PromptType};
use rapport_ui::components::card::{card, Answer, Ask, Outcome};
use rapport_ui::components::launcher::{launcher, Launch};
use rapport_ui::components::panel::{panel, Act, Load, PanelData};
use rapport_ui::components::points_panel::{Points, RewardRow};
use rapport_ui::components::referral_panel::Invite;
use rapport_ui::components::side_tab::side_tab;
use rapport_ui::components::On;
use rapport_ui::i18n;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh wrapper element in the document.
fn wrapper() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn find(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into()
}

fn all(root: &Element, selector: &str) -> Vec<HtmlElement> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn key(target: &Element, key: &str) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let ev = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

fn typed(area: &HtmlElement, text: &str) {
    area.unchecked_ref::<web_sys::HtmlTextAreaElement>()
        .set_value(text);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let ev = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    area.dispatch_event(&ev).unwrap();
}

/// Lets the reactive system apply what changed.
async fn settle() {
    TimeoutFuture::new(30).await;
}

fn ask(kind: PromptType, display: Display, lang: &str) -> Ask {
    Ask {
        kind,
        display,
        question: "How likely are you to recommend us?".into(),
        follow: ["What went wrong?".into(), String::new(), String::new()],
        choices: vec!["Price".into(), "Delivery".into()],
        strings: i18n::strings(lang),
        nudge: "Invite a friend: Give $15".into(),
        nudge_button: i18n::panel(lang).refer_tab,
    }
}

/// Mounts a card; returns its wrapper and what it reported.
fn mount_card(ask: Ask) -> (HtmlElement, Rc<RefCell<Vec<Outcome>>>, impl Drop) {
    let heard = Rc::new(RefCell::new(Vec::new()));
    let log = heard.clone();
    let w = wrapper();
    let handle = leptos::mount::mount_to(w.clone(), move || {
        card(ask, On::new(move |o| log.borrow_mut().push(o)))
    });
    (w, heard, Guard(Some(Box::new(handle))))
}

struct Guard(Option<Box<dyn std::any::Any>>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.take();
    }
}

#[wasm_bindgen_test]
async fn nps_detractor_gets_the_follow_up_then_thanks() {
    let (w, heard, _h) = mount_card(ask(PromptType::Nps, Display::Modal, "en"));
    let card_el = find(&w, ".card");
    assert_eq!(card_el.get_attribute("data-step").as_deref(), Some("0"));
    assert_eq!(card_el.get_attribute("aria-modal").as_deref(), Some("true"));
    let send = find(&w, ".go.s");
    assert!(send.has_attribute("disabled"), "nothing chosen yet");
    let radios = all(&w, "[role=radio]");
    assert_eq!(radios.len(), 11);
    radios[3].click();
    settle().await;
    assert_eq!(
        radios[3].get_attribute("aria-checked").as_deref(),
        Some("true")
    );
    assert_eq!(radios[3].get_attribute("tabindex").as_deref(), Some("0"));
    assert_eq!(radios[0].get_attribute("tabindex").as_deref(), Some("-1"));
    assert!(!send.has_attribute("disabled"));
    send.click();
    settle().await;
    // A detractor's follow-up: the score is not reported yet.
    assert_eq!(card_el.get_attribute("data-step").as_deref(), Some("1"));
    assert_eq!(find(&w, ".q").text_content().unwrap(), "What went wrong?");
    assert!(heard.borrow().is_empty());
    typed(&find(&w, "textarea.f"), "  Slow delivery ");
    find(&w, ".go.s").click();
    settle().await;
    assert_eq!(
        heard.borrow().as_slice(),
        [Outcome::Answered(Answer {
            score: Some(3),
            text: "Slow delivery".into(),
            choice: None
        })]
    );
    assert_eq!(card_el.get_attribute("data-step").as_deref(), Some("2"));
    assert_eq!(
        find(&w, ".q").text_content().unwrap(),
        "Thank you for your feedback!"
    );
    // A detractor is not invited to refer a friend.
    assert!(w.query_selector(".nudge").unwrap().is_none());
    find(&w, ".x").click();
    assert_eq!(heard.borrow().last(), Some(&Outcome::Closed));
}

#[wasm_bindgen_test]
async fn a_promoter_is_invited_and_can_take_it() {
    let (w, heard, _h) = mount_card(ask(PromptType::Nps, Display::Popover, "en"));
    all(&w, "[role=radio]")[10].click();
    settle().await;
    find(&w, ".go.s").click();
    settle().await;
    assert_eq!(
        heard.borrow()[0],
        Outcome::Answered(Answer {
            score: Some(10),
            ..Answer::default()
        })
    );
    assert_eq!(
        find(&w, ".q").text_content().unwrap(),
        "Thank you for your feedback! Invite a friend: Give $15"
    );
    find(&w, ".nudge .go.n").click();
    assert_eq!(heard.borrow().last(), Some(&Outcome::Nudged));
}

#[wasm_bindgen_test]
async fn csat_by_arrow_keys_mirrored_in_arabic_and_escape_dismisses() {
    let (w, heard, _h) = mount_card(ask(PromptType::Csat, Display::Popover, "ar"));
    let root = find(&w, ".w");
    assert_eq!(root.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(root.get_attribute("lang").as_deref(), Some("ar"));
    let radios = all(&w, "[role=radio]");
    assert_eq!(radios.len(), 5);
    assert_eq!(radios[4].get_attribute("data-v").as_deref(), Some("5"));
    // Right to left, ArrowLeft moves forward: from the first (unchecked) to the second.
    key(&radios[0], "ArrowLeft");
    settle().await;
    assert_eq!(
        radios[1].get_attribute("aria-checked").as_deref(),
        Some("true")
    );
    key(&radios[1], "End");
    settle().await;
    assert_eq!(
        radios[4].get_attribute("aria-checked").as_deref(),
        Some("true")
    );
    key(&radios[4], "Escape");
    assert_eq!(heard.borrow().as_slice(), [Outcome::Dismissed]);
}

#[wasm_bindgen_test]
async fn thumbs_answer_at_once_and_text_needs_words() {
    let (w, heard, _h) = mount_card(ask(PromptType::Thumbs, Display::Inline, "en"));
    assert_eq!(
        find(&w, ".card").get_attribute("role").as_deref(),
        Some("region")
    );
    let buttons = all(&w, ".thumbs .go");
    assert_eq!(buttons[1].text_content().unwrap(), "No");
    buttons[1].click();
    settle().await;
    assert_eq!(
        heard.borrow().as_slice(),
        [Outcome::Answered(Answer {
            score: Some(0),
            ..Answer::default()
        })]
    );

    let (w, heard, _h2) = mount_card(ask(PromptType::Text, Display::Popover, "en"));
    let send = find(&w, ".go.s");
    assert!(send.has_attribute("disabled"));
    typed(&find(&w, "textarea.a"), "   ");
    settle().await;
    assert!(
        send.has_attribute("disabled"),
        "blank text is not an answer"
    );
    typed(&find(&w, "textarea.a"), "More sizes, please");
    settle().await;
    assert!(!send.has_attribute("disabled"));
    send.click();
    assert_eq!(
        heard.borrow().as_slice(),
        [Outcome::Answered(Answer {
            text: "More sizes, please".into(),
            ..Answer::default()
        })]
    );
}

#[wasm_bindgen_test]
async fn a_choice_reports_its_position() {
    let (w, heard, _h) = mount_card(ask(PromptType::Choice, Display::Popover, "he"));
    let radios = all(&w, ".list [role=radio]");
    assert_eq!(radios[1].text_content().unwrap(), "Delivery");
    radios[1].click();
    settle().await;
    find(&w, ".go.s").click();
    settle().await;
    assert_eq!(
        heard.borrow().as_slice(),
        [Outcome::Answered(Answer {
            choice: Some(1),
            ..Answer::default()
        })]
    );
}

#[wasm_bindgen_test]
async fn site_texts_are_text_never_markup() {
    let mut a = ask(PromptType::Thumbs, Display::Popover, "en");
    a.question = "<img src=x onerror=alert(1)>Hi".into();
    let (w, _heard, _h) = mount_card(a);
    assert!(w.query_selector("img").unwrap().is_none());
    assert_eq!(
        find(&w, ".q").text_content().unwrap(),
        "<img src=x onerror=alert(1)>Hi"
    );
}

#[wasm_bindgen_test]
async fn the_side_tab_and_the_launcher_open_on_click() {
    let opened = Rc::new(RefCell::new(0));
    let count = opened.clone();
    let w = wrapper();
    let _tab = leptos::mount::mount_to(w.clone(), move || {
        side_tab(i18n::strings("th"), move || *count.borrow_mut() += 1)
    });
    let tab = find(&w, ".tab");
    assert_eq!(
        tab.get_attribute("aria-haspopup").as_deref(),
        Some("dialog")
    );
    tab.click();
    assert_eq!(*opened.borrow(), 1);

    let state = RwSignal::new(Launch::default());
    let count = opened.clone();
    let w = wrapper();
    let _launch = leptos::mount::mount_to(w.clone(), move || {
        launcher(
            i18n::strings("en"),
            i18n::panel("en"),
            state.into(),
            move || *count.borrow_mut() += 1,
        )
    });
    assert!(
        w.query_selector(".badge").unwrap().is_none(),
        "anonymous: no balance"
    );
    state.set(Launch {
        balance: "1,250".into(),
        gain: "+50".into(),
        expanded: true,
        said: "+50 points".into(),
    });
    settle().await;
    assert_eq!(find(&w, ".badge").text_content().unwrap(), "1,250");
    assert_eq!(find(&w, ".sr").text_content().unwrap(), "1,250 points");
    assert_eq!(find(&w, ".gain").text_content().unwrap(), "+50 points");
    assert_eq!(
        find(&w, "[role=status]").text_content().unwrap(),
        "+50 points"
    );
    let button = find(&w, ".launch");
    assert_eq!(
        button.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    button.click();
    assert_eq!(*opened.borrow(), 2);
}

fn points() -> Points {
    Points {
        state: Load::Ready,
        signed_in: true,
        balance: "550".into(),
        tier: "Bronze".into(),
        next: Some(("450".into(), "Silver".into())),
        progress: 55,
        unit: "$1".into(),
        earn: vec![("feedback", "50".into())],
        tiers: vec![],
        rewards: vec![
            RewardRow {
                id: "five-off".into(),
                name: "$5 off".into(),
                cost: "500".into(),
                affordable: true,
            },
            RewardRow {
                id: "gift".into(),
                name: "A gift".into(),
                cost: "5,000".into(),
                affordable: false,
            },
        ],
        activity: vec![("feedback".into(), "+50".into(), "3 Dec".into())],
        coupon: None,
    }
}

#[wasm_bindgen_test]
async fn the_panel_shows_points_and_reports_what_the_shopper_does() {
    let acts = Rc::new(RefCell::new(Vec::new()));
    let log = acts.clone();
    let pts = RwSignal::new(points());
    let invite = RwSignal::new(Invite {
        signed_in: true,
        offer: "Give $15, get $15".into(),
        link: "https://shop.example/?ref=ABC".into(),
        stats: ["1".into(), "0".into(), "1".into(), "0".into()],
        ..Invite::default()
    });
    let tab = RwSignal::new(0);
    let w = wrapper();
    let _h = leptos::mount::mount_to(w.clone(), move || {
        let data = PanelData {
            tab,
            status: Signal::stored(String::new()),
            said: Signal::stored(String::new()),
            sign_in: "/account".into(),
            points: Some(pts.into()),
            invite: Some(invite.into()),
        };
        panel(
            i18n::strings("en"),
            i18n::panel("en"),
            data,
            On::new(move |a| log.borrow_mut().push(a)),
        )
    });
    assert_eq!(find(&w, ".bal .n").text_content().unwrap(), "550");
    assert_eq!(
        find(&w, ".bar").get_attribute("aria-valuenow").as_deref(),
        Some("55")
    );
    assert_eq!(
        find(&w, ".bar").get_attribute("aria-label").as_deref(),
        Some("450 more points to Silver")
    );
    let redeem = all(&w, "#pane0 .rows .go");
    assert_eq!(
        redeem[0].get_attribute("aria-label").as_deref(),
        Some("Redeem: $5 off")
    );
    assert!(redeem[1].has_attribute("disabled"), "not affordable");
    redeem[0].click();
    assert_eq!(acts.borrow().last(), Some(&Act::Redeem("five-off".into())));
    assert!(find(&w, "#pane1").has_attribute("hidden"));

    // The same data read again keeps the balance's element; a new balance updates it.
    let n = find(&w, ".bal .n");
    pts.set(points());
    settle().await;
    assert!(n.is_connected());
    pts.update(|p| p.balance = "50".into());
    settle().await;
    assert!(n.is_connected());
    assert_eq!(n.text_content().unwrap(), "50");

    // Arrow keys move to the other tab; its pane shows.
    key(&find(&w, "#tab0"), "ArrowRight");
    settle().await;
    assert_eq!(tab.get_untracked(), 1);
    assert_eq!(acts.borrow().last(), Some(&Act::Tab(1)));
    assert_eq!(
        find(&w, "#tab1").get_attribute("aria-selected").as_deref(),
        Some("true")
    );
    assert!(!find(&w, "#pane1").has_attribute("hidden"));
    assert!(find(&w, "#pane0").has_attribute("hidden"));
    let link = find(&w, "#link").unchecked_into::<web_sys::HtmlInputElement>();
    assert_eq!(link.value(), "https://shop.example/?ref=ABC");
    assert_eq!(all(&w, ".stats dd")[2].text_content().unwrap(), "1");
    find(&w, "[data-k=copy]").click();
    assert_eq!(
        acts.borrow().last(),
        Some(&Act::Copy("https://shop.example/?ref=ABC".into()))
    );
    key(&find(&w, "#link"), "Escape");
    assert_eq!(acts.borrow().last(), Some(&Act::Close));
}

#[wasm_bindgen_test]
async fn an_anonymous_shopper_sees_the_way_in_and_a_failed_read_can_be_retried() {
    let acts = Rc::new(RefCell::new(Vec::new()));
    let log = acts.clone();
    let pts = RwSignal::new(Points {
        unit: "$1".into(),
        earn: vec![("order", "1".into())],
        tiers: vec![
            ("Bronze".into(), "0".into()),
            ("Silver".into(), "1,000".into()),
        ],
        ..Points::default()
    });
    let w = wrapper();
    let _h = leptos::mount::mount_to(w.clone(), move || {
        let data = PanelData {
            tab: RwSignal::new(0),
            status: Signal::stored(String::new()),
            said: Signal::stored(String::new()),
            sign_in: "/account".into(),
            points: Some(pts.into()),
            invite: None,
        };
        panel(
            i18n::strings("en"),
            i18n::panel("en"),
            data,
            On::new(move |a| log.borrow_mut().push(a)),
        )
    });
    assert!(
        w.query_selector("[role=tablist]").unwrap().is_none(),
        "one program: no tabs"
    );
    assert_eq!(
        find(&w, "a.go").get_attribute("href").as_deref(),
        Some("/account")
    );
    assert!(w.text_content().unwrap().contains("Every $1 spent"));
    pts.update(|p| p.state = Load::Failed);
    settle().await;
    find(&w, "[data-k=retry0]").click();
    assert_eq!(acts.borrow().as_slice(), [Act::Retry]);
}
