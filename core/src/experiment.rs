//! Page experiments: which variant a visitor sees, stable across pages and sessions.
//!
//! The assignment is a hash of the visitor id and the experiment id, mapped onto the
//! variants' weights. It needs no network and no storage: the same visitor gets the same
//! variant wherever the rule runs. The widget feeds the bytes in one by one ([`Assigner`]),
//! so no string crosses into its module and nothing is allocated.

/// Most variants one experiment may have.
pub const MAX_VARIANTS: usize = 10;
/// Longest experiment id, so that `exp:<id>` stays a valid property key (64 characters).
pub const MAX_ID_LEN: usize = 48;

/// A running assignment: the key's bytes, then the weights, then [`Assigner::pick`].
#[derive(Clone, Debug)]
pub struct Assigner {
    hash: u32,
    weights: [f64; MAX_VARIANTS],
    count: usize,
    bad: bool,
}

impl Default for Assigner {
    fn default() -> Self {
        Assigner::new()
    }
}

impl Assigner {
    /// FNV-1a, started from a prefix of its own so experiments mix differently from the
    /// prompts' sampling and wording variants.
    pub const fn new() -> Assigner {
        let mut hash: u32 = 0x811c_9dc5;
        let prefix = b"experiment\0";
        let mut i = 0;
        while i < prefix.len() {
            hash ^= prefix[i] as u32;
            hash = hash.wrapping_mul(0x0100_0193);
            i += 1;
        }
        Assigner {
            hash,
            weights: [0.0; MAX_VARIANTS],
            count: 0,
            bad: false,
        }
    }

    /// One byte of the key: the visitor id, a 0 byte, the experiment id.
    pub fn byte(&mut self, b: u8) {
        self.hash ^= u32::from(b);
        self.hash = self.hash.wrapping_mul(0x0100_0193);
    }

    /// The next variant's weight: finite and not negative.
    pub fn weight(&mut self, w: f64) {
        match self.weights.get_mut(self.count) {
            Some(slot) if w.is_finite() && w >= 0.0 => {
                *slot = w;
                self.count += 1;
            }
            _ => self.bad = true,
        }
    }

    /// The variant's index, or `None` for no variants, too many, or weights that are not
    /// finite and positive in sum.
    pub fn pick(&self) -> Option<usize> {
        // Iterated, not sliced: no bounds check (and its panic path) in the widget's module.
        let weights = || self.weights.iter().take(self.count);
        let total: f64 = weights().sum();
        if self.bad || self.count == 0 || !(total > 0.0 && total.is_finite()) {
            return None;
        }
        // murmur3's finaliser spreads FNV's low-bit structure over every bit.
        let mut h = self.hash;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        let point = f64::from(h) / 4_294_967_296.0 * total;
        let (mut edge, mut last) = (0.0, None);
        for (i, w) in weights().enumerate() {
            edge += w;
            if *w > 0.0 {
                if point < edge {
                    return Some(i);
                }
                // Rounding at the top edge: the last variant with any weight.
                last = Some(i);
            }
        }
        last
    }
}

/// The variant of `visitor` in `experiment` among variants of these weights.
pub fn assign(visitor: &str, experiment: &str, weights: &[f64]) -> Option<usize> {
    let mut a = Assigner::new();
    for b in visitor.bytes().chain([0]).chain(experiment.bytes()) {
        a.byte(b);
    }
    for w in weights {
        a.weight(*w);
    }
    a.pick()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn a_visitor_keeps_the_variant() {
        let v = "6f1c1f7e-6d2b-4d8e-9b7a-3c2a1f0e9d81";
        let first = assign(v, "layout", &[1.0, 1.0]).unwrap();
        for _ in 0..3 {
            assert_eq!(assign(v, "layout", &[1.0, 1.0]), Some(first));
        }
    }

    #[test]
    fn weights_split_visitors_in_proportion() {
        let mut counts = [0u32; 3];
        for n in 0..30_000 {
            let visitor = format!("00000000-0000-4000-8000-{n:012}");
            counts[assign(&visitor, "hero", &[1.0, 2.0, 1.0]).unwrap()] += 1;
        }
        // 25 %, 50 %, 25 %, within a percentage point.
        for (count, share) in counts.iter().zip([0.25, 0.5, 0.25]) {
            let got = f64::from(*count) / 30_000.0;
            assert!((got - share).abs() < 0.01, "{counts:?}");
        }
        // Experiments mix independently: the same visitors split afresh.
        let same = (0..2_000)
            .filter(|n| {
                let visitor = format!("00000000-0000-4000-8000-{n:012}");
                assign(&visitor, "a", &[1.0, 1.0]) == assign(&visitor, "b", &[1.0, 1.0])
            })
            .count();
        assert!((900..1100).contains(&same), "{same}");
    }

    #[test]
    fn a_zero_weight_is_never_picked_and_bad_weights_pick_nothing() {
        for n in 0..500 {
            let visitor = format!("v{n}");
            assert_eq!(assign(&visitor, "x", &[0.0, 1.0]), Some(1));
        }
        assert_eq!(assign("v", "x", &[]), None);
        assert_eq!(assign("v", "x", &[0.0, 0.0]), None);
        assert_eq!(assign("v", "x", &[1.0, f64::NAN]), None);
        assert_eq!(assign("v", "x", &[1.0, -1.0]), None);
        assert_eq!(assign("v", "x", &[1.0; MAX_VARIANTS + 1]), None);
        assert!(assign("v", "x", &[1.0; MAX_VARIANTS]).is_some());
    }
}
