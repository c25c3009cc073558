//! IPv4 reassembly (RFC 791 section 3.2, "Fragmentation and Reassembly"; RFC 815).
//!
//! Fragments are grouped by (source, destination, protocol, identification). A datagram
//! is complete when the fragment without MF has arrived and the received ranges cover
//! every byte before its end.
//!
//! # Rules for awkward input
//! * An exact duplicate of a fragment already held (same offset and length) is ignored:
//!   retransmitting links and the fault injector produce them.
//! * Any other overlap discards the whole datagram, and every later fragment of it until
//!   its timer runs out. RFC 5722 requires this for IPv6; IPv4 has the same attack
//!   (overlapping fragments that rewrite a transport header past a filter) and Linux does
//!   the same since 4.19.
//! * A non-final fragment whose length is not a multiple of 8, or a datagram whose end
//!   would pass 65535 bytes, is malformed and dropped.
//! * Two different final lengths, or data past the final length, poison the datagram.
//!
//! # Bounds
//! At most [`ReassemblyConfig::max_datagrams`] datagrams are in progress and at most
//! [`ReassemblyConfig::max_bytes`] bytes of buffer are held across them. A fragment that
//! would pass either bound evicts the oldest datagrams first, so a flood of fragments
//! that never complete costs a fixed amount of memory and never blocks other traffic.
//!
//! # Timeout
//! 30 seconds from a datagram's first fragment, as Linux (`ipfrag_time`). RFC 1122 3.3.2
//! suggests 60-120 s, but at today's rates the 16-bit identification wraps well within
//! that and stale fragments then splice into new datagrams (RFC 4963), so a shorter
//! timer is the safer choice. On timeout, if the first fragment had arrived, the caller
//! sends ICMP Time Exceeded, code 1 (RFC 792; RFC 1122 3.3.2).

use core::net::Ipv4Addr;
use std::collections::HashMap;

use crate::time::{Duration, Instant};
use crate::wire::Ipv4Repr;

/// Reassembly tunables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How long a datagram may take to arrive whole. 30 s (see the module docs).
    pub timeout: Duration,
    /// Datagrams in progress at once. 64.
    pub max_datagrams: usize,
    /// Buffer bytes held over all datagrams in progress. 1 MiB: sixteen maximum-size
    /// datagrams, or many more ordinary ones (Linux's default is 4 MiB per namespace).
    pub max_bytes: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            timeout: Duration::from_secs(30),
            max_datagrams: 64,
            max_bytes: 1 << 20,
        }
    }
}

/// Received fragment ranges kept per datagram at most; past this the datagram is dropped
/// (a 64 KiB datagram in 1480-byte fragments needs 45).
const MAX_FRAGMENTS: usize = 128;
/// The largest IPv4 payload: 65535 minus a 20-byte header.
const MAX_PAYLOAD: usize = 65535 - 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
}

#[derive(Debug)]
struct Datagram {
    deadline: Instant,
    /// Arrival order, for evicting the oldest.
    serial: u64,
    /// Received `(start, end)` byte ranges, sorted and disjoint. Empty when poisoned.
    ranges: Vec<(usize, usize)>,
    data: Vec<u8>,
    /// Known once the final fragment (MF clear) arrives.
    total: Option<usize>,
    /// The first fragment's header and first 8 payload bytes, for Time Exceeded.
    first: Option<(Ipv4Repr, [u8; 8], usize)>,
    poisoned: bool,
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Held; the datagram is not complete yet.
    Held,
    /// The datagram is complete: its header (offset 0, MF clear) and whole payload.
    Complete(Ipv4Repr, Vec<u8>),
    /// An exact duplicate; ignored.
    Duplicate,
    /// Dropped: the datagram was poisoned by an overlap or inconsistency.
    Overlap,
    /// Dropped: malformed (bad length, beyond 65535).
    Malformed,
}

/// A datagram given up on at its deadline.
#[derive(Debug, PartialEq, Eq)]
pub struct Expired {
    /// Header of the first fragment, if it had arrived.
    pub first: Option<Ipv4Repr>,
    /// That fragment's first 8 payload bytes (the transport header), and how many are valid.
    pub first_bytes: [u8; 8],
    /// Valid bytes in `first_bytes`.
    pub first_len: usize,
}

/// Datagrams being reassembled.
#[derive(Debug, Default)]
pub struct Reassembler {
    config: ReassemblyConfig,
    datagrams: HashMap<Key, Datagram>,
    bytes: usize,
    serial: u64,
    evicted: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            config,
            ..Default::default()
        }
    }

    /// Datagrams in progress and buffer bytes they hold.
    pub fn usage(&self) -> (usize, usize) {
        (self.datagrams.len(), self.bytes)
    }

    /// Datagrams evicted to stay within the bounds, so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Adds one fragment (`ip.is_fragment()` must be true) with its payload.
    pub fn add(&mut self, now: Instant, ip: &Ipv4Repr, payload: &[u8]) -> Outcome {
        let start = usize::from(ip.frag_offset);
        let end = start + payload.len();
        if end > MAX_PAYLOAD || (ip.more_frags && (payload.len() % 8 != 0 || payload.is_empty())) {
            return Outcome::Malformed;
        }
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            protocol: ip.protocol,
            ident: ip.ident,
        };
        if !self.datagrams.contains_key(&key) {
            self.make_room(1, 0);
            self.serial += 1;
            let d = Datagram {
                deadline: now + self.config.timeout,
                serial: self.serial,
                ranges: Vec::new(),
                data: Vec::new(),
                total: None,
                first: None,
                poisoned: false,
            };
            self.datagrams.insert(key, d);
        }
        // Grow the buffer first (evicting others if needed), then re-borrow.
        let grow = {
            let d = &self.datagrams[&key];
            if d.poisoned {
                0
            } else {
                end.saturating_sub(d.data.len())
            }
        };
        if grow > 0 {
            self.make_room(0, grow);
            if !self.datagrams.contains_key(&key) {
                // This very datagram was the oldest and got evicted.
                return Outcome::Held;
            }
        }
        let d = self.datagrams.get_mut(&key).expect("checked just above");
        if d.poisoned {
            return Outcome::Overlap;
        }
        // Exact duplicate?
        if d.ranges.contains(&(start, end)) {
            return Outcome::Duplicate;
        }
        let consistent_total = match (ip.more_frags, d.total) {
            (false, Some(t)) => t == end,
            (false, None) => d.ranges.last().is_none_or(|&(_, e)| e <= end),
            (true, Some(t)) => end <= t,
            (true, None) => true,
        };
        let overlaps = d.ranges.iter().any(|&(s, e)| start < e && s < end);
        if overlaps || !consistent_total || d.ranges.len() >= MAX_FRAGMENTS {
            let held = d.data.capacity();
            d.poisoned = true;
            d.ranges = Vec::new();
            d.data = Vec::new();
            self.bytes -= held;
            return Outcome::Overlap;
        }
        if d.data.len() < end {
            let before = d.data.capacity();
            d.data.reserve_exact(end - d.data.len());
            d.data.resize(end, 0);
            self.bytes += d.data.capacity() - before;
        }
        d.data[start..end].copy_from_slice(payload);
        let at = d.ranges.partition_point(|&(s, _)| s < start);
        d.ranges.insert(at, (start, end));
        if !ip.more_frags {
            d.total = Some(end);
        }
        if start == 0 {
            let mut head = [0u8; 8];
            let n = payload.len().min(8);
            head[..n].copy_from_slice(&payload[..n]);
            d.first = Some((*ip, head, n));
        }
        let Some(total) = d.total else {
            return Outcome::Held;
        };
        let mut covered = 0;
        for &(s, e) in &d.ranges {
            if s != covered {
                return Outcome::Held;
            }
            covered = e;
        }
        if covered != total {
            return Outcome::Held;
        }
        let d = self.datagrams.remove(&key).expect("present");
        self.bytes -= d.data.capacity();
        let (first, _, _) = d
            .first
            .expect("range 0.. is covered, so the first fragment arrived");
        let header = Ipv4Repr {
            more_frags: false,
            frag_offset: 0,
            payload_len: total,
            ..first
        };
        Outcome::Complete(header, d.data)
    }

    /// Drops datagrams whose time is up, calling `expired` for each that was not poisoned.
    pub fn handle_timeout(&mut self, now: Instant, mut expired: impl FnMut(Expired)) {
        let mut freed = 0;
        self.datagrams.retain(|_, d| {
            if now < d.deadline {
                return true;
            }
            freed += d.data.capacity();
            if !d.poisoned {
                let (first, first_bytes, first_len) = match d.first {
                    Some((ip, b, n)) => (Some(ip), b, n),
                    None => (None, [0; 8], 0),
                };
                expired(Expired {
                    first,
                    first_bytes,
                    first_len,
                });
            }
            false
        });
        self.bytes -= freed;
    }

    /// The earliest deadline of a datagram in progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.datagrams.values().map(|d| d.deadline).min()
    }

    /// Evicts the oldest datagrams until `datagrams` more and `bytes` more fit.
    fn make_room(&mut self, datagrams: usize, bytes: usize) {
        while !self.datagrams.is_empty()
            && (self.datagrams.len() + datagrams > self.config.max_datagrams
                || self.bytes + bytes > self.config.max_bytes)
        {
            let oldest = self
                .datagrams
                .iter()
                .min_by_key(|(_, d)| d.serial)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                if let Some(d) = self.datagrams.remove(&k) {
                    self.bytes -= d.data.capacity();
                    self.evicted += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
