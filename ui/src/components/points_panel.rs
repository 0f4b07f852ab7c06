//! The points pane: the balance, the tier and the way to the next, a coupon just redeemed,
//! the ways to earn, the rewards, and the latest activity; for an anonymous shopper, the way
//! in, the ways to earn and the tiers. Parts update in place: a balance read again with the
//! same value keeps its element.

use leptos::prelude::*;

use super::On;

use super::panel::{join, pending, rows, Act, Load};
use crate::i18n::{fill, Panel};

/// One reward the shopper can redeem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RewardRow {
    pub id: String,
    pub name: String,
    /// Formatted.
    pub cost: String,
    pub affordable: bool,
}

/// The points pane's data, every number already formatted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    pub state: Load,
    pub signed_in: bool,
    pub balance: String,
    pub tier: String,
    /// Points to the next tier, and its name.
    pub next: Option<(String, String)>,
    /// 0-100.
    pub progress: u8,
    /// "$1", for "Every $1 spent".
    pub unit: String,
    /// `feedback`, `referral` or `order`, and the points.
    pub earn: Vec<(&'static str, String)>,
    /// Names and thresholds.
    pub tiers: Vec<(String, String)>,
    pub rewards: Vec<RewardRow>,
    /// Reason, signed points, date.
    pub activity: Vec<(String, String, String)>,
    /// The reward's name and the code.
    pub coupon: Option<(String, String)>,
}

fn earning(
    p: &'static Panel,
    unit: &str,
    earn: &[(&'static str, String)],
) -> Option<impl IntoView> {
    let items: Vec<(String, String)> = earn
        .iter()
        .map(|(kind, n)| {
            let label = match *kind {
                "feedback" => p.earn_feedback.to_string(),
                "referral" => p.earn_referral.to_string(),
                _ => fill(p.earn_order, &[("unit", unit)]),
            };
            (label, fill(p.plus, &[("n", n)]))
        })
        .collect();
    (!items.is_empty()).then(|| rows(p.earn, items))
}

fn reason(p: &'static Panel, r: &str) -> &'static str {
    match r {
        "order" => p.reasons[0],
        "order_refund" => p.reasons[1],
        "referral" => p.reasons[2],
        "feedback" => p.reasons[3],
        _ => p.reasons[4],
    }
}

fn signed_in(p: &'static Panel, points: Signal<Points>, act: On<Act>) -> impl IntoView {
    let part = move |f: fn(&Points) -> String| Memo::new(move |_| points.with(f));
    let balance = part(|l| l.balance.clone());
    let tier = part(|l| l.tier.clone());
    let line = Memo::new(move |_| {
        points.with(|l| match &l.next {
            Some((n, tier)) => fill(p.to_next, &[("n", n), ("tier", tier)]),
            None => p.top.to_string(),
        })
    });
    let progress = Memo::new(move |_| points.with(|l| l.progress.min(100)));
    let coupon = Memo::new(move |_| points.with(|l| l.coupon.clone()));
    let earn = Memo::new(move |_| points.with(|l| (l.unit.clone(), l.earn.clone())));
    let rewards = Memo::new(move |_| points.with(|l| l.rewards.clone()));
    let activity = Memo::new(move |_| points.with(|l| l.activity.clone()));
    let copy = act.clone();
    view! {
        <div class="bal">
            <span class="n">{move || balance.get()}</span>
            <span>{p.balance}</span>
        </div>
        {move || {
            let t = tier.get();
            (!t.is_empty()).then(|| view! { <p class="tier">{fill(p.member, &[("tier", &t)])}</p> })
        }}
        <div
            class="bar"
            role="progressbar"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || progress.get().to_string()
            aria-label=move || line.get()
        >
            <span style:inline-size=move || {
                let mut w = progress.get().to_string();
                w.push('%');
                w
            }></span>
        </div>
        <p class="small">{move || line.get()}</p>
        {move || {
            let copy = copy.clone();
            coupon.get().map(|(reward, code)| {
                let text = code.clone();
                view! {
                    <div class="coupon">
                        <p>{fill(p.coupon, &[("reward", &reward)])}</p>
                        <p class="code">{code}</p>
                        <button type="button" class="alt" data-k="code" on:click=move |_| copy.call(Act::Copy(text.clone()))>
                            {p.copy_code}
                        </button>
                    </div>
                }
            })
        }}
        {move || earn.with(|(unit, e)| earning(p, unit, e))}
        {move || {
            let list = rewards.get();
            let act = act.clone();
            (!list.is_empty()).then(|| {
                view! {
                    <h3>{p.rewards}</h3>
                    <ul class="rows">
                        {list
                            .into_iter()
                            .map(|r| {
                                let act = act.clone();
                                let mut label = String::from(p.redeem);
                                label.push_str(": ");
                                label.push_str(&r.name);
                                let mut key = String::from("r-");
                                key.push_str(&r.id);
                                let id = r.id.clone();
                                view! {
                                    <li>
                                        <span>
                                            {r.name.clone()}
                                            <span class="small block">{fill(p.needs, &[("n", &r.cost)])}</span>
                                        </span>
                                        <button
                                            type="button"
                                            class="go"
                                            data-k=key
                                            aria-label=label
                                            disabled=!r.affordable
                                            on:click=move |_| act.call(Act::Redeem(id.clone()))
                                        >
                                            {p.redeem}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })
        }}
        {move || {
            let list = activity.get();
            if list.is_empty() {
                view! {
                    <h3>{p.activity}</h3>
                    <p class="small">{p.nothing_yet}</p>
                }
                .into_any()
            } else {
                let items = list
                    .into_iter()
                    .map(|(r, points, date)| {
                        let mut label = String::from(reason(p, &r));
                        label.push_str(" · ");
                        label.push_str(&date);
                        (label, points)
                    })
                    .collect();
                rows(p.activity, items).into_any()
            }
        }}
    }
}

pub fn points_panel(
    p: &'static Panel,
    points: Signal<Points>,
    sign_in: String,
    act: On<Act>,
) -> impl IntoView {
    // The pane's shape changes only with the reading state and the sign-in.
    let shape = Memo::new(move |_| points.with(|l| (l.state, l.signed_in)));
    move || {
        let act = act.clone();
        match shape.get() {
            (Load::Loading, _) => pending(p, Load::Loading, "retry0", act),
            (Load::Failed, _) => pending(p, Load::Failed, "retry0", act),
            (Load::Ready, true) => signed_in(p, points, act).into_any(),
            (Load::Ready, false) => {
                let (unit, earn, tiers) =
                    points.with_untracked(|l| (l.unit.clone(), l.earn.clone(), l.tiers.clone()));
                let tiers: Vec<(String, String)> = tiers
                    .into_iter()
                    .map(|(name, n)| (name, fill(p.needs, &[("n", &n)])))
                    .collect();
                view! {
                    {join(p, sign_in.clone())}
                    {earning(p, &unit, &earn)}
                    {(tiers.len() > 1).then(|| rows(p.tiers, tiers))}
                }
                .into_any()
            }
        }
    }
}
