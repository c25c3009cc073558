//! The simulated link of `inmem`: two one-way queues with a fixed delay, an optional rate
//! (frames queue behind each other, as on a real bottleneck with an unbounded buffer) and
//! seeded random loss of IPv4 frames. ARP is never dropped, so a run measures TCP's loss
//! recovery rather than each stack's ARP retry timer. Time is virtual, in microseconds.

use std::collections::VecDeque;

/// How one direction of the link behaves.
#[derive(Clone, Copy, Debug)]
pub struct LinkParams {
    /// One-way delay in microseconds (half the round trip).
    pub delay_us: u64,
    /// Bits per second; 0 means unlimited (a frame takes no time to send).
    pub rate_bps: u64,
    /// Chance that an IPv4 frame is lost, 0.0 to 1.0.
    pub loss: f64,
}

/// One direction: frames in flight, each with the virtual time it arrives.
#[derive(Debug)]
pub struct Direction {
    params: LinkParams,
    in_flight: VecDeque<(u64, Vec<u8>)>,
    /// When the sender's side of the link is free again (for the rate).
    free_at: u64,
    rng: SplitMix64,
    /// Frames put on this direction.
    pub sent: u64,
    /// Frames lost on it.
    pub dropped: u64,
}

impl Direction {
    /// An empty direction; `seed` decides which frames are lost.
    pub fn new(params: LinkParams, seed: u64) -> Direction {
        Direction {
            params,
            in_flight: VecDeque::new(),
            free_at: 0,
            rng: SplitMix64(seed),
            sent: 0,
            dropped: 0,
        }
    }

    /// Puts `frame` on the link at `now`; it arrives after the serialization and delay,
    /// unless it is lost.
    pub fn send(&mut self, now: u64, frame: Vec<u8>) {
        self.sent += 1;
        let is_ipv4 = frame.len() >= 14 && frame[12..14] == [0x08, 0x00];
        if is_ipv4 && self.params.loss > 0.0 && self.rng.unit() < self.params.loss {
            self.dropped += 1;
            return;
        }
        let start = now.max(self.free_at);
        let busy = match self.params.rate_bps {
            0 => 0,
            rate => (frame.len() as u64 * 8 * 1_000_000).div_ceil(rate),
        };
        self.free_at = start + busy;
        self.in_flight
            .push_back((start + busy + self.params.delay_us, frame));
    }

    /// The next frame that has arrived by `now`, if any (in order: the delay is fixed).
    pub fn arrived(&mut self, now: u64) -> Option<Vec<u8>> {
        match self.in_flight.front() {
            Some(&(at, _)) if at <= now => self.in_flight.pop_front().map(|(_, f)| f),
            _ => None,
        }
    }

    /// When the next frame in flight arrives.
    pub fn next_arrival(&self) -> Option<u64> {
        self.in_flight.front().map(|&(at, _)| at)
    }
}

/// SplitMix64: small, seedable and good enough to pick lost frames.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_frame(len: usize) -> Vec<u8> {
        let mut f = vec![0; len];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f
    }

    #[test]
    fn frames_arrive_after_delay_and_serialization() {
        let params = LinkParams {
            delay_us: 5_000,
            rate_bps: 8_000_000,
            loss: 0.0,
        };
        let mut d = Direction::new(params, 1);
        d.send(0, ipv4_frame(1000)); // 1 ms to send at 8 Mbit/s
        d.send(0, ipv4_frame(1000));
        assert_eq!(d.next_arrival(), Some(6_000));
        assert!(d.arrived(5_999).is_none());
        assert!(d.arrived(6_000).is_some());
        assert_eq!(d.next_arrival(), Some(7_000));
    }

    #[test]
    fn loss_is_seeded_and_near_its_rate() {
        let params = LinkParams {
            delay_us: 0,
            rate_bps: 0,
            loss: 0.05,
        };
        let run = |seed| {
            let mut d = Direction::new(params, seed);
            (0..20_000).for_each(|_| d.send(0, ipv4_frame(60)));
            d.dropped
        };
        assert_eq!(run(7), run(7));
        assert!((800..1200).contains(&run(7)), "{}", run(7));
    }
}
