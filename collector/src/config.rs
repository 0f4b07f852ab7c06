//! The site config file (`rapport.toml`): which sites exist, who may send for them.
//!
//! ```toml
//! [[site]]
//! id = "demo"                                  # the widget's data-site
//! origins = ["https://shop.example"]           # pages allowed to send; "*" for any
//! write_key = "wk_live_…"                      # optional: required as ?key= or x-rapport-key
//! owners = ["sha256:…"]                        # who reads its data (`token new` prints one)
//! shared = ["sha256:…"]                        # shared links: read its stats only
//! ```
//!
//! A file that does not parse, or breaks a rule, stops the collector at start-up with a
//! message naming the file, the line (for syntax) and the field.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(rename = "site", default)]
    pub sites: Vec<SiteConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub id: String,
    /// Exact origins (`scheme://host[:port]`) whose pages may send, or `"*"` for any.
    pub origins: Vec<String>,
    /// When set, every batch must carry it (`?key=` on the endpoint, or `x-rapport-key`).
    pub write_key: Option<String>,
    /// Hashes (`sha256:<hex>`) of the owner tokens that read this site's data: its stats,
    /// events and feedback. `rapport-collector token new` prints a token and its hash.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Hashes of the tokens of this site's shared links, which read its stats but never its
    /// events or feedback. Removing one revokes the link.
    #[serde(default)]
    pub shared: Vec<String>,
    /// The site's HMAC secret, shared with the site's server only: it signs shopper ids and
    /// webhooks. Never served.
    pub secret: Option<String>,
    /// Shopper identities expire: `identify()` hashes then cover `"<expires>.<id>"` (unix
    /// seconds), sent as `x-rapport-user-expires`, at most this far ahead; plain hashes are
    /// refused. Without it a hash covers the id alone and does not expire.
    pub identity_max_age_seconds: Option<u64>,
    /// Until this time (unix seconds), identity hashes made the old way, with the secret
    /// itself as the key, still verify beside those under the identity key: the window for
    /// a site's server to move to the derived keys (docs/loyalty-referral.md). Webhooks take
    /// the webhook key only.
    pub legacy_identity_until: Option<u64>,
    /// The demo shop's server routes (`/demo-api/{site}/…`, with `--demo-dir`) serve this
    /// site. Never set it for a real site: those routes sign in and pay for anyone.
    #[serde(default)]
    pub demo: bool,
    /// Feedback prompts (`[[site.prompt]]`).
    #[serde(default, rename = "prompt")]
    pub prompts: Vec<crate::programs::Prompt>,
    pub referral: Option<crate::programs::Referral>,
    pub loyalty: Option<crate::programs::Loyalty>,
    pub theme: Option<crate::programs::Theme>,
    pub panels: Option<crate::programs::Panels>,
}

fn valid_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty() && !rest.contains('/') && !rest.contains('?') && !rest.contains('#')
}

impl Config {
    /// Reads and checks `path`; the error names the file and what is wrong.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.sites.is_empty() {
            return Err("no [[site]] is configured".into());
        }
        for (i, site) in self.sites.iter().enumerate() {
            let at = format!("site[{i}]");
            rapport_core::validate::site(&site.id)
                .map_err(|e| format!("{at}.id: \"{}\" {}", site.id, e.reason))?;
            if self.sites[..i].iter().any(|s| s.id == site.id) {
                return Err(format!("{at}.id: \"{}\" is configured twice", site.id));
            }
            if site.origins.is_empty() {
                return Err(format!("{at}.origins: list at least one origin, or \"*\""));
            }
            if let Some(bad) = site.origins.iter().find(|o| !valid_origin(o)) {
                return Err(format!(
                    "{at}.origins: \"{bad}\" is not an origin like \"https://shop.example\""
                ));
            }
            if site.write_key.as_deref().is_some_and(|k| k.len() < 16) {
                return Err(format!("{at}.write_key: use at least 16 characters"));
            }
            if site.secret.as_deref().is_some_and(|s| s.len() < 32) {
                return Err(format!("{at}.secret: use at least 32 random characters"));
            }
            if site
                .identity_max_age_seconds
                .is_some_and(|age| age == 0 || age > 366 * 86_400)
            {
                return Err(format!(
                    "{at}.identity_max_age_seconds: must be 1 to 31622400 (a year)"
                ));
            }
            crate::programs::check(&site.programs(), &at)?;
            self.check_hashes(i, site)?;
        }
        Ok(())
    }

    /// Owner and shared-link hashes are well formed; a token is a site's owner, or one
    /// site's shared link, never both, so what it reads is never ambiguous.
    fn check_hashes(&self, i: usize, site: &SiteConfig) -> Result<(), String> {
        let lists = [("owners", &site.owners), ("shared", &site.shared)];
        for (field, list) in lists {
            for (j, text) in list.iter().enumerate() {
                let at = format!("site[{i}].{field}[{j}]");
                if crate::secret::parse_hash(text).is_none() {
                    return Err(format!(
                        "{at}: \"{text}\" is not a token hash like \"sha256:<64 lowercase hex digits>\" \
                         (`rapport-collector token new` prints a token and its hash)"
                    ));
                }
                if list[..j].contains(text) {
                    return Err(format!("{at}: the same hash is listed twice"));
                }
                let shared_elsewhere = self.sites[..i].iter().any(|s| s.shared.contains(text));
                let owner_elsewhere = self.sites[..i].iter().any(|s| s.owners.contains(text));
                let clash = match field {
                    "owners" => shared_elsewhere || site.shared.contains(text),
                    _ => shared_elsewhere || owner_elsewhere,
                };
                if clash {
                    return Err(format!(
                        "{at}: this hash is also a shared link's or an owner's; give each \
                         shared link a token of its own"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether any site lists an owner or a shared link.
    pub fn has_tokens(&self) -> bool {
        self.sites
            .iter()
            .any(|s| !s.owners.is_empty() || !s.shared.is_empty())
    }

    /// What the token with this hash reads: the sites it owns, or its shared link's site.
    /// Every configured hash is compared, in constant time.
    pub fn token_sites(&self, hash: &[u8; 32]) -> TokenSites {
        let mut owned = Vec::new();
        let mut shared = None;
        for site in &self.sites {
            let matches = |list: &Vec<String>| {
                list.iter().fold(false, |found, text| {
                    let listed = crate::secret::parse_hash(text).unwrap_or([0; 32]);
                    found | crate::secret::same_hash(&listed, hash)
                })
            };
            if matches(&site.owners) {
                owned.push(site.id.clone());
            }
            if matches(&site.shared) {
                shared = Some(site.id.clone());
            }
        }
        match shared {
            Some(site) => TokenSites::Shared(site),
            None if !owned.is_empty() => TokenSites::Owner(owned),
            None => TokenSites::Unknown,
        }
    }

    pub fn site(&self, id: &str) -> Option<&SiteConfig> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// Whether any site accepts pages from `origin` (for CORS preflights, which do not say
    /// which site they are for).
    pub fn any_site_allows(&self, origin: &str) -> bool {
        self.sites.iter().any(|s| s.allows_origin(origin))
    }
}

/// What one token reads, by the config's owner and shared lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSites {
    /// An owner's token: these sites, all of their data.
    Owner(Vec<String>),
    /// A shared link's token: this site's stats only.
    Shared(String),
    /// Listed nowhere.
    Unknown,
}

impl SiteConfig {
    /// What the widget renders; all of it is public.
    pub fn programs(&self) -> crate::programs::Programs {
        crate::programs::Programs {
            prompts: self.prompts.clone(),
            referral: self.referral.clone(),
            loyalty: self.loyalty.clone(),
            theme: self.theme.clone(),
            panels: self.panels.clone(),
        }
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    /// Constant-time comparison, so response timing does not reveal the key.
    pub fn key_matches(&self, given: Option<&str>) -> bool {
        match (&self.write_key, given) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(key), Some(given)) => crate::secret::same_secret(key, given),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let err = |text: &str| Config::parse(text).unwrap_err();
        assert!(err("").contains("no [[site]]"));
        assert!(err("[[site]]\nid = \"Demo Shop\"\norigins = [\"*\"]").starts_with("site[0].id:"));
        assert!(err("[[site]]\nid = \"a\"\norigins = []").starts_with("site[0].origins:"));
        assert!(
            err("[[site]]\nid = \"a\"\norigins = [\"shop.example\"]").contains("\"shop.example\"")
        );
        let twice =
            "[[site]]\nid = \"a\"\norigins = [\"*\"]\n[[site]]\nid = \"a\"\norigins = [\"*\"]";
        assert!(err(twice).starts_with("site[1].id:"));
        let short_key = "[[site]]\nid = \"a\"\norigins = [\"*\"]\nwrite_key = \"short\"";
        assert!(err(short_key).starts_with("site[0].write_key:"));
        let short_secret = "[[site]]\nid = \"a\"\norigins = [\"*\"]\nsecret = \"0123456789\"";
        assert!(err(short_secret).starts_with("site[0].secret:"));
        // Unknown fields are errors with a line number, not silently ignored.
        let typo = "[[site]]\nid = \"a\"\norigins = [\"*\"]\norgins = [\"x\"]";
        let e = err(typo);
        assert!(e.contains("line 4") && e.contains("orgins"), "{e}");
    }

    #[test]
    fn origins_and_keys_are_checked_exactly() {
        let config = Config::parse(
            "[[site]]\nid = \"shop\"\norigins = [\"https://shop.example\"]\nwrite_key = \"0123456789abcdef\"",
        )
        .unwrap();
        let site = config.site("shop").unwrap();
        assert!(site.allows_origin("https://shop.example"));
        assert!(!site.allows_origin("https://shop.example.evil"));
        assert!(!site.allows_origin("http://shop.example"));
        assert!(site.key_matches(Some("0123456789abcdef")));
        assert!(!site.key_matches(Some("0123456789abcdeX")));
        assert!(!site.key_matches(None));
        assert!(config.site("other").is_none());
    }

    #[test]
    fn token_hashes_are_checked_and_looked_up() {
        let err = |text: &str| Config::parse(text).unwrap_err();
        let a = crate::secret::token_hash_text("token-a");
        let b = crate::secret::token_hash_text("token-b");
        let site = |id: &str, owners: &[&str], shared: &[&str]| {
            format!("[[site]]\nid = \"{id}\"\norigins = [\"*\"]\nowners = {owners:?}\nshared = {shared:?}\n")
        };
        let e = err(&site("a", &["sha256:abc"], &[]));
        assert!(
            e.starts_with("site[0].owners[0]:") && e.contains("token new"),
            "{e}"
        );
        let e = err(&site("a", &[&a, &b.to_uppercase()], &[]));
        assert!(e.starts_with("site[0].owners[1]:"), "{e}");
        assert!(err(&site("a", &[&a, &a], &[])).starts_with("site[0].owners[1]:"));
        assert!(err(&site("a", &[&a], &[&a])).starts_with("site[0].owners[0]:"));
        let twice = site("a", &[], &[&a]) + &site("b", &[], &[&a]);
        assert!(err(&twice).starts_with("site[1].shared[0]:"));
        let owner_and_link = site("a", &[&a], &[]) + &site("b", &[], &[&a]);
        assert!(err(&owner_and_link).starts_with("site[1].shared[0]:"));

        let config = Config::parse(
            &(site("a", &[&a], &[]) + &site("b", &[&a], &[&b]) + &site("c", &[], &[])),
        )
        .unwrap();
        assert!(config.has_tokens());
        let hash = crate::secret::token_hash;
        assert_eq!(
            config.token_sites(&hash("token-a")),
            TokenSites::Owner(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            config.token_sites(&hash("token-b")),
            TokenSites::Shared("b".into())
        );
        assert_eq!(config.token_sites(&hash("token-c")), TokenSites::Unknown);
        assert!(!Config::parse(&site("a", &[], &[])).unwrap().has_tokens());
    }
}
