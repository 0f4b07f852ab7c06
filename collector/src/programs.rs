//! What a site's widget renders, as configured in `rapport.toml`: feedback prompts, the
//! referral offer, the loyalty program and the theme. All of it is public: it is served to
//! the widget by `GET /v1/sites/{site}/config`.
//!
//! The types and their rules are `rapport_core::config`'s, shared with the widget, which
//! validates what it receives with the same code. Here a problem's path is given as the
//! config file spells it: `site[0].prompt[1].trigger.scroll_percent` (`[[site.prompt]]` in
//! TOML, `prompts` in the JSON the widget reads).

pub use rapport_core::config::*;

/// Every problem of a site's programs, joined, each named by its path in the file; `at` is
/// the site's (`site[0]`).
pub fn check(programs: &Programs, at: &str) -> Result<(), String> {
    let problems = programs.validate();
    if problems.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            let path = match p.path.strip_prefix("prompts[") {
                Some(rest) => format!("prompt[{rest}"),
                None => p.path.clone(),
            };
            format!("{at}.{path}: {}", p.message)
        })
        .collect();
    Err(lines.join("; "))
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
