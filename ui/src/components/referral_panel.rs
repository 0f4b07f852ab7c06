//! The referral pane: the offer, the shopper's link with a copy button, the share sheet and
//! share links, and how the invitations went; for an anonymous shopper, the offer and the
//! way in.

use leptos::prelude::*;

use super::On;

use super::panel::{join, pending, Act, Load};
use crate::i18n::Panel;

/// The referral pane's data, every number already formatted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invite {
    pub state: Load,
    pub signed_in: bool,
    pub offer: String,
    pub link: String,
    /// The browser has the Web Share API.
    pub can_share: bool,
    /// Share links: name and URL.
    pub shares: Vec<(String, String)>,
    /// Invited, joined, pending, earned.
    pub stats: [String; 4],
}

fn signed_in(p: &'static Panel, invite: Signal<Invite>, act: On<Act>) -> impl IntoView {
    let link = Memo::new(move |_| invite.with(|r| r.link.clone()));
    let shares = Memo::new(move |_| invite.with(|r| (r.can_share, r.shares.clone())));
    let copy = act.clone();
    let stats = p
        .stats
        .iter()
        .enumerate()
        .map(|(i, name)| {
            view! {
                <div>
                    <dt>{*name}</dt>
                    <dd>{move || invite.with(|r| r.stats[i].clone())}</dd>
                </div>
            }
        })
        .collect_view();
    view! {
        <label for="link" class="small">{p.your_link}</label>
        <div class="row">
            <input id="link" readonly dir="ltr" data-k="link" prop:value=move || link.get()/>
            <button
                type="button"
                class="go"
                data-k="copy"
                on:click=move |_| copy.call(Act::Copy(link.get_untracked()))
            >
                {p.copy_link}
            </button>
        </div>
        {move || {
            let (can_share, list) = shares.get();
            let act = act.clone();
            let share = act.clone();
            view! {
                <div class="shares">
                    {can_share.then(|| view! {
                        <button type="button" class="alt" data-k="share" on:click=move |_| share.call(Act::Share)>
                            {p.share}
                        </button>
                    })}
                    {list
                        .into_iter()
                        .map(|(name, url)| {
                            let act = act.clone();
                            let label = name.clone();
                            let key = name.clone();
                            view! {
                                <a
                                    class="alt"
                                    href=url
                                    target="_blank"
                                    rel="noopener noreferrer"
                                    data-k=key
                                    on:click=move |_| act.call(Act::Opened(label.clone()))
                                >
                                    {name}
                                </a>
                            }
                        })
                        .collect_view()}
                </div>
            }
        }}
        <dl class="stats">{stats}</dl>
    }
}

pub fn referral_panel(
    p: &'static Panel,
    invite: Signal<Invite>,
    sign_in: String,
    act: On<Act>,
) -> impl IntoView {
    let shape = Memo::new(move |_| invite.with(|r| (r.state, r.signed_in)));
    let offer = Memo::new(move |_| invite.with(|r| r.offer.clone()));
    move || {
        let act = act.clone();
        let lead = move || view! { <p class="lead">{move || offer.get()}</p> };
        match shape.get() {
            (Load::Loading, _) => pending(p, Load::Loading, "retry1", act),
            (Load::Failed, _) => pending(p, Load::Failed, "retry1", act),
            (Load::Ready, true) => view! { {lead()} {signed_in(p, invite, act)} }.into_any(),
            (Load::Ready, false) => view! { {lead()} {join(p, sign_in.clone())} }.into_any(),
        }
    }
}
