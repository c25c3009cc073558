//! [`Faulty`]: a device wrapper that impairs the link: loses frames (at random or in
//! bursts), corrupts, duplicates and reorders them, delays them with jitter, and limits
//! the rate with a bounded queue, each direction on its own.
//!
//! Use it to see how a stack copes with a bad link, on a real device (`netstack
//! --impair ...`) or an in-memory one in a simulation. Every decision comes from a
//! [`Rng`](netstack_core::rng::Rng) seeded by [`FaultConfig::seed`], with separate
//! streams for transmit and receive, so the faults met by the N-th frame sent depend
//! only on the seed and on N: a failing run is replayed from its seed.
//!
//! The parts, one job each:
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | [`FaultConfig`]: an [`Impairment`] per direction, and the seed |
//! | `spec.rs` | the `--impair` text form, parsed and printed |
//! | `lane.rs` | one direction, sans-IO: frames in with the time, out when due |
//! | `gilbert.rs` | the Gilbert-Elliott chain of bursty loss |
//! | `clock.rs` | where "now" comes from: the [`WallClock`] or a [`VirtualClock`] |
//! | `counters.rs` | what was done to frames, per direction |
//!
//! Time is never read behind the caller's back: the wrapper asks its [`Clock`]. A frame
//! sent is released to the inner device when it is due, at the next `send` or `recv`;
//! a frame received is returned by `recv` when it is due. [`Device::next_wake`] tells
//! the loop when the next one is, since no descriptor will signal it: the runtime adds
//! it to its `poll` timeout, a simulation moves its virtual clock there.

mod clock;
mod config;
mod counters;
mod gilbert;
mod lane;
mod spec;

use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, VirtualClock, WallClock};
pub use config::{Burst, FaultConfig, FaultConfigError, Impairment, DEFAULT_QUEUE};
pub use counters::{FaultCounters, FaultReport};
pub use gilbert::GilbertElliott;
pub use lane::{Lane, MAX_IN_FLIGHT_BYTES, REORDER_HOLD};
pub use spec::{FaultSpecError, DEFAULT_SEED};

use crate::device::{Device, Wrapper};

/// Frames read from the inner device per `recv` at most, so a flood cannot keep one
/// call busy forever.
const PULL: usize = 64;

/// The seed of the receive lane is the configured seed XORed with this, so received
/// traffic cannot shift the decisions about sent frames.
const RX_STREAM: u64 = 0x5258_5f52_4e47_5f5f;

/// A device wrapper that impairs the link; see the [module docs](self).
#[derive(Debug)]
pub struct Faulty<D> {
    inner: D,
    config: FaultConfig,
    clock: Arc<dyn Clock>,
    tx: Lane,
    rx: Lane,
}

impl<D: Device> Faulty<D> {
    /// Wraps `inner`, applying `config`, with time from the wall clock.
    ///
    /// # Errors
    ///
    /// If a value is out of range (see [`FaultConfig::validate`]).
    pub fn new(inner: D, config: FaultConfig) -> Result<Faulty<D>, FaultConfigError> {
        Faulty::with_clock(inner, config, Arc::new(WallClock::new()))
    }

    /// Wraps `inner`, applying `config`, with time from `clock` (a [`VirtualClock`] in
    /// a simulation).
    ///
    /// # Errors
    ///
    /// If a value is out of range (see [`FaultConfig::validate`]).
    pub fn with_clock(
        inner: D,
        config: FaultConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Faulty<D>, FaultConfigError> {
        config.validate()?;
        Ok(Faulty {
            inner,
            config,
            clock,
            tx: Lane::new(config.tx, config.seed),
            rx: Lane::new(config.rx, config.seed ^ RX_STREAM),
        })
    }

    /// What the faults did to sent frames so far.
    pub fn tx_counters(&self) -> FaultCounters {
        self.tx.counters()
    }

    /// What the faults did to received frames so far.
    pub fn rx_counters(&self) -> FaultCounters {
        self.rx.counters()
    }

    /// Delivers frames held back for reordering now: the sent one is sent (with any
    /// frame due), the received one is returned by a later `recv` once due. Call it at
    /// the end of a test, so a held frame is not mistaken for a lost one.
    ///
    /// # Errors
    ///
    /// As [`Device::send`] of the inner device.
    pub fn release_held(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        self.rx.release_held(now);
        self.tx.release_held(now);
        self.flush_tx(now)
    }

    /// Sends every sent frame that is due now to the inner device. Every `send` and
    /// `recv` does this first; call it when neither is due, at [`Device::next_wake`].
    ///
    /// # Errors
    ///
    /// As [`Device::send`] of the inner device.
    pub fn flush(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        self.flush_tx(now)
    }

    /// Sends every sent frame that is due by `now` to the inner device.
    fn flush_tx(&mut self, now: netstack_core::Instant) -> io::Result<()> {
        while let Some(frame) = self.tx.pop(now) {
            self.inner.send(&frame)?;
        }
        Ok(())
    }
}

impl<D: Device> Wrapper for Faulty<D> {
    type Inner = D;

    fn inner(&self) -> &D {
        &self.inner
    }

    fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn recv_through(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let now = self.clock.now();
        self.flush_tx(now)?;
        if self.rx.is_transparent() {
            return self.inner.recv(buf);
        }
        for _ in 0..PULL {
            let Some(len) = self.inner.recv(buf)? else {
                break;
            };
            // The device returned len <= buf.len().
            self.rx.push(now, buf[..len.min(buf.len())].to_vec());
        }
        Ok(self.rx.pop(now).map(|frame| {
            let len = frame.len().min(buf.len());
            buf[..len].copy_from_slice(&frame[..len]);
            len
        }))
    }

    fn send_through(&mut self, frame: &[u8]) -> io::Result<()> {
        let now = self.clock.now();
        if self.tx.is_transparent() {
            return self.inner.send(frame);
        }
        self.tx.push(now, frame.to_vec());
        self.flush_tx(now)
    }

    fn next_wake_through(&self) -> Option<Duration> {
        let now = self.clock.now();
        let own = [self.tx.next_due(), self.rx.next_due()]
            .into_iter()
            .flatten()
            .min()
            .map(|at| Duration::from_micros(at.saturating_since(now).total_micros()));
        own.into_iter().chain(self.inner.next_wake()).min()
    }

    fn faults_through(&self) -> Option<FaultReport> {
        Some(FaultReport {
            config: self.config,
            tx: self.tx.counters(),
            rx: self.rx.counters(),
        })
    }
}

#[cfg(test)]
mod tests;
