//! What the impairment did, per direction, for the counters a user sees.

use super::config::FaultConfig;

/// What the faults did to frames in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounters {
    /// Frames the impairment was applied to.
    pub frames: u64,
    /// Frames lost at random (`loss`).
    pub dropped: u64,
    /// Frames lost in a burst (the Gilbert-Elliott model).
    pub burst_dropped: u64,
    /// Frames lost because the rate limiter's queue was full (or, without a rate, the
    /// delay line's bound of [`MAX_IN_FLIGHT_BYTES`](super::MAX_IN_FLIGHT_BYTES)).
    pub queue_dropped: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames with a byte changed.
    pub corrupted: u64,
    /// Frames held back and delivered after the next one.
    pub reordered: u64,
    /// Frames that waited (for the delay or for the rate limiter) before delivery.
    pub delayed: u64,
}

impl FaultCounters {
    /// Every frame lost, for whatever reason.
    pub fn lost(&self) -> u64 {
        self.dropped + self.burst_dropped + self.queue_dropped
    }

    /// The counters as `name value` pairs, in a fixed order, for reports.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("frames", self.frames),
            ("dropped", self.dropped),
            ("burst_dropped", self.burst_dropped),
            ("queue_dropped", self.queue_dropped),
            ("duplicated", self.duplicated),
            ("corrupted", self.corrupted),
            ("reordered", self.reordered),
            ("delayed", self.delayed),
        ]
    }
}

/// What a [`Faulty`](super::Faulty) wrapper was asked to do and what it did, both ways:
/// what [`Device::faults`](crate::Device::faults) reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultReport {
    /// The impairment configured.
    pub config: FaultConfig,
    /// What happened to frames sent.
    pub tx: FaultCounters,
    /// What happened to frames received.
    pub rx: FaultCounters,
}
