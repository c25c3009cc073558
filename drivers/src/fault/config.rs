//! What to do to frames: an [`Impairment`] per direction and the seed of every decision.

use std::fmt;
use std::time::Duration;

/// Frames the rate limiter holds at most by default, waiting for the link: Linux's
/// default `txqueuelen`.
pub const DEFAULT_QUEUE: usize = 1000;

/// Bursty loss after Gilbert and Elliott: the link is either good or bad, and changes
/// state before each frame with these probabilities. In the good state no frame is lost
/// by this model; in the bad state each is lost with probability `loss`. Bursts last
/// `1 / leave` frames on average, and the long-run loss rate is
/// `enter / (enter + leave) * loss`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    /// Probability of going from good to bad, per frame (Gilbert's p).
    pub enter: f64,
    /// Probability of going from bad back to good, per frame (Gilbert's r).
    pub leave: f64,
    /// Probability that a frame is lost in the bad state (1 - h; 1.0 in Gilbert's model).
    pub loss: f64,
}

/// What one direction of the link does to frames. Probabilities are per frame, in
/// `0.0..=1.0`. The default does nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairment {
    /// Probability that a frame is lost, independently of the others.
    pub loss: f64,
    /// Bursty loss on top of `loss`, if any.
    pub burst: Option<Burst>,
    /// Probability that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability that one byte of a frame is changed.
    pub corrupt: f64,
    /// Probability that a frame is held back and delivered after the next one.
    pub reorder: f64,
    /// How long every frame takes to cross, on top of the time to send it.
    pub delay: Duration,
    /// Each frame's delay varies uniformly by up to this much either way (never below
    /// zero). Frames still arrive in order: only `reorder` reorders.
    pub jitter: Duration,
    /// The link's rate in bits per second (0: unlimited). Frames wait in a queue for
    /// their turn, as behind a real bottleneck.
    pub rate: u64,
    /// Frames the rate limiter's queue holds at most; a frame that finds it full is lost
    /// (tail drop).
    pub queue: usize,
}

impl Default for Impairment {
    fn default() -> Impairment {
        Impairment {
            loss: 0.0,
            burst: None,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate: 0,
            queue: DEFAULT_QUEUE,
        }
    }
}

impl Impairment {
    /// Whether this does nothing to frames at all.
    pub fn is_none(&self) -> bool {
        *self == Impairment::default()
    }

    /// Checks that every probability is a number in `0.0..=1.0` and the queue holds a
    /// frame.
    ///
    /// # Errors
    ///
    /// Names the first field that is wrong.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        let burst = self.burst.unwrap_or(Burst {
            enter: 0.0,
            leave: 1.0,
            loss: 1.0,
        });
        let fields = [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("reorder", self.reorder),
            ("burst enter", burst.enter),
            ("burst leave", burst.leave),
            ("burst loss", burst.loss),
        ];
        if let Some((field, value)) = fields.into_iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
            return Err(FaultConfigError {
                field,
                why: format!("must be a probability between 0 and 1, not {value}"),
            });
        }
        if self.queue == 0 {
            return Err(FaultConfigError {
                field: "queue",
                why: "must hold at least one frame".to_string(),
            });
        }
        Ok(())
    }
}

/// The impairment of both directions and the seed of every decision. Frames sent go
/// through `tx`, frames received through `rx`; each direction draws from a random
/// stream of its own, so the faults met by the N-th frame sent depend only on the seed
/// and N.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// What happens to frames sent.
    pub tx: Impairment,
    /// What happens to frames received.
    pub rx: Impairment,
    /// Seed of every decision.
    pub seed: u64,
}

impl FaultConfig {
    /// The same impairment both ways.
    pub fn both(impairment: Impairment, seed: u64) -> FaultConfig {
        FaultConfig {
            tx: impairment,
            rx: impairment,
            seed,
        }
    }

    /// Checks both directions (see [`Impairment::validate`]).
    ///
    /// # Errors
    ///
    /// Names the first field that is wrong.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        self.tx.validate()?;
        self.rx.validate()
    }
}

/// A value out of range in a [`FaultConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultConfigError {
    /// The field's name, e.g. "loss".
    pub field: &'static str,
    /// What is wrong with its value.
    pub why: String,
}

impl fmt::Display for FaultConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault `{}` {}", self.field, self.why)
    }
}

impl std::error::Error for FaultConfigError {}
