//! Initial sequence numbers (RFC 6528, RFC 9293 3.4.1).
//!
//! RFC 6528 3: `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where
//! M is a timer ticking every 4 microseconds and F a keyed pseudorandom function. Here F
//! is SipHash-2-4 with a 128-bit key drawn once from the stack's [`Rng`].
//!
//! Why both halves: M makes successive connections on the same 4-tuple start at
//! increasing sequence numbers, so segments of an old incarnation are unlikely to fall in
//! the new one's window (RFC 9293 3.4.1); F makes the numbers of one 4-tuple unrelated to
//! those of any other, so an off-path attacker who opens a connection of their own learns
//! nothing that lets them guess ours (RFC 6528 1, the attack of Morris 1985).
//!
//! The key lives as long as the generator; like Linux's, it is not rotated. The key is
//! only as secret as the seed the caller gave the [`Rng`]: in production that must come
//! from the OS's entropy source.

use core::fmt;
use core::hash::Hasher;
use core::net::SocketAddrV4;

use siphasher::sip::SipHasher24;

use crate::rng::Rng;
use crate::time::Instant;
use crate::wire::seq::Seq;

/// RFC 6528 3 / RFC 9293 3.4.1: M ticks once every 4 microseconds, so the 32-bit
/// sequence space wraps about every 4.77 hours.
const TICK_MICROS: u64 = 4;

/// Chooses the initial send sequence number (ISS) of each new connection.
///
/// One per stack, created at start-up; call [`isn`](Self::isn) when sending a SYN
/// (active open) or a SYN-ACK (passive open).
#[derive(Clone)]
pub struct IsnGenerator {
    /// The SipHash-2-4 key, RFC 6528's `secretkey`.
    key: (u64, u64),
}

impl IsnGenerator {
    /// A generator with a secret key drawn from `rng`.
    pub fn new(rng: &mut Rng) -> Self {
        IsnGenerator {
            key: (rng.next_u64(), rng.next_u64()),
        }
    }

    /// The ISN for a connection from `local` to `remote` opened at `now`.
    pub fn isn(&self, now: Instant, local: SocketAddrV4, remote: SocketAddrV4) -> Seq {
        // RFC 6528 3: M, the 4-microsecond timer, taken modulo 2^32 (truncation is the
        // intended wrap).
        let m = (now.total_micros() / TICK_MICROS) as u32;
        // F(localip, localport, remoteip, remoteport, secretkey). The fields have fixed
        // widths, so no two tuples feed the hash the same bytes.
        let mut f = SipHasher24::new_with_keys(self.key.0, self.key.1);
        f.write(&local.ip().octets());
        f.write(&local.port().to_be_bytes());
        f.write(&remote.ip().octets());
        f.write(&remote.port().to_be_bytes());
        // The low 32 bits of the 64-bit hash are as unpredictable as any other 32.
        let f = f.finish() as u32;
        Seq(m.wrapping_add(f))
    }

    /// A second secret key, for another keyed function (SYN cookies), derived from this
    /// one so the stack draws no more random numbers than before: SipHash of a label
    /// under our key is as unpredictable as the key.
    pub(crate) fn derived_key(&self, label: u8) -> (u64, u64) {
        let half = |i: u8| {
            let mut h = SipHasher24::new_with_keys(self.key.0, self.key.1);
            h.write(b"netstack derived key");
            h.write(&[label, i]);
            h.finish()
        };
        (half(0), half(1))
    }
}

impl fmt::Debug for IsnGenerator {
    /// Leaves the key out: it must not end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsnGenerator").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use core::net::Ipv4Addr;

    const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 49152);
    const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);

    fn generator(seed: u64) -> IsnGenerator {
        IsnGenerator::new(&mut Rng::new(seed))
    }

    #[test]
    fn same_tuple_later_advances_by_elapsed_over_four_microseconds() {
        let g = generator(1);
        let t0 = Instant::from_secs(100);
        let a = g.isn(t0, LOCAL, REMOTE);
        assert_eq!(g.isn(t0, LOCAL, REMOTE), a, "deterministic");
        let b = g.isn(t0 + Duration::from_millis(1), LOCAL, REMOTE);
        assert_eq!(b - a, 250);
        assert!(b.gt(a));
        let c = g.isn(t0 + Duration::from_secs(60), LOCAL, REMOTE);
        assert_eq!(c - a, 15_000_000);
        // Less than one tick: same number.
        assert_eq!(g.isn(t0 + Duration::from_micros(3), LOCAL, REMOTE), a);
    }

    #[test]
    fn different_tuples_get_unrelated_numbers() {
        let g = generator(2);
        let t = Instant::from_secs(5);
        let base = g.isn(t, LOCAL, REMOTE);
        let variants = [
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 3), 49152),
            SocketAddrV4::new(*LOCAL.ip(), 49153),
        ];
        for local in variants {
            let other = g.isn(t, local, REMOTE);
            // Unrelated, not merely different: far apart in sequence space.
            assert!(other - base > 1_000_000 && base - other > 1_000_000);
        }
        let swapped = g.isn(t, REMOTE, LOCAL);
        assert_ne!(swapped, base, "direction matters");
        let other_port = g.isn(t, LOCAL, SocketAddrV4::new(*REMOTE.ip(), 81));
        assert_ne!(other_port, base);

        // Consecutive ports towards one server spread over the whole space.
        let from_port = |p: u16| SocketAddrV4::new(*LOCAL.ip(), p);
        let isns: Vec<u32> = (40000..41000)
            .map(|p| g.isn(t, from_port(p), REMOTE).0)
            .collect();
        let high_bit = isns.iter().filter(|x| **x >= 1 << 31).count();
        assert!((400..600).contains(&high_bit), "{high_bit} of 1000");
        let mut sorted = isns.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), isns.len());
    }

    #[test]
    fn different_keys_give_different_numbers() {
        let t = Instant::from_secs(5);
        let a = generator(3).isn(t, LOCAL, REMOTE);
        let b = generator(4).isn(t, LOCAL, REMOTE);
        assert_ne!(a, b);
        let again = generator(3).isn(t, LOCAL, REMOTE);
        assert_eq!(again, a, "seeded: reproducible");
    }

    #[test]
    fn the_timer_wraps_cleanly() {
        let g = generator(5);
        // M = 2^32 - 1 at t0, and wraps to 9 ten ticks later.
        let t0 = Instant::from_micros(u64::from(u32::MAX) * TICK_MICROS);
        let a = g.isn(t0, LOCAL, REMOTE);
        let b = g.isn(t0 + Duration::from_micros(40), LOCAL, REMOTE);
        assert_eq!(b - a, 10);
        assert!(b.gt(a));
        // The end of time is just another value.
        let _ = g.isn(Instant::from_micros(u64::MAX), LOCAL, REMOTE);
    }

    #[test]
    fn debug_hides_the_key() {
        let g = generator(6);
        let shown = format!("{g:?}");
        assert!(!shown.contains(&g.key.0.to_string()), "{shown}");
        assert_eq!(shown, "IsnGenerator { .. }");
    }
}
