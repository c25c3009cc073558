//! The ARP cache and the queue of packets waiting for resolution (RFC 826, RFC 1122 2.3.2).
//!
//! This module is pure bookkeeping: it decides *what* to send (requests, in
//! [`ArpCache::lookup`] and [`ArpCache::handle_timeout`]) and *which* packets are ready,
//! and the stack puts those on the wire. Every table is bounded:
//!
//! * at most [`CACHE_SIZE`] addresses (resolved, being resolved, or recently failed), of
//!   which at most half being resolved;
//! * at most [`ArpConfig::queue_per_address`] packets per unresolved address and
//!   [`QUEUE_TOTAL`] in all; past either bound the oldest waiting packet is dropped.
//!
//! Entry life cycle:
//! ```text
//!   (none) --lookup miss--> Incomplete --reply--> Reachable --lifetime over--> (none)
//!                              |  retry every retry_interval, max_requests times
//!                              +--no reply--> Failed --failed_hold over--> (none)
//! ```
//! A Reachable entry used within `refresh_before` of its expiry gets one unicast request
//! (as Linux's "probe" state does), so a live neighbour is refreshed without a gap.

use core::fmt;
use core::net::Ipv4Addr;
use std::collections::VecDeque;

use heapless::index_map::FnvIndexMap;

use crate::config::ArpConfig;
use crate::time::Instant;
use crate::wire::MacAddr;

/// Addresses the cache holds at most (a power of two, as the map requires).
pub const CACHE_SIZE: usize = 64;
/// Packets waiting for resolution, over all addresses.
pub const QUEUE_TOTAL: usize = 256;

/// What state an entry is in, for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Resolved and usable.
    Reachable,
    /// Resolved, near expiry, a unicast refresh request is out.
    Refreshing,
    /// Requests are out, no reply yet; packets wait in the queue.
    Incomplete,
    /// No reply after every request; traffic to it is dropped until the hold ends.
    Failed,
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryState::Reachable => "REACHABLE",
            EntryState::Refreshing => "PROBE",
            EntryState::Incomplete => "INCOMPLETE",
            EntryState::Failed => "FAILED",
        })
    }
}

/// A read-only view of one cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// The IPv4 address.
    pub ip: Ipv4Addr,
    /// Its MAC address, once resolved.
    pub mac: Option<MacAddr>,
    /// The entry's state.
    pub state: EntryState,
    /// When the entry expires (Reachable), retries (Incomplete) or is forgotten (Failed).
    pub expires_at: Option<Instant>,
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Reachable {
        mac: MacAddr,
        expires: Instant,
        refresh_sent: bool,
        /// When we last sent to it, if ever: an entry we use is a neighbour we talk to,
        /// and is the last to be evicted.
        used: Option<Instant>,
    },
    Incomplete {
        requests_sent: u8,
        next_request: Instant,
    },
    Failed {
        until: Instant,
    },
}

/// The answer to "what MAC do I send this to?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Send now to this MAC. If `refresh` is set, also send a unicast request to it.
    Resolved {
        /// The neighbour's MAC.
        mac: MacAddr,
        /// Send a unicast refresh request now.
        refresh: bool,
    },
    /// Queue the packet. If `request` is set, broadcast the first request now.
    Pending {
        /// Broadcast a request now.
        request: bool,
    },
    /// Resolution failed recently: drop the packet.
    Failed,
    /// No room for a new entry: drop the packet.
    TableFull,
}

/// An outgoing request the stack must emit: unicast to `dst_mac` or broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The address to resolve.
    pub target_ip: Ipv4Addr,
    /// Where to send the request: broadcast, or the known MAC for a refresh.
    pub dst_mac: MacAddr,
}

/// The ARP cache with its waiting-packet queue. `P` is the queued packet type.
#[derive(Debug)]
pub struct ArpCache<P> {
    config: ArpConfig,
    entries: FnvIndexMap<Ipv4Addr, Entry, CACHE_SIZE>,
    queue: VecDeque<(Ipv4Addr, P)>,
    /// Packets dropped because the entry they waited on was evicted, not yet counted by
    /// the caller ([`ArpCache::take_evicted_packets`]).
    evicted_packets: u64,
}

impl<P> ArpCache<P> {
    /// An empty cache.
    pub fn new(config: ArpConfig) -> Self {
        ArpCache {
            config,
            entries: FnvIndexMap::new(),
            queue: VecDeque::new(),
            evicted_packets: 0,
        }
    }

    /// Finds the MAC for `ip`, starting resolution on a miss.
    pub fn lookup(&mut self, now: Instant, ip: Ipv4Addr) -> Lookup {
        let cfg = &self.config;
        match self.entries.get_mut(&ip) {
            Some(Entry::Reachable {
                mac,
                expires,
                refresh_sent,
                used,
            }) if now < *expires => {
                let refresh = !*refresh_sent && *expires - now <= cfg.refresh_before;
                if refresh {
                    *refresh_sent = true;
                }
                *used = Some(now);
                Lookup::Resolved { mac: *mac, refresh }
            }
            Some(Entry::Incomplete { .. }) => Lookup::Pending { request: false },
            Some(Entry::Failed { until }) if now < *until => Lookup::Failed,
            _ => {
                // Absent or expired: (re)start resolution. RFC 1122 2.3.2.1: at most one
                // request per retry_interval per address, which the timer enforces.
                let entry = Entry::Incomplete {
                    requests_sent: 1,
                    next_request: now + cfg.retry_interval,
                };
                if self.insert(now, ip, entry) {
                    Lookup::Pending { request: true }
                } else {
                    Lookup::TableFull
                }
            }
        }
    }

    /// Queues `packet` until `ip` resolves. Returns the packet dropped to make room, if
    /// any (the oldest for the same address, or the oldest overall).
    pub fn enqueue(&mut self, ip: Ipv4Addr, packet: P) -> Option<P> {
        let mut dropped = None;
        let same = self.queue.iter().filter(|(q, _)| *q == ip).count();
        if same >= self.config.queue_per_address {
            if let Some(pos) = self.queue.iter().position(|(q, _)| *q == ip) {
                dropped = self.queue.remove(pos).map(|(_, p)| p);
            }
        } else if self.queue.len() >= QUEUE_TOTAL {
            dropped = self.queue.pop_front().map(|(_, p)| p);
        }
        self.queue.push_back((ip, packet));
        dropped
    }

    /// RFC 826's merge step for a received ARP packet from `ip` at `mac`: if `ip` is in
    /// the table, its MAC is updated and its lifetime renewed; if not, it is added only
    /// when `we_are_target` (the packet was for our address). A gratuitous ARP therefore
    /// updates an existing entry and never creates one.
    ///
    /// Returns whether the table now holds a fresh mapping for `ip`. Packets that were
    /// waiting for it are then available from [`ArpCache::take_ready`].
    pub fn learn(&mut self, now: Instant, ip: Ipv4Addr, mac: MacAddr, we_are_target: bool) -> bool {
        let mut fresh = Entry::Reachable {
            mac,
            expires: now + self.config.lifetime,
            refresh_sent: false,
            used: None,
        };
        if let Some(entry) = self.entries.get_mut(&ip) {
            if let (Entry::Reachable { used: before, .. }, Entry::Reachable { used, .. }) =
                (*entry, &mut fresh)
            {
                *used = before;
            }
            *entry = fresh;
            true
        } else if we_are_target {
            self.insert(now, ip, fresh)
        } else {
            false
        }
    }

    /// Removes and returns, in queue order, the packets waiting for `ip`, with its MAC.
    /// Empty unless `ip` is Reachable.
    pub fn take_ready(&mut self, ip: Ipv4Addr) -> (Option<MacAddr>, Vec<P>) {
        let mac = match self.entries.get(&ip) {
            Some(Entry::Reachable { mac, .. }) => *mac,
            _ => return (None, Vec::new()),
        };
        if !self.queue.iter().any(|(q, _)| *q == ip) {
            return (Some(mac), Vec::new());
        }
        let mut ready = Vec::new();
        let mut rest = VecDeque::with_capacity(self.queue.len());
        for (q, p) in self.queue.drain(..) {
            if q == ip {
                ready.push(p);
            } else {
                rest.push_back((q, p));
            }
        }
        self.queue = rest;
        (Some(mac), ready)
    }

    /// Runs due timers: retries requests (calling `request` for each), gives up on
    /// addresses that never answered (calling `unresolved` for each packet dropped), and
    /// forgets expired entries.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        mut request: impl FnMut(Request),
        mut unresolved: impl FnMut(P),
    ) {
        let cfg = self.config.clone();
        let mut gave_up: heapless::Vec<Ipv4Addr, CACHE_SIZE> = heapless::Vec::new();
        for (ip, entry) in self.entries.iter_mut() {
            if let Entry::Incomplete {
                requests_sent,
                next_request,
            } = entry
            {
                if now >= *next_request {
                    if *requests_sent < cfg.max_requests {
                        *requests_sent += 1;
                        *next_request = now + cfg.retry_interval;
                        request(Request {
                            target_ip: *ip,
                            dst_mac: MacAddr::BROADCAST,
                        });
                    } else {
                        *entry = Entry::Failed {
                            until: now + cfg.failed_hold,
                        };
                        // Capacity equals the table's, so this cannot overflow.
                        let _ = gave_up.push(*ip);
                    }
                }
            }
        }
        for ip in gave_up {
            let mut i = 0;
            while i < self.queue.len() {
                if self.queue[i].0 == ip {
                    if let Some((_, p)) = self.queue.remove(i) {
                        unresolved(p);
                    }
                } else {
                    i += 1;
                }
            }
        }
        self.entries.retain(|_, e| match e {
            Entry::Reachable { expires, .. } => now < *expires,
            Entry::Failed { until } => now < *until,
            Entry::Incomplete { .. } => true,
        });
    }

    /// The earliest instant at which [`ArpCache::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| match *e {
                Entry::Reachable { expires, .. } => expires,
                Entry::Incomplete { next_request, .. } => next_request,
                Entry::Failed { until } => until,
            })
            .min()
    }

    /// A snapshot of every entry, for display.
    pub fn entries(&self) -> Vec<EntryInfo> {
        self.entries
            .iter()
            .map(|(ip, e)| match *e {
                Entry::Reachable {
                    mac,
                    expires,
                    refresh_sent,
                    ..
                } => EntryInfo {
                    ip: *ip,
                    mac: Some(mac),
                    state: if refresh_sent {
                        EntryState::Refreshing
                    } else {
                        EntryState::Reachable
                    },
                    expires_at: Some(expires),
                },
                Entry::Incomplete { next_request, .. } => EntryInfo {
                    ip: *ip,
                    mac: None,
                    state: EntryState::Incomplete,
                    expires_at: Some(next_request),
                },
                Entry::Failed { until } => EntryInfo {
                    ip: *ip,
                    mac: None,
                    state: EntryState::Failed,
                    expires_at: Some(until),
                },
            })
            .collect()
    }

    /// Packets waiting for resolution, over all addresses.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Packets dropped since the last call because the unresolved entry they waited on
    /// was evicted to make room (see [`ArpCache::lookup`]'s bound on those).
    pub fn take_evicted_packets(&mut self) -> u64 {
        core::mem::take(&mut self.evicted_packets)
    }

    /// Makes room for a new Incomplete entry when half the table already is: the one
    /// resolving longest goes, with its waiting packets. Returns false if none needed to.
    fn evict_incomplete(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .filter_map(|(k, e)| match *e {
                Entry::Incomplete {
                    requests_sent,
                    next_request,
                } => Some((*k, (core::cmp::Reverse(requests_sent), next_request))),
                _ => None,
            })
            .min_by_key(|&(_, key)| key)
            .map(|(k, _)| k);
        let Some(victim) = oldest else { return false };
        self.entries.swap_remove(&victim);
        let before = self.queue.len();
        self.queue.retain(|(q, _)| *q != victim);
        self.evicted_packets += (before - self.queue.len()) as u64;
        true
    }

    /// Inserts, evicting to make room if needed: first anything expired or failed, then
    /// the resolved entry we never sent to that is closest to expiry, then the one we
    /// sent to least recently. Incomplete entries are never evicted (their packets wait
    /// on them). Returns false when nothing could be evicted.
    ///
    /// So a flood of ARP requests from made-up senders, each of which creates an entry
    /// (RFC 826: we are the target), only pushes out entries of its own kind: the
    /// neighbours we talk to stay (Linux's garbage collector spares referenced entries
    /// the same way).
    fn insert(&mut self, now: Instant, ip: Ipv4Addr, entry: Entry) -> bool {
        // Addresses being resolved take at most half the table: past that, the one
        // resolving longest makes room. A flood of segments from made-up neighbours (a SYN
        // flood on our own link makes us resolve each) so churns its own half, and
        // neither starves resolution nor pushes out the neighbours we know.
        let incomplete = |e: &Entry| matches!(e, Entry::Incomplete { .. });
        if incomplete(&entry)
            && !self.entries.contains_key(&ip)
            && self.entries.values().filter(|e| incomplete(e)).count() >= CACHE_SIZE / 2
        {
            self.evict_incomplete();
        }
        if self.entries.contains_key(&ip) || !self.entries.is_full() {
            // Not full, or replacing: insert cannot fail.
            return self.entries.insert(ip, entry).is_ok();
        }
        // (class, instant): the smallest goes. 0: dead; 1: never used, by expiry;
        // 2: used, by last use.
        let victim = self
            .entries
            .iter()
            .filter_map(|(k, e)| match *e {
                Entry::Failed { .. } => Some((*k, (0, Instant::ZERO))),
                Entry::Reachable { expires, .. } if expires <= now => {
                    Some((*k, (0, Instant::ZERO)))
                }
                Entry::Reachable {
                    used: None,
                    expires,
                    ..
                } => Some((*k, (1, expires))),
                Entry::Reachable { used: Some(at), .. } => Some((*k, (2, at))),
                Entry::Incomplete { .. } => None,
            })
            .min_by_key(|&(_, key)| key)
            .map(|(k, _)| k);
        match victim {
            Some(k) => {
                self.entries.swap_remove(&k);
                self.entries.insert(ip, entry).is_ok()
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests;
