//! The runtime's clock: a monotonic `std::time::Instant` captured at start, read as
//! microseconds since then. The stack never reads a clock itself; every `now` it is given
//! comes from here, so all of a runtime's timestamps share one epoch.

use std::time::Instant as StdInstant;

/// Converts between wall-clock-free monotonic time and the stack's [`netstack_core::Instant`].
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: StdInstant,
}

impl Clock {
    /// A clock whose epoch (stack time zero) is now.
    pub fn start() -> Clock {
        Clock {
            start: StdInstant::now(),
        }
    }

    /// The current time as the stack counts it.
    pub fn now(&self) -> netstack_core::Instant {
        self.to_stack(StdInstant::now())
    }

    /// `t` as the stack counts it; instants before the epoch become zero.
    pub fn to_stack(&self, t: StdInstant) -> netstack_core::Instant {
        let micros = t.saturating_duration_since(self.start).as_micros();
        // u64 microseconds last 584,000 years; saturate rather than wrap.
        netstack_core::Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The monotonic instant the stack calls `t`, or `None` if it is too far away to
    /// represent (only for absurd deadlines).
    pub fn to_std(&self, t: netstack_core::Instant) -> Option<StdInstant> {
        self.start
            .checked_add(std::time::Duration::from_micros(t.total_micros()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trips_through_stack_time() {
        let clock = Clock::start();
        let later = StdInstant::now() + Duration::from_millis(1500);
        let t = clock.to_stack(later);
        assert!(t.total_micros() >= 1_500_000);
        let back = clock.to_std(t).expect("1.5 s is representable");
        assert!(back <= later && later - back < Duration::from_micros(1));
    }

    #[test]
    fn before_the_epoch_is_zero() {
        let early = StdInstant::now();
        let clock = Clock::start();
        assert_eq!(clock.to_stack(early), netstack_core::Instant::ZERO);
    }
}
