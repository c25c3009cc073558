//! A connection's timers: one small table indexed by [`Timer`], and one place that says
//! which fires next (the shape of quinn-proto's `connection/timer.rs`).

use crate::time::Instant;

/// The timers a connection runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Retransmission (RFC 6298), also for SYN and FIN.
    Retransmit = 0,
    /// Zero-window probe (RFC 9293 3.8.6.1).
    Persist = 1,
    /// Delayed acknowledgment (RFC 1122 4.2.3.2).
    DelayedAck = 2,
    /// Keep-alive probe (RFC 1122 4.2.3.6).
    Keepalive = 3,
    /// TIME-WAIT's 2*MSL, or the FIN-WAIT-2 limit for an orphaned connection.
    Close = 4,
}

const COUNT: usize = 5;
const ALL: [Timer; COUNT] = [
    Timer::Retransmit,
    Timer::Persist,
    Timer::DelayedAck,
    Timer::Keepalive,
    Timer::Close,
];

/// Deadlines, one per [`Timer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers([Option<Instant>; COUNT]);

impl Timers {
    /// Arms `t` to fire at `at` (replacing any earlier setting).
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }

    /// Disarms `t`.
    pub fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }

    /// When `t` fires, if armed.
    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }

    /// True when `t` is armed.
    pub fn is_set(&self, t: Timer) -> bool {
        self.0[t as usize].is_some()
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Disarms and returns the first timer due at `now`, if any.
    pub fn expired(&mut self, now: Instant) -> Option<Timer> {
        let t = ALL
            .into_iter()
            .find(|&t| self.0[t as usize].is_some_and(|at| at <= now))?;
        self.0[t as usize] = None;
        Some(t)
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.0 = [None; COUNT];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_fires_first_and_only_once() {
        let mut t = Timers::default();
        t.set(Timer::DelayedAck, Instant::from_millis(40));
        t.set(Timer::Retransmit, Instant::from_millis(200));
        assert_eq!(t.next(), Some(Instant::from_millis(40)));
        assert_eq!(t.expired(Instant::from_millis(39)), None);
        assert_eq!(
            t.expired(Instant::from_millis(300)),
            Some(Timer::Retransmit)
        );
        assert_eq!(
            t.expired(Instant::from_millis(300)),
            Some(Timer::DelayedAck)
        );
        assert_eq!(t.expired(Instant::from_millis(300)), None);
        assert_eq!(t.next(), None);
    }
}
