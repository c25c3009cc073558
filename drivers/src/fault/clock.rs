//! What time it is, for the impairments that hold frames until a moment: delay, jitter
//! and the rate limit.
//!
//! [`Faulty`](super::Faulty) never reads a clock behind the caller's back: it asks the
//! [`Clock`] it was given. On a real device that is the [`WallClock`]; in a simulation
//! it is a [`VirtualClock`] the test moves forward, so a delayed frame comes out at the
//! same virtual moment on every run and no test sleeps.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant as StdInstant;

use netstack_core::Instant;

/// A source of "now" for [`Faulty`](super::Faulty). Only differences between readings
/// matter, so each clock chooses its own epoch; readings never go backwards.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Instant;
}

/// The monotonic wall clock, counted from when this value was made.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    start: StdInstant,
}

impl WallClock {
    /// A clock whose zero is now.
    pub fn new() -> WallClock {
        WallClock {
            start: StdInstant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> WallClock {
        WallClock::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> Instant {
        let micros = self.start.elapsed().as_micros();
        // u64 microseconds last 584,000 years; saturate rather than wrap.
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to: the virtual time of a simulation. Clones share
/// one time, so the test keeps a clone and the wrappers read it.
#[derive(Clone, Debug, Default)]
pub struct VirtualClock {
    micros: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock at time zero.
    pub fn new() -> VirtualClock {
        VirtualClock::default()
    }

    /// Moves the clock to `now`. A time earlier than the current one is ignored, so
    /// the clock never goes backwards.
    pub fn set(&self, now: Instant) {
        self.micros.fetch_max(now.total_micros(), Ordering::AcqRel);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_micros(self.micros.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_moves_only_forward_and_clones_share_it() {
        let clock = VirtualClock::new();
        let reader = clock.clone();
        assert_eq!(reader.now(), Instant::ZERO);
        clock.set(Instant::from_millis(5));
        assert_eq!(reader.now(), Instant::from_millis(5));
        clock.set(Instant::from_millis(3));
        assert_eq!(reader.now(), Instant::from_millis(5));
    }

    #[test]
    fn the_wall_clock_starts_near_zero_and_does_not_go_back() {
        let clock = WallClock::new();
        let (a, b) = (clock.now(), clock.now());
        assert!(a <= b && a.total_micros() < 1_000_000);
    }
}
