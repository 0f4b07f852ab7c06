//! The site config as the widget sees it: feedback prompts, the referral offer, the loyalty
//! program, the theme and the panels' settings. The collector reads it from `rapport.toml`
//! and serves it as JSON (`GET /v1/sites/{site}/config`); the widget deserializes the same
//! types from inline `data-config` or from that answer. [`Programs::validate`] is the one set
//! of rules for both: it returns every problem, each naming its field by its path in the
//! JSON form (`prompts[0].trigger.scroll_percent`), so the collector's start-up error and the
//! widget's console line say the same thing.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// One broken rule: the field's path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Where problems are collected.
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `id` is a slug that no earlier item of the same list uses.
    fn new_id<'a>(&mut self, at: &str, id: &str, mut earlier: impl Iterator<Item = &'a str>) {
        if let Err(e) = crate::validate::event_name(id) {
            self.add(at, format!("\"{id}\" {}", e.reason));
        } else if earlier.any(|e| e == id) {
            self.add(at, format!("\"{id}\" is used twice"));
        }
    }
}

/// A text in several languages, keyed by language tag (`en`, `ar`, `he`, `th`, …). English is
/// required: it is the fallback.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    /// The text for `tag` (`ar-EG`, then `ar`), else English.
    pub fn pick(&self, tag: &str) -> &str {
        let primary = tag.split(['-', '_']).next().unwrap_or(tag);
        self.0
            .get(tag)
            .or_else(|| self.0.get(primary))
            .or_else(|| self.0.get("en"))
            .map_or("", String::as_str)
    }

    fn check(&self, p: &mut Problems, at: &str) {
        if !self.0.contains_key("en") {
            p.add(at, "needs an \"en\" text, the fallback language");
        }
        for (tag, text) in &self.0 {
            let valid_tag = tag.split('-').enumerate().all(|(i, part)| {
                let len_ok = if i == 0 {
                    (2..=3).contains(&part.len())
                } else {
                    (2..=8).contains(&part.len())
                };
                len_ok && part.bytes().all(|b| b.is_ascii_alphanumeric())
            });
            if !valid_tag {
                p.add(
                    at,
                    format!("\"{tag}\" is not a language tag like \"en\" or \"pt-BR\""),
                );
            } else if text.trim().is_empty() || text.chars().count() > 500 {
                p.add(format!("{at}.{tag}"), "must be 1-500 characters");
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PromptType {
    /// 0–10 with a follow-up question by score band.
    Nps,
    /// 1–5.
    Csat,
    Thumbs,
    Text,
    /// One of `choices`.
    Choice,
}

impl PromptType {
    pub fn name(self) -> &'static str {
        match self {
            PromptType::Nps => "nps",
            PromptType::Csat => "csat",
            PromptType::Thumbs => "thumbs",
            PromptType::Text => "text",
            PromptType::Choice => "choice",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Display {
    Modal,
    #[default]
    Popover,
    /// A persistent side feedback tab.
    Tab,
    /// Mounted into the host element `selector`.
    Inline,
}

impl Display {
    pub fn name(self) -> &'static str {
        match self {
            Display::Modal => "modal",
            Display::Popover => "popover",
            Display::Tab => "tab",
            Display::Inline => "inline",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VisitorKind {
    New,
    Returning,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Match {
    #[default]
    All,
    Any,
}

/// When a prompt is due. Conditions combine with `match` (all, by default).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub engaged_seconds: Option<u32>,
    pub scroll_percent: Option<u8>,
    #[serde(default)]
    pub exit_intent: bool,
    pub pageviews_at_least: Option<u32>,
    pub visitor: Option<VisitorKind>,
    pub referred: Option<bool>,
    /// A custom event name, e.g. `purchase`.
    pub event: Option<String>,
    /// The id of a tier in `loyalty.tiers`: identified shoppers in that tier or a higher one.
    pub loyalty_tier: Option<String>,
    #[serde(default)]
    pub url_include: Vec<String>,
    #[serde(default)]
    pub url_exclude: Vec<String>,
    #[serde(default, rename = "match")]
    pub match_: Match,
    #[serde(default)]
    pub delay_seconds: u32,
}

impl Trigger {
    fn check(&self, p: &mut Problems, at: &str) {
        let conditions = [
            self.engaged_seconds.is_some(),
            self.scroll_percent.is_some(),
            self.exit_intent,
            self.pageviews_at_least.is_some(),
            self.visitor.is_some(),
            self.referred.is_some(),
            self.event.is_some(),
            self.loyalty_tier.is_some(),
            !self.url_include.is_empty(),
        ];
        if !conditions.contains(&true) {
            p.add(at, "set at least one condition");
        }
        if self.engaged_seconds.is_some_and(|s| s > 86_400) {
            p.add(format!("{at}.engaged_seconds"), "must be at most 86400");
        }
        if self.scroll_percent.is_some_and(|s| s == 0 || s > 100) {
            p.add(format!("{at}.scroll_percent"), "must be 1-100");
        }
        if let Some(event) = &self.event {
            if let Err(e) = crate::validate::event_name(event) {
                p.add(format!("{at}.event"), format!("\"{event}\" {}", e.reason));
            }
        }
        for (name, globs) in [
            ("url_include", &self.url_include),
            ("url_exclude", &self.url_exclude),
        ] {
            if let Some(bad) = globs
                .iter()
                .find(|g| !g.starts_with('/') || g.contains('\n'))
            {
                p.add(
                    format!("{at}.{name}"),
                    format!("\"{bad}\" must be a path glob starting with \"/\""),
                );
            }
        }
        if self.delay_seconds > 3600 {
            p.add(format!("{at}.delay_seconds"), "must be at most 3600");
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub detractor: Option<Text>,
    pub passive: Option<Text>,
    pub promoter: Option<Text>,
}

impl FollowUp {
    /// The follow-up question for an NPS `score`'s band, if the site set one.
    pub fn for_score(&self, score: u8) -> Option<&Text> {
        match score {
            0..=6 => self.detractor.as_ref(),
            7..=8 => self.passive.as_ref(),
            _ => self.promoter.as_ref(),
        }
    }
}

/// An A/B variant of a prompt's wording.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    pub question: Text,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PromptType,
    #[serde(default)]
    pub display: Display,
    /// CSS selector of the host element, for `inline` display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub question: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    #[serde(default)]
    pub choices: Vec<Text>,
    pub trigger: Trigger,
    /// Share of visitors (stable per visitor) who may see it.
    #[serde(default = "full_sample")]
    pub sample_percent: u8,
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Ask again after the recontact period even when answered (never, by default).
    #[serde(default)]
    pub ask_again: bool,
}

fn full_sample() -> u8 {
    100
}

impl Prompt {
    fn check(&self, p: &mut Problems, at: &str) {
        self.question.check(p, &format!("{at}.question"));
        match (self.display, &self.selector) {
            (Display::Inline, None) => {
                p.add(format!("{at}.selector"), "is required for inline display")
            }
            (Display::Inline, Some(s)) if s.trim().is_empty() => {
                p.add(format!("{at}.selector"), "must not be empty")
            }
            (Display::Inline, Some(_)) | (_, None) => {}
            (_, Some(_)) => p.add(format!("{at}.selector"), "only applies to inline display"),
        }
        if let Some(follow_up) = &self.follow_up {
            if self.kind != PromptType::Nps {
                p.add(format!("{at}.follow_up"), "only applies to nps prompts");
            }
            for (band, text) in [
                ("detractor", &follow_up.detractor),
                ("passive", &follow_up.passive),
                ("promoter", &follow_up.promoter),
            ] {
                if let Some(text) = text {
                    text.check(p, &format!("{at}.follow_up.{band}"));
                }
            }
        }
        match (self.kind, self.choices.len()) {
            (PromptType::Choice, 2..=10)
            | (PromptType::Nps | PromptType::Csat | PromptType::Thumbs | PromptType::Text, 0) => {}
            (PromptType::Choice, _) => p.add(
                format!("{at}.choices"),
                "a choice prompt needs 2-10 choices",
            ),
            _ => p.add(format!("{at}.choices"), "only applies to choice prompts"),
        }
        for (i, choice) in self.choices.iter().enumerate() {
            choice.check(p, &format!("{at}.choices[{i}]"));
        }
        self.trigger.check(p, &format!("{at}.trigger"));
        if self.sample_percent == 0 || self.sample_percent > 100 {
            p.add(format!("{at}.sample_percent"), "must be 1-100");
        }
        for (i, variant) in self.variants.iter().enumerate() {
            let vat = format!("{at}.variants[{i}]");
            let earlier = self.variants[..i].iter().map(|v| v.id.as_str());
            p.new_id(&format!("{vat}.id"), &variant.id, earlier);
            variant.question.check(p, &format!("{vat}.question"));
        }
    }
}

/// The referral offer shown in the referral panel.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// e.g. "Give $15, get $15".
    pub offer: Text,
    /// Days a reward stays pending before it is earned (a refund in that time cancels it);
    /// 14 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_days: Option<u32>,
    /// Most rewards one referrer can earn.
    #[serde(default = "default_max_rewards")]
    pub max_rewards_per_referrer: u32,
    /// The hold in seconds instead of days, for demos and tests that cannot wait days (not
    /// with `hold_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_seconds: Option<u32>,
    /// The smallest referred order, in minor units (cents), that earns the referrer a reward;
    /// a smaller one is recorded as rejected (`below_minimum`). Any amount without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_order_cents: Option<u64>,
}

const DEFAULT_HOLD_DAYS: u32 = 14;

impl Referral {
    /// How long a reward stays pending, in milliseconds.
    pub fn hold_ms(&self) -> u64 {
        match self.hold_seconds {
            Some(s) => u64::from(s) * 1000,
            None => u64::from(self.hold_days.unwrap_or(DEFAULT_HOLD_DAYS)) * 86_400_000,
        }
    }
}

fn default_max_rewards() -> u32 {
    20
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub id: String,
    pub name: Text,
    /// Points needed to reach the tier; the first tier starts at 0.
    pub threshold: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reward {
    pub id: String,
    pub name: Text,
    /// Points a redemption costs.
    pub cost: u64,
}

/// Loyalty rules: how points are earned (by server-verified facts only) and spent.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Loyalty {
    /// Points per whole unit of currency in a confirmed order.
    #[serde(default)]
    pub points_per_currency_unit: u32,
    /// Points for an accepted feedback answer: once per prompt per customer per
    /// `feedback_period_days`.
    #[serde(default)]
    pub feedback_points: u32,
    #[serde(default = "default_feedback_period")]
    pub feedback_period_days: u32,
    /// Points for a confirmed referral conversion.
    #[serde(default)]
    pub referral_points: u32,
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub rewards: Vec<Reward>,
}

fn default_feedback_period() -> u32 {
    30
}

/// The most points one unit of currency may earn.
pub const MAX_POINTS_PER_UNIT: u32 = 10_000;

impl Loyalty {
    fn check(&self, p: &mut Problems, at: &str) {
        if self.feedback_period_days == 0 || self.feedback_period_days > 3650 {
            p.add(format!("{at}.feedback_period_days"), "must be 1-3650");
        }
        // With orders bounded at 10^12 cents, an order earns at most 10^14 points: the
        // ledger's 64-bit sums hold tens of thousands of such orders per customer.
        if self.points_per_currency_unit > MAX_POINTS_PER_UNIT {
            p.add(
                format!("{at}.points_per_currency_unit"),
                format!("must be at most {MAX_POINTS_PER_UNIT}"),
            );
        }
        if self.tiers.first().map(|t| t.threshold) != Some(0) {
            p.add(
                format!("{at}.tiers"),
                "the first tier must have threshold 0",
            );
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let tat = format!("{at}.tiers[{i}]");
            let earlier = self.tiers[..i].iter().map(|t| t.id.as_str());
            p.new_id(&format!("{tat}.id"), &tier.id, earlier);
            tier.name.check(p, &format!("{tat}.name"));
            if i > 0 && tier.threshold <= self.tiers[i - 1].threshold {
                p.add(format!("{tat}.threshold"), "thresholds must increase");
            }
        }
        for (i, reward) in self.rewards.iter().enumerate() {
            let rat = format!("{at}.rewards[{i}]");
            let earlier = self.rewards[..i].iter().map(|r| r.id.as_str());
            p.new_id(&format!("{rat}.id"), &reward.id, earlier);
            reward.name.check(p, &format!("{rat}.name"));
            if reward.cost == 0 {
                p.add(format!("{rat}.cost"), "must be above 0");
            }
        }
    }

    /// The position of tier `id` (0 is the first), for `loyalty_tier` conditions.
    pub fn tier_index(&self, id: &str) -> Option<u32> {
        self.tiers.iter().position(|t| t.id == id).map(|i| i as u32)
    }
}

/// Theming of the widget's surfaces, through CSS custom properties.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_px: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_family: Option<String>,
}

impl Theme {
    fn check(&self, p: &mut Problems, at: &str) {
        if let Some(color) = &self.brand_color {
            if rgb(color).is_none() {
                p.add(
                    format!("{at}.brand_color"),
                    format!("\"{color}\" is not a colour like \"#2f4a3a\""),
                );
            }
        }
        if self.radius_px.is_some_and(|r| r > 32) {
            p.add(format!("{at}.radius_px"), "must be 0-32");
        }
        // The font family ends up in a stylesheet; keep it to a plain list of names.
        if let Some(font) = &self.font_family {
            if !plain_font(font) {
                p.add(
                    format!("{at}.font_family"),
                    "may only hold font names, commas and quotes",
                );
            }
        }
    }

    /// The custom properties of a valid theme, for the widget's stylesheet: the brand colour
    /// (`--b`), the text on it (`--o`: white or near-black, whichever contrasts more), the
    /// focus ring and edge (`--k`, `--e`: the brand colour where it stands out from white,
    /// else near-black), the radius (`--r`) and the font (`--f`). Invalid fields are left out.
    pub fn css_properties(&self) -> String {
        let mut css = String::new();
        if let Some((color, l)) = self
            .brand_color
            .as_deref()
            .and_then(|c| Some((c, luminance(rgb(c)?))))
        {
            let dark = luminance([0x11, 0x11, 0x11]);
            let on_white = 1.05 / (l + 0.05);
            let fg = if on_white >= (l + 0.05) / (dark + 0.05) {
                "#fff"
            } else {
                "#111"
            };
            css.push_str(&format!("--b:{color};--o:{fg};"));
            if on_white >= 3.0 {
                css.push_str(&format!("--k:{color};"));
            } else {
                css.push_str("--e:#111;--k:#111;");
            }
        }
        if let Some(r) = self.radius_px.filter(|r| *r <= 32) {
            css.push_str(&format!("--r:{r}px;"));
        }
        if let Some(font) = self.font_family.as_deref().filter(|f| plain_font(f)) {
            css.push_str(&format!("--f:{font};"));
        }
        css
    }
}

/// A font family fit for a stylesheet: a plain list of names, commas and quotes.
fn plain_font(font: &str) -> bool {
    !font.is_empty()
        && font.len() <= 200
        && font
            .chars()
            .all(|c| c.is_alphanumeric() || " ,-_'\"".contains(c))
}

fn rgb(color: &str) -> Option<[u8; 3]> {
    let hex = color
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// Relative luminance (WCAG 2).
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            libm::pow((c + 0.055) / 1.055, 2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// The shopper panels (loyalty points and referral): where they read and act, and how they
/// are opened. Every URL is absolute (`https://…`) or starts with `/`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Panels {
    /// Where "Join / sign in" takes an anonymous shopper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_url: Option<String>,
    /// Show the launcher button with the points balance (default true). Any element of the
    /// page with `data-rapport-panel="loyalty"` or `"referral"` opens that panel on click.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher: Option<bool>,
    /// After an NPS answer of 9-10 the thank-you offers the referral panel (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nudge_promoters: Option<bool>,
    /// Another backend with the same JSON contract (docs/loyalty-referral.md); by default
    /// the collector's own `/v1/sites/{site}/loyalty`, `…/loyalty/redeem` and `…/referral`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeem_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_url: Option<String>,
    /// The page a shared referral link opens, with `?ref=CODE` added (default: the origin's
    /// home page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
    /// ISO 4217 code of the currency in "Every $1 spent" (default USD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl Panels {
    fn check(&self, p: &mut Problems, at: &str) {
        let urls = [
            ("sign_in_url", &self.sign_in_url),
            ("loyalty_url", &self.loyalty_url),
            ("redeem_url", &self.redeem_url),
            ("referral_url", &self.referral_url),
            ("share_url", &self.share_url),
        ];
        for (name, url) in urls {
            let Some(url) = url else { continue };
            let absolute = url.starts_with("https://") || url.starts_with("http://");
            let rooted = url.starts_with('/') && !url.starts_with("//");
            // A backslash would let "/\\evil.example" leave the site in browsers.
            let odd = url.contains('\\') || url.chars().any(char::is_whitespace);
            if !(absolute || rooted) || url.len() > 2000 || odd {
                p.add(
                    format!("{at}.{name}"),
                    format!("\"{url}\" must be an http(s) URL or a path starting with \"/\""),
                );
            }
        }
        if let Some(code) = &self.currency {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                p.add(
                    format!("{at}.currency"),
                    format!("\"{code}\" is not an ISO 4217 code like \"USD\""),
                );
            }
        }
    }
}

/// Everything a site's widget renders.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Programs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<Prompt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<Loyalty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panels: Option<Panels>,
}

impl Programs {
    /// Every broken rule, in the order of the fields; empty when the config is valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Problems(Vec::new());
        for (i, prompt) in self.prompts.iter().enumerate() {
            let pat = format!("prompts[{i}]");
            let earlier = self.prompts[..i].iter().map(|p| p.id.as_str());
            p.new_id(&format!("{pat}.id"), &prompt.id, earlier);
            prompt.check(&mut p, &pat);
            if let Some(tier) = &prompt.trigger.loyalty_tier {
                if self
                    .loyalty
                    .as_ref()
                    .and_then(|l| l.tier_index(tier))
                    .is_none()
                {
                    p.add(
                        format!("{pat}.trigger.loyalty_tier"),
                        format!("\"{tier}\" is not a tier of loyalty.tiers"),
                    );
                }
            }
        }
        if let Some(referral) = &self.referral {
            referral.offer.check(&mut p, "referral.offer");
            if referral.hold_days.is_some() && referral.hold_seconds.is_some() {
                p.add(
                    "referral.hold_seconds",
                    "set either hold_days or hold_seconds, not both",
                );
            }
        }
        if let Some(loyalty) = &self.loyalty {
            loyalty.check(&mut p, "loyalty");
        }
        if let Some(theme) = &self.theme {
            theme.check(&mut p, "theme");
        }
        if let Some(panels) = &self.panels {
            panels.check(&mut p, "panels");
        }
        p.0
    }

    /// The config with every part that breaks a rule taken out, and the problems: a prompt
    /// with a problem is not shown, a bad theme or panel field keeps its default, a bad
    /// referral offer or loyalty program is not shown. The widget runs on what remains.
    pub fn usable(mut self) -> (Programs, Vec<Problem>) {
        let problems = self.validate();
        let mut dropped = Vec::new();
        for problem in &problems {
            let path = problem.path.as_str();
            if let Some(rest) = path.strip_prefix("prompts[") {
                if let Some(i) = rest.split(']').next().and_then(|i| i.parse::<usize>().ok()) {
                    dropped.push(i);
                }
            } else if path.starts_with("referral") {
                self.referral = None;
            } else if path.starts_with("loyalty") {
                self.loyalty = None;
            } else if let Some(field) = path.strip_prefix("theme.") {
                if let Some(theme) = &mut self.theme {
                    match field {
                        "brand_color" => theme.brand_color = None,
                        "radius_px" => theme.radius_px = None,
                        _ => theme.font_family = None,
                    }
                }
            } else if let Some(field) = path.strip_prefix("panels.") {
                if let Some(panels) = &mut self.panels {
                    match field {
                        "sign_in_url" => panels.sign_in_url = None,
                        "loyalty_url" => panels.loyalty_url = None,
                        "redeem_url" => panels.redeem_url = None,
                        "referral_url" => panels.referral_url = None,
                        "share_url" => panels.share_url = None,
                        _ => panels.currency = None,
                    }
                }
            }
        }
        let mut i = 0;
        self.prompts.retain(|_| {
            i += 1;
            !dropped.contains(&(i - 1))
        });
        // A tier condition on a dropped program cannot hold.
        if self.loyalty.is_none() {
            self.prompts.retain(|p| p.trigger.loyalty_tier.is_none());
        }
        (self, problems)
    }

    /// Whether the widget has anything to show.
    pub fn shows_anything(&self) -> bool {
        !self.prompts.is_empty() || self.loyalty.is_some() || self.referral.is_some()
    }
}

impl Problem {
    /// The problem as one line for a console or a log, `field "path" message`.
    pub fn line(&self) -> String {
        let mut s = String::from("config field \"");
        s.push_str(&self.path);
        s.push_str("\" ");
        s.push_str(&self.message);
        s
    }
}

impl fmt::Display for PromptType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(json: &str) -> Programs {
        serde_json::from_str(json).unwrap()
    }

    fn paths(json: &str) -> Vec<String> {
        programs(json)
            .validate()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    const Q: &str = r##""question": {"en": "Q?"}"##;

    #[test]
    fn every_problem_is_named_by_its_path() {
        let json = format!(
            r##"{{"prompts": [
                {{"id": "a", "type": "nps", {Q}, "trigger": {{}}}},
                {{"id": "b", "type": "nps", {Q}, "trigger": {{"scroll_percent": 120, "delay_seconds": 4000}}}},
                {{"id": "b", "type": "choice", "question": {{"ar": "س"}}, "trigger": {{"exit_intent": true}}}},
                {{"id": "d", "type": "csat", "display": "inline", {Q}, "trigger": {{"url_include": ["checkout"]}}}},
                {{"id": "e", "type": "thumbs", {Q}, "trigger": {{"loyalty_tier": "gold"}}}}
            ],
            "referral": {{"offer": {{"en": " "}}, "hold_days": 3, "hold_seconds": 5}},
            "theme": {{"brand_color": "green", "radius_px": 40, "font_family": "x;}} body{{display:none"}},
            "panels": {{"sign_in_url": "javascript:alert(1)", "currency": "usd"}}}}"##
        );
        assert_eq!(
            paths(&json),
            [
                "prompts[0].trigger",
                "prompts[1].trigger.scroll_percent",
                "prompts[1].trigger.delay_seconds",
                "prompts[2].id",
                "prompts[2].question",
                "prompts[2].choices",
                "prompts[3].selector",
                "prompts[3].trigger.url_include",
                "prompts[4].trigger.loyalty_tier",
                "referral.offer.en",
                "referral.hold_seconds",
                "theme.brand_color",
                "theme.radius_px",
                "theme.font_family",
                "panels.sign_in_url",
                "panels.currency",
            ]
        );
        let problems = programs(&json).validate();
        assert_eq!(
            problems[1].to_string(),
            "prompts[1].trigger.scroll_percent: must be 1-100"
        );
        assert_eq!(problems[3].message, "\"b\" is used twice");
    }

    #[test]
    fn loyalty_rules() {
        let bad = r##"{"loyalty": {"tiers": [{"id": "gold", "name": {"en": "Gold"}, "threshold": 10},
            {"id": "gold", "name": {"en": "G"}, "threshold": 5}],
            "rewards": [{"id": "r", "name": {"en": "R"}, "cost": 0}],
            "feedback_period_days": 0, "points_per_currency_unit": 10001}}"##;
        assert_eq!(
            paths(bad),
            [
                "loyalty.feedback_period_days",
                "loyalty.points_per_currency_unit",
                "loyalty.tiers",
                "loyalty.tiers[1].id",
                "loyalty.tiers[1].threshold",
                "loyalty.rewards[0].cost",
            ]
        );
    }

    #[test]
    fn usable_keeps_what_is_valid() {
        let json = format!(
            r##"{{"prompts": [
                {{"id": "broken", "type": "nps", {Q}, "trigger": {{"scroll_percent": 150}}}},
                {{"id": "fine", "type": "thumbs", {Q}, "trigger": {{"exit_intent": true}}}}
            ],
            "theme": {{"brand_color": "#2f4a3a", "radius_px": 99}},
            "panels": {{"share_url": "//evil.example", "sign_in_url": "/account"}},
            "referral": {{"offer": {{"fr": "x"}}}}}}"##
        );
        let (usable, problems) = programs(&json).usable();
        assert_eq!(problems.len(), 4);
        assert_eq!(usable.prompts.len(), 1);
        assert_eq!(usable.prompts[0].id, "fine");
        let theme = usable.theme.as_ref().unwrap();
        assert_eq!(theme.brand_color.as_deref(), Some("#2f4a3a"));
        assert_eq!(theme.radius_px, None);
        let panels = usable.panels.as_ref().unwrap();
        assert_eq!(panels.share_url, None);
        assert_eq!(panels.sign_in_url.as_deref(), Some("/account"));
        assert!(usable.referral.is_none());
        assert!(usable.validate().is_empty());
        assert!(usable.shows_anything());
        assert_eq!(
            problems[0].line(),
            "config field \"prompts[0].trigger.scroll_percent\" must be 1-100"
        );
    }

    #[test]
    fn theme_properties_pick_the_contrasting_text() {
        let theme = |c: &str| Theme {
            brand_color: Some(c.into()),
            radius_px: Some(4),
            font_family: Some("Inter, 'Noto Sans Arabic'".into()),
        };
        // A dark green: white text on it, and it is its own focus ring.
        assert_eq!(
            theme("#2f4a3a").css_properties(),
            "--b:#2f4a3a;--o:#fff;--k:#2f4a3a;--r:4px;--f:Inter, 'Noto Sans Arabic';"
        );
        // A pale yellow: dark text, and a dark edge and focus ring.
        assert!(theme("#ffeb99")
            .css_properties()
            .starts_with("--b:#ffeb99;--o:#111;--e:#111;--k:#111;"));
        let bad = Theme {
            brand_color: Some("red".into()),
            radius_px: Some(99),
            font_family: Some("a;}".into()),
        };
        assert_eq!(bad.css_properties(), "");
    }

    #[test]
    fn texts_pick_the_language_then_english() {
        let t: Text =
            serde_json::from_str(r##"{"en": "Hi", "ar": "مرحبا", "pt-BR": "Oi"}"##).unwrap();
        assert_eq!(t.pick("ar-EG"), "مرحبا");
        assert_eq!(t.pick("pt-BR"), "Oi");
        assert_eq!(t.pick("th"), "Hi");
    }
}
