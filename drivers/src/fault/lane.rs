//! One direction of an impaired link, sans-IO: a frame goes in with the time it was
//! sent ([`Lane::push`]), comes out when it is due ([`Lane::pop`]), and
//! [`Lane::next_due`] says when to look again. No clock is read here; the caller
//! passes "now", so the same lane runs on the wall clock and on a virtual one.
//!
//! What happens to each frame, in order (the random draws are the same in number for
//! every frame, so changing one probability does not shift the others' decisions):
//!
//! 1. **loss**: lost with probability `loss`, or by the Gilbert-Elliott chain (`burst`);
//! 2. **corrupt**: one random byte is XORed with a random non-zero value (a real link's
//!    FCS would catch this; here it exercises the stack's checksums and parsers);
//! 3. **rate**: with a rate, the frame waits in a queue of at most `queue` frames for
//!    the link to send the frames before it, then takes `len * 8 / rate` to send; a
//!    frame finding the queue full is lost;
//! 4. **delay and jitter**: it then takes `delay` plus a uniform `-jitter..=jitter` to
//!    cross, but never overtakes the frame before it;
//! 5. **duplicate**: delivered twice with probability `duplicate`;
//! 6. **reorder**: with probability `reorder`, held back and delivered right after the
//!    next frame (one frame held at a time), or [`REORDER_HOLD`] after it was due if no
//!    frame follows by then.

use std::collections::VecDeque;

use netstack_core::rng::Rng;
use netstack_core::Instant;

use super::config::Impairment;
use super::counters::FaultCounters;
use super::gilbert::GilbertElliott;

/// The most a held frame waits for a frame to overtake it, past its own due time, in
/// microseconds.
const REORDER_HOLD_US: u64 = 10_000;

/// The most a frame held back for reordering waits for a frame to overtake it, past its
/// own due time: 10 ms. No frame following by then, it goes on unreordered.
pub const REORDER_HOLD: std::time::Duration = std::time::Duration::from_micros(REORDER_HOLD_US);

/// Bytes one lane holds in flight at most (delayed, queued or held): the delay line's
/// bound. Beyond it frames are lost, counted in `queue_dropped`. 64 MiB is 400 ms of
/// a 1.3 Gbit/s link.
pub const MAX_IN_FLIGHT_BYTES: usize = 64 << 20;

/// A frame on its way, and when it arrives (microseconds).
#[derive(Clone, Debug)]
struct InFlight {
    due: u64,
    frame: Vec<u8>,
}

/// The frame held back for reordering.
#[derive(Clone, Debug)]
struct Held {
    frame: Vec<u8>,
    copies: usize,
    /// When it is released if no frame overtakes it.
    until: u64,
}

/// The random draws for one frame.
#[derive(Clone, Copy, Debug)]
struct Draws {
    lost: bool,
    burst_lost: bool,
    /// Byte index (already below the frame's length) and the XOR mask.
    corrupt: Option<(usize, u8)>,
    copies: usize,
    reorder: bool,
    /// Signed jitter in microseconds.
    jitter: i64,
}

/// One direction's impairment, random stream, queues and counters.
#[derive(Clone, Debug)]
pub struct Lane {
    imp: Impairment,
    rng: Rng,
    chain: GilbertElliott,
    /// Frames on their way, in the order they arrive (due times never decrease).
    queue: VecDeque<InFlight>,
    /// Bytes in `queue` and `held`.
    bytes: usize,
    held: Option<Held>,
    /// When the rate limiter finishes sending every frame given to it so far.
    free_at: u64,
    /// When each frame still queued for (or being sent by) the rate limiter is sent.
    backlog: VecDeque<u64>,
    /// The due time of the frame queued last: no frame may arrive before it.
    last_due: u64,
    counters: FaultCounters,
}

impl Lane {
    /// A lane doing `imp`, its decisions drawn from `seed`.
    pub fn new(imp: Impairment, seed: u64) -> Lane {
        Lane {
            imp,
            rng: Rng::new(seed),
            chain: GilbertElliott::default(),
            queue: VecDeque::new(),
            bytes: 0,
            held: None,
            free_at: 0,
            backlog: VecDeque::new(),
            last_due: 0,
            counters: FaultCounters::default(),
        }
    }

    /// What the lane has done so far.
    pub fn counters(&self) -> FaultCounters {
        self.counters
    }

    /// Whether the lane does nothing (frames may skip it).
    pub fn is_transparent(&self) -> bool {
        self.imp.is_none()
    }

    /// Puts `frame`, sent at `now`, on the lane.
    pub fn push(&mut self, now: Instant, mut frame: Vec<u8>) {
        let now = now.total_micros();
        self.expire_held(now);
        self.counters.frames += 1;
        let draws = self.draw(frame.len());
        if draws.lost || draws.burst_lost {
            if draws.lost {
                self.counters.dropped += 1;
            } else {
                self.counters.burst_dropped += 1;
            }
            return;
        }
        if let Some((position, mask)) = draws.corrupt {
            frame[position] ^= mask;
            self.counters.corrupted += 1;
        }
        let Some(sent) = self.send_at(now, frame.len()) else {
            self.counters.queue_dropped += 1;
            return;
        };
        if self.bytes + frame.len() * draws.copies > MAX_IN_FLIGHT_BYTES {
            self.counters.queue_dropped += 1;
            return;
        }
        let delay = self.imp.delay.as_micros().min(u128::from(u64::MAX / 4)) as i64;
        let due = sent + u64::try_from((delay + draws.jitter).max(0)).unwrap_or(0);
        if draws.copies > 1 {
            self.counters.duplicated += 1;
        }
        if due > now {
            self.counters.delayed += 1;
        }
        if draws.reorder && self.held.is_none() {
            self.bytes += frame.len() * draws.copies;
            self.held = Some(Held {
                frame,
                copies: draws.copies,
                until: due.max(self.last_due) + REORDER_HOLD_US,
            });
            return;
        }
        let due = self.enqueue(due, frame, draws.copies);
        if let Some(held) = self.held.take() {
            // Overtaken: it arrives right behind this frame.
            self.counters.reordered += 1;
            self.bytes -= held.frame.len() * held.copies;
            self.enqueue(due, held.frame, held.copies);
        }
    }

    /// The next frame due by `now`, if any.
    pub fn pop(&mut self, now: Instant) -> Option<Vec<u8>> {
        let now = now.total_micros();
        self.expire_held(now);
        if self.queue.front()?.due > now {
            return None;
        }
        let frame = self.queue.pop_front()?.frame;
        self.bytes -= frame.len();
        Some(frame)
    }

    /// When the next frame is due (or the held one is released), if any waits.
    pub fn next_due(&self) -> Option<Instant> {
        let queued = self.queue.front().map(|f| f.due);
        let held = self.held.as_ref().map(|h| h.until);
        queued
            .into_iter()
            .chain(held)
            .min()
            .map(Instant::from_micros)
    }

    /// Releases the held frame now, behind everything queued.
    pub fn release_held(&mut self, now: Instant) {
        if let Some(held) = self.held.take() {
            self.bytes -= held.frame.len() * held.copies;
            self.enqueue(now.total_micros(), held.frame, held.copies);
        }
    }

    /// Frames (and copies) waiting in the lane, held one included.
    pub fn len(&self) -> usize {
        self.queue.len() + self.held.as_ref().map_or(0, |h| h.copies)
    }

    /// Whether nothing waits in the lane.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues `copies` of `frame` to arrive at `due`, or behind the last frame queued
    /// if that is later. Returns the due time used.
    fn enqueue(&mut self, due: u64, frame: Vec<u8>, copies: usize) -> u64 {
        let due = due.max(self.last_due);
        self.last_due = due;
        self.bytes += frame.len() * copies;
        for _ in 1..copies {
            self.queue.push_back(InFlight {
                due,
                frame: frame.clone(),
            });
        }
        self.queue.push_back(InFlight { due, frame });
        due
    }

    /// A held frame nobody overtook by its deadline goes on unreordered.
    fn expire_held(&mut self, now: u64) {
        if self.held.as_ref().is_some_and(|h| h.until <= now) {
            if let Some(held) = self.held.take() {
                self.bytes -= held.frame.len() * held.copies;
                self.enqueue(held.until, held.frame, held.copies);
            }
        }
    }

    /// When a frame of `len` bytes given to the rate limiter at `now` has been sent,
    /// or `None` if its queue is full. Without a rate, at once.
    fn send_at(&mut self, now: u64, len: usize) -> Option<u64> {
        if self.imp.rate == 0 {
            return Some(now);
        }
        while self.backlog.front().is_some_and(|&done| done <= now) {
            self.backlog.pop_front();
        }
        if self.backlog.len() >= self.imp.queue {
            return None;
        }
        let bits = len as u128 * 8 * 1_000_000;
        let busy = u64::try_from(bits.div_ceil(u128::from(self.imp.rate))).unwrap_or(u64::MAX / 4);
        let done = now.max(self.free_at) + busy;
        self.free_at = done;
        self.backlog.push_back(done);
        Some(done)
    }

    /// Draws every decision for a frame of `len` bytes: always the same number of
    /// values, whatever is configured.
    fn draw(&mut self, len: usize) -> Draws {
        let imp = self.imp;
        let lost = self.chance(imp.loss);
        let (step, lose) = (self.unit(), self.unit());
        let burst_lost = match &imp.burst {
            Some(burst) => self.chain.next(burst, step, lose),
            None => false,
        };
        let corrupt = self.chance(imp.corrupt);
        // `below` wants a non-zero bound; an empty frame has no byte to corrupt. The
        // result is below `len`, so it converts back to usize losslessly.
        let position = self.rng.below(len.max(1) as u64) as usize;
        // below(255) < 255, so the cast keeps it and the mask is 1..=255: the byte
        // always changes.
        let mask = 1 + self.rng.below(255) as u8;
        let duplicate = self.chance(imp.duplicate);
        let reorder = self.chance(imp.reorder);
        let jitter_us = imp.jitter.as_micros().min(u128::from(u32::MAX)) as f64;
        let jitter = ((self.unit() * 2.0 - 1.0) * jitter_us).round() as i64;
        Draws {
            lost,
            burst_lost: burst_lost && !lost,
            corrupt: (corrupt && len > 0).then_some((position, mask)),
            copies: if duplicate { 2 } else { 1 },
            reorder,
            jitter,
        }
    }

    /// A uniform draw in `[0, 1)` from 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (0.0 never, 1.0 always).
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests;
