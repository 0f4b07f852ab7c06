//! When a feedback prompt (or a referral or loyalty nudge) may be shown: triggers, targeting,
//! sampling, A/B variants and the one frequency budget all surfaces share.
//!
//! Sans-IO like the rest of the core: the driver supplies the facts (the engine's numbers,
//! whether a named event happened, the page's path) and the stored budget history, and
//! carries out the answer. Nothing here allocates.

use crate::time::Millis;

/// Which visitors a prompt targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitorKind {
    New,
    Returning,
}

/// A prompt's trigger, as the site config states it. Conditions combine with `all` unless
/// `any` is set; an unset condition does not take part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trigger<'a> {
    pub engaged_seconds: Option<u32>,
    pub scroll_percent: Option<u8>,
    pub exit_intent: bool,
    pub pageviews_at_least: Option<u32>,
    pub visitor: Option<VisitorKind>,
    pub referred: Option<bool>,
    /// A custom event that must have happened in the session.
    pub event: Option<&'a str>,
    /// The shopper's loyalty tier is this one (its position in the program's tiers) or a
    /// higher one.
    pub loyalty_tier_at_least: Option<u32>,
    /// Path globs (`*` any run of characters, `?` one); the path must match one.
    pub url_include: &'a [&'a str],
    /// Path globs the path must match none of (always required, whatever `any` says).
    pub url_exclude: &'a [&'a str],
    pub any: bool,
    /// Wait this long after the conditions hold before showing.
    pub delay: Millis,
}

/// What is true now, as the driver and the engine know it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Facts<'a> {
    /// Engaged time of the current pageview.
    pub engaged: Millis,
    pub scroll_max: u8,
    /// The pointer left through the top of the viewport (desktop exit intent).
    pub exit_intent: bool,
    pub session_pageviews: u32,
    pub returning: bool,
    /// The visitor arrived with a referral code (attribution still attached).
    pub referred: bool,
    /// Custom events seen in this session.
    pub events: &'a [&'a str],
    /// The identified shopper's loyalty tier, as its position in the program's tiers (0 is
    /// the first); `None` for an anonymous shopper or when it is not known.
    pub loyalty_tier: Option<u32>,
    /// The page's path, e.g. `/checkout/done`.
    pub path: &'a str,
}

/// `*` matches any run of characters (also none), `?` exactly one; everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it is trying to absorb up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

impl Trigger<'_> {
    /// Whether the trigger's conditions hold for `facts` (the delay aside).
    pub fn holds(&self, facts: &Facts) -> bool {
        if self.url_exclude.iter().any(|g| glob_match(g, facts.path)) {
            return false;
        }
        let conditions = [
            self.engaged_seconds
                .map(|s| facts.engaged >= Millis::from_secs(s.into())),
            self.scroll_percent.map(|p| facts.scroll_max >= p),
            self.exit_intent.then_some(facts.exit_intent),
            self.pageviews_at_least
                .map(|n| facts.session_pageviews >= n),
            self.visitor.map(|kind| match kind {
                VisitorKind::New => !facts.returning,
                VisitorKind::Returning => facts.returning,
            }),
            self.referred.map(|r| r == facts.referred),
            self.event.map(|name| facts.events.contains(&name)),
            self.loyalty_tier_at_least
                .map(|t| facts.loyalty_tier.is_some_and(|tier| tier >= t)),
            (!self.url_include.is_empty())
                .then(|| self.url_include.iter().any(|g| glob_match(g, facts.path))),
        ];
        let mut set = conditions.iter().flatten().peekable();
        if set.peek().is_none() {
            return false; // a trigger with no condition never fires
        }
        if self.any {
            set.copied().any(|c| c)
        } else {
            set.copied().all(|c| c)
        }
    }
}

/// FNV-1a over the visitor id, a separator and the prompt id: a stable number per visitor
/// and prompt, so sampling and variants do not change between pages.
pub fn stable_hash(visitor_id: &str, prompt_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in visitor_id.bytes().chain([0]).chain(prompt_id.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Whether the visitor falls in the prompt's sample of `percent` (1–100).
pub fn sampled(visitor_id: &str, prompt_id: &str, percent: u8) -> bool {
    stable_hash(visitor_id, prompt_id) % 100 < u32::from(percent.min(100))
}

/// The visitor's A/B variant among `count` (0 when there are none), stable per visitor.
pub fn variant(visitor_id: &str, prompt_id: &str, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    // A different mix from sampling, so the sample and the variants are independent.
    (stable_hash(prompt_id, visitor_id) as usize) % count
}

/// The frequency budget every unsolicited surface shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// After any surface was shown, none is shown again for this long.
    pub recontact: Millis,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            recontact: Millis::from_hours(24 * 14),
        }
    }
}

/// What the driver stored about earlier surfaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// When a surface was last shown (a dismissal counts as shown).
    pub last_shown: Option<Millis>,
    /// Whether the prompt at hand was answered before.
    pub answered: bool,
}

/// Why a surface may not be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// One unsolicited surface per session, and one was shown in this session.
    ThisSession,
    /// Within the recontact period of the last one shown.
    Recontact,
    /// Answered before, and the prompt does not allow asking again.
    Answered,
}

impl Budget {
    /// Whether an unsolicited surface may be shown at `now` in a session that started at
    /// `session_started`. `ask_again` allows a prompt that was answered to come back after
    /// the recontact period.
    pub fn allows(
        &self,
        now: Millis,
        session_started: Millis,
        history: History,
        ask_again: bool,
    ) -> Result<(), Blocked> {
        if history.answered && !ask_again {
            return Err(Blocked::Answered);
        }
        if let Some(shown) = history.last_shown {
            if shown >= session_started {
                return Err(Blocked::ThisSession);
            }
            if now.since(shown) < self.recontact {
                return Err(Blocked::Recontact);
            }
        }
        Ok(())
    }
}

/// A prompt whose conditions hold waits out its delay: `since` is when they started to
/// hold. Returns the wait left, zero when it is time.
pub fn delay_left(delay: Millis, since: Millis, now: Millis) -> Millis {
    (since + delay).since(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>() -> Facts<'a> {
        Facts {
            path: "/",
            ..Facts::default()
        }
    }

    #[test]
    fn globs() {
        for (pattern, text, expect) in [
            ("/checkout/*", "/checkout/done", true),
            ("/checkout/*", "/checkout/", true),
            ("/checkout/*", "/checkout", false),
            ("/p/?", "/p/1", true),
            ("/p/?", "/p/12", false),
            ("*", "/anything/at/all", true),
            ("/a*b*c", "/aXXbYYc", true),
            ("/a*b*c", "/aXXbYY", false),
            ("/blog/*/comments", "/blog/2026/11/comments", true),
            ("/exact", "/exact", true),
            ("/exact", "/exactly", false),
            ("", "", true),
            ("", "/", false),
        ] {
            assert_eq!(glob_match(pattern, text), expect, "{pattern} vs {text}");
        }
    }

    #[test]
    fn loyalty_tier_needs_a_known_tier_at_least_as_high() {
        let silver = Trigger {
            loyalty_tier_at_least: Some(1),
            ..Trigger::default()
        };
        let with = |tier| Facts {
            loyalty_tier: tier,
            ..facts()
        };
        assert!(!silver.holds(&with(None)), "anonymous");
        assert!(!silver.holds(&with(Some(0))), "bronze");
        assert!(silver.holds(&with(Some(1))), "silver");
        assert!(silver.holds(&with(Some(2))), "gold");
    }

    #[test]
    fn each_condition_alone() {
        let f = Facts {
            engaged: Millis::from_secs(30),
            scroll_max: 60,
            session_pageviews: 3,
            returning: true,
            referred: true,
            events: &["purchase"],
            path: "/checkout/done",
            ..facts()
        };
        let cases: [(Trigger, bool); 12] = [
            (
                Trigger {
                    engaged_seconds: Some(30),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    engaged_seconds: Some(31),
                    ..Trigger::default()
                },
                false,
            ),
            (
                Trigger {
                    scroll_percent: Some(50),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    scroll_percent: Some(75),
                    ..Trigger::default()
                },
                false,
            ),
            (
                Trigger {
                    exit_intent: true,
                    ..Trigger::default()
                },
                false,
            ),
            (
                Trigger {
                    pageviews_at_least: Some(3),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    visitor: Some(VisitorKind::New),
                    ..Trigger::default()
                },
                false,
            ),
            (
                Trigger {
                    visitor: Some(VisitorKind::Returning),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    referred: Some(true),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    event: Some("purchase"),
                    ..Trigger::default()
                },
                true,
            ),
            (
                Trigger {
                    event: Some("signup"),
                    ..Trigger::default()
                },
                false,
            ),
            (
                Trigger {
                    url_include: &["/checkout/*"],
                    ..Trigger::default()
                },
                true,
            ),
        ];
        for (trigger, expect) in cases {
            assert_eq!(trigger.holds(&f), expect, "{trigger:?}");
        }
        assert!(!Trigger::default().holds(&f), "no condition, no prompt");
    }

    #[test]
    fn all_any_and_exclusions() {
        let f = Facts {
            engaged: Millis::from_secs(10),
            scroll_max: 90,
            path: "/blog/post",
            ..facts()
        };
        let both = Trigger {
            engaged_seconds: Some(20),
            scroll_percent: Some(75),
            ..Trigger::default()
        };
        assert!(!both.holds(&f), "all: engaged time is short");
        let either = Trigger { any: true, ..both };
        assert!(either.holds(&f), "any: the scroll is enough");
        let excluded = Trigger {
            url_exclude: &["/blog/*"],
            ..either
        };
        assert!(!excluded.holds(&f), "an excluded path wins over any");
    }

    #[test]
    fn sampling_and_variants_are_stable_and_spread() {
        let ids: [&str; 8] = [
            "0b8f2a1e-1111-4aaa-8aaa-000000000001",
            "0b8f2a1e-1111-4aaa-8aaa-000000000002",
            "0b8f2a1e-1111-4aaa-8aaa-000000000003",
            "0b8f2a1e-1111-4aaa-8aaa-000000000004",
            "0b8f2a1e-1111-4aaa-8aaa-000000000005",
            "0b8f2a1e-1111-4aaa-8aaa-000000000006",
            "0b8f2a1e-1111-4aaa-8aaa-000000000007",
            "0b8f2a1e-1111-4aaa-8aaa-000000000008",
        ];
        for id in ids {
            assert_eq!(sampled(id, "nps", 50), sampled(id, "nps", 50));
            assert!(sampled(id, "nps", 100));
            assert!(!sampled(id, "nps", 0));
            assert_eq!(variant(id, "nps", 2), variant(id, "nps", 2));
            assert_eq!(variant(id, "nps", 0), 0);
        }
        // Over many visitors, a 30 % sample and two variants come out near their shares.
        let mut buf = [0u8; 12];
        let (mut in_sample, mut first_variant) = (0, 0);
        for n in 0..10_000u32 {
            let text = number(n, &mut buf);
            in_sample += u32::from(sampled(text, "csat", 30));
            first_variant += u32::from(variant(text, "csat", 2) == 0);
        }
        assert!((2_700..3_300).contains(&in_sample), "{in_sample}");
        assert!((4_700..5_300).contains(&first_variant), "{first_variant}");
    }

    fn number(mut n: u32, buf: &mut [u8; 12]) -> &str {
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        core::str::from_utf8(&buf[i..]).unwrap()
    }

    #[test]
    fn one_surface_per_session_then_the_recontact_period() {
        let budget = Budget::default();
        let day = Millis::from_hours(24);
        let session = Millis(100 * day.0);
        let fresh = History::default();
        assert_eq!(budget.allows(session, session, fresh, false), Ok(()));
        let shown = History {
            last_shown: Some(session + Millis(5)),
            answered: false,
        };
        assert_eq!(
            budget.allows(session + Millis(10), session, shown, false),
            Err(Blocked::ThisSession)
        );
        // A later session inside 14 days: still no.
        let later = session + Millis(13 * day.0);
        assert_eq!(
            budget.allows(later, later, shown, false),
            Err(Blocked::Recontact)
        );
        let after = session + Millis(14 * day.0 + 10);
        assert_eq!(budget.allows(after, after, shown, false), Ok(()));
        // Answered: never again, unless the prompt asks again.
        let answered = History {
            answered: true,
            ..shown
        };
        assert_eq!(
            budget.allows(after, after, answered, false),
            Err(Blocked::Answered)
        );
        assert_eq!(budget.allows(after, after, answered, true), Ok(()));
    }

    #[test]
    fn the_delay_runs_from_when_the_conditions_first_held() {
        let delay = Millis::from_secs(2);
        assert_eq!(
            delay_left(delay, Millis(1_000), Millis(1_500)),
            Millis(1_500)
        );
        assert_eq!(delay_left(delay, Millis(1_000), Millis(3_000)), Millis(0));
        assert_eq!(
            delay_left(Millis(0), Millis(1_000), Millis(1_000)),
            Millis(0)
        );
    }
}
