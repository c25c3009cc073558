//! The [`Stack`]: one IPv4 host on one Ethernet link, and its four entry points.
//!
//! A received frame flows down one chain and never back up:
//! `receive` -> Ethernet checks here -> [`crate::arp`] glue here, or `ipv4::process` ->
//! `icmp::process`. Everything the stack sends leaves through [`Stack::send_ipv4`]
//! (or [`Stack::send_arp`]) into one transmit queue, which the driver drains with
//! [`Stack::transmit`].

use core::fmt;
use core::net::Ipv4Addr;

use log::{debug, warn};

use crate::arp::{self, ArpCache, EntryInfo, Lookup};
use crate::config::{Config, ConfigError};
use crate::counters::{Counters, RxDrop, TxDrop};
use crate::icmp::errors::Origin;
use crate::icmp::IcmpState;
use crate::ipv4::reassembly::Reassembler;
use crate::rng::Rng;
use crate::socket::{
    demux::Demux, ports::PortAllocator, table::SocketTable, SocketHandle, Sockets,
};
use crate::time::Instant;
use crate::tx::TxQueue;
use crate::wire::{
    self, ArpOperation, ArpRepr, EtherType, EthernetRepr, IcmpRepr, MacAddr, WireError,
};

/// One IPv4 host on one Ethernet link. See the [crate docs](crate) for how to drive it.
#[derive(Debug)]
pub struct Stack {
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    pub(crate) rng: Rng,
    pub(crate) arp: ArpCache<Vec<u8>>,
    pub(crate) tx: TxQueue,
    pub(crate) icmp: IcmpState,
    pub(crate) reassembly: Reassembler,
    pub(crate) sockets: Sockets,
    pub(crate) tcp: crate::tcp::host::TcpHost,
    /// IPv4 Identification for the next datagram we originate.
    pub(crate) next_ip_ident: u16,
    /// Sockets whose readiness may have changed since [`Stack::take_touched`] was last
    /// called; `touched_all` when too many to list.
    pub(crate) touched: Vec<SocketHandle>,
    pub(crate) touched_all: bool,
}

/// Touched sockets listed at most before the stack just says "all of them".
const TOUCHED_LIMIT: usize = 4096;

/// Why the stack could not send a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The destination is off-link and no gateway is configured.
    NoRoute(Ipv4Addr),
    /// The destination cannot be sent to (unspecified, multicast, loopback, ourselves).
    BadDestination(Ipv4Addr),
    /// The datagram does not fit the link MTU (fragmentation comes later).
    TooBig {
        /// Bytes of IP payload asked for.
        len: usize,
        /// The most that fits.
        max: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRoute(ip) => write!(f, "no route to {ip} (off-link and no gateway)"),
            SendError::BadDestination(ip) => write!(f, "cannot send to {ip}"),
            SendError::TooBig { len, max } => {
                write!(f, "{len} bytes do not fit the MTU ({max} at most)")
            }
        }
    }
}

impl std::error::Error for SendError {}

impl Stack {
    /// A stack with the given configuration. Every random choice it makes derives from
    /// `seed`: pass a value from the OS in production and a fixed one in tests.
    pub fn new(config: Config, seed: u64) -> Result<Stack, ConfigError> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let next_ip_ident = rng.next_u32() as u16;
        let sockets = Sockets {
            table: SocketTable::new(config.max_sockets),
            demux: Demux::default(),
            ports: PortAllocator::new(config.ephemeral_ports.clone(), &mut rng),
        };
        let tcp = crate::tcp::host::TcpHost::new(config.tcp.clone(), &mut rng);
        Ok(Stack {
            tcp,
            arp: ArpCache::new(config.arp.clone()),
            reassembly: Reassembler::new(config.reassembly.clone()),
            sockets,
            config,
            counters: Counters::default(),
            rng,
            tx: TxQueue::default(),
            icmp: IcmpState::default(),
            next_ip_ident,
            touched: Vec::new(),
            touched_all: false,
        })
    }

    /// The configuration the stack was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters of everything received, sent and dropped.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A random number from the stack's seeded generator, for callers that need one
    /// that replays with the stack (the ping command's ICMP identifier).
    pub fn random_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    /// A snapshot of the ARP cache.
    pub fn arp_entries(&self) -> Vec<EntryInfo> {
        self.arp.entries()
    }

    /// Processes one Ethernet frame (without FCS) that arrived at `now`.
    ///
    /// Never panics, whatever the bytes: a frame is either accepted or dropped and
    /// counted under an [`RxDrop`] reason. Replies are queued for [`Stack::transmit`].
    pub fn receive(&mut self, now: Instant, frame: &[u8]) {
        self.counters.rx_frames += 1;
        self.counters.rx_bytes += frame.len() as u64;
        match self.process_ethernet(now, frame) {
            Ok(()) => self.counters.rx_accepted += 1,
            Err(reason) => {
                debug!("drop {reason}: {}", wire::describe::describe(frame));
                self.counters.count_rx_drop(reason);
            }
        }
    }

    /// Datagrams being reassembled and the buffer bytes they hold; both stay within
    /// [`Config::reassembly`](crate::Config::reassembly)'s bounds.
    pub fn reassembly_usage(&self) -> (usize, usize) {
        self.reassembly.usage()
    }

    /// Moves into `out` the sockets whose readiness (data, room, connection state, an
    /// error) may have changed since the last call, so a runtime wakes only their waiters,
    /// as epoll does. Returns true when there were too many to list: wake every waiter.
    pub fn take_touched(&mut self, out: &mut Vec<SocketHandle>) -> bool {
        out.clear();
        std::mem::swap(out, &mut self.touched);
        std::mem::take(&mut self.touched_all)
    }

    /// Notes that socket `h`'s readiness may have changed.
    pub(crate) fn touch(&mut self, h: SocketHandle) {
        if self.touched.last() == Some(&h) || self.touched_all {
            return;
        }
        if self.touched.len() >= TOUCHED_LIMIT {
            self.touched.clear();
            self.touched_all = true;
            return;
        }
        self.touched.push(h);
    }

    /// Sockets open, of all protocols.
    pub fn socket_count(&self) -> usize {
        self.sockets.table.len()
    }

    /// Runs every timer due at `now` (ARP retries and expiry, reassembly timeouts).
    /// Harmless to call early.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.reassembly_timeout(now);
        self.tcp_handle_timeout(now);
        let mut requests: heapless::Vec<arp::Request, { arp::CACHE_SIZE }> = heapless::Vec::new();
        let mut unresolved = 0;
        self.arp.handle_timeout(
            now,
            |r| {
                // One request per entry at most, and the Vec holds as many as the table.
                let _ = requests.push(r);
            },
            |buf| {
                unresolved += 1;
                drop(buf);
            },
        );
        for _ in 0..unresolved {
            self.counters.count_tx_drop(TxDrop::ArpUnresolved);
        }
        for r in requests {
            self.send_arp(ArpOperation::Request, r.dst_mac, MacAddr::ZERO, r.target_ip);
        }
    }

    /// When [`Stack::handle_timeout`] next has work, if nothing arrives before then.
    /// `None` means no timer is running. Frames already queued are not a timer: call
    /// [`Stack::transmit`] after every `receive`/`handle_timeout`/send call.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = [
            self.arp.poll_timeout(),
            self.reassembly.poll_timeout(),
            self.tcp_poll_timeout(),
        ];
        timers.into_iter().flatten().min()
    }

    /// Abandons datagrams whose fragments did not all arrive in time. RFC 792 / RFC 1122
    /// 3.3.2: if fragment zero had arrived, tell the sender with Time Exceeded, code 1.
    fn reassembly_timeout(&mut self, now: Instant) {
        let mut expired = Vec::new();
        self.reassembly.handle_timeout(now, |e| expired.push(e));
        for e in expired {
            self.counters.ipv4_reassembly_failed += 1;
            if let Some(first) = e.first {
                let mut header = [0u8; wire::ipv4::HEADER_LEN];
                first.emit(&mut header);
                let origin = Origin {
                    link_broadcast: false,
                    ip: first,
                    header: &header,
                };
                self.send_icmp_error(
                    now,
                    &origin,
                    &e.first_bytes[..e.first_len],
                    IcmpRepr::TimeExceeded { code: 1 },
                );
            }
        }
    }

    /// Hands every frame waiting to be sent to `emit`, oldest first, and returns how
    /// many there were.
    pub fn transmit(&mut self, emit: impl FnMut(&[u8])) -> usize {
        let (frames, bytes) = self.tx.drain(emit);
        self.counters.tx_frames += frames as u64;
        self.counters.tx_bytes += bytes as u64;
        frames
    }

    /// Frames waiting for [`Stack::transmit`].
    pub fn pending_transmit(&self) -> usize {
        self.tx.len()
    }

    fn process_ethernet(&mut self, now: Instant, frame: &[u8]) -> Result<(), RxDrop> {
        let (eth, payload) = EthernetRepr::parse(frame).map_err(|_| RxDrop::EthernetTruncated)?;
        // We join no multicast group, so only our unicast address and broadcast are ours.
        if eth.dst != self.config.mac && !eth.dst.is_broadcast() {
            return Err(RxDrop::EthernetNotForUs);
        }
        match eth.ethertype {
            EtherType::Arp => self.process_arp(now, payload),
            EtherType::Ipv4 => self.process_ipv4(now, &eth, payload),
            EtherType::Other(_) => Err(RxDrop::EthernetUnknownType),
        }
    }

    /// RFC 826, "Packet Reception", for Ethernet/IPv4 only.
    fn process_arp(&mut self, now: Instant, payload: &[u8]) -> Result<(), RxDrop> {
        let arp = ArpRepr::parse(payload).map_err(|e| match e {
            WireError::Unsupported => RxDrop::ArpUnsupported,
            _ => RxDrop::ArpMalformed,
        })?;
        let ours = self.config.addr;
        if arp.sender_ip == ours && arp.sender_mac != self.config.mac {
            warn!("address conflict: {} claims {ours}", arp.sender_mac);
            return Err(RxDrop::ArpBadSender);
        }
        if !arp.sender_mac.is_unicast() || !is_host_address(&self.config, arp.sender_ip) {
            // An RFC 5227 probe (sender 0.0.0.0) for our address still deserves an answer,
            // so the prober learns the address is taken; nothing is learned from it.
            if arp.sender_ip.is_unspecified()
                && arp.sender_mac.is_unicast()
                && arp.target_ip == ours
            {
                if arp.operation == ArpOperation::Request {
                    self.send_arp(
                        ArpOperation::Reply,
                        arp.sender_mac,
                        arp.sender_mac,
                        arp.sender_ip,
                    );
                }
                return Ok(());
            }
            return Err(RxDrop::ArpBadSender);
        }
        let for_us = arp.target_ip == ours;
        // Merge step: update an existing entry; add one only if we are the target.
        let learned = self.arp.learn(now, arp.sender_ip, arp.sender_mac, for_us);
        if learned {
            self.flush_arp_queue(arp.sender_ip);
        }
        if !for_us {
            return if learned {
                Ok(())
            } else {
                Err(RxDrop::ArpNotForUs)
            };
        }
        if arp.operation == ArpOperation::Request {
            self.send_arp(
                ArpOperation::Reply,
                arp.sender_mac,
                arp.sender_mac,
                arp.sender_ip,
            );
        }
        Ok(())
    }

    /// Moves the packets that waited for `ip` to the transmit queue.
    fn flush_arp_queue(&mut self, ip: Ipv4Addr) {
        let (mac, ready) = self.arp.take_ready(ip);
        if let Some(mac) = mac {
            for frame in ready {
                self.finish_frame(frame, mac);
            }
        }
    }

    /// Emits an ARP packet from us: `op` to Ethernet `dst`, about `target_mac`/`target_ip`.
    pub(crate) fn send_arp(
        &mut self,
        op: ArpOperation,
        dst: MacAddr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) {
        let mut buf = self.tx.buffer();
        buf.resize(wire::ethernet::HEADER_LEN + wire::arp::PACKET_LEN, 0);
        let repr = ArpRepr {
            operation: op,
            sender_mac: self.config.mac,
            sender_ip: self.config.addr,
            target_mac,
            target_ip,
        };
        repr.emit(&mut buf[wire::ethernet::HEADER_LEN..]);
        match op {
            ArpOperation::Request => self.counters.arp_requests_sent += 1,
            ArpOperation::Reply => self.counters.arp_replies_sent += 1,
        }
        self.finish_frame_with(buf, dst, EtherType::Arp);
    }

    /// Resolves the next hop of an IPv4 frame built by `ipv4` and queues it, or parks it
    /// behind ARP. `frame` has room for the Ethernet header, which is written here.
    pub(crate) fn route_frame(&mut self, now: Instant, frame: Vec<u8>, next_hop: Option<Ipv4Addr>) {
        let Some(hop) = next_hop else {
            // Broadcast: no resolution needed.
            self.finish_frame(frame, MacAddr::BROADCAST);
            return;
        };
        match self.arp.lookup(now, hop) {
            Lookup::Resolved { mac, refresh } => {
                self.finish_frame(frame, mac);
                if refresh {
                    self.send_arp(ArpOperation::Request, mac, MacAddr::ZERO, hop);
                }
            }
            Lookup::Pending { request } => {
                if let Some(old) = self.arp.enqueue(hop, frame) {
                    self.counters.count_tx_drop(TxDrop::ArpQueueFull);
                    self.tx.recycle(old);
                }
                if request {
                    self.send_arp(
                        ArpOperation::Request,
                        MacAddr::BROADCAST,
                        MacAddr::ZERO,
                        hop,
                    );
                }
            }
            Lookup::Failed => {
                self.counters.count_tx_drop(TxDrop::ArpUnresolved);
                self.tx.recycle(frame);
            }
            Lookup::TableFull => {
                self.counters.count_tx_drop(TxDrop::ArpTableFull);
                self.tx.recycle(frame);
            }
        }
    }

    /// Only IPv4 frames are ever routed or parked behind ARP.
    fn finish_frame(&mut self, frame: Vec<u8>, dst: MacAddr) {
        self.finish_frame_with(frame, dst, EtherType::Ipv4);
    }

    fn finish_frame_with(&mut self, mut frame: Vec<u8>, dst: MacAddr, ethertype: EtherType) {
        EthernetRepr {
            dst,
            src: self.config.mac,
            ethertype,
        }
        .emit(&mut frame);
        if !self.tx.push(frame) {
            self.counters.count_tx_drop(TxDrop::TxQueueFull);
        }
    }
}

/// True when `ip` could be a neighbour's own address (not broadcast, multicast,
/// loopback, unspecified, or our prefix's broadcast).
pub(crate) fn is_host_address(config: &Config, ip: Ipv4Addr) -> bool {
    !(ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_loopback()
        || ip == config.broadcast())
}
