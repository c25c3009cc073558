//! Rate limits for the ICMP errors we send (RFC 1812 4.3.2.8, RFC 1122 3.2.2: a host
//! SHOULD limit them), shaped like Linux's so captures compare line for line:
//!
//! * per destination, a token bucket of 6 messages refilled at one per second
//!   (Linux: `icmp_ratelimit` = 1000 ms, `XRLIM_BURST_FACTOR` = 6);
//! * over all destinations, 50 messages refilled at 1000 per second
//!   (`icmp_msgs_burst`, `icmp_msgs_per_sec`).
//!
//! The per-destination table is bounded; when full, the least recently used entry is
//! forgotten (it then starts again with a full bucket, as a new Linux peer does).

use core::net::Ipv4Addr;
use std::collections::HashMap;

use crate::time::{Duration, Instant};

/// Destinations tracked at once.
const MAX_DESTINATIONS: usize = 256;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Credit in microseconds of refill time.
    credit: u64,
    last: Instant,
}

impl Bucket {
    fn full(now: Instant, capacity: u64) -> Bucket {
        Bucket {
            credit: capacity,
            last: now,
        }
    }

    /// Takes one token costing `cost` microseconds of credit, holding at most `capacity`.
    fn take(&mut self, now: Instant, cost: u64, capacity: u64) -> bool {
        self.credit = (self.credit + (now - self.last).total_micros()).min(capacity);
        self.last = now;
        if self.credit >= cost {
            self.credit -= cost;
            true
        } else {
            false
        }
    }
}

/// The per-destination and global limits.
#[derive(Debug, Default)]
pub(crate) struct IcmpRateLimiter {
    global: Option<Bucket>,
    per_dest: HashMap<Ipv4Addr, Bucket>,
}

const DEST_COST: u64 = Duration::from_secs(1).total_micros();
const DEST_CAPACITY: u64 = 6 * DEST_COST;
const GLOBAL_COST: u64 = Duration::from_millis(1).total_micros();
const GLOBAL_CAPACITY: u64 = 50 * GLOBAL_COST;

impl IcmpRateLimiter {
    /// True if an error to `dst` may be sent at `now` (and charges for it).
    pub fn allow(&mut self, now: Instant, dst: Ipv4Addr) -> bool {
        if !self.per_dest.contains_key(&dst) && self.per_dest.len() >= MAX_DESTINATIONS {
            if let Some(oldest) = self
                .per_dest
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(k, _)| *k)
            {
                self.per_dest.remove(&oldest);
            }
        }
        let dest = self
            .per_dest
            .entry(dst)
            .or_insert_with(|| Bucket::full(now, DEST_CAPACITY));
        let mut probe = *dest;
        if !probe.take(now, DEST_COST, DEST_CAPACITY) {
            *dest = probe;
            return false;
        }
        let global = self
            .global
            .get_or_insert_with(|| Bucket::full(now, GLOBAL_CAPACITY));
        if !global.take(now, GLOBAL_COST, GLOBAL_CAPACITY) {
            return false;
        }
        *dest = probe;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_six_then_one_per_second_per_destination() {
        let mut r = IcmpRateLimiter::default();
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let allowed = (0..20)
            .filter(|_| r.allow(Instant::from_millis(1000), a))
            .count();
        assert_eq!(allowed, 6);
        assert!(!r.allow(Instant::from_millis(1999), a));
        assert!(r.allow(Instant::from_millis(2000), a));
        assert!(!r.allow(Instant::from_millis(2001), a));
        // Another destination has its own bucket.
        assert!(r.allow(Instant::from_millis(2001), Ipv4Addr::new(10, 0, 0, 3)));
    }

    #[test]
    fn global_limit_caps_many_destinations() {
        let mut r = IcmpRateLimiter::default();
        let now = Instant::from_secs(5);
        let allowed = (0..200u32)
            .filter(|i| r.allow(now, Ipv4Addr::from(0x0a00_0100 + i)))
            .count();
        assert_eq!(allowed, 50);
        assert!(r.per_dest.len() <= MAX_DESTINATIONS);
    }
}
