//! [`Faulty`]: a device wrapper that loses, duplicates, corrupts and reorders frames.
//!
//! Use it to test how the stack copes with a bad link, on a real device or an in-memory
//! one. Every decision comes from a [`Rng`] seeded by [`FaultConfig::seed`], with
//! separate streams for transmit and receive, so the faults met by the N-th frame sent
//! depend only on the seed and on N: a failing run is replayed from its seed.
//!
//! For each frame, in order:
//!
//! 1. **drop** with probability `drop`: the frame vanishes;
//! 2. **corrupt** with probability `corrupt`: one random byte is XORed with a random
//!    non-zero value (a real link's FCS would catch this; here it exercises the stack's
//!    checksums and parsers);
//! 3. **duplicate** with probability `duplicate`: the frame is delivered twice;
//! 4. **reorder** with probability `reorder`: the frame (with its duplicate) is held
//!    back and delivered right after the next frame in the same direction. Only one
//!    frame is held at a time; a held frame waits for the next one, or for
//!    [`Faulty::release_held`].
//!
//! Frames received late (reordered or duplicated) are returned by later `recv` calls
//! without the descriptor signalling them, which is why a loop must call `recv` until
//! `Ok(None)` (see [`Device`]).

use std::collections::VecDeque;
use std::fmt;
use std::io;

use netstack_core::rng::Rng;

use crate::device::{Device, Wrapper};

/// Which frames the faults apply to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultDirection {
    /// Frames sent and frames received.
    #[default]
    Both,
    /// Only frames sent.
    Tx,
    /// Only frames received.
    Rx,
}

/// What to do to frames, as probabilities per frame in `0.0..=1.0`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// Probability that a frame is lost.
    pub drop: f64,
    /// Probability that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability that one byte of a frame is changed.
    pub corrupt: f64,
    /// Probability that a frame is delivered after the next one.
    pub reorder: f64,
    /// Seed of every decision.
    pub seed: u64,
    /// Which frames the faults apply to.
    pub direction: FaultDirection,
}

impl FaultConfig {
    /// Checks that every probability is a number in `0.0..=1.0`.
    ///
    /// # Errors
    ///
    /// Names the first field that is not.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        let fields = [
            ("drop", self.drop),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("reorder", self.reorder),
        ];
        match fields.into_iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
            Some((field, value)) => Err(FaultConfigError { field, value }),
            None => Ok(()),
        }
    }
}

/// A probability outside `0.0..=1.0` (or NaN) in a [`FaultConfig`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultConfigError {
    /// The field's name, e.g. "drop".
    pub field: &'static str,
    /// The value given.
    pub value: f64,
}

impl fmt::Display for FaultConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fault probability `{}` must be between 0 and 1, not {}",
            self.field, self.value
        )
    }
}

impl std::error::Error for FaultConfigError {}

/// What the faults did to frames in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounters {
    /// Frames the faults were applied to.
    pub frames: u64,
    /// Frames lost.
    pub dropped: u64,
    /// Frames delivered twice.
    pub duplicated: u64,
    /// Frames with a byte changed.
    pub corrupted: u64,
    /// Frames held back and delivered after the next one.
    pub reordered: u64,
}

/// The faults chosen for one frame.
#[derive(Clone, Copy, Debug)]
struct Decision {
    drop: bool,
    /// Byte index (already reduced modulo the frame length) and the XOR mask.
    corrupt: Option<(usize, u8)>,
    copies: usize,
    reorder: bool,
}

/// One direction's random stream and counters.
#[derive(Clone, Debug)]
struct Injector {
    rng: Rng,
    counters: FaultCounters,
}

impl Injector {
    fn new(seed: u64) -> Injector {
        Injector {
            rng: Rng::new(seed),
            counters: FaultCounters::default(),
        }
    }

    /// Draws the faults for a frame of `len` bytes. Always draws the same number of
    /// values, so changing one probability does not shift the others' decisions.
    fn decide(&mut self, config: &FaultConfig, len: usize) -> Decision {
        let drop = self.chance(config.drop);
        let corrupt = self.chance(config.corrupt);
        // `below` wants a non-zero bound; an empty frame has no byte to corrupt. The
        // result is below `len`, so it converts back to usize losslessly.
        let position = self.rng.below(len.max(1) as u64) as usize;
        // below(255) < 255, so the cast keeps it and the mask is 1..=255: the byte
        // always changes.
        let mask = 1 + self.rng.below(255) as u8;
        let duplicate = self.chance(config.duplicate);
        let reorder = self.chance(config.reorder);

        self.counters.frames += 1;
        if drop {
            self.counters.dropped += 1;
        }
        let corrupt = (corrupt && !drop && len > 0).then_some((position, mask));
        if corrupt.is_some() {
            self.counters.corrupted += 1;
        }
        if duplicate && !drop {
            self.counters.duplicated += 1;
        }
        Decision {
            drop,
            corrupt,
            copies: if duplicate { 2 } else { 1 },
            reorder: reorder && !drop,
        }
    }

    /// True with probability `p` (0.0 never, 1.0 always).
    fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a float in [0, 1).
        let x = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }
}

/// A frame held back for reordering, and how many copies of it to deliver.
#[derive(Clone, Debug)]
struct Held {
    frame: Vec<u8>,
    copies: usize,
}

/// A device wrapper that injects faults; see the [module docs](self).
#[derive(Debug)]
pub struct Faulty<D> {
    inner: D,
    config: FaultConfig,
    tx: Injector,
    rx: Injector,
    tx_held: Option<Held>,
    rx_held: Option<Held>,
    /// Received frames due before anything new is read from `inner`.
    rx_ready: VecDeque<Vec<u8>>,
}

impl<D: Device> Faulty<D> {
    /// Wraps `inner`, applying `config`.
    ///
    /// # Errors
    ///
    /// If a probability is outside `0.0..=1.0` (see [`FaultConfig::validate`]).
    pub fn new(inner: D, config: FaultConfig) -> Result<Faulty<D>, FaultConfigError> {
        config.validate()?;
        Ok(Faulty {
            inner,
            config,
            tx: Injector::new(config.seed),
            // A different stream for receive, so received traffic cannot shift the
            // decisions about sent frames.
            rx: Injector::new(config.seed ^ 0x5258_5f52_4e47_5f5f),
            tx_held: None,
            rx_held: None,
            rx_ready: VecDeque::new(),
        })
    }

    /// What the faults did to sent frames so far.
    pub fn tx_counters(&self) -> FaultCounters {
        self.tx.counters
    }

    /// What the faults did to received frames so far.
    pub fn rx_counters(&self) -> FaultCounters {
        self.rx.counters
    }

    /// Delivers frames held back for reordering now: the sent one is sent, the received
    /// one is returned by the next `recv`. Call it at the end of a test, so a held frame
    /// is not mistaken for a lost one.
    ///
    /// # Errors
    ///
    /// As [`Device::send`] of the inner device.
    pub fn release_held(&mut self) -> io::Result<()> {
        if let Some(held) = self.rx_held.take() {
            for _ in 0..held.copies {
                self.rx_ready.push_back(held.frame.clone());
            }
        }
        match self.tx_held.take() {
            Some(held) => send_copies(&mut self.inner, &held.frame, held.copies),
            None => Ok(()),
        }
    }

    fn applies_to_tx(&self) -> bool {
        self.config.direction != FaultDirection::Rx
    }

    fn applies_to_rx(&self) -> bool {
        self.config.direction != FaultDirection::Tx
    }
}

/// Sends `frame` `copies` times through `device`.
fn send_copies<D: Device>(device: &mut D, frame: &[u8], copies: usize) -> io::Result<()> {
    for _ in 0..copies {
        device.send(frame)?;
    }
    Ok(())
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
        loop {
            if let Some(frame) = self.rx_ready.pop_front() {
                let len = frame.len().min(buf.len());
                buf[..len].copy_from_slice(&frame[..len]);
                return Ok(Some(len));
            }
            let Some(len) = self.inner.recv(buf)? else {
                return Ok(None);
            };
            if !self.applies_to_rx() {
                return Ok(Some(len));
            }
            // The device returned len <= buf.len().
            let len = len.min(buf.len());
            let frame = &mut buf[..len];
            let decision = self.rx.decide(&self.config, frame.len());
            if decision.drop {
                continue;
            }
            if let Some((position, mask)) = decision.corrupt {
                frame[position] ^= mask;
            }
            if decision.reorder && self.rx_held.is_none() {
                self.rx.counters.reordered += 1;
                self.rx_held = Some(Held {
                    frame: frame.to_vec(),
                    copies: decision.copies,
                });
                continue;
            }
            for _ in 1..decision.copies {
                self.rx_ready.push_back(frame.to_vec());
            }
            if let Some(held) = self.rx_held.take() {
                for _ in 0..held.copies {
                    self.rx_ready.push_back(held.frame.clone());
                }
            }
            return Ok(Some(frame.len()));
        }
    }

    fn send_through(&mut self, frame: &[u8]) -> io::Result<()> {
        if !self.applies_to_tx() {
            return self.inner.send(frame);
        }
        let decision = self.tx.decide(&self.config, frame.len());
        if decision.drop {
            return Ok(());
        }
        let corrupted;
        let frame = match decision.corrupt {
            Some((position, mask)) => {
                let mut copy = frame.to_vec();
                copy[position] ^= mask;
                corrupted = copy;
                &corrupted[..]
            }
            None => frame,
        };
        if decision.reorder && self.tx_held.is_none() {
            self.tx.counters.reordered += 1;
            self.tx_held = Some(Held {
                frame: frame.to_vec(),
                copies: decision.copies,
            });
            return Ok(());
        }
        send_copies(&mut self.inner, frame, decision.copies)?;
        match self.tx_held.take() {
            Some(held) => send_copies(&mut self.inner, &held.frame, held.copies),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
