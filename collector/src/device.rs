//! The device class of a request, from its User-Agent: `desktop`, `mobile` or `tablet`
//! (`unknown` without one). Only the class is stored, never the string or the address.

/// Classifies a User-Agent string.
pub fn class(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "unknown";
    };
    let has = |s: &str| ua.contains(s);
    if has("iPad")
        || has("Tablet")
        || has("Kindle")
        || has("Silk/")
        || (has("Android") && !has("Mobile"))
    {
        "tablet"
    } else if has("Mobi") || has("iPhone") || has("iPod") || has("Android") || has("Windows Phone")
    {
        "mobile"
    } else {
        "desktop"
    }
}

#[cfg(test)]
mod tests {
    use super::class;

    #[test]
    fn user_agents_become_classes() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "desktop"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "desktop"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "mobile"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "mobile"),
            ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "tablet"),
            ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "tablet"),
        ];
        for (ua, want) in cases {
            assert_eq!(class(Some(ua)), want, "{ua}");
        }
        assert_eq!(class(None), "unknown");
        assert_eq!(class(Some("  ")), "unknown");
    }
}
