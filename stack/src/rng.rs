//! Injected randomness.
//!
//! The stack draws every random number (ARP jitter now; ISNs, ephemeral ports and keys
//! later) from one [`Rng`] seeded by the caller, so a run can be replayed exactly from
//! its seed. The generator is xoshiro256** seeded through SplitMix64, as its authors
//! recommend: fast, statistically strong, and not cryptographic. Where unpredictability
//! matters (RFC 6528 ISNs, RFC 6056 ports) the stack derives a secret key from it once
//! and hashes with that key, so the caller must seed it from a real entropy source in
//! production (the runtime reads the OS's) and from a fixed value in tests.

/// A seeded pseudo-random generator (xoshiro256**).
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let mut next = || {
            // SplitMix64 step.
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Fills `buf` with the little-endian bytes of successive [`next_u64`](Self::next_u64)
    /// values (the last one cut short): a seed gives the same bytes every time.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }

    /// A uniformly distributed value in `0..bound` (`bound` > 0), by Lemire's method.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * u128::from(bound.max(1))) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_different_seed_different_sequence() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn fill_is_the_le_bytes_of_next_u64_cut_to_length() {
        let mut r = Rng::new(3);
        let mut buf = [0; 13];
        r.fill(&mut buf);
        let mut s = Rng::new(3);
        let (x, y) = (s.next_u64().to_le_bytes(), s.next_u64().to_le_bytes());
        assert_eq!(buf[..8], x);
        assert_eq!(buf[8..], y[..5]);
        assert_eq!(r.next_u64(), s.next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1);
        assert!((0..10_000).all(|_| r.below(7) < 7));
    }
}
