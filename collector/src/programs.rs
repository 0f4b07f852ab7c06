//! What a site's widget renders, as configured in `rapport.toml`: feedback prompts, the
//! referral offer, the loyalty program and the theme. All of it is public: it is served to
//! the widget by `GET /v1/sites/{site}/config`. Each type checks its own rules and names the
//! failing field by its path, e.g. `site[0].prompt[1].trigger.scroll_percent`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

type Check = Result<(), String>;

fn fail(at: &str, what: impl std::fmt::Display) -> Check {
    Err(format!("{at}: {what}"))
}

fn slug(at: &str, id: &str) -> Check {
    rapport_core::validate::event_name(id).map_err(|e| format!("{at}: \"{id}\" {}", e.reason))
}

/// `id` is a slug that no earlier item of the same list uses.
fn new_id<'a>(at: &str, id: &str, mut earlier: impl Iterator<Item = &'a str>) -> Check {
    slug(at, id)?;
    if earlier.any(|e| e == id) {
        return fail(at, format!("\"{id}\" is used twice"));
    }
    Ok(())
}

/// A text in several languages, keyed by language tag (`en`, `ar`, `he`, `th`, …). English is
/// required: it is the fallback.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    fn check(&self, at: &str) -> Check {
        if !self.0.contains_key("en") {
            return fail(at, "needs an \"en\" text, the fallback language");
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
                return fail(
                    at,
                    format!("\"{tag}\" is not a language tag like \"en\" or \"pt-BR\""),
                );
            }
            if text.trim().is_empty() || text.chars().count() > 500 {
                return fail(&format!("{at}.{tag}"), "must be 1-500 characters");
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VisitorKind {
    New,
    Returning,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    #[default]
    All,
    Any,
}

/// When a prompt is due. Conditions combine with `match` (all, by default).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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
    /// The id of a tier in `[site.loyalty]`: identified shoppers in that tier or a higher one.
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
    fn check(&self, at: &str) -> Check {
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
            return fail(at, "set at least one condition");
        }
        if self.scroll_percent.is_some_and(|p| p == 0 || p > 100) {
            return fail(&format!("{at}.scroll_percent"), "must be 1-100");
        }
        if let Some(event) = &self.event {
            slug(&format!("{at}.event"), event)?;
        }
        for (name, globs) in [
            ("url_include", &self.url_include),
            ("url_exclude", &self.url_exclude),
        ] {
            if let Some(bad) = globs.iter().find(|g| !g.starts_with('/')) {
                return fail(
                    &format!("{at}.{name}"),
                    format!("\"{bad}\" must be a path glob starting with \"/\""),
                );
            }
        }
        if self.delay_seconds > 3600 {
            return fail(&format!("{at}.delay_seconds"), "must be at most 3600");
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub detractor: Option<Text>,
    pub passive: Option<Text>,
    pub promoter: Option<Text>,
}

/// An A/B variant of a prompt's wording.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    pub question: Text,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PromptType,
    #[serde(default)]
    pub display: Display,
    /// CSS selector of the host element, for `inline` display.
    pub selector: Option<String>,
    pub question: Text,
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
    fn check(&self, at: &str) -> Check {
        self.question.check(&format!("{at}.question"))?;
        match (self.display, &self.selector) {
            (Display::Inline, None) => {
                return fail(&format!("{at}.selector"), "is required for inline display")
            }
            (Display::Inline, Some(s)) if s.trim().is_empty() => {
                return fail(&format!("{at}.selector"), "must not be empty")
            }
            (Display::Inline, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return fail(&format!("{at}.selector"), "only applies to inline display")
            }
        }
        if let Some(follow_up) = &self.follow_up {
            if self.kind != PromptType::Nps {
                return fail(&format!("{at}.follow_up"), "only applies to nps prompts");
            }
            for (band, text) in [
                ("detractor", &follow_up.detractor),
                ("passive", &follow_up.passive),
                ("promoter", &follow_up.promoter),
            ] {
                if let Some(text) = text {
                    text.check(&format!("{at}.follow_up.{band}"))?;
                }
            }
        }
        match (self.kind, self.choices.len()) {
            (PromptType::Choice, 2..=10) => {}
            (PromptType::Choice, _) => {
                return fail(
                    &format!("{at}.choices"),
                    "a choice prompt needs 2-10 choices",
                )
            }
            (_, 0) => {}
            _ => return fail(&format!("{at}.choices"), "only applies to choice prompts"),
        }
        for (i, choice) in self.choices.iter().enumerate() {
            choice.check(&format!("{at}.choices[{i}]"))?;
        }
        self.trigger.check(&format!("{at}.trigger"))?;
        if self.sample_percent == 0 || self.sample_percent > 100 {
            return fail(&format!("{at}.sample_percent"), "must be 1-100");
        }
        for (i, variant) in self.variants.iter().enumerate() {
            let vat = format!("{at}.variants[{i}]");
            let earlier = self.variants[..i].iter().map(|v| v.id.as_str());
            new_id(&format!("{vat}.id"), &variant.id, earlier)?;
            variant.question.check(&format!("{vat}.question"))?;
        }
        Ok(())
    }
}

/// The referral offer shown in the referral panel.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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
}

impl Referral {
    /// How long a reward stays pending, in milliseconds.
    pub fn hold_ms(&self) -> u64 {
        match self.hold_seconds {
            Some(s) => u64::from(s) * 1000,
            None => u64::from(self.hold_days.unwrap_or(DEFAULT_HOLD_DAYS)) * 86_400_000,
        }
    }
}

const DEFAULT_HOLD_DAYS: u32 = 14;

fn default_max_rewards() -> u32 {
    20
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub id: String,
    pub name: Text,
    /// Points needed to reach the tier; the first tier starts at 0.
    pub threshold: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    pub id: String,
    pub name: Text,
    /// Points a redemption costs.
    pub cost: u64,
}

/// Loyalty rules: how points are earned (by server-verified facts only) and spent.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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
    fn check(&self, at: &str) -> Check {
        if self.feedback_period_days == 0 || self.feedback_period_days > 3650 {
            return fail(&format!("{at}.feedback_period_days"), "must be 1-3650");
        }
        // With orders bounded at 10^12 cents, an order earns at most 10^14 points: the
        // ledger's 64-bit sums hold tens of thousands of such orders per customer.
        if self.points_per_currency_unit > MAX_POINTS_PER_UNIT {
            return fail(
                &format!("{at}.points_per_currency_unit"),
                format!("must be at most {MAX_POINTS_PER_UNIT}"),
            );
        }
        if self.tiers.first().map(|t| t.threshold) != Some(0) {
            return fail(
                &format!("{at}.tiers"),
                "the first tier must have threshold 0",
            );
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let tat = format!("{at}.tiers[{i}]");
            let earlier = self.tiers[..i].iter().map(|t| t.id.as_str());
            new_id(&format!("{tat}.id"), &tier.id, earlier)?;
            tier.name.check(&format!("{tat}.name"))?;
            if i > 0 && tier.threshold <= self.tiers[i - 1].threshold {
                return fail(&format!("{tat}.threshold"), "thresholds must increase");
            }
        }
        for (i, reward) in self.rewards.iter().enumerate() {
            let rat = format!("{at}.rewards[{i}]");
            let earlier = self.rewards[..i].iter().map(|r| r.id.as_str());
            new_id(&format!("{rat}.id"), &reward.id, earlier)?;
            reward.name.check(&format!("{rat}.name"))?;
            if reward.cost == 0 {
                return fail(&format!("{rat}.cost"), "must be above 0");
            }
        }
        Ok(())
    }
}

/// Theming of the widget's surfaces, through CSS custom properties.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// `#rrggbb`.
    pub brand_color: Option<String>,
    pub radius_px: Option<u8>,
    pub font_family: Option<String>,
}

impl Theme {
    fn check(&self, at: &str) -> Check {
        if let Some(color) = &self.brand_color {
            let hex = color
                .strip_prefix('#')
                .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if hex.is_none() {
                return fail(
                    &format!("{at}.brand_color"),
                    format!("\"{color}\" is not a colour like \"#2f4a3a\""),
                );
            }
        }
        if self.radius_px.is_some_and(|r| r > 32) {
            return fail(&format!("{at}.radius_px"), "must be 0-32");
        }
        // The font family ends up in a stylesheet; keep it to a plain list of names.
        if let Some(font) = &self.font_family {
            let plain = font.len() <= 200
                && font
                    .chars()
                    .all(|c| c.is_alphanumeric() || " ,-_'\"".contains(c));
            if !plain {
                return fail(
                    &format!("{at}.font_family"),
                    "may only hold font names, commas and quotes",
                );
            }
        }
        Ok(())
    }
}

/// The shopper panels (loyalty points and referral): where they read and act, and how they
/// are opened. Every URL is absolute (`https://…`) or starts with `/`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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
    fn check(&self, at: &str) -> Check {
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
                return fail(
                    &format!("{at}.{name}"),
                    format!("\"{url}\" must be an http(s) URL or a path starting with \"/\""),
                );
            }
        }
        if let Some(code) = &self.currency {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return fail(
                    &format!("{at}.currency"),
                    format!("\"{code}\" is not an ISO 4217 code like \"USD\""),
                );
            }
        }
        Ok(())
    }
}

/// Everything a site's widget renders.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
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
    pub fn check(&self, at: &str) -> Check {
        for (i, prompt) in self.prompts.iter().enumerate() {
            let pat = format!("{at}.prompt[{i}]");
            let earlier = self.prompts[..i].iter().map(|p| p.id.as_str());
            new_id(&format!("{pat}.id"), &prompt.id, earlier)?;
            prompt.check(&pat)?;
            if let Some(tier) = &prompt.trigger.loyalty_tier {
                let known = self.loyalty.as_ref();
                if !known.is_some_and(|l| l.tiers.iter().any(|t| &t.id == tier)) {
                    return fail(
                        &format!("{pat}.trigger.loyalty_tier"),
                        format!("\"{tier}\" is not a tier of [site.loyalty]"),
                    );
                }
            }
        }
        if let Some(referral) = &self.referral {
            referral.offer.check(&format!("{at}.referral.offer"))?;
            if referral.hold_days.is_some() && referral.hold_seconds.is_some() {
                return fail(
                    &format!("{at}.referral.hold_seconds"),
                    "set either hold_days or hold_seconds, not both",
                );
            }
        }
        if let Some(loyalty) = &self.loyalty {
            loyalty.check(&format!("{at}.loyalty"))?;
        }
        if let Some(theme) = &self.theme {
            theme.check(&format!("{at}.theme"))?;
        }
        if let Some(panels) = &self.panels {
            panels.check(&format!("{at}.panels"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    const SITE: &str = "[[site]]\nid = \"s\"\norigins = [\"*\"]\n";

    fn err(extra: &str) -> String {
        Config::parse(&format!("{SITE}{extra}")).unwrap_err()
    }

    #[test]
    fn panel_urls_and_currency_are_checked() {
        let at = err("[site.panels]\nsign_in_url = \"javascript:alert(1)\"\n");
        assert!(at.contains("site[0].panels.sign_in_url"), "{at}");
        let at = err("[site.panels]\nloyalty_url = \"//evil.example/loyalty\"\n");
        assert!(at.contains("site[0].panels.loyalty_url"), "{at}");
        let at = err("[site.panels]\nredeem_url = '/\\evil.example/redeem'\n");
        assert!(at.contains("site[0].panels.redeem_url"), "{at}");
        let at = err("[site.panels]\ncurrency = \"usd\"\n");
        assert!(at.contains("site[0].panels.currency"), "{at}");
        let both =
            "[site.referral]\noffer = { en = \"Give $15\" }\nhold_days = 3\nhold_seconds = 60\n";
        assert!(err(both).contains("site[0].referral.hold_seconds"));
        let fine = "[site.panels]\nsign_in_url = \"/account\"\nredeem_url = \"https://loyalty.example/redeem\"\ncurrency = \"EUR\"\n";
        let config = Config::parse(&format!("{SITE}{fine}")).unwrap();
        let panels = config.site("s").unwrap().programs().panels.unwrap();
        assert_eq!(panels.currency.as_deref(), Some("EUR"));
    }

    #[test]
    fn the_repository_config_parses_with_every_program() {
        let config = Config::parse(include_str!("../../rapport.toml")).unwrap();
        let programs = config.site("demo").unwrap().programs();
        assert_eq!(programs.prompts.len(), 4);
        assert!(
            programs.referral.is_some() && programs.loyalty.is_some() && programs.theme.is_some()
        );
        for prompt in &programs.prompts {
            for lang in ["en", "ar", "he", "th"] {
                assert!(
                    prompt.question.0.contains_key(lang),
                    "{} lacks {lang}",
                    prompt.id
                );
            }
        }
    }

    #[test]
    fn program_errors_name_the_field_path() {
        let prompt = |body: &str| err(&format!("[[site.prompt]]\nid = \"p\"\n{body}"));
        let q = "question = { en = \"Q?\" }\n";
        assert!(prompt(&format!("type = \"nps\"\n{q}trigger = {{}}"))
            .starts_with("site[0].prompt[0].trigger: set at least one"));
        assert!(prompt(&format!(
            "type = \"nps\"\n{q}trigger = {{ scroll_percent = 120 }}"
        ))
        .starts_with("site[0].prompt[0].trigger.scroll_percent"));
        assert!(prompt(
            "type = \"nps\"\nquestion = { ar = \"سؤال\" }\ntrigger = { exit_intent = true }"
        )
        .starts_with("site[0].prompt[0].question: needs an \"en\""));
        assert!(prompt(&format!(
            "type = \"choice\"\n{q}trigger = {{ exit_intent = true }}"
        ))
        .starts_with("site[0].prompt[0].choices"));
        assert!(prompt(&format!(
            "type = \"csat\"\ndisplay = \"inline\"\n{q}trigger = {{ exit_intent = true }}"
        ))
        .starts_with("site[0].prompt[0].selector"));
        assert!(prompt(&format!(
            "type = \"thumbs\"\n{q}trigger = {{ url_include = [\"checkout\"] }}"
        ))
        .starts_with("site[0].prompt[0].trigger.url_include"));
        assert!(prompt(&format!(
            "type = \"poll\"\n{q}trigger = {{ exit_intent = true }}"
        ))
        .contains("unknown variant"));
        assert!(prompt(&format!(
            "type = \"thumbs\"\n{q}trigger = {{ loyalty_tier = \"gold\" }}"
        ))
        .starts_with("site[0].prompt[0].trigger.loyalty_tier"));
        assert!(err("[site.loyalty]\n[[site.loyalty.tiers]]\nid = \"gold\"\nname = { en = \"Gold\" }\nthreshold = 10")
            .starts_with("site[0].loyalty.tiers: the first tier"));
        assert!(
            err("[site.theme]\nbrand_color = \"green\"").starts_with("site[0].theme.brand_color")
        );
        assert!(err("[site.theme]\nfont_family = \"x;} body{display:none\"")
            .starts_with("site[0].theme.font_family"));
        assert!(
            err("[site.referral]\noffer = { en = \"\" }").starts_with("site[0].referral.offer.en")
        );
    }
}
