//! Time as a unit-carrying type. The core never reads a clock; callers pass `Millis` in.

use core::ops::{Add, Sub};

/// Milliseconds: a wall-clock instant (since the Unix epoch) or a duration, by context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const fn from_secs(secs: u64) -> Self {
        Millis(secs * 1000)
    }

    pub const fn from_mins(mins: u64) -> Self {
        Millis(mins * 60_000)
    }

    pub const fn from_hours(hours: u64) -> Self {
        Millis(hours * 3_600_000)
    }

    /// Milliseconds as JavaScript passes them (`Date.now()`, `performance.now()`); negative
    /// and NaN ones are 0, fractions are dropped.
    pub fn from_js(t: f64) -> Self {
        Millis(if t > 0.0 { t as u64 } else { 0 })
    }

    /// `self - earlier`, or zero when the clock went backwards.
    pub fn since(self, earlier: Millis) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add for Millis {
    type Output = Millis;
    fn add(self, rhs: Millis) -> Millis {
        Millis(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Millis {
    type Output = Millis;
    fn sub(self, rhs: Millis) -> Millis {
        self.since(rhs)
    }
}
