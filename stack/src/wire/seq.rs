//! TCP sequence numbers (RFC 9293 3.4): 32-bit values compared modulo 2^32.
//!
//! There is deliberately no `Ord`: "a < b" only means something for numbers less than
//! 2^31 apart, and a total order would be a lie across the wrap. Comparisons are explicit
//! methods that take the wrap into account, as RFC 9293 3.4's arithmetic does.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A sequence (or acknowledgment) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// `self < other` in sequence space.
    pub fn lt(self, other: Seq) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self <= other` in sequence space.
    pub fn le(self, other: Seq) -> bool {
        self == other || self.lt(other)
    }

    /// `self > other` in sequence space.
    pub fn gt(self, other: Seq) -> bool {
        other.lt(self)
    }

    /// `self >= other` in sequence space.
    pub fn ge(self, other: Seq) -> bool {
        other.le(self)
    }

    /// The later of two numbers.
    pub fn max(self, other: Seq) -> Seq {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    /// The earlier of two numbers.
    pub fn min(self, other: Seq) -> Seq {
        if self.lt(other) {
            self
        } else {
            other
        }
    }

    /// `start <= self < end`, the window test of RFC 9293 3.10.7.4.
    pub fn in_window(self, start: Seq, end: Seq) -> bool {
        start.le(self) && self.lt(end)
    }
}

impl Add<usize> for Seq {
    type Output = Seq;
    /// Advances by `n` bytes (which must be below 2^31 to be meaningful).
    fn add(self, n: usize) -> Seq {
        Seq(self.0.wrapping_add(n as u32))
    }
}

impl AddAssign<usize> for Seq {
    fn add_assign(&mut self, n: usize) {
        *self = *self + n;
    }
}

impl Sub for Seq {
    type Output = usize;
    /// The distance from `rhs` forward to `self`: callers ensure `rhs <= self`.
    fn sub(self, rhs: Seq) -> usize {
        self.0.wrapping_sub(rhs.0) as usize
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_hold_across_the_wrap() {
        let before = Seq(u32::MAX - 10);
        let after = before + 20; // wrapped to 9
        assert_eq!(after, Seq(9));
        assert!(before.lt(after) && after.gt(before));
        assert!(before.le(before) && before.ge(before));
        assert!(!after.lt(before));
        assert_eq!(after - before, 20);
        assert_eq!(before.max(after), after);
        assert_eq!(before.min(after), before);
    }

    #[test]
    fn window_test_across_the_wrap() {
        let start = Seq(u32::MAX - 100);
        let end = start + 1000;
        assert!(Seq(u32::MAX).in_window(start, end));
        assert!(Seq(5).in_window(start, end));
        assert!(!end.in_window(start, end));
        assert!(!(start + 2000).in_window(start, end));
        assert!(!Seq(u32::MAX - 101).in_window(start, end));
    }

    #[test]
    fn half_the_space_apart_is_the_edge() {
        let a = Seq(0);
        assert!(a.lt(Seq(0x7fff_ffff)));
        assert!(
            !a.lt(Seq(0x8000_0001)),
            "more than 2^31 ahead reads as behind"
        );
    }
}
