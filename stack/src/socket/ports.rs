//! Ephemeral port selection (RFC 6056).
//!
//! We use Algorithm 4, "Double-Hash Port Selection" (RFC 6056 3.3.4), as Linux does:
//!
//! ```text
//! offset = F(local IP, remote IP, remote port, key1)      -- keyed hash
//! index  = G(local IP, remote IP, remote port, key2) mod TABLE_LENGTH
//! for count in 0..range:
//!     port = min + (offset + table[index] + count) mod range
//!     if port is free: table[index] += step; return port
//! ```
//!
//! F and G are SipHash-2-4 with 128-bit keys drawn once from the stack's seeded RNG. An
//! observer who learns one of our ports learns nothing about the ports we pick towards
//! other destinations, and because `table[index]` advances by a random step (1 to 8, as
//! Linux perturbs its table since 5.12) consecutive ports towards the same destination
//! are not simply sequential either. A socket bound with no remote (an unconnected UDP
//! socket) hashes the remote as 0.0.0.0:0.
//!
//! The default range is IANA's dynamic ports, 49152-65535 (RFC 6335 6); Linux uses
//! 32768-60999.

use core::fmt;
use core::hash::Hasher;
use core::net::Ipv4Addr;
use core::ops::RangeInclusive;
use std::collections::HashMap;

use siphasher::sip::SipHasher24;

use super::Protocol;
use crate::rng::Rng;

/// Buckets in the perturbation table (RFC 6056 suggests a few thousand entries at most).
const TABLE_LENGTH: usize = 256;

/// Every port in the ephemeral range is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortsExhausted;

impl fmt::Display for PortsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no ephemeral port is free")
    }
}

/// Chooses ephemeral ports and tracks which ports sockets hold.
#[derive(Clone, Debug)]
pub struct PortAllocator {
    range: RangeInclusive<u16>,
    key1: (u64, u64),
    key2: (u64, u64),
    table: Vec<u16>,
    rng: Rng,
    /// How many sockets hold each (protocol, port); TCP connections accepted from a
    /// listener share its port.
    in_use: HashMap<(Protocol, u16), u32>,
}

impl PortAllocator {
    /// An allocator for `range`, keyed from `rng`.
    ///
    /// # Panics
    /// If the range is empty or starts at port 0 (a caller bug).
    pub fn new(range: RangeInclusive<u16>, rng: &mut Rng) -> Self {
        assert!(
            !range.is_empty() && *range.start() > 0,
            "ephemeral range must be non-empty and above port 0"
        );
        PortAllocator {
            range,
            key1: (rng.next_u64(), rng.next_u64()),
            key2: (rng.next_u64(), rng.next_u64()),
            table: vec![0; TABLE_LENGTH],
            rng: Rng::new(rng.next_u64()),
            in_use: HashMap::new(),
        }
    }

    /// The ephemeral range.
    pub fn range(&self) -> RangeInclusive<u16> {
        self.range.clone()
    }

    /// True when some socket of `proto` holds `port`.
    pub fn is_used(&self, proto: Protocol, port: u16) -> bool {
        self.in_use.contains_key(&(proto, port))
    }

    /// Records that one more socket holds `port`.
    pub fn hold(&mut self, proto: Protocol, port: u16) {
        *self.in_use.entry((proto, port)).or_insert(0) += 1;
    }

    /// Records that a socket gave `port` up.
    pub fn release(&mut self, proto: Protocol, port: u16) {
        if let Some(n) = self.in_use.get_mut(&(proto, port)) {
            *n -= 1;
            if *n == 0 {
                self.in_use.remove(&(proto, port));
            }
        }
    }

    /// Picks a free ephemeral port for a socket of `proto` from `local` towards `remote`
    /// (0.0.0.0:0 when unknown) and holds it. `suitable` may refuse a candidate for
    /// reasons the allocator cannot see (a TCP 4-tuple in TIME-WAIT, say).
    pub fn allocate(
        &mut self,
        proto: Protocol,
        local: Ipv4Addr,
        remote: (Ipv4Addr, u16),
        mut suitable: impl FnMut(u16) -> bool,
    ) -> Result<u16, PortsExhausted> {
        let min = u32::from(*self.range.start());
        let num = u32::from(*self.range.end()) - min + 1;
        let offset = hash(self.key1, local, remote) as u32;
        let index = (hash(self.key2, local, remote) % TABLE_LENGTH as u64) as usize;
        let base = offset.wrapping_add(u32::from(self.table[index]));
        for count in 0..num {
            let port = (min + base.wrapping_add(count) % num) as u16;
            if !self.is_used(proto, port) && suitable(port) {
                let step = 1 + self.rng.below(8) as u16;
                self.table[index] = self.table[index]
                    .wrapping_add(count as u16)
                    .wrapping_add(step);
                self.hold(proto, port);
                return Ok(port);
            }
        }
        Err(PortsExhausted)
    }
}

fn hash(key: (u64, u64), local: Ipv4Addr, remote: (Ipv4Addr, u16)) -> u64 {
    let mut h = SipHasher24::new_with_keys(key.0, key.1);
    h.write(&local.octets());
    h.write(&remote.0.octets());
    h.write(&remote.1.to_be_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const REMOTE: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 1), 80);

    fn alloc(seed: u64) -> PortAllocator {
        PortAllocator::new(49152..=65535, &mut Rng::new(seed))
    }

    #[test]
    fn ports_are_in_range_and_never_handed_out_twice() {
        let mut a = alloc(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let p = a.allocate(Protocol::Udp, LOCAL, REMOTE, |_| true).unwrap();
            assert!((49152..=65535).contains(&p));
            assert!(seen.insert(p), "port {p} handed out twice");
        }
    }

    #[test]
    fn a_released_port_can_be_reused() {
        let mut a = PortAllocator::new(50000..=50001, &mut Rng::new(1));
        let p1 = a.allocate(Protocol::Udp, LOCAL, REMOTE, |_| true).unwrap();
        let p2 = a.allocate(Protocol::Udp, LOCAL, REMOTE, |_| true).unwrap();
        assert_ne!(p1, p2);
        assert_eq!(
            a.allocate(Protocol::Udp, LOCAL, REMOTE, |_| true),
            Err(PortsExhausted)
        );
        // Protocols have separate port spaces.
        assert!(a.allocate(Protocol::Tcp, LOCAL, REMOTE, |_| true).is_ok());
        a.release(Protocol::Udp, p1);
        assert_eq!(a.allocate(Protocol::Udp, LOCAL, REMOTE, |_| true), Ok(p1));
    }

    #[test]
    fn suitability_check_is_honoured() {
        let mut a = PortAllocator::new(50000..=50009, &mut Rng::new(1));
        let p = a
            .allocate(Protocol::Tcp, LOCAL, REMOTE, |p| p == 50007)
            .unwrap();
        assert_eq!(p, 50007);
    }

    #[test]
    fn keys_make_ports_unpredictable_across_seeds_and_destinations() {
        // Different seeds (secret keys) give different first ports for the same tuple.
        let firsts: std::collections::HashSet<u16> = (0..32)
            .map(|s| {
                alloc(s)
                    .allocate(Protocol::Tcp, LOCAL, REMOTE, |_| true)
                    .unwrap()
            })
            .collect();
        assert!(
            firsts.len() > 28,
            "only {} distinct first ports over 32 keys",
            firsts.len()
        );
        // Consecutive ports towards one destination advance by a random step, not by one.
        let mut a = alloc(7);
        let ports: Vec<u16> = (0..50)
            .map(|_| a.allocate(Protocol::Tcp, LOCAL, REMOTE, |_| true).unwrap())
            .collect();
        let unit_steps = ports
            .windows(2)
            .filter(|w| w[1] == w[0].wrapping_add(1))
            .count();
        assert!(
            unit_steps < 25,
            "{unit_steps} of 49 steps were +1: {ports:?}"
        );
    }
}
