//! The rewards panel: a dialog with the points and referral panes, as two tabs when the
//! site has both. What it shows arrives formatted, in signals; what the shopper does goes
//! back as an [`Act`].

use leptos::html::Div;
use leptos::prelude::*;

use super::On;
use web_sys::KeyboardEvent;

use super::points_panel::{points_panel, Points};
use super::referral_panel::{referral_panel, Invite};
use super::{aria, dir, focus_first};
use crate::i18n::{Panel, Strings};

/// A pane's reading state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Load {
    #[default]
    Ready,
    Loading,
    Failed,
}

/// What the shopper does in the panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Close,
    /// 0 points, 1 referral.
    Tab(usize),
    Retry,
    /// Copy this text (the link or a coupon code).
    Copy(String),
    /// The Web Share sheet.
    Share,
    /// A share link was followed (its name).
    Opened(String),
    /// Redeem this reward.
    Redeem(String),
}

/// The panel's data.
#[derive(Clone)]
pub struct PanelData {
    /// The open tab: 0 points, 1 referral.
    pub tab: RwSignal<usize>,
    /// The last confirmation or failure, shown and announced.
    pub status: Signal<String>,
    /// What the live region says (announced).
    pub said: Signal<String>,
    /// Where "Join or sign in" goes; empty for nowhere.
    pub sign_in: String,
    pub points: Option<Signal<Points>>,
    pub invite: Option<Signal<Invite>>,
}

pub fn panel(
    s: &'static Strings,
    p: &'static Panel,
    data: PanelData,
    act: On<Act>,
) -> impl IntoView {
    let PanelData {
        tab,
        status,
        said,
        sign_in,
        points,
        invite,
    } = data;
    let sheet = NodeRef::<Div>::new();
    let both = points.is_some() && invite.is_some();
    // Without the points program the referral pane is the one shown.
    let open = move || usize::from(points.is_none() || tab.get() == 1);
    let select = {
        let act = act.clone();
        move |i: usize, focus: bool| {
            act.call(Act::Tab(i));
            tab.set(i);
            if focus {
                if let Some(sheet) = sheet.get_untracked() {
                    focus_first(&sheet, if i == 1 { "#tab1" } else { "#tab0" });
                }
            }
        }
    };
    let on_key = {
        let (act, select) = (act.clone(), select.clone());
        move |ev: KeyboardEvent| {
            let key = ev.key();
            if key == "Escape" {
                ev.prevent_default();
                return act.call(Act::Close);
            }
            let on_tab = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .is_some_and(|t| t.get_attribute("role").as_deref() == Some("tab"));
            if !both || !on_tab {
                return;
            }
            let to = match key.as_str() {
                "Home" => 0,
                "End" => 1,
                // Two tabs: either arrow goes to the other one, so mirroring needs no care.
                "ArrowLeft" | "ArrowRight" => 1 - open(),
                _ => return,
            };
            ev.prevent_default();
            select(to, true);
        }
    };
    let tabs = both.then(|| {
        let tab_button = |i: usize, label: &'static str| {
            let select = select.clone();
            view! {
                <button
                    type="button"
                    role="tab"
                    id=if i == 0 { "tab0" } else { "tab1" }
                    aria-controls=if i == 0 { "pane0" } else { "pane1" }
                    data-k=if i == 0 { "tab0" } else { "tab1" }
                    aria-selected=move || aria(open() == i)
                    tabindex=move || if open() == i { "0" } else { "-1" }
                    on:click=move |_| select(i, false)
                >
                    {label}
                </button>
            }
        };
        view! {
            <div role="tablist" class="tabs">
                {tab_button(0, p.points_tab)}
                {tab_button(1, p.refer_tab)}
            </div>
        }
    });
    let pane = |i: usize, body: AnyView| {
        view! {
            <div
                id=if i == 0 { "pane0" } else { "pane1" }
                class="pane"
                role=both.then_some("tabpanel")
                aria-labelledby=both.then_some(if i == 0 { "tab0" } else { "tab1" })
                hidden=move || open() != i
            >
                {body}
            </div>
        }
    };
    let points_pane = points.map(|points| {
        pane(
            0,
            points_panel(p, points, sign_in.clone(), act.clone()).into_any(),
        )
    });
    let invite_pane = invite.map(|invite| {
        pane(
            1,
            referral_panel(p, invite, sign_in.clone(), act.clone()).into_any(),
        )
    });
    let close = act.clone();
    view! {
        <div class="w" dir=dir(s.rtl) lang=s.lang on:keydown=on_key>
            <div class="sheet" role="dialog" aria-labelledby="title" node_ref=sheet>
                <h2 id="title">{p.title}</h2>
                <button
                    type="button"
                    class="x"
                    data-k="x"
                    aria-label=s.close
                    on:click=move |_| close.call(Act::Close)
                >
                    "×"
                </button>
                <p class="live">{move || status.get()}</p>
                {tabs}
                {points_pane}
                {invite_pane}
            </div>
        </div>
        <p role="status" lang=s.lang class="sr">{move || said.get()}</p>
    }
}

/// A pane's state before its data: loading, or failed with a retry.
pub fn pending(p: &'static Panel, state: Load, key: &'static str, act: On<Act>) -> AnyView {
    match state {
        Load::Loading => view! { <p class="small">{p.loading}</p> }.into_any(),
        _ => view! {
            <p>{p.failed}</p>
            <button type="button" class="alt" data-k=key on:click=move |_| act.call(Act::Retry)>
                {p.retry}
            </button>
        }
        .into_any(),
    }
}

/// "Join or sign in": the anonymous shopper's way in.
pub fn join(p: &'static Panel, sign_in: String) -> impl IntoView {
    view! {
        <p class="lead">{p.join_title}</p>
        {(!sign_in.is_empty()).then(|| view! { <a class="go" href=sign_in data-k="join">{p.join}</a> })}
    }
}

/// A labelled list of `(label, value)` rows.
pub fn rows(heading: &'static str, items: Vec<(String, String)>) -> impl IntoView {
    view! {
        <h3>{heading}</h3>
        <ul class="rows">
            {items
                .into_iter()
                .map(|(label, value)| view! { <li><span>{label}</span><span class="v">{value}</span></li> })
                .collect_view()}
        </ul>
    }
}
